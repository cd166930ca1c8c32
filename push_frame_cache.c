/* push_frame_cache.c — per-process cache of message encodings (see the
 * header). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "push_frame_cache.h"

struct push_frame_cache {
    pthread_mutex_t lock;
    unsigned        nentries;
    unsigned        next;       /* round-robin victim */
    push_frame_t  **entries;    /* each holds one reference */
};

static int key_eq(const push_frame_key_t *a, const push_frame_key_t *b)
{
    return a->slot == b->slot && a->epoch == b->epoch
           && a->id.time == b->id.time && a->id.tag == b->id.tag
           && a->variant == b->variant;
}

/* With the lock held. */
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
    pthread_mutex_destroy(&c->lock);
    free(c->entries);
    free(c);
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

push_frame_t *push_frame_cache_put(push_frame_cache_t *c,
                                   const push_frame_key_t *key,
                                   const void *data, size_t len)
{
    push_frame_t *f = malloc(sizeof(*f) + len);
    push_frame_t *have;

    if (!f) {
        return NULL;
    }
    f->key = *key;
    f->len = len;
    memcpy(f->data, data, len);
    f->refs = 2;   /* the cache's and the caller's */

    pthread_mutex_lock(&c->lock);
    if ((have = find_locked(c, key)) != NULL) {
        /* Built twice at the same moment: keep the first. */
        pthread_mutex_unlock(&c->lock);
        free(f);
        return have;
    }
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
    pthread_mutex_lock(&c->lock);
    unref(f);
    pthread_mutex_unlock(&c->lock);
}
