/* mod_push_events.h — PushChannelEventsChannel: channel events published
 * to a meta channel (mod_push_events.c). */
#ifndef MOD_PUSH_EVENTS_H
#define MOD_PUSH_EVENTS_H

#include "httpd.h"

#include "core/push_sub.h"

/* nchan's event names. */
#define PUSH_EV_SUBSCRIBER_ENQUEUE "subscriber_enqueue"
#define PUSH_EV_SUBSCRIBER_DEQUEUE "subscriber_dequeue"
#define PUSH_EV_CHANNEL_PUBLISH    "channel_publish"
#define PUSH_EV_CHANNEL_DELETE     "channel_delete"

/* Publishes "<event> <channel>" to the channel r's location names with
 * PushChannelEventsChannel, if it names one (and it is not `channel`
 * itself). */
void push_event(request_rec *r, const char *event, const char *channel);

/* For push_env_t.left: a subscriber is gone (subscriber_dequeue). */
void push_event_left(const push_sub_t *s);

#endif
