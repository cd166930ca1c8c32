/* mod_push_config.h — mod_push's directives and the values they give.
 *
 * The per-server and per-directory records are private to
 * mod_push_config.c.  Everything else reads them through the accessors
 * below, which apply the documented defaults: an unset directive anywhere
 * in the merge chain still means its default. */
#ifndef MOD_PUSH_CONFIG_H
#define MOD_PUSH_CONFIG_H

#include "httpd.h"
#include "http_config.h"
#include "ap_expr.h"

#include "redis/push_redis_tls.h"

typedef struct push_dir_conf push_dir_conf;

/* The module record's configuration entries (mod_push.c). */
extern const command_rec push_config_cmds[];
void *push_config_create_dir(apr_pool_t *p, char *dir);
void *push_config_merge_dir(apr_pool_t *p, void *basev, void *addv);
void *push_config_create_server(apr_pool_t *p, server_rec *s);
void *push_config_merge_server(apr_pool_t *p, void *basev, void *addv);

/* The request's per-directory record. */
const push_dir_conf *push_conf(const request_rec *r);

/* Per directory (the location the request maps to). */
/* PushChannel's expressions (ap_expr_info_t *), one per channel; NULL
 * when unset. */
const apr_array_header_t *push_conf_channel(const push_dir_conf *c);
/* A push-pubsub location's channels for one side: PushPublisherChannel
 * (publisher 1) or PushSubscriberChannel, else PushChannel; NULL when
 * none is set. */
const apr_array_header_t *push_conf_role_channel(const push_dir_conf *c,
                                                 int publisher);
/* PushChannelSplit; NULL when unset. */
const char               *push_conf_channel_split(const push_dir_conf *c);
/* PushAuthorizeRequest; NULL when unset. */
const ap_expr_info_t     *push_conf_authorize(const push_dir_conf *c);
/* PushPublisherUpstreamRequest; NULL when unset. */
const ap_expr_info_t     *push_conf_upstream(const push_dir_conf *c);
/* PushSubscribeRequest (leaving 0) or PushUnsubscribeRequest; NULL when
 * unset. */
const ap_expr_info_t     *push_conf_presence(const push_dir_conf *c,
                                             int leaving);
/* PushChannelEventsChannel; NULL when unset. */
const ap_expr_info_t     *push_conf_events_channel(const push_dir_conf *c);
/* PushWebSocketPublish as set: 1 On, 0 Off, -1 unset. */
int                       push_conf_ws_publish_set(const push_dir_conf *c);
/* The URL path of the most specific <Location> that applies, or NULL. */
const char               *push_conf_section(const push_dir_conf *c);
/* The transports served here: a bit (1 << id) each. */
unsigned                  push_conf_transports(const push_dir_conf *c);
apr_uint32_t              push_conf_buffer_length(const push_dir_conf *c);
apr_uint32_t              push_conf_message_timeout(const push_dir_conf *c);
apr_off_t                 push_conf_max_message_size(const push_dir_conf *c);
/* PushSubscriberBacklog: bytes of messages (as the store counts them) a
 * connected subscriber may be behind before it is told of a gap. */
apr_off_t                 push_conf_backlog(const push_dir_conf *c);
apr_int64_t               push_conf_longpoll_timeout(const push_dir_conf *c);
/* PushSubscriberTimeout, seconds; 0: none. */
apr_int64_t               push_conf_subscriber_timeout(const push_dir_conf *c);
apr_int64_t               push_conf_ping_interval(const push_dir_conf *c);
/* PushFirstMessage, where a subscriber without a cursor starts:
 * PUSH_FIRST_OLDEST (1: the first buffered message), N > 0 the Nth from
 * the oldest, -N the Nth from the newest, PUSH_FIRST_NEWEST (0: the next
 * one published). */
#define PUSH_FIRST_OLDEST 1
#define PUSH_FIRST_NEWEST 0
apr_int64_t               push_conf_first_message(const push_dir_conf *c);
/* NULL when PushAllowOrigin is not set; else its list (of const char *). */
const apr_array_header_t *push_conf_allow_origins(const push_dir_conf *c);
int                       push_conf_ws_deflate(const push_dir_conf *c);
/* PushMaxChannelSubscribers (0: none); PushSubscribeExistingChannelsOnly. */
apr_int64_t push_conf_max_channel_subscribers(const push_dir_conf *c);
/* PushEventSourceEvent (NULL: unset) and, in *tag (tag may be NULL), a
 * number telling it from other names (0 when unset), for frame-cache
 * variants; PushEventSourcePing: its event name (NULL: the ": ping"
 * comment) and, in *data, its data (may be NULL). */
const char *push_conf_es_event(const push_dir_conf *c, apr_uint32_t *tag);
const char *push_conf_es_ping(const push_dir_conf *c, const char **data);
/* PushRawStreamSeparator, escapes read (default "\n"), and its tag as
 * push_conf_es_event's (0 for the default). */
const char *push_conf_raw_separator(const push_dir_conf *c, apr_uint32_t *tag);
/* PushChannelInfoFormat text: nchan's text when Accept names no format. */
int         push_conf_info_text(const push_dir_conf *c);
int         push_conf_existing_only(const push_dir_conf *c);
/* PushMaxChannelIdLength: bytes (at most PUSH_CHANNEL_ID_MAX). */
apr_size_t  push_conf_max_channel_id(const push_dir_conf *c);
/* PushLongPollMultipart (nchan's nchan_longpoll_multipart_response):
 * what a poll answers when several messages wait. */
#define PUSH_LP_ONE       1
#define PUSH_LP_MULTIPART 2
#define PUSH_LP_RAW       3
int         push_conf_longpoll_multipart(const push_dir_conf *c);
/* PushXAccelRedirect On (mod_push_accel.c). */
int         push_conf_x_accel(const push_dir_conf *c);
/* PushWebSocketClientHeartbeat: the client's text (NULL: none) and, in
 * *out, the answer.  Each at most PUSH_WS_HEARTBEAT_MAX bytes. */
#define PUSH_WS_HEARTBEAT_MAX 125
const char *push_conf_ws_heartbeat(const push_dir_conf *c, const char **out);

/* Server-wide (the main server's). */
const char *push_conf_store(const server_rec *s);    /* PushStore */
apr_size_t  push_conf_shm_size(const server_rec *s);
/* PushMaxChannels; 0: as many as the store has slots for. */
int         push_conf_max_channels(const server_rec *s);
/* 0: derived from the MPM's threads. */
int         push_conf_subscribers_per_child(const server_rec *s);
/* PushRedis (NULL: none), PushRedisTimeout, PushRedisPrefix. */
#define PUSH_DEFAULT_REDIS_TIMEOUT_MS 2000
struct push_redis_url_s;
/* PushRedis' first URL (NULL: none), and all of them (a cluster's
 * seeds: several). */
const struct push_redis_url_s *push_conf_redis(const server_rec *s);
unsigned    push_conf_redis_seeds(const server_rec *s,
                                  const struct push_redis_url_s **urls);
int         push_conf_redis_timeout_ms(const server_rec *s);
const char *push_conf_redis_prefix(const server_rec *s);
/* PushRedisTLS*: how rediss:// URLs speak TLS (verification on unless
 * PushRedisTLSVerify Off); whether any of them was given. */
void        push_conf_redis_tls(const server_rec *s,
                                push_redis_tls_conf_t *tls);
int         push_conf_redis_tls_given(const server_rec *s);

#endif
