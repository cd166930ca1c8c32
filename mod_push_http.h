/* mod_push_http.h — the HTTP pieces every handler shares. */
#ifndef MOD_PUSH_HTTP_H
#define MOD_PUSH_HTTP_H

#include "httpd.h"

#include "mod_push_config.h"
#include "core/push_sub.h"
#include "store/push_store.h"

/* Replies `status` with a one-line plain-text reason; returns OK. */
int push_reply_text(request_rec *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* CORS response headers when the request's Origin is allowed. */
void push_add_cors(request_rec *r, const push_dir_conf *conf);
/* 1 when there is no Origin, no PushAllowOrigin, or the origin is allowed. */
int  push_origin_ok(request_rec *r, const push_dir_conf *conf);
/* 204 to OPTIONS: Allow, and the CORS preflight answer when the origin is
 * allowed.  Returns OK. */
int  push_reply_preflight(request_rec *r, const push_dir_conf *conf,
                          const char *methods, const char *headers);

/* The request's channel id (PushChannel, or the last segment of the URL
 * path), or NULL after replying 400/500.  A multiplexed location's
 * (several PushChannel expressions, PushChannelSplit) is a channel set:
 * the ids joined by PUSH_CHANNEL_SET_SEP (lib/push_id.h). */
/* Which side asks, on a push-pubsub location: its PushPublisherChannel or
 * PushSubscriberChannel applies (PushChannel where it has none).  A
 * plain publisher or subscriber location asks as PUSH_ROLE_ANY. */
typedef enum {
    PUSH_ROLE_ANY, PUSH_ROLE_PUBLISHER, PUSH_ROLE_SUBSCRIBER
} push_role_e;

const char *push_request_channel(request_rec *r, const push_dir_conf *conf,
                                 push_role_e role);
/* 1 when r is served by SetHandler push-pubsub; push_pubsub_publishes:
 * and its method is a publisher's (POST, PUT, DELETE), which the
 * publisher handler serves. */
int push_is_pubsub(const request_rec *r);
int push_pubsub_publishes(const request_rec *r);
/* 1 when the request's Accept names type (how a transport is asked
 * for: EventSource, multipart/mixed). */
int push_request_accepts(const request_rec *r, const char *type);
/* What a push-pubsub location takes (Allow). */
#define PUSH_PUBSUB_METHODS "GET, POST, PUT, DELETE, OPTIONS"
/* 1 when a WebSocket client's messages are published here:
 * PushWebSocketPublish On, or on a push-pubsub location unless it says
 * Off. */
int push_clients_publish(const request_rec *r, const push_dir_conf *conf);

/* The client's cursor, from If-Modified-Since + If-None-Match,
 * Last-Event-ID or ?last_event_id=: 1 given, 0 none, -1 malformed (400
 * sent). */
int push_request_cursor(request_rec *r, push_msgid_t *cursor);
/* The same for a request on n channels (a multiplexed one: the tags of
 * nchan's multi-channel id, lib/push_id.h), a cursor each. */
int push_request_cursors(request_rec *r, unsigned n, push_msgid_t *cursors);

/* Last-Modified + Etag: where a polling client is, for its next poll,
 * from the text of its id (push_sub_id_text). */
void push_set_cursor_headers(request_rec *r, const char *id);
/* A channel set as answers and logs show it: its ids joined by ", ",
 * or "N channels" when that would be longer than an id may be. */
const char *push_channel_shown(apr_pool_t *p, const char *set);
/* push_sub_id_text in p. */
const char *push_sub_id_str(apr_pool_t *p, const push_sub_t *s,
                            const push_msgid_t *id);

/* The whole request body, at most `max` bytes: OK, or the status to
 * answer with (413 when over the limit). */
/* A random multipart boundary, 32 hex digits, one per process (so the
 * encoding of a message can be shared by every subscriber). */
const char *push_multipart_boundary(void);

int push_read_body(request_rec *r, apr_off_t max, char **buf,
                   apr_size_t *len);

/* The channel's info, in the format Accept names (200 unless r->status
 * says otherwise).  last_id, when not NULL, is info->last_id already
 * formatted. */
void push_reply_channel_info(request_rec *r, const char *channel,
                             const push_channel_info_t *info,
                             const char *last_id);
/* The same text into buf[cap]: its length (0 when it does not fit), and
 * *type its Content-Type. */
apr_size_t push_channel_info_render(request_rec *r, const char *channel,
                                    const push_channel_info_t *info,
                                    const char *last_id, char *buf,
                                    apr_size_t cap, const char **type);
/* Several channels' info in one, as nchan sums it: subscribers and
 * messages added up, the latest request; no last id (each channel has
 * its own). */
void push_channel_info_add(push_channel_info_t *all,
                           const push_channel_info_t *one);

/* "T:N" in p. */
const char *push_msgid_str(apr_pool_t *p, const push_msgid_t *id);

#endif
