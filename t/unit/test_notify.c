/* test_notify.c — unit tests for push_notify.c, the per-process fan-out
 * of store wake-ups, driven by the real shared-memory engine.
 *
 * Each test makes its own store over an anonymous MAP_SHARED mapping and
 * its own notifier thread, so a shutdown or a stop in one test cannot
 * leak into the next.  Every wait for a wake-up is a poll(2) with a
 * generous timeout: it returns as soon as the descriptor fires, and the
 * timeout only bounds how long a broken notifier can hang the run.
 * Nothing here measures how fast a wake-up arrives. */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <sys/mman.h>

#include "store/push_notify.h"
#include "store/push_store_shm.h"

#include "check.h"

#define STORE_SIZE (1024 * 1024)
#define NOW        1000
#define FIRE_MS    2000   /* the longest a wake-up may take */
#define QUIET_MS   200    /* how long "nothing fires" is watched for */
#define STOP_MS    5000   /* stop() is only asked about once a second */

typedef struct {
    void          *mem;
    push_shm_t    *shm;
    push_store_t   store;
    push_notify_t *n;
} fixture_t;

static void setup(fixture_t *f, push_notify_stop_fn stop)
{
    f->mem = mmap(NULL, STORE_SIZE, PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    f->shm = f->mem == MAP_FAILED ? NULL
             : push_shm_format(f->mem, STORE_SIZE, NOW);
    f->store.engine = &push_shm_engine;
    f->store.inst = f->shm;
    if (f->shm == NULL
        || (f->n = push_notify_start(&f->store, stop)) == NULL) {
        fprintf(stderr, "cannot make a store and its notifier\n");
        exit(2);
    }
}

/* Only once every registration is dropped (push_notify_destroy says). */
static void teardown(fixture_t *f)
{
    push_notify_destroy(f->n);
    munmap(f->mem, STORE_SIZE);
}

/* The channel's number, as a subscriber gets it.  The subscription also
 * keeps the channel visible, which push_shm_delete needs. */
static uint32_t chan_of(fixture_t *f, const char *name)
{
    push_store_ref_t ref;

    if (push_shm_subscribe(f->shm, name, strlen(name), NOW, &ref, NULL)
        != PUSH_OK) {
        fprintf(stderr, "push_shm_subscribe(%s) failed\n", name);
        exit(2);
    }
    return ref.chan;
}

static push_status_e publish(fixture_t *f, const char *name)
{
    push_message_t m = { .body = "x", .body_len = 1 };
    push_limits_t lim = { .buffer_length = 10, .timeout = 0 };

    return push_shm_publish(f->shm, name, strlen(name), &m, &lim, NOW,
                            NULL, NULL);
}

/* A registration the test cannot go on without: every later step polls
 * it, so a NULL ends the run with exit status 2. */
#define MUST(g) must((g), __LINE__, #g)

static push_notify_gen_t *must(push_notify_gen_t *g, int line,
                               const char *what)
{
    if (g == NULL) {
        fprintf(stderr, "%s:%d: %s returned NULL\n", __FILE__, line, what);
        exit(2);
    }
    return g;
}

/* 1 when the generation fired (its descriptor reads EOF) within
 * timeout_ms; 0 is an instant look. */
static int fired(const push_notify_gen_t *g, int timeout_ms)
{
    struct pollfd p;
    int rc;

    p.fd = push_notify_fd(g);
    p.events = POLLIN;
    do {
        rc = poll(&p, 1, timeout_ms);
    } while (rc < 0 && errno == EINTR);
    return rc == 1 && (p.revents & (POLLIN | POLLHUP)) != 0;
}

/* How far the store's futex word moved since `before`. */
static uint32_t seq_moved(fixture_t *f, uint32_t before)
{
    return push_shm_seq(f->shm) - before;
}

/* Descriptors open in this process: destroy must give back every pipe. */
static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int count = 0;

    if (d == NULL) {
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        count += e->d_name[0] != '.';
    }
    closedir(d);
    return count;
}

/* A publish fires every watcher of its channel (two here, sharing the
 * wake-up) and no other; a delete fires them just the same. */
static void test_publish_and_delete(void)
{
    fixture_t f;
    uint32_t a, b;
    push_notify_gen_t *ga1, *ga2, *gb;

    setup(&f, NULL);
    a = chan_of(&f, "a");
    b = chan_of(&f, "b");
    CHECK(a != b);
    CHECK(push_notify_watch(f.n, push_shm_channels(f.shm)) == NULL);

    ga1 = MUST(push_notify_watch(f.n, a));
    ga2 = MUST(push_notify_watch(f.n, a));
    gb = MUST(push_notify_watch(f.n, b));
    CHECK(!fired(ga1, 0));

    /* b is watched too, so its publish does wake the notifier, which
     * must then look at a's version and leave a's waiters asleep. */
    CHECK_EQ(publish(&f, "b"), PUSH_OK);
    CHECK(fired(gb, FIRE_MS));
    CHECK(!fired(ga1, QUIET_MS));
    CHECK(!fired(ga2, 0));

    CHECK_EQ(publish(&f, "a"), PUSH_OK);
    CHECK(fired(ga1, FIRE_MS));
    CHECK(fired(ga2, FIRE_MS));

    gb = MUST(push_notify_rewatch(f.n, b, gb));
    CHECK_EQ(push_shm_delete(f.shm, "b", 1, NOW, NULL), PUSH_OK);
    CHECK(fired(gb, FIRE_MS));

    push_notify_unwatch(f.n, a, ga1);
    push_notify_unwatch(f.n, a, ga2);
    push_notify_unwatch(f.n, b, gb);
    teardown(&f);
}

static void test_rewatch(void)
{
    fixture_t f;
    uint32_t a;
    push_notify_gen_t *g, *g2;

    setup(&f, NULL);
    a = chan_of(&f, "a");
    g = MUST(push_notify_watch(f.n, a));

    /* A waiter back from a timeout keeps the generation it had. */
    CHECK(push_notify_rewatch(f.n, a, g) == g);

    CHECK_EQ(publish(&f, "a"), PUSH_OK);
    CHECK(fired(g, FIRE_MS));

    /* A fired generation stays fired: the next wait needs a new one,
     * which only the next change may fire.  Nothing changed since the
     * fire, so looking at once is a fair test, not a race. */
    g2 = MUST(push_notify_rewatch(f.n, a, g));
    CHECK(g2 != g);
    CHECK(!fired(g2, 0));
    CHECK(push_notify_rewatch(f.n, a, g2) == g2);

    CHECK_EQ(publish(&f, "a"), PUSH_OK);
    CHECK(fired(g2, FIRE_MS));

    /* Dropped before it fired: destroy must still get its pipe back. */
    g2 = MUST(push_notify_rewatch(f.n, a, g2));
    push_notify_unwatch(f.n, a, g2);
    teardown(&f);
}

/* Publishes nobody waits for must wake no process: the store bumps its
 * futex word only while some notifier counts itself on the channel. */
static void test_watch_counting(void)
{
    fixture_t f;
    uint32_t a, s0;
    push_notify_gen_t *g1, *g2;

    setup(&f, NULL);
    a = chan_of(&f, "a");

    s0 = push_shm_seq(f.shm);
    CHECK_EQ(publish(&f, "a"), PUSH_OK);
    CHECK_EQ(seq_moved(&f, s0), 0);

    g1 = MUST(push_notify_watch(f.n, a));
    g2 = MUST(push_notify_watch(f.n, a));
    s0 = push_shm_seq(f.shm);
    CHECK_EQ(publish(&f, "a"), PUSH_OK);
    CHECK_EQ(seq_moved(&f, s0), 1);
    CHECK(fired(g1, FIRE_MS));

    /* A rewatch moves the waiter on without uncounting it. */
    g1 = MUST(push_notify_rewatch(f.n, a, g1));
    push_notify_unwatch(f.n, a, g2);
    s0 = push_shm_seq(f.shm);
    CHECK_EQ(publish(&f, "a"), PUSH_OK);
    CHECK_EQ(seq_moved(&f, s0), 1);
    CHECK(fired(g1, FIRE_MS));

    /* The last one gone, the channel is quiet again. */
    push_notify_unwatch(f.n, a, g1);
    s0 = push_shm_seq(f.shm);
    CHECK_EQ(publish(&f, "a"), PUSH_OK);
    CHECK_EQ(seq_moved(&f, s0), 0);

    teardown(&f);
}

static void test_shutdown(void)
{
    fixture_t f;
    uint32_t a, b, s0;
    push_notify_gen_t *ga1, *ga2, *gb;

    setup(&f, NULL);
    a = chan_of(&f, "a");
    b = chan_of(&f, "b");
    ga1 = MUST(push_notify_watch(f.n, a));
    ga2 = MUST(push_notify_watch(f.n, a));
    gb = MUST(push_notify_watch(f.n, b));
    CHECK_EQ(push_notify_stopping(f.n), 0);

    push_notify_shutdown(f.n);
    CHECK(fired(ga1, FIRE_MS));
    CHECK(fired(ga2, FIRE_MS));
    CHECK(fired(gb, FIRE_MS));
    CHECK(push_notify_stopping(f.n) != 0);
    CHECK(push_notify_watch(f.n, a) == NULL);

    /* For good: no waiter may go back to sleep, and each rewatch drops
     * its registration, so the store stops counting this process. */
    CHECK(push_notify_rewatch(f.n, a, ga1) == NULL);
    CHECK(push_notify_rewatch(f.n, a, ga2) == NULL);
    CHECK(push_notify_rewatch(f.n, b, gb) == NULL);
    s0 = push_shm_seq(f.shm);
    CHECK_EQ(publish(&f, "a"), PUSH_OK);
    CHECK_EQ(publish(&f, "b"), PUSH_OK);
    CHECK_EQ(seq_moved(&f, s0), 0);

    teardown(&f);
}

static int stop_flag;

static int stop_now(void)
{
    return __atomic_load_n(&stop_flag, __ATOMIC_SEQ_CST);
}

/* With wake set, the stop is posted as httpd's signal handler would
 * (push_shm_wake_all); without, only the notifier's periodic look sees
 * it, which STOP_MS leaves ample room for. */
static void test_stop_fn(int wake)
{
    fixture_t f;
    uint32_t a, b;
    push_notify_gen_t *ga, *gb;

    __atomic_store_n(&stop_flag, 0, __ATOMIC_SEQ_CST);
    setup(&f, stop_now);
    a = chan_of(&f, "a");
    b = chan_of(&f, "b");
    ga = MUST(push_notify_watch(f.n, a));
    gb = MUST(push_notify_watch(f.n, b));
    CHECK_EQ(push_notify_stopping(f.n), 0);

    __atomic_store_n(&stop_flag, 1, __ATOMIC_SEQ_CST);
    if (wake) {
        push_shm_wake_all(f.shm);
    }
    CHECK(fired(ga, STOP_MS));
    CHECK(fired(gb, STOP_MS));
    CHECK(push_notify_stopping(f.n) != 0);
    CHECK(push_notify_watch(f.n, a) == NULL);
    CHECK(push_notify_rewatch(f.n, a, ga) == NULL);
    CHECK(push_notify_rewatch(f.n, b, gb) == NULL);

    teardown(&f);
}

#define MANY_CHANS 50
#define MANY_PER   4

/* Channels are published one at a time; after each, exactly its own
 * watchers must have fired: all of them, and none of a channel not yet
 * published (whose version nothing changed, so an instant look is fair).
 * The first and the last channel are dropped first: removals reshuffle
 * the notifier's list of watched channels, and none still watched may
 * fall out of it.  A dropped channel's publish must wake no process. */
static void test_many_watchers(void)
{
    fixture_t f;
    uint32_t chans[MANY_CHANS], s0;
    push_notify_gen_t *gens[MANY_CHANS][MANY_PER];
    char name[MANY_CHANS][24];
    int i, j, k, bad = 0, loud = 0, missed = 0, early = 0;

    setup(&f, NULL);
    for (i = 0; i < MANY_CHANS; i++) {
        snprintf(name[i], sizeof(name[i]), "many-%d", i);
        chans[i] = chan_of(&f, name[i]);
        for (j = 0; j < MANY_PER; j++) {
            gens[i][j] = MUST(push_notify_watch(f.n, chans[i]));
        }
    }
    for (i = 0; i < MANY_CHANS; i += MANY_CHANS - 1) {
        for (j = 0; j < MANY_PER; j++) {
            push_notify_unwatch(f.n, chans[i], gens[i][j]);
            gens[i][j] = NULL;
        }
    }

    for (i = 0; i < MANY_CHANS; i++) {
        s0 = push_shm_seq(f.shm);
        bad += publish(&f, name[i]) != PUSH_OK;
        if (gens[i][0] == NULL) {
            loud += seq_moved(&f, s0) != 0;
            continue;
        }
        /* Once one is missed, the rest are only looked at: a broken
         * notifier must not hang the run for minutes. */
        for (j = 0; j < MANY_PER; j++) {
            missed += !fired(gens[i][j], missed ? 0 : FIRE_MS);
        }
        for (k = i + 1; k < MANY_CHANS; k++) {
            for (j = 0; j < MANY_PER && gens[k][j]; j++) {
                early += fired(gens[k][j], 0);
            }
        }
    }
    CHECK_EQ(bad, 0);
    CHECK_EQ(loud, 0);
    CHECK_EQ(missed, 0);
    CHECK_EQ(early, 0);

    for (i = 1; i < MANY_CHANS - 1; i++) {
        for (j = 0; j < MANY_PER; j++) {
            push_notify_unwatch(f.n, chans[i], gens[i][j]);
        }
    }
    teardown(&f);
}

static int block_flag;

/* A stop function that does not return while block_flag is set: the
 * notifier thread is then stuck holding its lock, as it would be behind
 * code a signal handler interrupted. */
static int stop_blocking(void)
{
    while (__atomic_load_n(&block_flag, __ATOMIC_SEQ_CST)) {
        struct timespec ms = { 0, 1000000L };

        nanosleep(&ms, NULL);
    }
    return 0;
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) * 1e3
           + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* At process exit the thread ends at once; stuck, it is waited for
 * only as long as asked, and quitting again, or destroying, is safe. */
static void test_quit(void)
{
    fixture_t f;
    struct timespec t0;
    push_notify_gen_t *g;
    uint32_t a;

    setup(&f, NULL);
    a = chan_of(&f, "a");
    g = MUST(push_notify_watch(f.n, a));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_EQ(push_notify_quit(f.n, 1000), 0);
    CHECK(ms_since(&t0) < 500);
    CHECK_EQ(push_notify_quit(f.n, 1000), 0);
    push_notify_unwatch(f.n, a, g);
    teardown(&f);

    __atomic_store_n(&block_flag, 1, __ATOMIC_SEQ_CST);
    setup(&f, stop_blocking);
    a = chan_of(&f, "a");
    g = MUST(push_notify_watch(f.n, a));
    CHECK_EQ(publish(&f, "a"), PUSH_OK);      /* the thread gets stuck */
    {
        struct timespec settle = { 0, 50000000L };

        nanosleep(&settle, NULL);
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(push_notify_quit(f.n, 200) != 0);
    CHECK(ms_since(&t0) >= 150 && ms_since(&t0) < 1500);
    __atomic_store_n(&block_flag, 0, __ATOMIC_SEQ_CST);
    push_notify_unwatch(f.n, a, g);
    teardown(&f);
}

int main(void)
{
    int fds = open_fds();

    test_publish_and_delete();
    test_rewatch();
    test_watch_counting();
    test_shutdown();
    test_stop_fn(1);
    test_stop_fn(0);
    test_many_watchers();
    test_quit();

    /* Each test dropped registrations in every state (fired and held,
     * moved to a new generation, never fired) and destroyed its notifier:
     * every pipe must be back, and AddressSanitizer reports any leak. */
    CHECK(fds >= 0);
    CHECK_EQ(open_fds(), fds);
    return CHECK_DONE("test_notify");
}
