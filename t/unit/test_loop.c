/* test_loop.c — unit tests for the stream loop (core/push_loop.c) and
 * the streaming subscriber on it (core/push_stream.c), driven with a
 * fake transport over a socketpair.  Under the transport all is real:
 * the shared-memory store, its notifier thread, the frame cache, the
 * socket sink, one loop thread.  The test thread publishes and plays
 * the client; owner_t does what mod_push_conn.c does for a parked
 * connection (forwards each loop callback to push_stream_*, and on
 * finish releases the subscription and closes the socket).
 *
 * Covered: a publish wakes a stream; a client that does not read leaves
 * the rest of one message in the sink while later ones wait in the
 * store, and gets all, once each, in order, when it reads; a keep-alive
 * after the ping interval with nothing written, none while stuck; the
 * channel's deletion (on_end, then finish) and the client's hang-up
 * (finish, client side); on_input; one encoding shared by two streams;
 * the notifier shutting down (unwatchable).
 *
 * Every wait has a generous timeout and ends as soon as what it awaits
 * happens; nothing asserts that anything was fast. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "core/push_loop.h"
#include "core/push_stream.h"
#include "store/push_store_shm.h"

#include "check.h"

/* a op b (integers), saying both values when it fails, as CHECK_EQ. */
#define CHECK_OP(a, op, b)                                                 \
    do {                                                                   \
        long long a_ = (long long)(a), b_ = (long long)(b);                \
        if (a_ op b_) {                                                    \
            passed++;                                                      \
        }                                                                  \
        else {                                                             \
            failed++;                                                      \
            fprintf(stderr, "%s:%d: check failed: %s %s %s (%lld vs %lld)" \
                    "\n", __FILE__, __LINE__, #a, #op, #b, a_, b_);        \
        }                                                                  \
    } while (0)

#define STORE_SIZE (32u * 1024 * 1024)
#define WAIT_MS    3000     /* the longest one awaited piece may take */
#define QUIET_MS   500      /* how long a stuck client is left unread */
#define PING_EVERY 200000   /* microseconds */
#define BIG_COUNT  40
#define BIG_BODY   (64 * 1024)
#define BIG_FRAME  (4 + BIG_BODY + 1)   /* "MSG " body "\n" */

/* ------------------------------------------------------------------ */
/* The fake transport: "MSG <body>\n", "PING\n", "BYE <why>\n"          */

/* What it was asked to do; bumped on the loop's thread. */
static struct {
    unsigned encodes, idles, ends, input;
} fake;
#define BUMP(field, n) __atomic_add_fetch(&fake.field, (n), __ATOMIC_SEQ_CST)
#define SEEN(field)    __atomic_load_n(&fake.field, __ATOMIC_SEQ_CST)

static uint32_t fake_variant(const push_sub_t *s)
{
    return 0x7e570000u | s->t->id;   /* one encoding per transport */
}

static push_frame_t *fake_encode(const push_sub_t *s,
                                 const push_message_t *m)
{
    push_frame_t *f = push_frame_alloc(4 + m->body_len + 1);

    (void)s;
    BUMP(encodes, 1);
    if (f) {
        memcpy(f->data, "MSG ", 4);
        memcpy(f->data + 4, m->body, m->body_len);
        f->data[4 + m->body_len] = '\n';
    }
    return f;
}

static int fake_on_idle(push_sub_t *s)
{
    BUMP(idles, 1);
    return push_sink_write1(s->sink, "PING\n", 5) == PUSH_SINK_GONE;
}

static push_end_e fake_on_end(push_sub_t *s, push_stop_e why)
{
    const char *say = why == PUSH_STOP_DELETED ? "BYE deleted\n"
                      : why == PUSH_STOP_TIMEOUT ? "BYE timeout\n"
                      : "BYE stopping\n";

    BUMP(ends, 1);
    push_sink_write1(s->sink, say, strlen(say));
    return PUSH_END_NOW;
}

static int fake_on_input(push_sub_t *s, unsigned char *data, size_t len)
{
    (void)s;
    (void)data;
    BUMP(input, (unsigned)len);
    return 0;
}

static const push_transport_t fake_stream = {
    .name = "fake-stream", .id = 3, .flags = PUSH_T_STREAM,
    .variant = fake_variant, .encode = fake_encode,
    .on_idle = fake_on_idle, .on_end = fake_on_end
};

static const push_transport_t fake_reads = {
    .name = "fake-reads", .id = 4, .flags = PUSH_T_STREAM | PUSH_T_READS,
    .variant = fake_variant, .encode = fake_encode,
    .on_idle = fake_on_idle, .on_end = fake_on_end,
    .on_input = fake_on_input
};

/* The same with the subscriber's id: "MSG <id> <body>\n". */
static push_frame_t *fake_id_encode(const push_sub_t *s,
                                    const push_message_t *m)
{
    char id[PUSH_SUB_ID_MAX];
    size_t n = push_sub_id_text(s, &m->id, id);
    push_frame_t *f = push_frame_alloc(4 + n + 1 + m->body_len + 1);

    BUMP(encodes, 1);
    if (f) {
        memcpy(f->data, "MSG ", 4);
        memcpy(f->data + 4, id, n);
        f->data[4 + n] = ' ';
        memcpy(f->data + 5 + n, m->body, m->body_len);
        f->data[5 + n + m->body_len] = '\n';
    }
    return f;
}

static const push_transport_t fake_ids = {
    .name = "fake-ids", .id = 5, .flags = PUSH_T_STREAM,
    .variant = fake_variant, .encode = fake_id_encode,
    .on_idle = fake_on_idle, .on_end = fake_on_end
};

/* ------------------------------------------------------------------ */
/* The owner: a parked connection's record, reduced to the stream       */

typedef struct {
    push_loop_item_t item;     /* first: the callbacks get &item */
    push_sub_t       sub;
    push_stream_t    stream;
    int              client;   /* the test's end of the socketpair */
    /* Written on the loop's thread under `lock`; the test reads them
     * under it, or once finished is set (the loop is done then). */
    int              started, finished;
    push_ended_e     ended;
    size_t           max_pending;
    unsigned long    delivered;
    int64_t          write_timeout;
} owner_t;

static int stalls;   /* env.stalled calls (atomic) */

static void on_stalled(const push_sub_t *s, int64_t waited)
{
    (void)s;
    (void)waited;
    __atomic_add_fetch(&stalls, 1, __ATOMIC_SEQ_CST);
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t  changed = PTHREAD_COND_INITIALIZER;

/* After each callback, on the loop's thread: what the test looks at. */
static void probe(owner_t *o, int started)
{
    size_t pending = o->stream.sink->pending(o->stream.sink);

    pthread_mutex_lock(&lock);
    o->started |= started;
    if (pending > o->max_pending) {
        o->max_pending = pending;
    }
    o->delivered = o->sub.delivered;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

#define OWNER(it) ((owner_t *)(it))

static void op_adopt(push_loop_item_t *it)
{
    if (push_stream_start(&OWNER(it)->stream) != 0) {
        push_loop_end(it, PUSH_ENDED_SERVER);   /* as conn_adopt does */
    }
    probe(OWNER(it), 1);
}

static void op_io(push_loop_item_t *it, uint32_t events)
{
    push_stream_io(&OWNER(it)->stream, events);
    probe(OWNER(it), 0);
}

static void op_due(push_loop_item_t *it, int64_t now)
{
    push_stream_due(&OWNER(it)->stream, now);
    probe(OWNER(it), 0);
}

static void op_expired(push_loop_item_t *it, int64_t now)
{
    push_stream_expired(&OWNER(it)->stream, now);
    probe(OWNER(it), 0);
}

static void op_wake(push_loop_item_t *it)
{
    push_stream_wake(&OWNER(it)->stream);
    probe(OWNER(it), 0);
}

static void op_unwatchable(push_loop_item_t *it)
{
    push_stream_unwatchable(&OWNER(it)->stream);
    probe(OWNER(it), 0);
}

/* The loop is done with it: closing the socket is the owner's job.  The
 * record is the test's, and not touched after the signal. */
static void op_finish(push_loop_item_t *it)
{
    owner_t *o = OWNER(it);

    push_stream_finish(&o->stream);
    push_sub_release(&o->sub);
    close(it->fd);
    pthread_mutex_lock(&lock);
    o->ended = it->ended;
    o->delivered = o->sub.delivered;
    o->finished = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static const push_loop_ops_t owner_ops = {
    op_adopt, op_io, op_due, op_wake, op_unwatchable, NULL, op_finish,
    op_expired
};

typedef int (*pred_fn)(const owner_t *o);

static int is_started(const owner_t *o)  { return o->started; }
static int is_finished(const owner_t *o) { return o->finished; }
static int is_stuck(const owner_t *o)    { return o->max_pending > 0; }
static int has_input(const owner_t *o)   { (void)o; return SEEN(input) >= 5; }

/* 1 once pred holds, 0 when ms passed first. */
static int wait_until(owner_t *o, pred_fn pred, int ms)
{
    int64_t t = push_now() + (int64_t)ms * 1000;   /* the realtime clock */
    struct timespec end = { t / 1000000, (long)(t % 1000000) * 1000 };
    int ok, rc = 0;

    pthread_mutex_lock(&lock);
    while (!(ok = pred(o)) && rc != ETIMEDOUT) {
        rc = pthread_cond_timedwait(&changed, &lock, &end);
    }
    pthread_mutex_unlock(&lock);
    return ok;
}

/* The stream finished, and ended the way said. */
#define CHECK_FINISHED(o, how)                                             \
    do {                                                                   \
        CHECK(wait_until((o), is_finished, WAIT_MS));                      \
        CHECK_EQ((o)->ended, (how));                                       \
    } while (0)

/* ------------------------------------------------------------------ */
/* Fixture: store, notifier, frame cache, loop                          */

typedef struct {
    void            *mem;
    push_shm_t      *shm;
    push_counters_t  counters;
    push_env_t       env;
    push_loop_t     *loop;
} fixture_t;

static void setup(fixture_t *f)
{
    memset(f, 0, sizeof(*f));
    memset(&fake, 0, sizeof(fake));
    f->mem = mmap(NULL, STORE_SIZE, PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    f->shm = f->mem == MAP_FAILED ? NULL
             : push_shm_format(f->mem, STORE_SIZE, push_now() / 1000000);
    f->env.store.engine = &push_shm_engine;
    f->env.store.inst = f->shm;
    f->env.counters = &f->counters;
    f->env.stalled = on_stalled;
    if (!f->shm || !(f->env.notify = push_notify_start(&f->env.store, NULL))
        || !(f->env.frames = push_frame_cache_create(64))
        || !(f->loop = push_loop_create(&f->env, 0, NULL, NULL))
        || push_loop_start(f->loop) != 0) {
        fprintf(stderr, "cannot make a store, notifier, cache and loop\n");
        exit(2);
    }
}

/* The notifier may only go once the loop dropped every registration, so
 * a stream still running (a test failed) is hung up on first. */
static void teardown(fixture_t *f, owner_t **owners, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        if (owners[i]->client >= 0) {
            close(owners[i]->client);
        }
        if (!wait_until(owners[i], is_finished, WAIT_MS)) {
            fprintf(stderr, "%s: a stream never finished\n", __FILE__);
            exit(1);
        }
    }
    push_loop_destroy(f->loop);
    push_notify_destroy(f->env.notify);
    push_frame_cache_destroy(f->env.frames);
    munmap(f->mem, STORE_SIZE);
}

static push_status_e publish(fixture_t *f, const char *chan,
                             const char *body, size_t len)
{
    push_message_t m = { .body = body, .body_len = len };
    push_limits_t lim = { .buffer_length = 1000, .timeout = 0 };

    return push_shm_publish(f->shm, chan, strlen(chan), &m, &lim,
                            push_now() / 1000000, NULL, NULL);
}

/* A subscriber to chan on a fresh socketpair, as the handler leaves it
 * before the hand-over.  small: tiny socket buffers, so that a big
 * message cannot go out in one write. */
static void owner_open_timed(fixture_t *f, owner_t *o,
                             const push_transport_t *t, const char *chan,
                             int64_t ping_every, int small,
                             int64_t write_timeout)
{
    int sv[2], size = 4096;

    memset(o, 0, sizeof(*o));
    o->write_timeout = write_timeout;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0
        || fcntl(sv[0], F_SETFL, O_NONBLOCK) != 0
        || (small && (setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size,
                                 sizeof(size)) != 0
                      || setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &size,
                                    sizeof(size)) != 0))
        || push_shm_subscribe(f->shm, chan, strlen(chan),
                              push_now() / 1000000, &o->sub.ref, NULL)
           != PUSH_OK) {
        fprintf(stderr, "cannot set up a subscriber of %s\n", chan);
        exit(2);
    }
    o->client = sv[1];
    o->sub.t = t;
    o->sub.tstate = o;
    o->sub.env = &f->env;
    o->sub.channel = chan;
    push_sub_count(&o->sub, 1);   /* finish's push_sub_release uncounts */
    push_loop_item_init(&o->item, &owner_ops, sv[0]);
    push_stream_init(&o->stream, &o->sub, &o->item, 0, ping_every, o->write_timeout);
    o->item.since = push_now();
}

static void owner_open(fixture_t *f, owner_t *o, const push_transport_t *t,
                       const char *chan, int64_t ping_every, int small)
{
    owner_open_timed(f, o, t, chan, ping_every, small, 0);
}

static void owner_go(fixture_t *f, owner_t *o)
{
    push_loop_handover(f->loop, &o->item);
    CHECK(wait_until(o, is_started, WAIT_MS));
}

/* The client closes its end. */
static void hang_up(owner_t *o)
{
    close(o->client);
    o->client = -1;
}

/* ------------------------------------------------------------------ */
/* The client's side                                                    */

/* Up to n bytes, each within WAIT_MS of the one before: how many came
 * before a timeout or the end. */
static size_t read_exact(owner_t *o, char *buf, size_t n)
{
    struct pollfd p = { o->client, POLLIN, 0 };
    size_t got = 0;
    ssize_t r = 1;

    while (got < n && r > 0 && poll(&p, 1, WAIT_MS) == 1) {
        r = read(o->client, buf + got, n - got);
        got += r > 0 ? (size_t)r : 0;
    }
    return got;
}

/* Bytes on stderr, a newline as \n. */
static void show(const char *p, size_t n)
{
    for (; n; n--, p++) {
        fputs(*p == '\n' ? "\\n" : (char[2]){ *p, 0 }, stderr);
    }
}

/* The next bytes the client gets are exactly text. */
#define CHECK_NEXT(o, text) check_next_at(__LINE__, (o), (text))

static void check_next_at(int line, owner_t *o, const char *text)
{
    char buf[64];
    size_t n = strlen(text) < sizeof(buf) ? strlen(text) : sizeof(buf);
    size_t got = read_exact(o, buf, n);

    if (got == n && memcmp(buf, text, n) == 0) {
        passed++;
        return;
    }
    failed++;
    fprintf(stderr, "%s:%d: check failed: expected \"", __FILE__, line);
    show(text, n);
    fprintf(stderr, "\", came \"");
    show(buf, got);
    fprintf(stderr, "\"%s\n", got < n ? " and no more" : "");
}

/* Nothing more comes but the end (finish closed the server's end). */
static void check_eof(owner_t *o)
{
    struct pollfd p = { o->client, POLLIN, 0 };
    char c;

    CHECK_EQ(poll(&p, 1, WAIT_MS), 1);
    CHECK_EQ(read(o->client, &c, 1), 0);
}

/* ------------------------------------------------------------------ */
/* Tests                                                                */

/* A publish reaches a stream that is already waiting; deleting the
 * channel says so (on_end) and finishes the stream on our side. */
static void test_wake_and_delete(void)
{
    fixture_t f;
    owner_t o;

    setup(&f);
    owner_open(&f, &o, &fake_stream, "news", 0, 0);
    owner_go(&f, &o);
    CHECK_EQ(publish(&f, "news", "0 hello", 7), PUSH_OK);
    CHECK_NEXT(&o, "MSG 0 hello\n");
    CHECK_EQ(publish(&f, "news", "1 again", 7), PUSH_OK);
    CHECK_NEXT(&o, "MSG 1 again\n");
    CHECK_EQ(push_shm_delete(f.shm, "news", 4, push_now() / 1000000, NULL),
             PUSH_OK);
    CHECK_NEXT(&o, "BYE deleted\n");
    CHECK_FINISHED(&o, PUSH_ENDED_SERVER);
    CHECK_EQ(o.delivered, 2);
    CHECK_EQ(SEEN(ends), 1);
    check_eof(&o);
    teardown(&f, (owner_t *[]){ &o }, 1);
}

/* Big message i: its number, then a letter of its own. */
static void big_body(char *b, unsigned i)
{
    char num[8];

    memset(b, 'a' + (int)(i % 26), BIG_BODY);
    snprintf(num, sizeof(num), "%05u ", i);
    memcpy(b, num, 6);
}

/* A client that does not read: the first message goes out in part, the
 * sink keeps the rest, and nothing more is taken from the store (nor a
 * keep-alive sent) until the socket drains; then the stream catches up
 * from the store and every message arrives once, in order. */
static void test_partial_write(void)
{
    fixture_t f;
    owner_t o;
    char *body = malloc(BIG_BODY), *got = calloc(1, BIG_FRAME);
    unsigned i, ok = 0, next = 0;
    unsigned long delivered;
    size_t max_pending;

    setup(&f);
    owner_open(&f, &o, &fake_stream, "big", PING_EVERY, 1);
    /* Half before the hand-over: the start's delivery writes the first
     * and sticks, before any keep-alive can be due. */
    for (i = 0; i < BIG_COUNT / 2; i++) {
        big_body(body, i);
        ok += publish(&f, "big", body, BIG_BODY) == PUSH_OK;
    }
    owner_go(&f, &o);
    CHECK(wait_until(&o, is_stuck, WAIT_MS));
    /* The other half wakes a stream whose socket is full. */
    for (; i < BIG_COUNT; i++) {
        big_body(body, i);
        ok += publish(&f, "big", body, BIG_BODY) == PUSH_OK;
    }
    CHECK_EQ(ok, BIG_COUNT);
    usleep(QUIET_MS * 1000);
    pthread_mutex_lock(&lock);
    delivered = o.delivered;
    max_pending = o.max_pending;
    pthread_mutex_unlock(&lock);
    CHECK_EQ(delivered, 1);               /* the rest is in the store */
    CHECK_OP(max_pending, <, BIG_FRAME);  /* only the first's unsent rest */
    CHECK_EQ(SEEN(idles), 0);             /* stuck is not idle */

    /* Then it reads: each message whole and in order, keep-alives
     * between them (once it caught up) aside.  A piece that never comes
     * ends the reading; so do pings without end. */
    for (i = 0; next < BIG_COUNT && i < BIG_COUNT + 20; i++) {
        if (read_exact(&o, got, 5) == 5 && memcmp(got, "PING\n", 5) == 0) {
            continue;
        }
        big_body(body, next);
        if (memcmp(got, "MSG ", 4) != 0
            || read_exact(&o, got + 5, BIG_FRAME - 5) != BIG_FRAME - 5
            || memcmp(got + 4, body, BIG_BODY) != 0
            || got[BIG_FRAME - 1] != '\n') {
            break;
        }
        next++;
    }
    CHECK_EQ(next, BIG_COUNT);
    if (next < BIG_COUNT) {
        fprintf(stderr, "  after %u in order came \"", next);
        show(got, 16);
        fprintf(stderr, "...\"\n");
    }
    CHECK_EQ(SEEN(encodes), BIG_COUNT);
    hang_up(&o);
    CHECK_FINISHED(&o, PUSH_ENDED_CLIENT);
    CHECK_EQ(o.delivered, BIG_COUNT);
    teardown(&f, (owner_t *[]){ &o }, 1);
    free(body);
    free(got);
}

/* With nothing written for the ping interval, the transport's on_idle
 * runs; a write puts it off (it is due an interval after the message,
 * measured from before the publish); the client hanging up then
 * finishes the stream on its side. */
static void test_ping(void)
{
    fixture_t f;
    owner_t o;
    char got[5] = "";
    int64_t before;
    int i;

    setup(&f);
    owner_open(&f, &o, &fake_stream, "quiet", PING_EVERY, 0);
    owner_go(&f, &o);
    usleep(PING_EVERY / 2);   /* half the interval gone: the message moves
                               * the keep-alive later */
    before = push_now();
    CHECK_EQ(publish(&f, "quiet", "0 tick", 6), PUSH_OK);
    /* A slow thread here may let the first keep-alive come first. */
    for (i = 0; i < 20 && read_exact(&o, got, 5) == 5
                && memcmp(got, "PING\n", 5) == 0; i++)
        ;
    CHECK_EQ(memcmp(got, "MSG 0", 5), 0);
    CHECK_NEXT(&o, " tick\n");
    CHECK_NEXT(&o, "PING\n");
    CHECK_OP(push_now() - before, >=, PING_EVERY);
    CHECK_OP(SEEN(idles), >=, 1);
    hang_up(&o);
    CHECK_FINISHED(&o, PUSH_ENDED_CLIENT);
    CHECK_EQ(o.delivered, 1);
    teardown(&f, (owner_t *[]){ &o }, 1);
}

/* Two streams of one channel woken by one publish: one encoding, reused
 * from the frame cache by the second (the counters say so too); a delete
 * ends both. */
static void test_shared_encoding(void)
{
    fixture_t f;
    owner_t a, b;

    setup(&f);
    owner_open(&f, &a, &fake_stream, "shared", 0, 0);
    owner_open(&f, &b, &fake_stream, "shared", 0, 0);
    /* Handed over together: one wake-up of the loop adopts both. */
    push_loop_handover(f.loop, &a.item);
    push_loop_handover(f.loop, &b.item);
    CHECK(wait_until(&a, is_started, WAIT_MS));
    CHECK(wait_until(&b, is_started, WAIT_MS));
    CHECK_EQ(publish(&f, "shared", "0 both", 6), PUSH_OK);
    CHECK_NEXT(&a, "MSG 0 both\n");
    CHECK_NEXT(&b, "MSG 0 both\n");
    CHECK_EQ(SEEN(encodes), 1);
    CHECK_EQ(__atomic_load_n(&f.counters.encoded, __ATOMIC_SEQ_CST), 1);
    CHECK_EQ(__atomic_load_n(&f.counters.encoded_reused, __ATOMIC_SEQ_CST),
             1);
    CHECK_EQ(push_shm_delete(f.shm, "shared", 6, push_now() / 1000000,
                             NULL), PUSH_OK);
    CHECK_NEXT(&a, "BYE deleted\n");
    CHECK_NEXT(&b, "BYE deleted\n");
    CHECK_FINISHED(&a, PUSH_ENDED_SERVER);
    CHECK_FINISHED(&b, PUSH_ENDED_SERVER);
    CHECK_EQ(a.delivered + b.delivered, 2);
    CHECK_EQ(SEEN(ends), 2);
    teardown(&f, (owner_t *[]){ &a, &b }, 2);
}

/* A transport that reads gets what the client sends; the client's
 * hang-up (the end of what it sends) finishes the stream on its side. */
static void test_reads_and_hangup(void)
{
    fixture_t f;
    owner_t o;

    setup(&f);
    owner_open(&f, &o, &fake_reads, "chat", 0, 0);
    owner_go(&f, &o);
    CHECK_EQ(write(o.client, "hello", 5), 5);
    CHECK(wait_until(&o, has_input, WAIT_MS));
    CHECK_EQ(SEEN(input), 5);
    hang_up(&o);
    CHECK_FINISHED(&o, PUSH_ENDED_CLIENT);
    CHECK_EQ(SEEN(ends), 0);
    teardown(&f, (owner_t *[]){ &o }, 1);
}

/* A source whose input waits above the socket (as a TLS connection's
 * decrypted bytes wait in mod_ssl): the socket never shows it. */
typedef struct {
    push_source_t source;
    size_t        left;
} hidden_source_t;

static long hidden_read(push_source_t *src, unsigned char *buf, size_t cap)
{
    hidden_source_t *h = (hidden_source_t *)src;
    size_t n = h->left < cap ? h->left : cap;

    if (!n) {
        return PUSH_SOURCE_AGAIN;
    }
    memset(buf, 'h', n);
    h->left -= n;
    return (long)n;
}

#define HIDDEN_BYTES (3 * PUSH_READ_BUDGET + 1000)
static int read_hidden(const owner_t *o)
{
    (void)o;
    return SEEN(input) >= HIDDEN_BYTES;
}

/* More than one read budget waits where the socket does not show it:
 * the stream reads a budget, and the loop comes back for the rest on
 * its next turns (push_loop_ready) without the socket ever being
 * readable. */
static void test_hidden_input(void)
{
    fixture_t f;
    owner_t o;
    hidden_source_t h;
    unsigned before;

    setup(&f);
    owner_open(&f, &o, &fake_reads, "hidden", 0, 0);
    h.source.read = hidden_read;
    h.source.hides_input = 1;
    h.left = HIDDEN_BYTES;
    before = SEEN(input);
    push_stream_use(&o.stream, &o.stream.out.sink, &h.source);
    owner_go(&f, &o);
    if (!wait_until(&o, read_hidden, WAIT_MS)) {
        fprintf(stderr, "hidden input: read %u of %u bytes\n",
                SEEN(input) - before, (unsigned)HIDDEN_BYTES);
    }
    CHECK_EQ(SEEN(input) - before, (unsigned)HIDDEN_BYTES);
    hang_up(&o);
    CHECK_FINISHED(&o, PUSH_ENDED_CLIENT);
    teardown(&f, (owner_t *[]){ &o }, 1);
}

/* The notifier shuts down (the process is stopping): the channel can no
 * longer be watched, the transport says so and the stream ends on our
 * side (the client comes back to a live process). */
static void test_stopping(void)
{
    fixture_t f;
    owner_t o;

    setup(&f);
    owner_open(&f, &o, &fake_stream, "late", 0, 0);
    owner_go(&f, &o);
    push_notify_shutdown(f.env.notify);
    CHECK_NEXT(&o, "BYE stopping\n");
    CHECK_FINISHED(&o, PUSH_ENDED_SERVER);
    check_eof(&o);
    teardown(&f, (owner_t *[]){ &o }, 1);
}

/* A client that reads nothing of what waits for it is closed after the
 * write timeout (and said once); one that reads a little at a time is
 * slow, not stalled, and stays. */
#define STALL_USEC 300000
static void test_write_timeout(void)
{
    fixture_t f;
    owner_t stuck, slow;
    char *body = malloc(BIG_BODY), buf[8192];
    unsigned i;
    int finished;

    setup(&f);
    __atomic_store_n(&stalls, 0, __ATOMIC_SEQ_CST);
    owner_open_timed(&f, &stuck, &fake_stream, "stall", PING_EVERY, 1,
                     STALL_USEC);
    owner_open_timed(&f, &slow, &fake_stream, "stall", PING_EVERY, 1,
                     STALL_USEC);
    for (i = 0; i < 4; i++) {
        big_body(body, i);
        CHECK_EQ(publish(&f, "stall", body, BIG_BODY), PUSH_OK);
    }
    owner_go(&f, &stuck);
    owner_go(&f, &slow);
    CHECK(wait_until(&stuck, is_stuck, WAIT_MS));
    CHECK(wait_until(&slow, is_stuck, WAIT_MS));
    /* Four timeouts long, the slow one reads a little every tenth. */
    for (i = 0; i < 12; i++) {
        usleep(STALL_USEC / 3);
        if (read(slow.client, buf, sizeof(buf)) <= 0) {
            break;
        }
    }
    CHECK(wait_until(&stuck, is_finished, WAIT_MS));
    CHECK_EQ(stuck.ended, PUSH_ENDED_CLIENT);
    pthread_mutex_lock(&lock);
    finished = slow.finished;
    pthread_mutex_unlock(&lock);
    CHECK_EQ(finished, 0);
    CHECK_EQ(__atomic_load_n(&stalls, __ATOMIC_SEQ_CST), 1);
    {
        owner_t *all[] = { &stuck, &slow };

        teardown(&f, all, 2);
    }
    free(body);
}

/* PushSubscriberTimeout: a stream with no message for idle_limit ends
 * (on_end says why); each message starts the wait again, and pings do
 * not count as messages. */
#define IDLE_USEC 300000
static void test_subscriber_timeout(void)
{
    fixture_t f;
    owner_t idle, fed;
    int64_t start;
    int i, finished;

    setup(&f);
    owner_open(&f, &idle, &fake_stream, "idle", IDLE_USEC / 4, 0);
    owner_open(&f, &fed, &fake_stream, "fed", 0, 0);
    idle.stream.idle_limit = IDLE_USEC;
    fed.stream.idle_limit = IDLE_USEC;
    start = push_now();
    owner_go(&f, &idle);
    owner_go(&f, &fed);
    /* Fed every third of the limit, for three limits. */
    for (i = 0; i < 9; i++) {
        char body[16];

        usleep(IDLE_USEC / 3);
        snprintf(body, sizeof(body), "%d m", i);
        CHECK_EQ(publish(&f, "fed", body, strlen(body)), PUSH_OK);
    }
    CHECK(wait_until(&idle, is_finished, WAIT_MS));
    CHECK_EQ(idle.ended, PUSH_ENDED_SERVER);
    CHECK_OP(push_now() - start, >=, IDLE_USEC);
    {
        char buf[4096];
        ssize_t n = read(idle.client, buf, sizeof(buf) - 1);

        buf[n > 0 ? n : 0] = '\0';
        CHECK(n > 0 && strstr(buf, "PING\n") != NULL
              && strstr(buf, "BYE timeout\n") != NULL);
    }
    pthread_mutex_lock(&lock);
    finished = fed.finished;
    pthread_mutex_unlock(&lock);
    CHECK_EQ(finished, 0);
    /* Then left alone, it ends too, with every message. */
    CHECK(wait_until(&fed, is_finished, WAIT_MS));
    CHECK_EQ(fed.ended, PUSH_ENDED_SERVER);
    CHECK_EQ(fed.delivered, 9);
    {
        owner_t *all[] = { &idle, &fed };

        teardown(&f, all, 2);
    }
}

/* A multiplexed stream: three channels followed by one item.  Each
 * channel's messages come in publish order, with multi-ids whose
 * bracketed tag is the message's channel; a channel it does not follow
 * wakes nothing; deleting one of its channels ends it. */
static void test_multiplexed(void)
{
    fixture_t f;
    owner_t o;
    push_sub_t b, c, *more[2] = { &b, &c };
    char buf[256];
    size_t n;
    int64_t t;

    setup(&f);
    owner_open(&f, &o, &fake_ids, "mx-a", 0, 0);
    memset(&b, 0, sizeof(b));
    memset(&c, 0, sizeof(c));
    b.t = c.t = &fake_ids;
    b.env = c.env = &f.env;
    b.channel = "mx-b";
    c.channel = "mx-c";
    CHECK_EQ(push_shm_subscribe(f.shm, "mx-b", 4, push_now() / 1000000,
                                &b.ref, NULL), PUSH_OK);
    CHECK_EQ(push_shm_subscribe(f.shm, "mx-c", 4, push_now() / 1000000,
                                &c.ref, NULL), PUSH_OK);
    o.sub.more = more;
    o.sub.nmore = 2;
    owner_go(&f, &o);
    t = push_now() / 1000000;
    /* Published within one second, as a rule: each tag is 0 and the ids
     * are known. */
    CHECK_EQ(publish(&f, "mx-c", "c0", 2), PUSH_OK);
    CHECK_EQ(publish(&f, "mx-other", "x", 1), PUSH_OK);
    CHECK_EQ(publish(&f, "mx-a", "a0", 2), PUSH_OK);
    CHECK_EQ(publish(&f, "mx-b", "b0", 2), PUSH_OK);
    n = (size_t)snprintf(buf, sizeof(buf),
                         "MSG %lld:-1,-1,[0] c0\n"
                         "MSG %lld:[0],-1,0 a0\n"
                         "MSG %lld:0,[0],0 b0\n",
                         (long long)t, (long long)t, (long long)t);
    {
        char got[256];
        size_t g = read_exact(&o, got, n);

        /* A second may have turned between the publishes: then the ids
         * differ but the order does not. */
        if (g == n && memcmp(got, buf, n) != 0) {
            CHECK(strstr(got, " c0\n") < strstr(got, " a0\n"));
            CHECK(strstr(got, " a0\n") < strstr(got, " b0\n"));
        }
        else {
            CHECK(g == n && memcmp(got, buf, n) == 0);
            if (g != n || memcmp(got, buf, n) != 0) {
                fprintf(stderr, "expected ");
                show(buf, n);
                fprintf(stderr, "\ncame ");
                show(got, g);
                fprintf(stderr, "\n");
            }
        }
    }
    CHECK_EQ(publish(&f, "mx-b", "b1", 2), PUSH_OK);
    {
        char got[64];
        size_t g = read_exact(&o, got, 4);

        CHECK(g == 4 && memcmp(got, "MSG ", 4) == 0);
        g = read_exact(&o, got, sizeof(got));
        CHECK(g > 4 && memmem(got, g, " b1\n", 4) != NULL);
    }
    /* Deleting the second channel ends the whole subscriber. */
    CHECK_EQ(push_shm_delete(f.shm, "mx-b", 4, push_now() / 1000000, NULL),
             PUSH_OK);
    CHECK_NEXT(&o, "BYE deleted\n");
    CHECK_FINISHED(&o, PUSH_ENDED_SERVER);
    CHECK_EQ(o.delivered, 4);
    teardown(&f, (owner_t *[]){ &o }, 1);
}

int main(void)
{
    test_wake_and_delete();
    test_partial_write();
    test_ping();
    test_shared_encoding();
    test_reads_and_hangup();
    test_hidden_input();
    test_stopping();
    test_write_timeout();
    test_subscriber_timeout();
    test_multiplexed();
    return CHECK_DONE("test_loop");
}
