/* mod_push_redis.h — PushRedis in httpd (mod_push_redis.c): the bridge
 * process that is this server's wake path from Redis, and what a child
 * does through Redis (publishing, and bringing its copy of a channel up
 * to date before a client subscribes). */
#ifndef MOD_PUSH_REDIS_H
#define MOD_PUSH_REDIS_H

#include "httpd.h"

#include "store/push_store.h"

/* 1 when PushRedis is set (the main server's). */
int push_redis_on(const server_rec *s);

/* PushRedis over TLS (rediss://): the context for every connection,
 * made once the configuration is read (httpd -t too); not OK, with
 * the reason logged, when its certificates cannot be used. */
int push_redis_check_config(apr_pool_t *pconf, server_rec *s);
/* post_config, in the parent, once the store is open: starts the
 * bridge process (again at each restart; again if it dies). */
int push_redis_post_config(apr_pool_t *pconf, server_rec *s);

/* msg to channel through Redis, which gives its id, then into this
 * server's copy.  PUSH_OK with *id and *info (this server's copy, its
 * subscribers those of every server); PUSH_UNAVAILABLE when Redis did not
 * take it within PushRedisTimeout (logged; nothing was published), or
 * the copy's refusal. */
push_status_e push_redis_publish_to(request_rec *r, const char *channel,
                                    const push_message_t *msg,
                                    const push_limits_t *limits,
                                    push_msgid_t *id,
                                    push_channel_info_t *info);

/* DELETE of channel through Redis (every server's subscribers end),
 * then here: PUSH_OK with *had (the messages Redis had), or
 * PUSH_UNAVAILABLE (logged). */
push_status_e push_redis_delete_to(request_rec *r, const char *channel,
                                   long long *had);

/* The channel's subscribers on the other servers sharing the Redis, as
 * their bridges last told it (0 when Redis cannot be asked; logged). */
apr_uint32_t push_redis_subscribers_elsewhere(request_rec *r,
                                             const char *channel);

/* Before a client subscribes to channel: this server's copy brought up
 * to what Redis has, so the client starts from Redis' last id and
 * resumes from an id any server gave.  When Redis cannot be reached the
 * copy is used as it is (logged): the bridge catches it up later.  Not
 * asked at all while the bridge follows the channel (it keeps the copy
 * current). */
void push_redis_sync(request_rec *r, const char *channel);

#endif
