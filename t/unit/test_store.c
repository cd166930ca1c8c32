/* test_store.c — unit tests for the shared-memory store engine,
 * store/push_store_shm.c.
 *
 * Each test lays a store over an anonymous MAP_SHARED mapping, the same
 * kind of memory httpd children share, so forked children here exercise
 * the cross-process paths (futex waits, the robust lock, a holder dying).
 * Time is passed in explicitly everywhere except where a test measures
 * how fast a wake-up arrives. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "store/push_store_shm.h"

/* Defined by store/push_store_shm.c for this test only; see there. */
extern void (*push_shm_test_crash_hook)(int where);

#include "check.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

static void *map_region(size_t size)
{
    void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    if (mem == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    return mem;
}

static push_shm_t *new_store(size_t size, int64_t now, void **mem)
{
    push_shm_t *s;

    *mem = map_region(size);
    s = push_shm_format(*mem, size, now);
    if (s == NULL) {
        fprintf(stderr, "push_store_format failed\n");
        exit(2);
    }
    return s;
}

/* A bump allocator standing in for a request pool: push_shm_next
 * copies into it and nothing is freed until the arena is. */
typedef struct {
    char  *buf;
    size_t used;
    size_t cap;
} arena_t;

static arena_t arena;

static void *arena_alloc(void *ctx, const push_msgid_t *id, size_t size)
{
    arena_t *a = ctx;
    void *p;

    (void)id;
    size = (size + 15) & ~(size_t)15;
    if (a->cap - a->used < size) {
        a->used = 0;           /* tests only keep the newest few copies */
        if (size > a->cap) {
            return NULL;
        }
    }
    p = a->buf + a->used;
    a->used += size;
    return p;
}

static push_status_e pub_full(push_shm_t *s, const char *chan,
                              const char *body, size_t body_len,
                              const char *ct, const char *ev,
                              uint32_t buffer_length, uint32_t timeout,
                              int64_t now, push_msgid_t *id,
                              push_channel_info_t *info)
{
    push_message_t m;
    push_limits_t lim;

    memset(&m, 0, sizeof(m));
    m.body = body;
    m.body_len = body_len;
    m.content_type = ct;
    m.content_type_len = ct ? strlen(ct) : 0;
    m.event = ev;
    m.event_len = ev ? strlen(ev) : 0;
    lim.buffer_length = buffer_length;
    lim.timeout = timeout;
    return push_shm_publish(s, chan, strlen(chan), &m, &lim, now, id, info);
}

static push_status_e pub(push_shm_t *s, const char *chan, const char *body,
                         uint32_t buffer_length, uint32_t timeout,
                         int64_t now, push_msgid_t *id)
{
    return pub_full(s, chan, body, strlen(body), NULL, NULL,
                    buffer_length, timeout, now, id, NULL);
}

static push_status_e info_of(push_shm_t *s, const char *chan, int64_t now,
                             push_channel_info_t *info)
{
    return push_shm_info(s, chan, strlen(chan), now, info);
}

static push_status_e sub_to(push_shm_t *s, const char *chan, int64_t now,
                            push_store_ref_t *sub)
{
    return push_shm_subscribe(s, chan, strlen(chan), now, sub, NULL);
}

static push_status_e next_msg(push_shm_t *s, push_store_ref_t *sub,
                              const push_msgid_t *cursor, int64_t now,
                              push_message_t *m, int *gap, push_msgid_t *gid)
{
    return push_shm_next(s, sub, cursor, now, arena_alloc, &arena, m,
                         gap, gid);
}

static int id_is(const push_msgid_t *id, int64_t t, uint32_t n)
{
    return id->time == t && id->tag == n;
}

static push_msgid_t mkid(int64_t t, uint32_t n)
{
    push_msgid_t id;

    id.time = t;
    id.tag = n;
    return id;
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* Walks a channel from the oldest message, checking that ids rise
 * strictly and that the decimal numbers after `prefix` in the bodies are
 * consecutive.  Returns the count, and the first and last numbers. */
static int walk_numbered(push_shm_t *s, const char *chan, const char *prefix,
                         int64_t now, long *first, long *last)
{
    push_store_ref_t sub;
    push_message_t m;
    push_msgid_t cursor = {0, 0};
    size_t plen = strlen(prefix);
    int n = 0, ok = 1;

    if (sub_to(s, chan, now, &sub) != PUSH_OK) {
        return -1;
    }
    *first = *last = -1;
    while (next_msg(s, &sub, n ? &cursor : NULL, now, &m, NULL, NULL)
           == PUSH_FOUND) {
        long v;

        if (n && push_msgid_cmp(&m.id, &cursor) <= 0) {
            ok = 0;
        }
        if (m.body_len < plen || memcmp(m.body, prefix, plen) != 0) {
            ok = 0;
            break;
        }
        v = strtol(m.body + plen, NULL, 10);
        if (n == 0) {
            *first = v;
        }
        else if (v != *last + 1) {
            ok = 0;
        }
        *last = v;
        cursor = m.id;
        n++;
    }
    push_shm_unsubscribe(s, &sub);
    return ok ? n : -1;
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */

static void test_format_attach(void)
{
    size_t size = 1 << 20;
    void *mem = map_region(size);
    push_shm_t *s;
    push_store_stats_t st;
    push_msgid_t id;
    push_channel_info_t info;

    CHECK(push_shm_format(mem, PUSH_SHM_MIN_SIZE - 8, 100) == NULL);
    CHECK(push_shm_format((char *)mem + 4, size - 64, 100) == NULL);
    CHECK(push_shm_attach(mem, size) == NULL);      /* zeroes, no store */

    s = push_shm_format(mem, size, 100);
    CHECK(s == mem);
    CHECK(push_shm_attach(mem, size) == s);
    CHECK(push_shm_attach(mem, size - 4096) == NULL);
    CHECK(push_shm_attach(mem, size + 4096) == NULL);

    push_shm_stats(s, 100, &st);
    CHECK(st.channels == 0 && st.channel_slots >= 16 && st.messages == 0
          && st.published == 0 && st.evicted == 0 && st.expired == 0
          && st.bytes_used == 0 && st.bytes_total == size
          && st.created == 100 && st.recoveries == 0);

    /* A store survives re-attaching, messages and all. */
    CHECK(pub(s, "keep", "hello", 10, 0, 100, &id) == PUSH_OK);
    s = push_shm_attach(mem, size);
    CHECK(s != NULL && info_of(s, "keep", 100, &info) == PUSH_OK
          && info.messages == 1 && push_msgid_cmp(&info.last_id, &id) == 0);

    /* A damaged magic is refused. */
    ((unsigned char *)mem)[0] ^= 0x40;
    CHECK(push_shm_attach(mem, size) == NULL);
    ((unsigned char *)mem)[0] ^= 0x40;
    CHECK(push_shm_attach(mem, size) == s);

    /* The smallest store works and has its 16 slots. */
    s = push_shm_format(mem, PUSH_SHM_MIN_SIZE, 100);
    CHECK(s != NULL);
    push_shm_stats(s, 100, &st);
    CHECK(st.channel_slots >= 16 && st.bytes_total == PUSH_SHM_MIN_SIZE);
    munmap(mem, size);
}

static void test_bad_args(void)
{
    void *mem;
    push_shm_t *s = new_store(1 << 20, 1000, &mem);
    static char big[PUSH_CHANNEL_ID_MAX + 1];
    push_message_t m;
    push_limits_t lim = {10, 0};
    push_store_ref_t sub;
    push_channel_info_t info;

    memset(big, 'a', sizeof(big));
    memset(&m, 0, sizeof(m));
    m.body = "x";
    m.body_len = 1;
    CHECK(push_shm_publish(s, "c", 0, &m, &lim, 1000, NULL, NULL)
          == PUSH_BAD_ARG);
    CHECK(push_shm_publish(s, big, PUSH_CHANNEL_ID_MAX + 1, &m, &lim, 1000,
                           NULL, NULL) == PUSH_BAD_ARG);
    CHECK(push_shm_publish(s, big, PUSH_CHANNEL_ID_MAX, &m, &lim, 1000,
                           NULL, NULL) == PUSH_OK);
    m.content_type = big;
    m.content_type_len = 256;
    CHECK(push_shm_publish(s, "c", 1, &m, &lim, 1000, NULL, NULL)
          == PUSH_BAD_ARG);
    m.content_type_len = 255;
    m.event = big;
    m.event_len = 256;
    CHECK(push_shm_publish(s, "c", 1, &m, &lim, 1000, NULL, NULL)
          == PUSH_BAD_ARG);
    m.event_len = 255;
    CHECK(push_shm_publish(s, "c", 1, &m, &lim, 1000, NULL, NULL)
          == PUSH_OK);
    /* Buffer length 0 is no history, not an error (test_no_history). */
    lim.buffer_length = 0;
    CHECK(push_shm_publish(s, "c", 1, &m, &lim, 1000, NULL, NULL)
          == PUSH_OK);
    CHECK(push_shm_info(s, "c", 0, 1000, &info) == PUSH_BAD_ARG);
    CHECK(push_shm_delete(s, big, PUSH_CHANNEL_ID_MAX + 1, 1000, &info)
          == PUSH_BAD_ARG);
    CHECK(push_shm_subscribe(s, "c", 1, 1000, NULL, NULL) == PUSH_BAD_ARG);
    CHECK(push_shm_subscribe(s, "", 0, 1000, &sub, NULL) == PUSH_BAD_ARG);
    /* A sub naming no slot at all is just gone. */
    sub.chan = 0xfffffff0u;
    sub.gen = 0;
    CHECK(next_msg(s, &sub, NULL, 1000, &m, NULL, NULL) == PUSH_GONE);
    push_shm_unsubscribe(s, &sub);       /* must not crash */
    CHECK(push_shm_version(s, 0xfffffff0u) == 0);
    munmap(mem, 1 << 20);
}

static void test_ids(void)
{
    void *mem;
    push_shm_t *s = new_store(1 << 20, 1000, &mem);
    push_msgid_t id;
    push_channel_info_t info;

    /* Formatted at 1000: nothing below 1001, even published at 1000. */
    CHECK(pub(s, "a", "1", 100, 0, 1000, &id) == PUSH_OK
          && id_is(&id, 1001, 0));
    CHECK(pub(s, "a", "2", 100, 0, 1000, &id) == PUSH_OK
          && id_is(&id, 1001, 1));
    CHECK(pub(s, "a", "3", 100, 0, 1001, &id) == PUSH_OK
          && id_is(&id, 1001, 2));
    /* A new second starts the tag over. */
    CHECK(pub(s, "a", "4", 100, 0, 1002, &id) == PUSH_OK
          && id_is(&id, 1002, 0));
    CHECK(pub(s, "a", "5", 100, 0, 1002, &id) == PUSH_OK
          && id_is(&id, 1002, 1));
    /* The clock stepping back does not move ids back. */
    CHECK(pub(s, "a", "6", 100, 0, 900, &id) == PUSH_OK
          && id_is(&id, 1002, 2));
    CHECK(pub(s, "a", "7", 100, 0, 1500, &id) == PUSH_OK
          && id_is(&id, 1500, 0));
    /* Channels count their tags independently, but a later publish
     * never has an older time than one on any other channel. */
    CHECK(pub(s, "b", "1", 100, 0, 1000, &id) == PUSH_OK
          && id_is(&id, 1500, 0));
    CHECK(info_of(s, "a", 1500, &info) == PUSH_OK && info.messages == 7
          && id_is(&info.last_id, 1500, 0) && id_is(&info.oldest_id, 1001, 0));

    /* Formatting again in the same second as the last publish does not
     * hand the same ids out again. */
    s = push_shm_format(mem, 1 << 20, 1500);
    CHECK(info_of(s, "a", 1500, &info) == PUSH_NOT_FOUND);
    CHECK(pub(s, "a", "8", 100, 0, 1500, &id) == PUSH_OK
          && id_is(&id, 1501, 0));
    munmap(mem, 1 << 20);
}

/* A backplane gives the ids: stored only when after the channel's last,
 * and the store's own ids carry on after them. */
static void test_publish_id(void)
{
    void *mem;
    push_shm_t *s = new_store(1 << 20, 1000, &mem);
    push_channel_info_t info;
    push_store_ref_t sub;
    push_message_t m, got;
    push_limits_t lim = { 10, 0 };
    push_msgid_t id;

    memset(&m, 0, sizeof(m));
    m.body = "from afar";
    m.body_len = 9;
    m.id.time = 5000;
    m.id.tag = 3;
    CHECK(push_shm_publish_id(s, "r", 1, &m, NULL, 0, &lim, 1000, &info) == PUSH_OK);
    CHECK(info.messages == 1 && id_is(&info.last_id, 5000, 3));
    CHECK(sub_to(s, "r", 1000, &sub) == PUSH_OK);
    CHECK(next_msg(s, &sub, NULL, 1000, &got, NULL, NULL) == PUSH_FOUND
          && id_is(&got.id, 5000, 3) && got.body_len == 9
          && memcmp(got.body, "from afar", 9) == 0);
    /* The same id again, or an older one: a duplicate, nothing stored. */
    CHECK(push_shm_publish_id(s, "r", 1, &m, NULL, 0, &lim, 1000, NULL)
          == PUSH_DUPLICATE);
    m.id.tag = 2;
    CHECK(push_shm_publish_id(s, "r", 1, &m, NULL, 0, &lim, 1000, NULL)
          == PUSH_DUPLICATE);
    CHECK(info_of(s, "r", 1000, &info) == PUSH_OK && info.messages == 1);
    /* A local publish at an earlier clock follows the given id. */
    CHECK(pub(s, "r", "here", 10, 0, 1000, &id) == PUSH_OK
          && id_is(&id, 5000, 4));
    m.id.time = 6000;
    m.id.tag = 0;
    CHECK(push_shm_publish_id(s, "r", 1, &m, NULL, 0, &lim, 1000, &info) == PUSH_OK
          && info.messages == 3 && id_is(&info.last_id, 6000, 0));
    CHECK(push_shm_publish_id(s, "r", 1, NULL, NULL, 0, &lim, 1000, NULL)
          == PUSH_BAD_ARG);
    /* With the previous id: stored only right after it. */
    {
        push_msgid_t prev = { 6000, 0 }, wrong = { 5999, 0 };

        m.id.time = 6001;
        CHECK(push_shm_publish_id(s, "r", 1, &m, &wrong, 0, &lim, 1000, NULL)
              == PUSH_OUT_OF_ORDER);
        CHECK(info_of(s, "r", 1000, &info) == PUSH_OK && info.messages == 3
              && id_is(&info.last_id, 6000, 0));
        CHECK(push_shm_publish_id(s, "r", 1, &m, &prev, 0, &lim, 1000, &info)
              == PUSH_OK && info.messages == 4);
        CHECK(push_shm_publish_id(s, "r", 1, &m, &prev, 0, &lim, 1000, NULL)
              == PUSH_DUPLICATE);
    }
    push_shm_unsubscribe(s, &sub);
    munmap(mem, 1 << 20);
}

/* What the backplane lost before it came here: a gap for cursors before
 * it, the last id moved up to it, the messages here kept. */
static void test_lost(void)
{
    void *mem;
    push_shm_t *s = new_store(1 << 20, 1000, &mem);
    push_channel_info_t info;
    push_store_ref_t sub;
    push_message_t m, got;
    push_limits_t lim = { 10, 0 };
    push_msgid_t upto = { 7000, 5 }, cur = { 5000, 0 }, gap_id;
    int gap;

    memset(&m, 0, sizeof(m));
    m.body = "x";
    m.body_len = 1;
    m.id.time = 5000;
    m.id.tag = 1;
    CHECK(push_shm_publish_id(s, "l", 1, &m, NULL, 0, &lim, 1000, NULL)
          == PUSH_OK);
    CHECK(sub_to(s, "l", 1000, &sub) == PUSH_OK);
    CHECK(push_shm_lost(s, "l", 1, &upto, 1000) == PUSH_OK);
    CHECK(info_of(s, "l", 1000, &info) == PUSH_OK && info.messages == 1
          && id_is(&info.last_id, 7000, 5));
    CHECK(next_msg(s, &sub, &cur, 1000, &got, &gap, &gap_id) == PUSH_FOUND
          && gap && id_is(&gap_id, 7000, 5) && id_is(&got.id, 5000, 1));
    CHECK(next_msg(s, &sub, &upto, 1000, &got, &gap, &gap_id) == PUSH_NONE
          && !gap);
    /* What follows it is stored, after it. */
    m.id.time = 7000;
    m.id.tag = 6;
    CHECK(push_shm_publish_id(s, "l", 1, &m, &upto, 0, &lim, 1000, NULL)
          == PUSH_OK);
    /* Going back is nothing, and so is what the copy has already (a
     * catch-up that read the copy before another process stored it):
     * no gap for a subscriber at 7000:5. */
    CHECK(push_shm_lost(s, "l", 1, &cur, 1000) == PUSH_OK);
    {
        push_msgid_t had = { 7000, 6 };

        CHECK(push_shm_lost(s, "l", 1, &had, 1000) == PUSH_OK);
    }
    CHECK(info_of(s, "l", 1000, &info) == PUSH_OK
          && id_is(&info.last_id, 7000, 6));
    CHECK(push_shm_lost(s, "l", 1, NULL, 1000) == PUSH_BAD_ARG);
    /* The backplane's epoch of the copy: none until said, then what was
     * said, only from the epoch the caller saw; with a gap, in the same
     * step; of a channel not here, nothing is made unless a gap is. */
    CHECK(info.origin == 0);
    CHECK(push_shm_mirror_epoch(s, "l", 1, 0, 42, NULL, 1000) == PUSH_OK);
    CHECK(info_of(s, "l", 1000, &info) == PUSH_OK && info.origin == 42);
    CHECK(push_shm_mirror_epoch(s, "l", 1, 0, 43, NULL, 1000)
          == PUSH_OUT_OF_ORDER);
    {
        push_msgid_t hole = { 7000, 9 };

        CHECK(push_shm_mirror_epoch(s, "l", 1, 41, 44, &hole, 1000)
              == PUSH_OUT_OF_ORDER);
        CHECK(info_of(s, "l", 1000, &info) == PUSH_OK && info.origin == 42
              && id_is(&info.last_id, 7000, 6));
        CHECK(push_shm_mirror_epoch(s, "l", 1, 42, 44, &hole, 1000)
              == PUSH_OK);
        CHECK(info_of(s, "l", 1000, &info) == PUSH_OK && info.origin == 44
              && id_is(&info.last_id, 7000, 9));
    }
    CHECK(push_shm_mirror_epoch(s, "absent", 6, 0, 43, NULL, 1000)
          == PUSH_NOT_FOUND);
    CHECK(info_of(s, "absent", 1000, &info) == PUSH_NOT_FOUND);
    push_shm_unsubscribe(s, &sub);
    munmap(mem, 1 << 20);
}

static void test_content(void)
{
    void *mem;
    push_shm_t *s = new_store(1 << 20, 1000, &mem);
    push_msgid_t id;
    push_channel_info_t info;
    push_message_t m;
    push_store_ref_t sub;
    static const char bin[5] = {'a', '\0', 'b', '\n', '\xff'};

    CHECK(pub_full(s, "c", bin, sizeof(bin), "text/x", "upd", 10, 0, 1000,
                   &id, &info) == PUSH_OK);
    CHECK(info.messages == 1 && push_msgid_cmp(&info.last_id, &id) == 0
          && push_msgid_cmp(&info.oldest_id, &id) == 0
          && info.subscribers == 0);
    CHECK(pub_full(s, "c", "", 0, NULL, NULL, 10, 0, 1000, NULL, NULL)
          == PUSH_OK);
    CHECK(sub_to(s, "c", 1000, &sub) == PUSH_OK);

    CHECK(next_msg(s, &sub, NULL, 1000, &m, NULL, NULL) == PUSH_FOUND);
    CHECK(push_msgid_cmp(&m.id, &id) == 0 && m.body_len == 5
          && memcmp(m.body, bin, 5) == 0 && m.body[5] == '\0');
    CHECK(m.content_type_len == 6 && strcmp(m.content_type, "text/x") == 0);
    CHECK(m.event_len == 3 && strcmp(m.event, "upd") == 0);

    CHECK(next_msg(s, &sub, &id, 1000, &m, NULL, NULL) == PUSH_FOUND);
    CHECK(m.body_len == 0 && m.body[0] == '\0'
          && m.content_type_len == 0 && m.content_type[0] == '\0'
          && m.event_len == 0 && m.event[0] == '\0');

    /* Without an allocator only the id and the body's length come
     * back: no copy. */
    memset(&m, 0x55, sizeof(m));
    CHECK(push_shm_next(s, &sub, NULL, 1000, NULL, NULL, &m, NULL, NULL)
          == PUSH_FOUND);
    CHECK(push_msgid_cmp(&m.id, &id) == 0 && m.body == NULL
          && m.body_len == 5 && m.content_type == NULL);
    CHECK(push_shm_next(s, &sub, &info.last_id, 1000, NULL, NULL, &m,
                          NULL, NULL) == PUSH_FOUND);
    /* The version/newest hint: the first of two is not the newest; the
     * second is; past it nothing, until a publish changes the version. */
    {
        push_msgid_t second = m.id;
        uint32_t v;

        CHECK(push_shm_next(s, &sub, NULL, 1000, NULL, NULL, &m, NULL,
                              NULL) == PUSH_FOUND && m.newest == 0);
        CHECK(push_shm_next(s, &sub, &info.last_id, 1000, NULL, NULL, &m,
                              NULL, NULL) == PUSH_FOUND && m.newest == 1);
        v = m.version;
        CHECK(v == push_shm_version(s, sub.chan));
        CHECK(push_shm_next(s, &sub, &second, 1000, NULL, NULL, &m, NULL,
                              NULL) == PUSH_NONE && m.newest == 1
              && m.version == v);
        CHECK(pub_full(s, "c", "x", 1, NULL, NULL, 10, 0, 1000, NULL, NULL)
              == PUSH_OK);
        CHECK(push_shm_version(s, sub.chan) != v);
    }
    munmap(mem, 1 << 20);
}

static void test_buffer_length(void)
{
    void *mem;
    push_shm_t *s = new_store(1 << 20, 1000, &mem);
    push_channel_info_t info;
    push_message_t m;
    push_store_ref_t sub;
    push_msgid_t cur, gid;
    char body[16];
    int i, gap, ok = 1;

    for (i = 0; i < 10; i++) {
        snprintf(body, sizeof(body), "m%d", i);
        ok &= pub(s, "b", body, 3, 0, 1000, NULL) == PUSH_OK;
    }
    CHECK(ok);
    CHECK(info_of(s, "b", 1000, &info) == PUSH_OK && info.messages == 3
          && id_is(&info.oldest_id, 1001, 7) && id_is(&info.last_id, 1001, 9));
    CHECK(sub_to(s, "b", 1000, &sub) == PUSH_OK);

    /* From the start: the first kept message, and a gap up to 6. */
    cur = mkid(0, 0);
    CHECK(next_msg(s, &sub, &cur, 1000, &m, &gap, &gid) == PUSH_FOUND
          && id_is(&m.id, 1001, 7) && strcmp(m.body, "m7") == 0
          && gap == 1 && id_is(&gid, 1001, 6));
    cur = mkid(1001, 3);
    CHECK(next_msg(s, &sub, &cur, 1000, &m, &gap, &gid) == PUSH_FOUND
          && id_is(&m.id, 1001, 7) && gap == 1 && id_is(&gid, 1001, 6));
    /* A cursor at the newest dropped message has missed nothing. */
    cur = mkid(1001, 6);
    CHECK(next_msg(s, &sub, &cur, 1000, &m, &gap, &gid) == PUSH_FOUND
          && id_is(&m.id, 1001, 7) && gap == 0);
    CHECK(next_msg(s, &sub, NULL, 1000, &m, &gap, &gid) == PUSH_FOUND
          && id_is(&m.id, 1001, 7) && gap == 0);
    cur = mkid(1001, 8);
    CHECK(next_msg(s, &sub, &cur, 1000, &m, &gap, &gid) == PUSH_FOUND
          && id_is(&m.id, 1001, 9) && gap == 0);
    cur = mkid(1001, 9);
    CHECK(next_msg(s, &sub, &cur, 1000, &m, &gap, &gid) == PUSH_NONE
          && gap == 0);
    cur = mkid(5000, 0);
    CHECK(next_msg(s, &sub, &cur, 1000, &m, &gap, &gid) == PUSH_NONE);

    /* The limit is per publish: a larger one lets the buffer grow. */
    CHECK(pub(s, "b", "m10", 5, 0, 1000, NULL) == PUSH_OK);
    CHECK(pub(s, "b", "m11", 5, 0, 1000, NULL) == PUSH_OK);
    CHECK(pub(s, "b", "m12", 5, 0, 1000, NULL) == PUSH_OK);
    CHECK(info_of(s, "b", 1000, &info) == PUSH_OK && info.messages == 5
          && id_is(&info.oldest_id, 1001, 8));
    CHECK(pub(s, "b", "m13", 1, 0, 1000, NULL) == PUSH_OK);
    CHECK(info_of(s, "b", 1000, &info) == PUSH_OK && info.messages == 1
          && id_is(&info.oldest_id, 1001, 13));
    munmap(mem, 1 << 20);
}

static void test_expiry(void)
{
    void *mem;
    push_shm_t *s = new_store(1 << 20, 1000, &mem);
    push_channel_info_t info;
    push_store_stats_t st;
    push_message_t m;
    push_store_ref_t sub;
    push_msgid_t cur, gid, last;
    int gap;

    CHECK(pub(s, "e", "1", 100, 10, 2000, NULL) == PUSH_OK);
    CHECK(pub(s, "e", "2", 100, 10, 2000, NULL) == PUSH_OK);
    CHECK(pub(s, "e", "3", 100, 10, 2000, &last) == PUSH_OK);
    CHECK(info_of(s, "e", 2009, &info) == PUSH_OK && info.messages == 3);
    CHECK(sub_to(s, "e", 2009, &sub) == PUSH_OK);
    /* At publish time + timeout they are gone; the subscriber keeps the
     * channel visible, and learns of the gap. */
    CHECK(info_of(s, "e", 2010, &info) == PUSH_OK && info.messages == 0
          && info.subscribers == 1 && push_msgid_cmp(&info.last_id, &last) == 0
          && id_is(&info.oldest_id, 0, 0));
    push_shm_stats(s, 2010, &st);
    CHECK(st.expired == 3 && st.messages == 0 && st.evicted == 0);
    cur = mkid(0, 0);
    CHECK(next_msg(s, &sub, &cur, 2010, &m, &gap, &gid) == PUSH_NONE
          && gap == 1 && push_msgid_cmp(&gid, &last) == 0);
    CHECK(next_msg(s, &sub, &last, 2010, &m, &gap, &gid) == PUSH_NONE
          && gap == 0);
    push_shm_unsubscribe(s, &sub);
    CHECK(info_of(s, "e", 2010, &info) == PUSH_NOT_FOUND);

    /* Timeout 0 never expires. */
    CHECK(pub(s, "forever", "x", 100, 0, 2000, NULL) == PUSH_OK);
    CHECK(info_of(s, "forever", 2000 + 100000000, &info) == PUSH_OK
          && info.messages == 1);

    /* Expiry looks at the head: a message with a longer timeout keeps a
     * shorter-lived one behind it (documented behaviour). */
    CHECK(pub(s, "mix", "long", 100, 100, 3000, NULL) == PUSH_OK);
    CHECK(pub(s, "mix", "short", 100, 1, 3000, NULL) == PUSH_OK);
    CHECK(info_of(s, "mix", 3005, &info) == PUSH_OK && info.messages == 2);
    CHECK(info_of(s, "mix", 3100, &info) == PUSH_NOT_FOUND);

    /* stats drops expired messages of every channel, touched or not. */
    CHECK(pub(s, "s1", "x", 100, 5, 4000, NULL) == PUSH_OK);
    CHECK(pub(s, "s2", "x", 100, 5, 4000, NULL) == PUSH_OK);
    CHECK(pub(s, "s2", "y", 100, 50, 4000, NULL) == PUSH_OK);
    push_shm_stats(s, 4004, &st);
    CHECK(st.messages == 4 && st.expired == 5);
    push_shm_stats(s, 4005, &st);
    CHECK(st.messages == 2 && st.expired == 7);
    munmap(mem, 1 << 20);
}

static void test_born_gap(void)
{
    void *mem;
    push_shm_t *s = new_store(1 << 20, 1000, &mem);
    push_message_t m;
    push_store_ref_t sub;
    push_msgid_t cur, gid, id;
    int gap;

    CHECK(sub_to(s, "g", 1000, &sub) == PUSH_OK);
    CHECK(pub(s, "g", "x", 10, 0, 1000, &id) == PUSH_OK
          && id_is(&id, 1001, 0));
    /* A cursor from an earlier store: whatever it saw last, messages
     * between it and this store may be lost. */
    cur = mkid(999, 5);
    CHECK(next_msg(s, &sub, &cur, 1000, &m, &gap, &gid) == PUSH_FOUND
          && push_msgid_cmp(&m.id, &id) == 0 && gap == 1
          && id_is(&gid, 1000, UINT32_MAX));
    /* Adopting the gap id stops the report; {0,0} means "from the start"
     * and never predates anything. */
    CHECK(next_msg(s, &sub, &gid, 1000, &m, &gap, NULL) == PUSH_FOUND
          && gap == 0);
    cur = mkid(0, 0);
    CHECK(next_msg(s, &sub, &cur, 1000, &m, &gap, NULL) == PUSH_FOUND
          && gap == 0);
    munmap(mem, 1 << 20);
}

static void test_subscribers(void)
{
    void *mem;
    push_shm_t *s = new_store(1 << 20, 1000, &mem);
    push_channel_info_t info;
    push_store_stats_t st;
    push_store_ref_t a, b, c, d;
    uint32_t seq0 = push_shm_sub_seq(s), seq1;

    CHECK(info_of(s, "s", 1000, &info) == PUSH_NOT_FOUND);
    CHECK(sub_to(s, "s", 1000, &a) == PUSH_OK);
    /* sub_seq moves with every subscriber count, and only with them. */
    CHECK(push_shm_sub_seq(s) != seq0);
    CHECK(sub_to(s, "s", 1000, &b) == PUSH_OK);
    CHECK(push_shm_subscribe(s, "s", 1, 1000, &c, &info) == PUSH_OK);
    CHECK(info.subscribers == 3 && info.messages == 0
          && id_is(&info.last_id, 0, 0));
    CHECK(sub_to(s, "t", 1000, &d) == PUSH_OK);
    CHECK(a.chan == b.chan && a.chan == c.chan && a.chan != d.chan
          && a.gen == c.gen);

    CHECK(info_of(s, "s", 1000, &info) == PUSH_OK && info.subscribers == 3);
    push_shm_stats(s, 1000, &st);
    CHECK(st.channels == 2 && st.subscribers == 4);

    seq1 = push_shm_sub_seq(s);
    push_shm_unsubscribe(s, &a);
    CHECK(push_shm_sub_seq(s) != seq1);
    CHECK(info_of(s, "s", 1000, &info) == PUSH_OK && info.subscribers == 2);
    push_shm_unsubscribe(s, &b);
    push_shm_unsubscribe(s, &b);          /* one too many: no underflow */
    push_shm_unsubscribe(s, &c);
    CHECK(info_of(s, "s", 1000, &info) == PUSH_NOT_FOUND);
    push_shm_unsubscribe(s, &d);
    push_shm_stats(s, 1000, &st);
    CHECK(st.subscribers == 0);
    seq1 = push_shm_sub_seq(s);
    CHECK(pub(s, "s", "m", 10, 0, 1000, NULL) == PUSH_OK);
    CHECK_EQ(push_shm_sub_seq(s), seq1);
    munmap(mem, 1 << 20);
}

static void test_delete(void)
{
    void *mem;
    push_shm_t *s = new_store(1 << 20, 1000, &mem);
    push_channel_info_t info;
    push_store_stats_t st;
    push_message_t m;
    push_store_ref_t sub, sub2;
    push_msgid_t id, id2;
    uint32_t v0, seq0;

    CHECK(push_shm_delete(s, "d", 1, 1000, &info) == PUSH_NOT_FOUND);
    CHECK(sub_to(s, "d", 1000, &sub) == PUSH_OK);
    CHECK(pub(s, "d", "1", 10, 0, 1000, NULL) == PUSH_OK);
    CHECK(pub(s, "d", "2", 10, 0, 1000, &id) == PUSH_OK);
    v0 = push_shm_version(s, sub.chan);
    seq0 = push_shm_seq(s);

    CHECK(push_shm_delete(s, "d", 1, 1000, &info) == PUSH_OK);
    CHECK(info.messages == 2 && info.subscribers == 1
          && push_msgid_cmp(&info.last_id, &id) == 0);
    CHECK(push_shm_version(s, sub.chan) != v0 && push_shm_seq(s) != seq0);
    CHECK(next_msg(s, &sub, NULL, 1000, &m, NULL, NULL) == PUSH_GONE);
    push_shm_stats(s, 1000, &st);
    CHECK(st.messages == 0 && st.subscribers == 0);
    CHECK(info_of(s, "d", 1000, &info) == PUSH_NOT_FOUND);
    CHECK(push_shm_delete(s, "d", 1, 1000, NULL) == PUSH_NOT_FOUND);

    /* An old sub leaving after the delete takes nobody else's count. */
    CHECK(sub_to(s, "d", 1000, &sub2) == PUSH_OK);
    CHECK(sub2.chan == sub.chan && sub2.gen != sub.gen);
    push_shm_unsubscribe(s, &sub);
    CHECK(info_of(s, "d", 1000, &info) == PUSH_OK && info.subscribers == 1);

    /* The channel lives on with later ids. */
    CHECK(pub(s, "d", "3", 10, 0, 900, &id2) == PUSH_OK
          && push_msgid_cmp(&id2, &id) > 0);
    CHECK(next_msg(s, &sub2, NULL, 1000, &m, NULL, NULL) == PUSH_FOUND
          && strcmp(m.body, "3") == 0);

    /* A delete with only messages, no subscribers, works too. */
    CHECK(pub(s, "d2", "x", 10, 0, 1000, NULL) == PUSH_OK);
    CHECK(push_shm_delete(s, "d2", 2, 1000, NULL) == PUSH_OK);
    CHECK(info_of(s, "d2", 1000, &info) == PUSH_NOT_FOUND);
    munmap(mem, 1 << 20);
}

static void test_eviction(void)
{
    size_t size = PUSH_SHM_MIN_SIZE;
    void *mem;
    push_shm_t *s = new_store(size, 1000, &mem);
    push_store_stats_t st;
    push_channel_info_t ia, ib;
    push_message_t m;
    push_store_ref_t sub;
    push_msgid_t cur, gid;
    char body[1200];
    long first, last, fa, la, fb, lb;
    int i, n, ok = 1, gap;

    for (i = 0; i < 2000; i++) {
        memset(body, '.', 200);
        snprintf(body, sizeof(body), "a:%d", i);
        body[strlen(body)] = ' ';
        ok &= pub_full(s, "a", body, 200, "text/plain", NULL, 1000000, 0,
                       2000 + i / 100, NULL, NULL) == PUSH_OK;
    }
    CHECK(ok);
    push_shm_stats(s, 3000, &st);
    CHECK(info_of(s, "a", 3000, &ia) == PUSH_OK);
    CHECK(st.evicted > 0 && st.evicted + st.messages == 2000
          && st.messages == ia.messages && st.published == 2000
          && st.expired == 0 && st.bytes_used <= st.bytes_total);
    n = walk_numbered(s, "a", "a:", 3000, &first, &last);
    CHECK(n == (int)ia.messages && last == 1999 && first == 2000 - n);

    /* Walking from the start reports what was evicted. */
    CHECK(sub_to(s, "a", 3000, &sub) == PUSH_OK);
    cur = mkid(0, 0);
    CHECK(next_msg(s, &sub, &cur, 3000, &m, &gap, &gid) == PUSH_FOUND
          && gap == 1 && push_msgid_cmp(&gid, &m.id) < 0
          && push_msgid_cmp(&gid, &ia.oldest_id) < 0);
    push_shm_unsubscribe(s, &sub);

    /* Two channels of very different sizes interleaved: each stays
     * whole from its oldest kept message to its newest. */
    ok = 1;
    for (i = 0; i < 600; i++) {
        size_t blen = i % 3 == 0 ? 1100 : 40;
        const char *chan = i % 3 == 0 ? "big" : "small";

        memset(body, '#', blen);
        snprintf(body, sizeof(body), "%s:%d", chan, i % 3 == 0 ? i / 3
                 : i - i / 3 - 1);
        body[strlen(body)] = ' ';
        ok &= pub_full(s, chan, body, blen, NULL, "e", 1000000, 0, 4000,
                       NULL, NULL) == PUSH_OK;
    }
    CHECK(ok);
    CHECK(info_of(s, "big", 4000, &ib) == PUSH_OK
          && info_of(s, "small", 4000, &ia) == PUSH_OK);
    n = walk_numbered(s, "big", "big:", 4000, &fb, &lb);
    CHECK(n == (int)ib.messages && n > 0 && lb == 199 && fb == 200 - n);
    n = walk_numbered(s, "small", "small:", 4000, &fa, &la);
    CHECK(n == (int)ia.messages && n > 0 && la == 399 && fa == 400 - n);
    push_shm_stats(s, 4000, &st);
    n = (int)(ia.messages + ib.messages);
    if (info_of(s, "a", 4000, &ia) == PUSH_OK) {
        n += (int)ia.messages;
    }
    CHECK(st.evicted + st.messages == 2600 && st.published == 2600
          && st.messages == (uint64_t)n);
    munmap(mem, size);
}

static void test_too_big(void)
{
    size_t size = PUSH_SHM_MIN_SIZE;
    void *mem;
    push_shm_t *s = new_store(size, 1000, &mem);
    push_store_stats_t st0, st1;
    push_channel_info_t info;
    char *body = malloc(size);
    int i, ok = 1;

    memset(body, 'z', size);
    for (i = 0; i < 50; i++) {
        ok &= pub_full(s, "t", body, 100, NULL, NULL, 1000, 0, 1000,
                       NULL, NULL) == PUSH_OK;
    }
    CHECK(ok);
    push_shm_stats(s, 1000, &st0);
    CHECK(pub_full(s, "t", body, size, NULL, NULL, 1000, 0, 1000, NULL, NULL)
          == PUSH_TOO_BIG);
    CHECK(pub_full(s, "t", body, size - 8192, NULL, NULL, 1000, 0, 1000,
                   NULL, NULL) == PUSH_TOO_BIG);
    CHECK(pub_full(s, "other", body, size, NULL, NULL, 1000, 0, 1000,
                   NULL, NULL) == PUSH_TOO_BIG);
    push_shm_stats(s, 1000, &st1);
    CHECK(st1.messages == 50 && st1.evicted == st0.evicted
          && st1.published == st0.published && st1.channels == 1);
    /* A big message that does fit takes the whole ring if need be. */
    CHECK(st0.bytes_ring > 20000);
    CHECK(pub_full(s, "t", body, (size_t)st0.bytes_ring - 1024, NULL, NULL,
                   1000, 0, 1000, NULL, &info) == PUSH_OK);
    push_shm_stats(s, 1000, &st1);
    CHECK(info.messages >= 1 && st1.evicted > 0
          && st1.messages == info.messages);
    free(body);
    munmap(mem, size);
}

#define WALK_CHANNELS 5
#define WALK_TOTAL    1000

static void test_cursor_walk(void)
{
    void *mem;
    push_shm_t *s = new_store(4 << 20, 5000, &mem);
    push_store_ref_t subs[WALK_CHANNELS];
    push_msgid_t cursor[WALK_CHANNELS];
    int next_expected[WALK_CHANNELS];
    char name[WALK_CHANNELS][16], body[32];
    push_message_t m;
    int i, c, gap, ok = 1, gaps = 0, delivered = 0;

    for (c = 0; c < WALK_CHANNELS; c++) {
        snprintf(name[c], sizeof(name[c]), "w%d", c);
        ok &= sub_to(s, name[c], 5000, &subs[c])
              == PUSH_OK;
        cursor[c] = mkid(0, 0);
        next_expected[c] = c;
    }
    for (i = 0; i < WALK_TOTAL; i++) {
        c = i % WALK_CHANNELS;
        snprintf(body, sizeof(body), "n:%d", i);
        ok &= pub(s, name[c], body, 100000, 0, 5000 + i / 37, NULL)
              == PUSH_OK;
        if (i % 7 != 6 && i != WALK_TOTAL - 1) {
            continue;
        }
        /* Drain every channel from its cursor, as a subscriber would. */
        for (c = 0; c < WALK_CHANNELS; c++) {
            while (next_msg(s, &subs[c], &cursor[c], 5000 + i / 37, &m, &gap,
                            NULL) == PUSH_FOUND) {
                if (atoi(m.body + 2) != next_expected[c]
                    || push_msgid_cmp(&m.id, &cursor[c]) <= 0) {
                    ok = 0;
                }
                gaps += gap;
                next_expected[c] += WALK_CHANNELS;
                cursor[c] = m.id;
                delivered++;
            }
        }
    }
    CHECK(ok);
    CHECK(gaps == 0);
    CHECK(delivered == WALK_TOTAL);
    for (c = 0; c < WALK_CHANNELS; c++) {
        push_shm_unsubscribe(s, &subs[c]);
    }
    /* Tags restart each second and still the order holds. */
    CHECK(cursor[0].time == 5000 + (WALK_TOTAL - WALK_CHANNELS) / 37
          && cursor[0].time > 5001);
    ok = 1;
    for (c = 0; c < WALK_CHANNELS; c++) {
        push_channel_info_t info;

        ok &= info_of(s, name[c], 6000, &info) == PUSH_OK
              && info.messages == WALK_TOTAL / WALK_CHANNELS
              && push_msgid_cmp(&info.last_id, &cursor[c]) == 0;
    }
    CHECK(ok);
    munmap(mem, 4 << 20);
}

static void test_slots(void)
{
    size_t size = PUSH_SHM_MIN_SIZE;
    void *mem;
    push_shm_t *s = new_store(size, 1000, &mem);
    push_store_stats_t st;
    push_channel_info_t info;
    push_message_t m;
    push_store_ref_t xs, subs[1024];
    push_msgid_t id, xid;
    uint32_t nslots, xv, i;
    char name[16];
    int ok = 1;

    push_shm_stats(s, 1000, &st);
    nslots = st.channel_slots;
    CHECK(nslots >= 16 && nslots < 1024);

    /* "x" issues ids at 9000, then is deleted: an empty, reclaimable
     * slot that still remembers its ids. */
    CHECK(pub(s, "x", "1", 10, 0, 9000, NULL) == PUSH_OK);
    CHECK(pub(s, "x", "2", 10, 0, 9000, &xid) == PUSH_OK);
    CHECK(sub_to(s, "x", 9000, &xs) == PUSH_OK);
    push_shm_unsubscribe(s, &xs);
    CHECK(push_shm_delete(s, "x", 1, 9000, NULL) == PUSH_OK);
    xv = push_shm_version(s, xs.chan);

    /* Fill every other slot with a subscribed channel, then one more:
     * that one can only have x's slot. */
    for (i = 0; i < nslots; i++) {
        snprintf(name, sizeof(name), "s%u", i);
        ok &= sub_to(s, name, 1000, &subs[i])
              == PUSH_OK;
    }
    CHECK(ok);
    /* A new incarnation of the slot: another gen, a later version. */
    CHECK(subs[nslots - 1].chan == xs.chan && subs[nslots - 1].gen > xs.gen);
    CHECK(push_shm_version(s, xs.chan) > xv);
    /* x's old sub now names another channel's slot: it is told so. */
    CHECK(next_msg(s, &xs, NULL, 1000, &m, NULL, NULL) == PUSH_GONE);
    push_shm_stats(s, 1000, &st);
    CHECK(st.channels == nslots);

    CHECK(sub_to(s, "one-more", 1000, &xs)
          == PUSH_NO_CHANNEL_SLOT);
    CHECK(pub(s, "one-more", "x", 10, 0, 1000, NULL) == PUSH_NO_CHANNEL_SLOT);
    CHECK(info_of(s, "x", 1000, &info) == PUSH_NOT_FOUND);
    /* Existing channels are still fine. */
    CHECK(pub(s, "s3", "x", 10, 0, 1000, NULL) == PUSH_OK);

    /* Freed by unsubscribing, s0's slot goes to the re-created x, whose
     * ids still follow the ones it issued before, clock or no clock. */
    push_shm_unsubscribe(s, &subs[0]);
    CHECK(pub(s, "x", "3", 10, 0, 8000, &id) == PUSH_OK
          && push_msgid_cmp(&id, &xid) > 0 && id.time == xid.time + 1);
    CHECK(info_of(s, "s0", 1000, &info) == PUSH_NOT_FOUND);
    push_shm_stats(s, 1000, &st);
    CHECK(st.channels == nslots);

    /* A channel holding messages is not taken, until they expire. */
    push_shm_unsubscribe(s, &subs[1]);
    CHECK(pub(s, "s1", "x", 10, 30, 1000, NULL) == PUSH_OK);
    CHECK(pub(s, "new", "x", 10, 0, 1010, NULL) == PUSH_NO_CHANNEL_SLOT);
    CHECK(pub(s, "new", "x", 10, 0, 1030, NULL) == PUSH_OK);
    CHECK(info_of(s, "new", 1030, &info) == PUSH_OK && info.messages == 1);
    CHECK(info_of(s, "s1", 1030, &info) == PUSH_NOT_FOUND);
    munmap(mem, size);
}

static void test_wait_wake(void)
{
    void *mem;
    push_shm_t *s = new_store(1 << 20, 1000, &mem);
    int ready[2], status;
    uint32_t seen;
    double t0, dt;
    pid_t pid;
    char ch;

    /* Timeout, and an already stale `seen`. */
    seen = push_shm_seq(s);
    t0 = now_ms();
    CHECK(push_shm_wait(s, seen, 100) == seen);
    dt = now_ms() - t0;
    CHECK(dt >= 90 && dt < 2000);
    t0 = now_ms();
    CHECK(push_shm_wait(s, seen + 1, 1000) == seen);
    CHECK(now_ms() - t0 < 50);

    /* A publish to a channel nobody watches wakes no one... */
    seen = push_shm_seq(s);
    CHECK(pub(s, "w", "x", 10, 0, 1000, NULL) == PUSH_OK);
    CHECK(push_shm_seq(s) == seen);

    /* ...but another process watching it is woken, promptly. */
    {
        push_store_ref_t wsub;

        CHECK(sub_to(s, "w", 1000, &wsub) == PUSH_OK);
        push_shm_watch(s, wsub.chan, 1);
    }
    if (pipe(ready) != 0) {
        perror("pipe");
        exit(2);
    }
    pid = fork();
    if (pid == 0) {
        uint32_t got;

        alarm(10);
        seen = push_shm_seq(s);
        if (write(ready[1], "r", 1) != 1) {
            _exit(3);
        }
        t0 = now_ms();
        do {
            got = push_shm_wait(s, seen, 5000);
        } while (got == seen && now_ms() - t0 < 5000);
        _exit(got != seen && now_ms() - t0 < 1000 ? 0 : 1);
    }
    CHECK(read(ready[0], &ch, 1) == 1);
    usleep(50 * 1000);
    CHECK(pub(s, "w", "x", 10, 0, 1000, NULL) == PUSH_OK);
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status)
          && WEXITSTATUS(status) == 0);

    /* wake_all reaches a waiter with no timeout at all. */
    pid = fork();
    if (pid == 0) {
        alarm(10);
        seen = push_shm_seq(s);
        if (write(ready[1], "r", 1) != 1) {
            _exit(3);
        }
        _exit(push_shm_wait(s, seen, -1) != seen ? 0 : 1);
    }
    CHECK(read(ready[0], &ch, 1) == 1);
    usleep(50 * 1000);
    push_shm_wake_all(s);
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status)
          && WEXITSTATUS(status) == 0);
    close(ready[0]);
    close(ready[1]);
    munmap(mem, 1 << 20);
}

#define PUBLISHERS 8
#define PER_CHILD  300

static void test_concurrent_publish(void)
{
    size_t size = 4 << 20;
    void *mem;
    push_shm_t *s = new_store(size, 1000, &mem);
    push_channel_info_t info;
    push_store_stats_t st;
    push_message_t m;
    push_store_ref_t sub;
    push_msgid_t cursor = {0, 0};
    pid_t pids[PUBLISHERS];
    int seen[PUBLISHERS], i, status, ok = 1, n = 0;

    for (i = 0; i < PUBLISHERS; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            push_msgid_t id, prev = {0, 0};
            char body[32];
            int j, bad = 0;

            for (j = 0; j < PER_CHILD; j++) {
                snprintf(body, sizeof(body), "%d:%d", i, j);
                if (pub(s, "c", body, 100000, 0, (int64_t)time(NULL), &id)
                    != PUSH_OK || push_msgid_cmp(&id, &prev) <= 0) {
                    bad = 1;
                }
                prev = id;
                /* Some readers in the mix, contending for the lock. */
                if (j % 50 == 0) {
                    push_shm_info(s, "c", 1, (int64_t)time(NULL), NULL);
                }
            }
            _exit(bad);
        }
    }
    for (i = 0; i < PUBLISHERS; i++) {
        ok &= waitpid(pids[i], &status, 0) == pids[i] && WIFEXITED(status)
              && WEXITSTATUS(status) == 0;
    }
    CHECK(ok);
    CHECK(info_of(s, "c", (int64_t)time(NULL), &info) == PUSH_OK
          && info.messages == PUBLISHERS * PER_CHILD);
    push_shm_stats(s, (int64_t)time(NULL), &st);
    CHECK(st.published == PUBLISHERS * PER_CHILD && st.evicted == 0
          && st.recoveries == 0);

    /* In the buffer: ids strictly rising, each child's messages all
     * there and in the order it sent them. */
    for (i = 0; i < PUBLISHERS; i++) {
        seen[i] = 0;
    }
    ok = 1;
    CHECK(sub_to(s, "c", (int64_t)time(NULL), &sub)
          == PUSH_OK);
    while (next_msg(s, &sub, &cursor, (int64_t)time(NULL), &m, NULL, NULL)
           == PUSH_FOUND) {
        int child, j;

        if (push_msgid_cmp(&m.id, &cursor) <= 0
            || sscanf(m.body, "%d:%d", &child, &j) != 2
            || child < 0 || child >= PUBLISHERS || seen[child] != j) {
            ok = 0;
            break;
        }
        seen[child]++;
        cursor = m.id;
        n++;
    }
    CHECK(ok && n == PUBLISHERS * PER_CHILD);
    munmap(mem, size);
}

static int crash_where;

static void crash_hook(int where)
{
    if (where == crash_where) {
        _exit(42);
    }
}

/* Forks a child that dies holding the lock at `where` inside a publish of
 * `body` to `chan`; returns 1 when it died there. */
static int crash_publish(push_shm_t *s, int where, const char *chan,
                         const char *body, size_t body_len)
{
    int status;
    pid_t pid = fork();

    if (pid == 0) {
        alarm(10);
        crash_where = where;
        push_shm_test_crash_hook = crash_hook;
        pub_full(s, chan, body, body_len, NULL, NULL, 100000, 0, 1000,
                 NULL, NULL);
        _exit(0);
    }
    return waitpid(pid, &status, 0) == pid && WIFEXITED(status)
           && WEXITSTATUS(status) == 42;
}

static void test_crash_recovery(void)
{
    void *mem;
    size_t size = 1 << 20;
    push_shm_t *s = new_store(size, 1000, &mem);
    push_store_stats_t st;
    push_channel_info_t info;
    push_message_t m;
    push_store_ref_t qs, rs;
    push_msgid_t cursor, last = {0, 0};
    char body[32], body2k[2000];
    int i, where, ok, n, crashed, after;

    for (i = 0; i < 5; i++) {
        snprintf(body, sizeof(body), "r%d", i);
        CHECK(pub(s, "r", body, 100000, 0, 1000, NULL) == PUSH_OK);
    }
    for (i = 0; i < 3; i++) {
        CHECK(pub(s, "q", "q", 100000, 0, 1000, NULL) == PUSH_OK);
    }
    CHECK(sub_to(s, "q", 1000, &qs) == PUSH_OK);

    /* 1: before the ring is touched; 2: record in the ring, not yet in
     * its channel; 3: queued, its id not yet recorded. */
    for (where = 1; where <= 3; where++) {
        CHECK(crash_publish(s, where, "r", "crash", 5));
        snprintf(body, sizeof(body), "after%d", where);
        CHECK(pub(s, "r", body, 100000, 0, 1000, NULL) == PUSH_OK);
        push_shm_stats(s, 1000, &st);
        CHECK(st.recoveries == (uint64_t)where);

        /* Everything published before is there, in order, then this
         * round's message; the dead publisher's message may or may not
         * have survived, depending on how far it got. */
        CHECK(sub_to(s, "r", 1000, &rs) == PUSH_OK);
        cursor = mkid(0, 0);
        ok = 1;
        n = crashed = after = 0;
        while (next_msg(s, &rs, &cursor, 1000, &m, NULL, NULL)
               == PUSH_FOUND) {
            if (push_msgid_cmp(&m.id, &cursor) <= 0) {
                ok = 0;
            }
            if (strcmp(m.body, "crash") == 0) {
                crashed++;
            }
            else if (strncmp(m.body, "after", 5) == 0) {
                ok &= atoi(m.body + 5) == ++after;
            }
            else {
                snprintf(body, sizeof(body), "r%d", n);
                ok &= strcmp(m.body, body) == 0 && after == 0 && crashed == 0;
                n++;
            }
            cursor = m.id;
        }
        push_shm_unsubscribe(s, &rs);
        CHECK(ok && n == 5 && after == where);
        /* Dying at 1 leaves nothing behind; at 2 and 3 the record was
         * whole in the ring and recovery queues it. */
        CHECK(crashed == where - 1);
        CHECK(push_msgid_cmp(&cursor, &last) > 0);
        last = cursor;
        CHECK(info_of(s, "r", 1000, &info) == PUSH_OK
              && info.messages == (uint32_t)(5 + after + crashed)
              && push_msgid_cmp(&info.last_id, &cursor) == 0);
        CHECK(info_of(s, "q", 1000, &info) == PUSH_OK && info.messages == 3
              && info.subscribers == 1);
        push_shm_stats(s, 1000, &st);
        CHECK(st.channels == 2
              && st.subscribers == 1
              && st.messages == (uint64_t)(3 + 5 + after + crashed));
    }

    /* Dying while creating a channel leaves one channel, not two. */
    CHECK(crash_publish(s, 1, "fresh", "crash", 5));
    CHECK(pub(s, "fresh", "x", 100000, 0, 1000, NULL) == PUSH_OK);
    CHECK(info_of(s, "fresh", 1000, &info) == PUSH_OK && info.messages == 1);
    push_shm_stats(s, 1000, &st);
    CHECK(st.channels == 3 && st.recoveries == 4);

    /* The lock is in order afterwards: plain use, no more recoveries. */
    CHECK(pub(s, "r", "more", 100000, 0, 1000, NULL) == PUSH_OK);
    push_shm_unsubscribe(s, &qs);
    push_shm_stats(s, 1000, &st);
    CHECK(st.recoveries == 4
          && st.subscribers == 0);
    munmap(mem, size);

    /* 4: dying while evicting, in a full small store. */
    s = new_store(PUSH_SHM_MIN_SIZE, 1000, &mem);
    ok = 1;
    for (i = 0; i < 400; i++) {
        char big[200];

        memset(big, '-', sizeof(big));
        snprintf(big, sizeof(big), "e:%d", i);
        big[strlen(big)] = ' ';
        ok &= pub_full(s, "e", big, sizeof(big), NULL, NULL, 100000, 0, 1000,
                       NULL, NULL) == PUSH_OK;
    }
    CHECK(ok);
    /* Big enough to need several live records evicted. */
    memset(body2k, 'c', sizeof(body2k));
    CHECK(crash_publish(s, 4, "e", body2k, sizeof(body2k)));
    CHECK(pub(s, "e", "e:400", 100000, 0, 1000, NULL) == PUSH_OK);
    push_shm_stats(s, 1000, &st);
    CHECK(st.recoveries == 1);
    {
        long first, lastn;

        n = walk_numbered(s, "e", "e:", 1000, &first, &lastn);
        CHECK(n > 0 && lastn == 400 && first == 401 - n
              && (uint64_t)n == st.messages);
    }
    munmap(mem, PUSH_SHM_MIN_SIZE);
}

/* Ids longer than a slot holds (up to PUSH_CHANNEL_ID_MAX) live in the
 * long-id table: found exactly, told apart by their last byte, rebuilt
 * after a crash, and reused when their channel is reclaimed. */
static void test_long_ids(void)
{
    void *mem;
    size_t size = 1 << 20;
    push_shm_t *s = new_store(size, 1000, &mem);
    static char a[PUSH_CHANNEL_ID_MAX + 1], b[PUSH_CHANNEL_ID_MAX + 1];
    static char c[PUSH_CHANNEL_ID_MAX + 1], id[400];
    push_channel_info_t info;
    push_store_ref_t ref;
    push_message_t m;
    push_store_stats_t st;
    push_status_e rv = PUSH_OK;
    int n;

    memset(a, 'l', PUSH_CHANNEL_ID_MAX);
    memcpy(b, a, sizeof(a));
    b[PUSH_CHANNEL_ID_MAX - 1] = 'm';
    memcpy(c, a, sizeof(a));
    c[300] = '\0';
    CHECK(pub(s, a, "to a", 10, 0, 1000, NULL) == PUSH_OK);
    CHECK(pub(s, b, "to b", 10, 0, 1000, NULL) == PUSH_OK);
    CHECK(pub(s, a, "to a again", 10, 0, 1000, NULL) == PUSH_OK);
    CHECK(info_of(s, a, 1000, &info) == PUSH_OK && info.messages == 2);
    CHECK(info_of(s, b, 1000, &info) == PUSH_OK && info.messages == 1);
    /* A prefix of a long id, short or long, is another channel. */
    CHECK(push_shm_info(s, a, 255, 1000, &info) == PUSH_NOT_FOUND);
    CHECK(push_shm_info(s, a, 256, 1000, &info) == PUSH_NOT_FOUND);
    CHECK(push_shm_info(s, a, PUSH_CHANNEL_ID_MAX - 1, 1000, &info)
          == PUSH_NOT_FOUND);
    CHECK(sub_to(s, b, 1000, &ref) == PUSH_OK);
    CHECK(next_msg(s, &ref, NULL, 1000, &m, NULL, NULL) == PUSH_FOUND
          && strcmp(m.body, "to b") == 0);
    push_shm_unsubscribe(s, &ref);

    /* Dying while creating a long-id channel: one channel after, found
     * by its id, and the others intact. */
    CHECK(crash_publish(s, 1, c, "crash", 5));
    CHECK(pub(s, c, "after", 10, 0, 1000, NULL) == PUSH_OK);
    CHECK(info_of(s, c, 1000, &info) == PUSH_OK && info.messages == 1);
    CHECK(info_of(s, a, 1000, &info) == PUSH_OK && info.messages == 2);
    CHECK(info_of(s, b, 1000, &info) == PUSH_OK && info.messages == 1);
    push_shm_stats(s, 1000, &st);
    CHECK(st.recoveries == 1 && st.channels == 3);
    /* ... and dying with its long-id record taken, the channel not yet
     * made: the record is free again, the channel made once. */
    c[300] = 'c';
    c[400] = '\0';
    CHECK(crash_publish(s, 5, c, "crash", 5));
    CHECK(pub(s, c, "after", 10, 0, 1000, NULL) == PUSH_OK);
    CHECK(info_of(s, c, 1000, &info) == PUSH_OK && info.messages == 1);
    push_shm_stats(s, 1000, &st);
    CHECK(st.recoveries == 2 && st.channels == 4);

    /* The table fills before the slab: long ids are refused, short ones
     * still made. */
    memset(id, 'x', sizeof(id) - 1);
    id[sizeof(id) - 1] = '\0';
    for (n = 0; n < 100000; n++) {
        snprintf(id, 12, "%010d", n);
        id[10] = 'x';
        if ((rv = pub(s, id, "x", 10, 0, 1000, NULL)) != PUSH_OK) {
            break;
        }
    }
    CHECK(rv == PUSH_NO_CHANNEL_SLOT && n > 0);
    push_shm_stats(s, 1000, &st);
    CHECK(st.channels < st.channel_slots);
    CHECK(pub(s, "short", "x", 10, 0, 1000, NULL) == PUSH_OK);
    /* An emptied long-id channel makes way for a new long id; dying
     * while it does (the old channel gone, its record not yet free)
     * loses neither. */
    snprintf(id, 12, "%010d", 0);
    id[10] = 'x';
    CHECK(push_shm_delete(s, id, strlen(id), 1000, NULL) == PUSH_OK);
    snprintf(id, 12, "%010d", n);
    id[10] = 'x';
    CHECK(crash_publish(s, 6, id, "crash", 5));
    CHECK(pub(s, id, "x", 10, 0, 1000, NULL) == PUSH_OK);
    CHECK(info_of(s, id, 1000, &info) == PUSH_OK && info.messages == 1);
    push_shm_stats(s, 1000, &st);
    CHECK(st.recoveries == 3);
    /* The table is full again, and refuses one more. */
    snprintf(id, 12, "%010d", n + 1);
    id[10] = 'x';
    CHECK(pub(s, id, "x", 10, 0, 1000, NULL) == PUSH_NO_CHANNEL_SLOT);
    CHECK(info_of(s, a, 1000, &info) == PUSH_OK && info.messages == 2);
    munmap(mem, size);
}

/* A deterministic random mix of every operation over a small store, with
 * the store's own counters checked against what the channels hold. */
static void test_soak(void)
{
    size_t size = PUSH_SHM_MIN_SIZE * 2;
    void *mem;
    push_shm_t *s = new_store(size, 1000, &mem);
    push_store_stats_t st;
    push_channel_info_t info;
    push_message_t m;
    push_store_ref_t subs[64];
    int nsubs = 0, i, c, ok = 1, counts_ok = 1, order_ok = 1;
    uint32_t rnd = 12345;
    int64_t now = 1000;
    char name[16], body[3000];

    memset(body, 'b', sizeof(body));
    for (i = 0; i < 20000; i++) {
        int op;

        rnd = rnd * 1103515245u + 12345u;
        op = (rnd >> 16) % 100;
        c = (rnd >> 8) % 40;
        snprintf(name, sizeof(name), "k%d", c);
        if (op < 1) {
            now++;
        }
        if (op < 60) {
            push_status_e rv = pub_full(s, name, body, (rnd >> 4) % 3000,
                                        NULL, NULL, 1 + c % 20, c % 7,
                                        now, NULL, NULL);

            ok &= rv == PUSH_OK || rv == PUSH_NO_CHANNEL_SLOT;
        }
        else if (op < 70 && nsubs < 64) {
            if (sub_to(s, name, now, &subs[nsubs]) == PUSH_OK) {
                nsubs++;
            }
        }
        else if (op < 78 && nsubs > 0) {
            push_shm_unsubscribe(s, &subs[--nsubs]);
        }
        else if (op < 80) {
            push_shm_delete(s, name, strlen(name), now, NULL);
        }
        else if (nsubs > 0) {
            push_msgid_t cur = {0, 0};
            push_store_ref_t *sb = &subs[(rnd >> 3) % nsubs];
            push_status_e rv;

            while ((rv = next_msg(s, sb, &cur, now, &m, NULL, NULL))
                   == PUSH_FOUND) {
                if (push_msgid_cmp(&m.id, &cur) <= 0) {
                    order_ok = 0;
                    break;
                }
                cur = m.id;
            }
            ok &= rv == PUSH_NONE || rv == PUSH_GONE;
        }
        if (i % 500 == 0) {
            uint64_t sum = 0;

            push_shm_stats(s, now, &st);
            for (c = 0; c < 40; c++) {
                snprintf(name, sizeof(name), "k%d", c);
                if (info_of(s, name, now, &info) == PUSH_OK) {
                    sum += info.messages;
                }
            }
            counts_ok &= sum == st.messages && st.bytes_used <= size
                         && st.channels <= st.channel_slots;
        }
    }
    CHECK(ok);
    CHECK(order_ok);
    CHECK(counts_ok);
    while (nsubs > 0) {
        push_shm_unsubscribe(s, &subs[--nsubs]);
    }
    push_shm_stats(s, now, &st);
    CHECK(st.subscribers == 0);
    munmap(mem, size);
}

/* ------------------------------------------------------------------ */
/* Holds                                                               */

/* The channel's buffered count, or -1 when info fails. */
static long msgs_of(push_shm_t *s, const char *chan, int64_t now)
{
    push_channel_info_t info;

    return info_of(s, chan, now, &info) == PUSH_OK ? (long)info.messages : -1;
}

/* Publishes "mNN" for NN in [from, to) with buffer length bl; ids[NN]
 * (ids may be NULL) is its id. */
static int pub_n(push_shm_t *s, const char *chan, int from, int to,
                 uint32_t bl, push_msgid_t *ids)
{
    char body[16];
    int ok = 1;

    for (; from < to; from++) {
        snprintf(body, sizeof(body), "m%02d", from);
        ok &= pub(s, chan, body, bl, 0, 1000, ids ? &ids[from] : NULL)
              == PUSH_OK;
    }
    return ok;
}

static void test_hold_keeps(void)
{
    void *mem;
    push_shm_t *s = new_store(1 << 20, 1000, &mem);
    push_message_t m;
    push_store_ref_t sub;
    push_msgid_t cur = {0, 0}, gid, id;
    uint64_t pos, last;
    char body[16];
    int i, gap, ok = 1;

    /* Without a hold, buffer_length rules. */
    CHECK(pub_n(s, "h0", 0, 10, 3, NULL) && msgs_of(s, "h0", 1000) == 3);

    /* With one taken before publishing, all ten stay... */
    CHECK(sub_to(s, "h", 1000, &sub) == PUSH_OK
          && sub.reader == PUSH_NO_READER_ID);
    CHECK(push_shm_hold(s, &sub, NULL, 1 << 20, &pos) == PUSH_OK
          && sub.reader != PUSH_NO_READER_ID);
    CHECK(pub_n(s, "h", 0, 10, 3, NULL));
    CHECK_EQ(msgs_of(s, "h", 1000), 10);
    /* ...and a subscriber walking from its cursor gets them all. */
    last = pos;
    for (i = 0; i < 10; i++) {
        snprintf(body, sizeof(body), "m%02d", i);
        ok &= next_msg(s, &sub, &cur, 1000, &m, &gap, &gid) == PUSH_FOUND
              && gap == 0 && strcmp(m.body, body) == 0 && m.pos > last
              && m.chan_pos >= m.pos && m.newest == (i == 9);
        last = m.pos;
        cur = m.id;
    }
    CHECK(ok && m.chan_pos == m.pos);
    CHECK(next_msg(s, &sub, &cur, 1000, &m, &gap, &gid) == PUSH_NONE
          && gap == 0);
    /* Walked: back to the buffer length. */
    CHECK_EQ(msgs_of(s, "h", 1000), 3);

    /* Expiry is held too. */
    CHECK(pub(s, "e0", "x", 10, 5, 1000, NULL) == PUSH_OK);
    CHECK(pub(s, "e", "x", 10, 5, 1000, &id) == PUSH_OK);
    CHECK(sub_to(s, "e", 1000, &sub) == PUSH_OK);
    cur = mkid(0, 0);
    CHECK(push_shm_hold(s, &sub, &cur, 1 << 20, NULL) == PUSH_OK);
    CHECK(info_of(s, "e0", 2000, NULL) == PUSH_NOT_FOUND);
    CHECK(next_msg(s, &sub, &cur, 2000, &m, &gap, NULL) == PUSH_FOUND
          && push_msgid_cmp(&m.id, &id) == 0 && gap == 0);
    CHECK(next_msg(s, &sub, &id, 2000, &m, &gap, NULL) == PUSH_NONE);
    CHECK_EQ(msgs_of(s, "e", 2000), 0);   /* taken: it may expire now */
    push_shm_unsubscribe(s, &sub);
    munmap(mem, 1 << 20);
}

/* Buffer length 0 (no history): a message nobody holds goes at once,
 * and a later subscriber is told it missed it; one held stays until its
 * holder took it. */
static void test_no_history(void)
{
    void *mem;
    push_shm_t *s = new_store(1 << 20, 1000, &mem);
    push_message_t m;
    push_store_ref_t sub;
    push_channel_info_t info;
    push_msgid_t zero = {0, 0}, cur, gid, id0, id1, id2;
    int gap = 0;

    CHECK(pub(s, "n", "gone", 0, 0, 1000, &id0) == PUSH_OK);
    /* Neither messages nor subscribers: no channel to speak of. */
    CHECK(info_of(s, "n", 1000, &info) == PUSH_NOT_FOUND);

    CHECK(push_shm_subscribe(s, "n", 1, 1000, &sub, &info) == PUSH_OK);
    CHECK_EQ(info.messages, 0);
    CHECK_EQ(info.keep, 0);
    CHECK(push_msgid_cmp(&info.last_id, &id0) == 0);
    CHECK(push_shm_hold(s, &sub, &id0, 1 << 20, NULL) == PUSH_OK);
    CHECK(pub(s, "n", "kept", 0, 0, 1000, &id1) == PUSH_OK);
    CHECK(pub(s, "n", "kept too", 0, 0, 1000, &id2) == PUSH_OK);
    CHECK_EQ(msgs_of(s, "n", 1000), 2);
    cur = id0;
    CHECK(next_msg(s, &sub, &cur, 1000, &m, &gap, &gid) == PUSH_FOUND
          && gap == 0 && strcmp(m.body, "kept") == 0);
    cur = m.id;
    CHECK(next_msg(s, &sub, &cur, 1000, &m, &gap, &gid) == PUSH_FOUND
          && gap == 0 && strcmp(m.body, "kept too") == 0);
    cur = m.id;
    CHECK(next_msg(s, &sub, &cur, 1000, &m, &gap, &gid) == PUSH_NONE);
    CHECK_EQ(msgs_of(s, "n", 1000), 0);    /* taken: gone */

    /* A cursor from before what went unheld is told of the gap. */
    CHECK(next_msg(s, &sub, &zero, 1000, &m, &gap, &gid) == PUSH_NONE);
    push_shm_unsubscribe(s, &sub);
    CHECK(sub_to(s, "n", 1000, &sub) == PUSH_OK);
    CHECK(next_msg(s, &sub, &id0, 1000, &m, &gap, &gid) == PUSH_NONE
          && gap == 1 && push_msgid_cmp(&gid, &id2) == 0);
    push_shm_unsubscribe(s, &sub);
    munmap(mem, 1 << 20);
}

static void test_hold_bound(void)
{
    void *mem;
    push_shm_t *s = new_store(1 << 20, 1000, &mem);
    push_message_t m;
    push_store_ref_t sub;
    push_msgid_t ids[24], gid;
    uint64_t p0, rec, pos;
    int gap;

    /* Two messages, to learn a record's size in position units. */
    CHECK(pub_n(s, "b", 0, 2, 2, ids));
    CHECK(sub_to(s, "b", 1000, &sub) == PUSH_OK);
    CHECK(next_msg(s, &sub, NULL, 1000, &m, NULL, NULL) == PUSH_FOUND);
    p0 = m.pos;
    CHECK(next_msg(s, &sub, &ids[0], 1000, &m, NULL, NULL) == PUSH_FOUND);
    rec = m.pos - p0;
    CHECK(rec > 0 && m.chan_pos == m.pos);
    /* Room for three records behind the newest. */
    CHECK(push_shm_hold(s, &sub, &ids[1], 3 * rec, &pos) == PUSH_OK
          && pos == m.pos);
    CHECK(pub_n(s, "b", 2, 5, 2, ids));
    CHECK_EQ(msgs_of(s, "b", 1000), 3);   /* 3 records behind: held */
    CHECK(pub_n(s, "b", 5, 6, 2, ids));
    /* 4 records behind the newest now: past the bound, it holds
     * nothing, so this publish trims to the buffer length. */
    CHECK_EQ(msgs_of(s, "b", 1000), 2);
    CHECK(pub_n(s, "b", 6, 20, 2, ids));
    CHECK_EQ(msgs_of(s, "b", 1000), 2);
    /* The hold's subscriber is told of the gap, then goes on... */
    CHECK(next_msg(s, &sub, &ids[1], 1000, &m, &gap, &gid) == PUSH_FOUND
          && push_msgid_cmp(&m.id, &ids[18]) == 0 && gap == 1
          && push_msgid_cmp(&gid, &ids[17]) == 0);
    CHECK(next_msg(s, &sub, &ids[18], 1000, &m, &gap, &gid) == PUSH_FOUND
          && push_msgid_cmp(&m.id, &ids[19]) == 0 && gap == 0);
    CHECK(next_msg(s, &sub, &ids[19], 1000, &m, &gap, NULL) == PUSH_NONE);
    /* ...held again now that it caught up. */
    CHECK(pub_n(s, "b", 20, 23, 2, ids));
    CHECK_EQ(msgs_of(s, "b", 1000), 3);
    push_shm_unsubscribe(s, &sub);
    munmap(mem, 1 << 20);
}

static void test_hold_at(void)
{
    void *mem;
    push_shm_t *s = new_store(1 << 20, 1000, &mem);
    push_channel_info_t info;
    push_message_t m[5];
    push_store_ref_t h, r;
    push_msgid_t ids[8], cur = {0, 0};
    uint64_t last = 0;
    int i, ok = 1;

    /* h holds; r reads (no hold), and h follows explicitly. */
    CHECK(sub_to(s, "a", 1000, &h) == PUSH_OK
          && sub_to(s, "a", 1000, &r) == PUSH_OK);
    CHECK(push_shm_hold(s, &h, NULL, 1 << 20, &last) == PUSH_OK);
    CHECK(pub_n(s, "a", 0, 5, 1, ids) && msgs_of(s, "a", 1000) == 5);
    for (i = 0; i < 5; i++) {
        ok &= next_msg(s, &r, &cur, 1000, &m[i], NULL, NULL) == PUSH_FOUND
              && push_msgid_cmp(&m[i].id, &ids[i]) == 0 && m[i].pos > last
              && m[i].chan_pos >= m[i].pos;
        last = m[i].pos;
        cur = m[i].id;
    }
    CHECK(ok && m[0].chan_pos == m[4].pos && m[3].chan_pos == m[4].pos);
    CHECK_EQ(msgs_of(s, "a", 1000), 5);   /* r's reads move no hold */
    push_shm_hold_at(s, &h, m[0].pos, 1 << 20, PUSH_NO_PACE);
    CHECK(info_of(s, "a", 1000, &info) == PUSH_OK && info.messages == 4
          && push_msgid_cmp(&info.oldest_id, &ids[1]) == 0);
    push_shm_hold_at(s, &h, m[2].pos, 1 << 20, PUSH_NO_PACE);
    CHECK(info_of(s, "a", 1000, &info) == PUSH_OK && info.messages == 2
          && push_msgid_cmp(&info.oldest_id, &ids[3]) == 0);
    push_shm_hold_at(s, &h, m[4].pos, 1 << 20, PUSH_NO_PACE);
    CHECK_EQ(msgs_of(s, "a", 1000), 1);
    /* Positions go on rising across publishes. */
    CHECK(pub_n(s, "a", 5, 6, 1, ids));
    CHECK(next_msg(s, &r, &ids[4], 1000, &m[0], NULL, NULL) == PUSH_FOUND
          && m[0].pos > m[4].pos && m[0].chan_pos == m[0].pos);
    push_shm_unsubscribe(s, &h);
    push_shm_unsubscribe(s, &r);
    munmap(mem, 1 << 20);

    /* After a publisher died with its record in the ring (recovered),
     * positions still rise and never pass the channel's. */
    s = new_store(1 << 20, 1000, &mem);
    CHECK(pub(s, "c", "c0", 100000, 0, 1000, NULL) == PUSH_OK);
    CHECK(crash_publish(s, 3, "c", "crash", 5));
    CHECK(pub(s, "c", "c2", 100000, 0, 1000, NULL) == PUSH_OK);
    CHECK(sub_to(s, "c", 1000, &r) == PUSH_OK);
    cur = mkid(0, 0);
    last = 0;
    ok = 1;
    for (i = 0; next_msg(s, &r, &cur, 1000, &m[0], NULL, NULL)
                == PUSH_FOUND; i++) {
        ok &= m[0].pos > last && m[0].chan_pos >= m[0].pos;
        last = m[0].pos;
        cur = m[0].id;
    }
    CHECK_EQ(i, 3);
    CHECK(ok);
    push_shm_unsubscribe(s, &r);
    munmap(mem, 1 << 20);
}

static void test_hold_end(void)
{
    void *mem;
    push_shm_t *s = new_store(1 << 20, 1000, &mem);
    push_message_t m;
    push_channel_info_t info;
    push_store_ref_t a, b, stale;
    push_msgid_t ids[16];

    /* unhold, and unsubscribe, end it. */
    CHECK(sub_to(s, "u", 1000, &a) == PUSH_OK);
    CHECK(push_shm_hold(s, &a, NULL, 1 << 20, NULL) == PUSH_OK);
    CHECK(pub_n(s, "u", 0, 5, 2, NULL) && msgs_of(s, "u", 1000) == 5);
    push_shm_unhold(s, &a);
    CHECK(a.reader == PUSH_NO_READER_ID);
    CHECK(pub_n(s, "u", 5, 6, 2, NULL));
    CHECK_EQ(msgs_of(s, "u", 1000), 2);
    CHECK(push_shm_hold(s, &a, NULL, 1 << 20, NULL) == PUSH_OK);
    CHECK(pub_n(s, "u", 6, 10, 2, NULL) && msgs_of(s, "u", 1000) == 4);
    push_shm_unsubscribe(s, &a);
    CHECK(pub_n(s, "u", 10, 11, 2, NULL));
    CHECK_EQ(msgs_of(s, "u", 1000), 2);

    /* A stale handle (its record freed, then reused) is ignored. */
    CHECK(sub_to(s, "u", 1000, &a) == PUSH_OK
          && sub_to(s, "u", 1000, &b) == PUSH_OK);
    CHECK(push_shm_hold(s, &a, NULL, 1 << 20, NULL) == PUSH_OK);
    stale = a;
    push_shm_unhold(s, &a);
    CHECK(push_shm_hold(s, &b, NULL, 1 << 20, NULL) == PUSH_OK);
    CHECK(b.reader == stale.reader && b.reader_gen != stale.reader_gen);
    CHECK(pub_n(s, "u", 11, 15, 2, ids) && msgs_of(s, "u", 1000) == 4);
    push_shm_hold_at(s, &stale, UINT64_MAX, 1 << 20, PUSH_NO_PACE);
    CHECK(next_msg(s, &stale, &ids[14], 1000, &m, NULL, NULL) == PUSH_NONE);
    push_shm_unhold(s, &stale);
    CHECK(pub_n(s, "u", 15, 16, 2, ids));
    CHECK_EQ(msgs_of(s, "u", 1000), 5);   /* b still holds */

    /* A delete ends every hold of the channel. */
    CHECK(push_shm_delete(s, "u", 1, 1000, NULL) == PUSH_OK);
    push_shm_hold_at(s, &b, 0, 1 << 20, PUSH_NO_PACE);
    push_shm_unhold(s, &b);
    CHECK(push_shm_hold(s, &stale, NULL, 1 << 20, NULL) == PUSH_GONE);
    CHECK(next_msg(s, &a, NULL, 1000, &m, NULL, NULL) == PUSH_GONE);
    push_shm_unsubscribe(s, &a);
    CHECK(sub_to(s, "u", 1000, &a) == PUSH_OK);
    CHECK(pub_n(s, "u", 0, 5, 2, NULL));
    CHECK_EQ(msgs_of(s, "u", 1000), 2);
    push_shm_unsubscribe(s, &a);

    /* A hold after a cursor in the middle: 3.. held, 1..2 not. */
    CHECK(pub_n(s, "mid", 0, 5, 10, ids));
    CHECK(sub_to(s, "mid", 1000, &a) == PUSH_OK);
    CHECK(push_shm_hold(s, &a, &ids[1], 1 << 20, NULL) == PUSH_OK);
    CHECK(pub_n(s, "mid", 5, 6, 1, ids));
    CHECK(info_of(s, "mid", 1000, &info) == PUSH_OK && info.messages == 4
          && push_msgid_cmp(&info.oldest_id, &ids[2]) == 0);
    push_shm_unsubscribe(s, &a);
    munmap(mem, 1 << 20);
}

static void test_hold_owner(void)
{
    void *mem;
    push_shm_t *s = new_store(PUSH_SHM_MIN_SIZE, 1000, &mem);
    push_store_ref_t refs[256], d;
    push_message_t m;
    push_msgid_t zero = {0, 0}, gid;
    int n, ok, gap, status, go[2], ready[2];
    char big[2000];
    pid_t pid;
    char ch;

    /* Another process's hold holds; once it died, nothing. */
    if (pipe(go) != 0 || pipe(ready) != 0) {
        perror("pipe");
        exit(2);
    }
    pid = fork();
    if (pid == 0) {
        alarm(10);
        close(go[1]);
        if (sub_to(s, "o", 1000, &d) != PUSH_OK
            || push_shm_hold(s, &d, NULL, 1 << 20, NULL) != PUSH_OK
            || write(ready[1], "r", 1) != 1) {
            _exit(1);
        }
        (void)!read(go[0], &ch, 1);     /* until the parent closes it */
        _exit(0);                       /* without letting go */
    }
    close(go[0]);
    CHECK(read(ready[0], &ch, 1) == 1);
    CHECK(pub_n(s, "o", 0, 6, 3, NULL));
    CHECK_EQ(msgs_of(s, "o", 1000), 6);
    close(go[1]);
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status)
          && WEXITSTATUS(status) == 0);
    close(ready[0]);
    close(ready[1]);
    CHECK(pub_n(s, "o", 6, 10, 3, NULL));
    CHECK_EQ(msgs_of(s, "o", 1000), 3);

    /* Running out of room still evicts held messages: a gap. */
    CHECK(sub_to(s, "big", 1000, &d) == PUSH_OK
          && push_shm_hold(s, &d, NULL, UINT64_MAX, NULL) == PUSH_OK);
    memset(big, 'x', sizeof(big));
    for (n = 0, ok = 1; n < 100; n++) {
        ok &= pub_full(s, "big", big, sizeof(big), NULL, NULL, 1, 0, 1000,
                       NULL, NULL) == PUSH_OK;
    }
    n = (int)msgs_of(s, "big", 1000);
    CHECK(ok && n > 1 && n < 100);
    CHECK(next_msg(s, &d, &zero, 1000, &m, &gap, &gid) == PUSH_FOUND
          && gap == 1 && gid.time == m.id.time && gid.tag + 1 == m.id.tag);
    push_shm_unsubscribe(s, &d);
    CHECK(push_shm_delete(s, "big", 3, 1000, NULL) == PUSH_OK);

    /* Records of a dead process are reclaimed when the table runs out. */
    pid = fork();
    if (pid == 0) {
        alarm(10);
        for (n = 0; n < 255; n++) {
            if (sub_to(s, "r", 1000, &d) != PUSH_OK
                || push_shm_hold(s, &d, NULL, 1 << 20, NULL) != PUSH_OK) {
                break;
            }
        }
        _exit(n);
    }
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
    /* The reader table runs out; letting go of one makes room. */
    for (n = 0; n < 256; n++) {
        if (sub_to(s, "r", 1000, &refs[n]) != PUSH_OK) {
            break;
        }
        if (push_shm_hold(s, &refs[n], NULL, 1 << 20, NULL) != PUSH_OK) {
            break;
        }
    }
    CHECK(n > 1 && n < 255 && n == WEXITSTATUS(status));
    CHECK(push_shm_hold(s, &refs[n], NULL, 1 << 20, NULL) == PUSH_NO_READER
          && refs[n].reader == PUSH_NO_READER_ID);
    push_shm_unhold(s, &refs[0]);
    CHECK(push_shm_hold(s, &refs[n], NULL, 1 << 20, NULL) == PUSH_OK);
    CHECK(push_shm_hold(s, &refs[0], NULL, 1 << 20, NULL) == PUSH_NO_READER);
    /* A delete frees every record of the channel. */
    CHECK(push_shm_delete(s, "r", 1, 1000, NULL) == PUSH_OK);
    CHECK(sub_to(s, "r", 1000, &d) == PUSH_OK
          && push_shm_hold(s, &d, NULL, 1 << 20, NULL) == PUSH_OK);
    push_shm_unsubscribe(s, &d);
    munmap(mem, PUSH_SHM_MIN_SIZE);
}

/* A look from the cursor a subscriber just took starts where the last
 * one ended; a remembered place whose record was trimmed, or popped and
 * its bytes reused, is never followed. */
static void test_next_place(void)
{
    size_t size = 64 * 1024;
    void *mem;
    push_shm_t *s = new_store(size, 1000, &mem);
    push_store_ref_t a;
    push_msgid_t a1, a2, a3, cur;
    push_message_t m;
    char big[8192];
    int gap = -1, i;

    memset(big, 'b', sizeof(big));
    CHECK(sub_to(s, "a", 1000, &a) == PUSH_OK);
    CHECK(pub(s, "a", "a1", 100, 0, 1000, &a1) == PUSH_OK);
    CHECK(pub(s, "a", "a2", 100, 0, 1000, &a2) == PUSH_OK);
    CHECK(next_msg(s, &a, &a1, 1000, &m, &gap, NULL) == PUSH_FOUND
          && push_msgid_cmp(&m.id, &a2) == 0 && gap == 0);
    CHECK(a.at != UINT64_MAX && push_msgid_cmp(&a.at_id, &a2) == 0);

    /* Trimmed (buffer length 1): a2 is dead but still in the ring. */
    CHECK(pub(s, "a", "a3", 1, 0, 1000, &a3) == PUSH_OK);
    CHECK(next_msg(s, &a, &a2, 1000, &m, &gap, NULL) == PUSH_FOUND
          && push_msgid_cmp(&m.id, &a3) == 0 && gap == 0);
    CHECK_EQ(strcmp(m.body, "a3"), 0);

    /* Popped and reused: another channel fills the ring past a3. */
    for (i = 0; i < 32; i++) {
        CHECK(pub_full(s, "b", big, sizeof(big), NULL, NULL, 100, 0, 1000,
                       NULL, NULL) == PUSH_OK);
    }
    cur = a3;
    CHECK(next_msg(s, &a, &cur, 1000, &m, &gap, NULL) == PUSH_NONE);
    CHECK(pub(s, "a", "a4", 100, 0, 1000, NULL) == PUSH_OK);
    CHECK(next_msg(s, &a, &cur, 1000, &m, &gap, NULL) == PUSH_FOUND);
    CHECK_EQ(strcmp(m.body, "a4"), 0);
    CHECK_EQ(gap, 0);     /* a3 itself was evicted, nothing after it */
    push_shm_unsubscribe(s, &a);
    munmap(mem, size);
}

/* Messages of different channels come out in the order they were
 * published (seq), across a wrap of the ring, with or without a copy. */
static void test_publish_order(void)
{
    size_t size = 64 * 1024;
    void *mem;
    push_shm_t *s = new_store(size, 1000, &mem);
    push_store_ref_t a, b;
    push_msgid_t ca = {0, 0}, cb = {0, 0};
    push_message_t ma, mb;
    char body[2000];
    uint64_t last = 0;
    int i, ordered = 1, taken = 0;

    memset(body, 'x', sizeof(body));
    CHECK(sub_to(s, "a", 1000, &a) == PUSH_OK);
    CHECK(sub_to(s, "b", 1000, &b) == PUSH_OK);
    for (i = 0; i < 200; i++) {
        const char *chan = (i % 3 == 0) ? "b" : "a";
        push_message_t *m;

        CHECK(pub_full(s, chan, body, sizeof(body), NULL, NULL, 100, 0,
                       1000, NULL, NULL) == PUSH_OK);
        /* The one just published is the newest for its channel, and it
         * comes after everything taken before. */
        if (chan[0] == 'a') {
            while (push_shm_next(s, &a, &ca, 1000, NULL, NULL, &ma, NULL,
                                 NULL) == PUSH_FOUND) {
                ca = ma.id;
            }
            m = &ma;
        }
        else {
            while (next_msg(s, &b, &cb, 1000, &mb, NULL, NULL)
                   == PUSH_FOUND) {
                cb = mb.id;
            }
            m = &mb;
        }
        if (m->seq <= last && taken) {
            ordered = 0;
        }
        last = m->seq;
        taken++;
    }
    CHECK(ordered);
    CHECK(taken == 200);
    push_shm_unsubscribe(s, &a);
    push_shm_unsubscribe(s, &b);
    munmap(mem, size);
}

int main(void)
{
    /* A child dying must not take the test down with SIGPIPE and the
     * like; exits are checked through waitpid. */
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IONBF, 0);
    arena.cap = 16 << 20;
    arena.buf = malloc(arena.cap);

    test_format_attach();
    test_bad_args();
    test_ids();
    test_publish_id();
    test_lost();
    test_content();
    test_buffer_length();
    test_expiry();
    test_born_gap();
    test_subscribers();
    test_delete();
    test_eviction();
    test_too_big();
    test_cursor_walk();
    test_next_place();
    test_publish_order();
    test_slots();
    test_wait_wake();
    test_concurrent_publish();
    test_crash_recovery();
    test_long_ids();
    test_soak();
    test_hold_keeps();
    test_no_history();
    test_hold_bound();
    test_hold_at();
    test_hold_end();
    test_hold_owner();

    free(arena.buf);
    return CHECK_DONE("test_store");
}
