/* push_frame_cache.c — per-process cache of message encodings (see the
 * header). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lib/push_frame_cache.h"

#define MAX_BUILDING 32

struct push_frame_cache {
    pthread_mutex_t  lock;
    pthread_cond_t   built;      /* a build finished or was abandoned */
    unsigned         nentries;
    unsigned         next;       /* round-robin victim */
    push_frame_t   **entries;    /* each holds one reference */
    /* Keys some thread is building now: others wait for it rather than
     * build the same bytes again (a publish wakes every subscriber of a
     * process at once). */
    push_frame_key_t building[MAX_BUILDING];
    unsigned         nbuilding;
};

static int key_eq(const push_frame_key_t *a, const push_frame_key_t *b)
{
    return a->chan == b->chan && a->gen == b->gen
           && a->id.time == b->id.time && a->id.tag == b->id.tag
           && a->variant == b->variant;
}

/* With the lock held (when the frame is in a cache). */
static void unref(push_frame_t *f)
{
    if (--f->refs == 0) {
        free(f);
    }
}

push_frame_cache_t *push_frame_cache_create(unsigned entries)
{
    push_frame_cache_t *c = calloc(1, sizeof(*c));

    if (!c) {
        return NULL;
    }
    c->nentries = entries ? entries : 1;
    c->entries = calloc(c->nentries, sizeof(*c->entries));
    if (!c->entries || pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c->entries);
        free(c);
        return NULL;
    }
    if (pthread_cond_init(&c->built, NULL) != 0) {
        pthread_mutex_destroy(&c->lock);
        free(c->entries);
        free(c);
        return NULL;
    }
    return c;
}

void push_frame_cache_destroy(push_frame_cache_t *c)
{
    unsigned i;

    for (i = 0; i < c->nentries; i++) {
        if (c->entries[i]) {
            unref(c->entries[i]);
        }
    }
    pthread_cond_destroy(&c->built);
    pthread_mutex_destroy(&c->lock);
    free(c->entries);
    free(c);
}

static int building_index(push_frame_cache_t *c, const push_frame_key_t *key)
{
    unsigned i;

    for (i = 0; i < c->nbuilding; i++) {
        if (key_eq(&c->building[i], key)) {
            return (int)i;
        }
    }
    return -1;
}

/* With the lock held: the key is no longer being built. */
static void end_building(push_frame_cache_t *c, const push_frame_key_t *key)
{
    int i = building_index(c, key);

    if (i >= 0) {
        c->building[i] = c->building[--c->nbuilding];
        pthread_cond_broadcast(&c->built);
    }
}

static push_frame_t *find_locked(push_frame_cache_t *c,
                                 const push_frame_key_t *key)
{
    unsigned i;

    for (i = 0; i < c->nentries; i++) {
        push_frame_t *f = c->entries[i];

        if (f && key_eq(&f->key, key)) {
            f->refs++;
            return f;
        }
    }
    return NULL;
}

push_frame_t *push_frame_cache_get(push_frame_cache_t *c,
                                   const push_frame_key_t *key)
{
    push_frame_t *f;

    pthread_mutex_lock(&c->lock);
    f = find_locked(c, key);
    pthread_mutex_unlock(&c->lock);
    return f;
}

push_frame_t *push_frame_cache_acquire(push_frame_cache_t *c,
                                       const push_frame_key_t *key,
                                       int *must_build)
{
    push_frame_t *f;

    *must_build = 0;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        if ((f = find_locked(c, key)) != NULL) {
            break;
        }
        if (building_index(c, key) < 0) {
            if (c->nbuilding < MAX_BUILDING) {
                c->building[c->nbuilding++] = *key;
            }
            *must_build = 1;
            break;
        }
        pthread_cond_wait(&c->built, &c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    return f;
}

void push_frame_cache_abandon(push_frame_cache_t *c,
                              const push_frame_key_t *key)
{
    pthread_mutex_lock(&c->lock);
    end_building(c, key);
    pthread_mutex_unlock(&c->lock);
}

push_frame_t *push_frame_alloc(size_t len)
{
    push_frame_t *f = malloc(sizeof(*f) + len);

    if (f) {
        memset(&f->key, 0, sizeof(f->key));
        f->refs = 1;
        f->len = len;
    }
    return f;
}

push_frame_t *push_frame_cache_put(push_frame_cache_t *c,
                                   const push_frame_key_t *key,
                                   push_frame_t *f)
{
    push_frame_t *have;

    f->key = *key;
    pthread_mutex_lock(&c->lock);
    end_building(c, key);
    if ((have = find_locked(c, key)) != NULL) {
        /* Built twice at the same moment: keep the first. */
        pthread_mutex_unlock(&c->lock);
        free(f);
        return have;
    }
    f->refs++;   /* the cache's, beside the caller's */
    if (c->entries[c->next]) {
        unref(c->entries[c->next]);
    }
    c->entries[c->next] = f;
    c->next = (c->next + 1) % c->nentries;
    pthread_mutex_unlock(&c->lock);
    return f;
}

void push_frame_release(push_frame_cache_t *c, push_frame_t *f)
{
    if (!c) {
        unref(f);
        return;
    }
    pthread_mutex_lock(&c->lock);
    unref(f);
    pthread_mutex_unlock(&c->lock);
}
