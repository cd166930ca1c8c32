/* push_store_shm.h — the shared-memory store engine.
 *
 * One region of shared memory (created by the httpd parent, inherited by
 * every child of every MPM) holds every channel and every buffered
 * message.  Nothing here knows about httpd or APR: the region is plain
 * bytes, all links inside it are offsets, and time is passed in, so the
 * store can be unit-tested, fuzzed and crash-tested without a server.
 *
 * Concurrency: one robust, process-shared mutex guards the region.  A
 * process that dies holding it does not wedge the others: the next locker
 * gets EOWNERDEAD, rebuilds the store's derived state from the message
 * ring and carries on.
 *
 * Waking: every change a subscriber may wait for (publish, delete) bumps
 * the channel's version and the store-wide sequence word, then futex-wakes
 * everything waiting on that word.  httpd children keep one thread waiting
 * on the word (push_notify) and fan the wake-up out to their own
 * subscribers.
 *
 * A subscription's reference is the channel's slot (ref.chan) and the
 * slot's epoch (ref.gen), which delete and reuse bump.  The functions
 * below are the engine table's entries (push_store.h says what each
 * does), typed for this engine. */
#ifndef PUSH_STORE_SHM_H
#define PUSH_STORE_SHM_H

#include "store/push_store.h"

/* The region's header (at its base); the engine's instance. */
typedef push_store_inst_t push_shm_t;

/* The engine table; its instances are push_shm_t. */
extern const push_store_engine_t push_shm_engine;

/* Smallest region push_shm_format accepts. */
#define PUSH_SHM_MIN_SIZE (64 * 1024)
/* Channel ids up to this long live in their channel's slot; longer ones
 * (to PUSH_CHANNEL_ID_MAX) in a table of one record per eight slots. */
#define PUSH_SHM_ID_INLINE 255

/* Lays a fresh, empty store over mem[0..size).  Ids it hands out are all
 * after `now` - 1 (a store re-created in the same second as its
 * predecessor still hands out increasing ids).  Returns NULL when size is
 * below PUSH_SHM_MIN_SIZE or the mutex cannot be made. */
push_shm_t *push_shm_format(void *mem, size_t size, int64_t now);

/* The store already formatted at mem (the same region, e.g. after a
 * graceful restart), or NULL when mem holds no valid store of that size
 * and layout. */
push_shm_t *push_shm_attach(void *mem, size_t size);

/* At most max channels (0: as many as there are slots); past it a new
 * channel takes the least recently used empty one's place, or is
 * refused (PUSH_NO_CHANNEL_SLOT). */
void push_shm_set_max_channels(push_shm_t *s, uint32_t max);

push_status_e push_shm_publish(push_shm_t *s, const char *chan,
                               size_t chan_len, const push_message_t *msg,
                               const push_limits_t *limits, int64_t now,
                               push_msgid_t *id, push_channel_info_t *info);
push_status_e push_shm_publish_id(push_shm_t *s, const char *chan,
                                  size_t chan_len, const push_message_t *msg,
                                  const push_msgid_t *prev, uint64_t origin,
                                  const push_limits_t *limits, int64_t now,
                                  push_channel_info_t *info);
push_status_e push_shm_lost(push_shm_t *s, const char *chan,
                            size_t chan_len, const push_msgid_t *upto,
                            int64_t now);
push_status_e push_shm_info(push_shm_t *s, const char *chan,
                            size_t chan_len, int64_t now,
                            push_channel_info_t *info);
/* The slot stays the channel's (its last id keeps later ids increasing);
 * it is empty, its epoch bumped, and so reclaimable. */
push_status_e push_shm_delete(push_shm_t *s, const char *chan,
                              size_t chan_len, int64_t now,
                              push_channel_info_t *info);
push_status_e push_shm_subscribe(push_shm_t *s, const char *chan,
                                 size_t chan_len, int64_t now,
                                 push_store_ref_t *ref,
                                 push_channel_info_t *info);
void          push_shm_unsubscribe(push_shm_t *s, push_store_ref_t *ref);
push_status_e push_shm_hold(push_shm_t *s, push_store_ref_t *ref,
                            const push_msgid_t *after, uint64_t bound,
                            uint64_t *pos);
void          push_shm_hold_at(push_shm_t *s, const push_store_ref_t *ref,
                               uint64_t pos, uint64_t bound, uint64_t pace);
int           push_shm_behind(push_shm_t *s, const char *chan,
                              size_t chan_len);
void          push_shm_unhold(push_shm_t *s, push_store_ref_t *ref);
/* A gap is also reported for a non-zero cursor from before the channel
 * existed (a previous store, or an earlier channel of this name whose
 * slot was reused): gap_id is then the newest id that cannot be one of
 * this channel's. */
push_status_e push_shm_next(push_shm_t *s, push_store_ref_t *ref,
                            const push_msgid_t *cursor, int64_t now,
                            push_copy_fn copy, void *copy_ctx,
                            push_message_t *msg, int *gap,
                            push_msgid_t *gap_id);
uint32_t      push_shm_version(push_shm_t *s, uint32_t chan);
void          push_shm_stats(push_shm_t *s, int64_t now,
                             push_store_stats_t *st);

/* The wake source. */
void push_shm_interest(push_shm_t *s,
                       void (*fn)(void *ctx, const char *chan,
                                  size_t chan_len, uint32_t subscribers),
                       void *ctx);
uint32_t push_shm_sub_seq(push_shm_t *s);
void     push_shm_mirror_live(push_shm_t *s, uint32_t gen, int64_t until_ms);
void     push_shm_mirror_mark(push_shm_t *s, const char *chan,
                              size_t chan_len, uint32_t gen);
int      push_shm_mirrored(push_shm_t *s, const char *chan, size_t chan_len,
                           int64_t now_ms);
push_status_e push_shm_mirror_epoch(push_shm_t *s, const char *chan,
                                   size_t chan_len, uint64_t from,
                                   uint64_t to, const push_msgid_t *gap,
                                   int64_t now);
uint32_t push_shm_channels(push_shm_t *s);
uint32_t push_shm_seq(push_shm_t *s);
/* Blocks on the futex until the change word differs from `seen`, a wake
 * is posted, or timeout_ms passes (-1: no timeout). */
uint32_t push_shm_wait(push_shm_t *s, uint32_t seen, int timeout_ms);
/* Lock-free: count before looking in the store. */
void     push_shm_watch(push_shm_t *s, uint32_t chan, int delta);
/* Wakes every push_shm_wait in every process; async-signal-safe. */
void     push_shm_wake_all(push_shm_t *s);

#endif
