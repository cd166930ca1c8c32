/* mod_push_presence.h — PushSubscribeRequest and PushUnsubscribeRequest
 * (mod_push_presence.c). */
#ifndef MOD_PUSH_PRESENCE_H
#define MOD_PUSH_PRESENCE_H

#include "httpd.h"

#include "core/push_sub.h"

/* 1 when r's location wants a streaming subscriber's arrival (leaving
 * 0) or departure told (never a publisher's WebSocket, which follows no
 * channel). */
int  push_presence_wanted(request_rec *r, const push_sub_t *s, int leaving);
/* Tells it, on this thread: a GET subrequest to the location's URL,
 * whose answer is dropped.  Blocks while the application answers: the
 * stream loop's thread never calls it (mod_push_conn.c hands a parked
 * subscriber's departure to a worker). */
void push_presence_tell(request_rec *r, const push_sub_t *s, int leaving);

#endif
