/* push_mirror.h — this server's copy of a Redis channel, in its own
 * store.
 *
 * With PushRedis, Redis holds each channel and gives every message its
 * id; the server's store (shared memory) holds a copy of the channels
 * its subscribers follow, and delivers from it as it always does.  The
 * copy takes Redis' messages in Redis' order only: each is stored right
 * after the one before it (publish_id with the previous id), and what
 * is missing is fetched from the channel's stream first.  What Redis
 * no longer has (trimmed, expired) is recorded as lost, so subscribers
 * behind it are told of the gap instead of waiting for it.
 *
 * Two paths keep a copy: the server's bridge, which follows the
 * channels that have subscribers here (push_bridge.h), and a child
 * about to subscribe a client to a channel the bridge does not vouch
 * for yet (push_store_mirrored), which brings the copy up to date first
 * so that the client starts from Redis' last id.  Pure C. */
#ifndef PUSH_MIRROR_H
#define PUSH_MIRROR_H

#include <stddef.h>
#include <stdint.h>

#include "redis/push_redis_chan.h"
#include "store/push_store.h"

/* Messages fetched from the stream at a time. */
#define PUSH_MIRROR_BATCH 256

/* Brings the copy of chan up to what Redis has: every message after the
 * copy's last id, in order, and what is lost recorded.  0 caught up; 1
 * not yet (it read 64 batches, or lost 64 races: call again); -1 with
 * the reason in err when Redis did not answer or refused (unreachable,
 * CLUSTERDOWN, LOADING: worth trying again soon); -2 with the reason
 * when this store refused (no room: not before the store changes). */
int push_mirror_catch_up(const push_store_t *store, push_redis_conn_t *c,
                         const char *prefix, const char *chan,
                         size_t chan_len, int64_t now, int timeout_ms,
                         char *err, size_t errlen);

/* One message told (a notice with the message in it, or the publishing
 * child's own): stored when it follows the copy's last id.  0 stored or
 * had already, with *after (may be NULL) the channel then; 1 when the
 * copy lacks the one before it, or is of another epoch (catch up); -1
 * when the store refused it (no room). */
int push_mirror_apply(const push_store_t *store, const char *chan,
                      size_t chan_len, const push_redis_published_t *n,
                      const push_redis_msg_t *m, int64_t now,
                      push_channel_info_t *after);

#endif
