/* Unit tests for push_frame_cache.c. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/push_frame_cache.h"

#include "check.h"

/* A frame holding a copy of data, put under k. */
static push_frame_t *put_copy(push_frame_cache_t *c, const push_frame_key_t *k,
                              const void *data, size_t len)
{
    push_frame_t *f = push_frame_alloc(len);

    if (!f) {
        return NULL;
    }
    memcpy(f->data, data, len);
    return push_frame_cache_put(c, k, f);
}

static push_frame_key_t key(uint32_t slot, int64_t t, uint32_t tag,
                            uint32_t variant)
{
    push_frame_key_t k;

    memset(&k, 0, sizeof(k));
    k.chan = slot;
    k.id.time = t;
    k.id.tag = tag;
    k.variant = variant;
    return k;
}

static push_frame_cache_t *shared;
static int builds;
static pthread_mutex_t builds_lock = PTHREAD_MUTEX_INITIALIZER;

/* Every thread wants the same key at once: only one may build it. */
static void *claim(void *arg)
{
    push_frame_key_t k = key(9, 1, 0, 0);
    int must_build;
    push_frame_t *f = push_frame_cache_acquire(shared, &k, &must_build);

    (void)arg;
    if (must_build) {
        struct timespec ts = {0, 20 * 1000 * 1000};

        pthread_mutex_lock(&builds_lock);
        builds++;
        pthread_mutex_unlock(&builds_lock);
        nanosleep(&ts, NULL);   /* a slow build: the others must wait */
        f = put_copy(shared, &k, "built", 5);
    }
    if (!f || f->len != 5 || memcmp(f->data, "built", 5)) {
        return (void *)1;
    }
    push_frame_release(shared, f);
    return NULL;
}

static void *hammer(void *arg)
{
    long n = (long)arg;
    int i;

    for (i = 0; i < 20000; i++) {
        push_frame_key_t k = key(1, i % 50, 0, (uint32_t)n % 3);
        push_frame_t *f = push_frame_cache_get(shared, &k);

        if (!f) {
            char buf[32];
            int len = snprintf(buf, sizeof(buf), "%d/%u", i % 50, k.variant);
            f = put_copy(shared, &k, buf, (size_t)len);
        }
        if (f) {
            char want[32];
            int len = snprintf(want, sizeof(want), "%d/%u", i % 50,
                               k.variant);
            if (f->len != (size_t)len || memcmp(f->data, want, f->len)) {
                return (void *)1;
            }
            push_frame_release(shared, f);
        }
    }
    return NULL;
}

int main(void)
{
    push_frame_cache_t *c = push_frame_cache_create(2);
    push_frame_key_t a = key(1, 100, 0, 0), b = key(1, 100, 1, 0);
    push_frame_key_t a2 = key(1, 100, 0, 1), d = key(2, 100, 0, 0);
    push_frame_t *f, *g, *h;
    pthread_t th[4];
    long i;
    int bad = 0;

    CHECK(c != NULL);
    CHECK(push_frame_cache_get(c, &a) == NULL);
    f = put_copy(c, &a, "frame-a", 7);
    CHECK(f && f->len == 7 && memcmp(f->data, "frame-a", 7) == 0);
    g = push_frame_cache_get(c, &a);
    CHECK(g == f);
    push_frame_release(c, g);
    /* Different tag, variant or slot: different entries. */
    CHECK(push_frame_cache_get(c, &b) == NULL);
    CHECK(push_frame_cache_get(c, &a2) == NULL);
    CHECK(push_frame_cache_get(c, &d) == NULL);
    /* Putting a key already cached returns the cached one. */
    g = put_copy(c, &a, "other", 5);
    CHECK(g == f && g->len == 7);
    push_frame_release(c, g);
    /* Two more entries push a out (capacity 2), but our reference keeps
     * its bytes alive. */
    g = put_copy(c, &b, "frame-b", 7);
    h = put_copy(c, &d, "frame-d", 7);
    CHECK(g && h);
    CHECK(push_frame_cache_get(c, &a) == NULL);
    CHECK(memcmp(f->data, "frame-a", 7) == 0);
    push_frame_release(c, f);
    push_frame_release(c, g);
    push_frame_release(c, h);
    push_frame_cache_destroy(c);

    /* Threads racing on the same keys always see the right bytes. */
    shared = push_frame_cache_create(8);
    for (i = 0; i < 4; i++) {
        pthread_create(&th[i], NULL, hammer, (void *)i);
    }
    for (i = 0; i < 4; i++) {
        void *rv;

        pthread_join(th[i], &rv);
        bad += rv != NULL;
    }
    CHECK(bad == 0);
    push_frame_cache_destroy(shared);

    /* acquire: one builder, the rest wait for its bytes. */
    {
        pthread_t many[16];
        int must_build;
        push_frame_key_t k = key(9, 2, 0, 0);

        shared = push_frame_cache_create(4);
        bad = 0;
        for (i = 0; i < 16; i++) {
            pthread_create(&many[i], NULL, claim, NULL);
        }
        for (i = 0; i < 16; i++) {
            void *rv;

            pthread_join(many[i], &rv);
            bad += rv != NULL;
        }
        CHECK(bad == 0);
        CHECK(builds == 1);
        /* An abandoned build lets the next caller build. */
        CHECK(push_frame_cache_acquire(shared, &k, &must_build) == NULL
              && must_build == 1);
        push_frame_cache_abandon(shared, &k);
        CHECK(push_frame_cache_acquire(shared, &k, &must_build) == NULL
              && must_build == 1);
        push_frame_cache_abandon(shared, &k);
        push_frame_cache_destroy(shared);
    }

    return CHECK_DONE("test_frame_cache");
}
