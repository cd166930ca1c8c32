/* push_frame_cache.h — one encoding of a message per process, shared by
 * every subscriber in it.
 *
 * An SSE event or a WebSocket frame (compressed or not) for a given
 * message is the same bytes for every subscriber of a transport, so the
 * first subscriber thread to need it builds it and the others reuse it:
 * at fan-out, N subscribers cost one encoding (and one deflate) instead
 * of N.  Entries are reference-counted, so an entry can be replaced while
 * a slow subscriber is still writing it.
 *
 * Pure C with pthreads, no httpd types. */
#ifndef PUSH_FRAME_CACHE_H
#define PUSH_FRAME_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/push_id.h"

typedef struct {
    uint32_t     chan;      /* the subscription's channel (ref.chan) */
    uint32_t     gen;       /* ... and incarnation (ref.gen) */
    push_msgid_t id;
    uint32_t     variant;   /* which encoding: transport, subprotocol,
                             * compression */
} push_frame_key_t;

typedef struct push_frame {
    push_frame_key_t key;
    unsigned         refs;
    size_t           len;
    unsigned char    data[];
} push_frame_t;

typedef struct push_frame_cache push_frame_cache_t;

/* A cache of `entries` encodings (the most recent ones).  NULL on OOM. */
push_frame_cache_t *push_frame_cache_create(unsigned entries);
void push_frame_cache_destroy(push_frame_cache_t *c);

/* The cached encoding for key with a reference taken, or NULL. */
push_frame_t *push_frame_cache_get(push_frame_cache_t *c,
                                   const push_frame_key_t *key);

/* Like get, but when the key is missing the caller is told to build it
 * (*must_build = 1, NULL returned) and every other caller of acquire for
 * that key waits until it is put or abandoned: N subscribers woken at
 * once still cost one build.  A builder must call put or abandon. */
push_frame_t *push_frame_cache_acquire(push_frame_cache_t *c,
                                       const push_frame_key_t *key,
                                       int *must_build);

/* A builder gives up (the message went away): waiters look again. */
void push_frame_cache_abandon(push_frame_cache_t *c,
                              const push_frame_key_t *key);

/* A frame of len bytes for a builder to fill in (it may lower f->len),
 * holding one reference; NULL when out of memory. */
push_frame_t *push_frame_alloc(size_t len);

/* Caches f under key, taking the builder's reference, and returns the
 * frame to use with a reference for the caller: f, or the one another
 * thread cached first under the same key (f is then freed).  Ends a build
 * begun by acquire.  No copy is made. */
push_frame_t *push_frame_cache_put(push_frame_cache_t *c,
                                   const push_frame_key_t *key,
                                   push_frame_t *f);

/* Drops a reference from get, acquire or put; c NULL for a frame from
 * push_frame_alloc that was never put. */
void push_frame_release(push_frame_cache_t *c, push_frame_t *f);

#endif
