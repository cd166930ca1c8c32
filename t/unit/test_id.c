/* test_id.c — unit tests for push_id.c: message ids, entity tags and
 * channel names.  No framework: CHECK counts, prints failures with their
 * line, and main() ends with one summary line and the exit status. */
#include <stdio.h>
#include <string.h>

#include "lib/push_id.h"

#include "check.h"

/* Parses a C string; the length excludes the NUL so nothing can lean on
 * it, and the fill value shows whether a failure left *out alone. */
static int parse(const char *s, push_msgid_t *out)
{
    out->time = -7;
    out->tag = 7;
    return push_msgid_parse(s, strlen(s), out);
}

static int parses_to(const char *s, int64_t t, uint32_t n)
{
    push_msgid_t id;

    return parse(s, &id) == 0 && id.time == t && id.tag == n;
}

static int rejects(const char *s)
{
    push_msgid_t id;

    return parse(s, &id) == -1;
}

static void test_msgid_parse(void)
{
    push_msgid_t id;

    CHECK(parses_to("0:0", 0, 0));
    CHECK(parses_to("1700000000:3", 1700000000, 3));
    CHECK(parses_to("9223372036854775807:4294967295",
                    INT64_MAX, UINT32_MAX));
    /* Leading zeros are allowed, in both parts. */
    CHECK(parses_to("0001700000000:007", 1700000000, 7));
    CHECK(parses_to("00000000000000000000000000001:0", 1, 0));

    CHECK(rejects(""));
    CHECK(rejects(":"));
    CHECK(rejects(":1"));
    CHECK(rejects("1:"));
    CHECK(rejects("1"));
    CHECK(rejects("-1:0"));
    CHECK(rejects("+1:0"));
    CHECK(rejects("1:-0"));
    CHECK(rejects("1:+0"));
    CHECK(rejects(" 1:0"));
    CHECK(rejects("1 :0"));
    CHECK(rejects("1: 0"));
    CHECK(rejects("1:0 "));
    CHECK(rejects("1:0x"));
    CHECK(rejects("1:0:0"));
    CHECK(rejects("0x10:0"));
    CHECK(rejects("1.5:0"));
    CHECK(rejects("9223372036854775808:0"));      /* 2^63 */
    CHECK(rejects("99999999999999999999:0"));     /* wraps 2^64 too */
    CHECK(rejects("1:4294967296"));               /* 2^32 */
    CHECK(rejects("1:18446744073709551617"));

    /* Explicit lengths: bytes past len are not looked at, a NUL inside
     * len is junk, and a NULL string is only an error. */
    CHECK(push_msgid_parse("12:34xyz", 5, &id) == 0
          && id.time == 12 && id.tag == 34);
    CHECK(push_msgid_parse("12:3", 3, &id) == -1);
    CHECK(push_msgid_parse("1:2\0" "3", 5, &id) == -1);
    CHECK(push_msgid_parse(NULL, 0, &id) == -1);

    id.time = 5;
    id.tag = 6;
    CHECK(push_msgid_parse("x", 1, &id) == -1 && id.time == 5 && id.tag == 6);
}

static void test_msgid_format(void)
{
    char buf[PUSH_MSGID_MAX_LEN];
    push_msgid_t id, back;
    size_t n;

    id.time = 0;
    id.tag = 0;
    n = push_msgid_format(&id, buf);
    CHECK(n == 3 && strcmp(buf, "0:0") == 0);

    id.time = 1700000000;
    id.tag = 12;
    n = push_msgid_format(&id, buf);
    CHECK(n == 13 && strcmp(buf, "1700000000:12") == 0);

    id.time = INT64_MAX;
    id.tag = UINT32_MAX;
    n = push_msgid_format(&id, buf);
    CHECK(n == 30 && strcmp(buf, "9223372036854775807:4294967295") == 0);
    CHECK(n < PUSH_MSGID_MAX_LEN);
    CHECK(push_msgid_parse(buf, n, &back) == 0
          && push_msgid_cmp(&id, &back) == 0);
}

static void test_msgid_cmp(void)
{
    push_msgid_t a = {10, 5}, b = {10, 6}, c = {11, 0}, z = {0, 0};
    push_msgid_t big = {10, UINT32_MAX}, neg = {-1, 0};

    CHECK(push_msgid_cmp(&a, &a) == 0);
    CHECK(push_msgid_cmp(&a, &b) == -1);
    CHECK(push_msgid_cmp(&b, &a) == 1);
    CHECK(push_msgid_cmp(&b, &c) == -1);
    CHECK(push_msgid_cmp(&c, &b) == 1);
    CHECK(push_msgid_cmp(&z, &a) == -1);
    /* Time dominates however large the tag; the tag is unsigned. */
    CHECK(push_msgid_cmp(&big, &c) == -1);
    CHECK(push_msgid_cmp(&big, &a) == 1);
    CHECK(push_msgid_cmp(&neg, &z) == -1);
}

static void test_msgid_step(void)
{
    push_msgid_t a = {10, 5}, top = {10, UINT32_MAX}, low = {11, 0};
    push_msgid_t z = {0, 0}, n, p;

    n = push_msgid_next(a);
    CHECK_EQ(n.time, 10);
    CHECK_EQ(n.tag, 6);
    p = push_msgid_prev(a);
    CHECK_EQ(p.time, 10);
    CHECK_EQ(p.tag, 4);
    /* Past the last tag of a second: the next second's first. */
    n = push_msgid_next(top);
    CHECK_EQ(n.time, 11);
    CHECK_EQ(n.tag, 0);
    p = push_msgid_prev(low);
    CHECK_EQ(p.time, 10);
    CHECK_EQ(p.tag, UINT32_MAX);
    /* Each undoes the other, and they keep the order. */
    p = push_msgid_prev(push_msgid_next(top));
    CHECK(push_msgid_cmp(&p, &top) == 0);
    n = push_msgid_next(push_msgid_prev(low));
    CHECK(push_msgid_cmp(&n, &low) == 0);
    n = push_msgid_next(a);
    CHECK(push_msgid_cmp(&n, &a) > 0);
    /* Nothing is before "before everything". */
    p = push_msgid_prev(z);
    CHECK(push_msgid_cmp(&p, &z) == 0);
}

static int etag_is(const char *s, uint32_t want)
{
    uint32_t tag = 12345;

    return push_etag_parse(s, strlen(s), &tag) == 0 && tag == want;
}

static int etag_rejects(const char *s)
{
    uint32_t tag = 12345;

    return push_etag_parse(s, strlen(s), &tag) == -1 && tag == 12345;
}

static void test_etag(void)
{
    CHECK(etag_is("0", 0));
    CHECK(etag_is("7", 7));
    CHECK(etag_is("\"7\"", 7));
    CHECK(etag_is("W/\"7\"", 7));
    CHECK(etag_is("W/7", 7));
    CHECK(etag_is("  \"42\"\t", 42));
    CHECK(etag_is(" W/\"42\" ", 42));
    CHECK(etag_is("\"4294967295\"", UINT32_MAX));
    CHECK(etag_is("007", 7));

    CHECK(etag_rejects(""));
    CHECK(etag_rejects("   "));
    CHECK(etag_rejects("\"\""));
    CHECK(etag_rejects("\""));
    CHECK(etag_rejects("\"7"));
    CHECK(etag_rejects("7\""));
    CHECK(etag_rejects("W/"));
    CHECK(etag_rejects("W/\"\""));
    CHECK(etag_rejects("w/\"7\""));         /* the marker is case-sensitive */
    CHECK(etag_rejects("W/ \"7\""));
    CHECK(etag_rejects("\" 7\""));
    CHECK(etag_rejects("\"7 \""));
    CHECK(etag_rejects("\"4294967296\""));
    CHECK(etag_rejects("-1"));
    CHECK(etag_rejects("+1"));
    CHECK(etag_rejects("\"7\", \"8\""));    /* lists are not ours to take */
    CHECK(etag_rejects("*"));
    CHECK(etag_rejects("1:2"));
    CHECK(etag_rejects("abc"));
}

static void test_channel_id(void)
{
    static char buf[PUSH_CHANNEL_ID_MAX + 2];
    int c, ok;

    CHECK(!push_channel_id_valid("", 0));
    CHECK(!push_channel_id_valid(NULL, 0));
    CHECK(push_channel_id_valid("a", 1));

    memset(buf, 'x', sizeof(buf));
    CHECK(push_channel_id_valid(buf, 255));
    CHECK(push_channel_id_valid(buf, 256));
    CHECK(push_channel_id_valid(buf, PUSH_CHANNEL_ID_MAX));
    CHECK(!push_channel_id_valid(buf, PUSH_CHANNEL_ID_MAX + 1));

    CHECK(push_channel_id_valid("room-1.chat_x~y", 15));
    /* What nchan takes and the old rule refused. */
    CHECK(push_channel_id_valid("in:42", 5));
    CHECK(push_channel_id_valid("room/7", 6));
    CHECK(push_channel_id_valid("user@example.org", 16));
    CHECK(push_channel_id_valid("50%", 3));
    CHECK(push_channel_id_valid("a b", 3));
    CHECK(push_channel_id_valid("\"quoted\" \\ <x>&", 15));
    CHECK(push_channel_id_valid("caf\xc3\xa9", 5));
    CHECK(push_channel_id_valid("\xe4\xb8\xad\xe6\x96\x87", 6));

    /* Never a control character, never broken UTF-8. */
    CHECK(!push_channel_id_valid("a\0b", 3));
    CHECK(!push_channel_id_valid("a\r\nSet-Cookie: x", 17));
    CHECK(!push_channel_id_valid("a\nb", 3));
    CHECK(!push_channel_id_valid("tab\there", 8));
    CHECK(!push_channel_id_valid("del\x7f", 4));
    CHECK(!push_channel_id_valid("\xff", 1));
    CHECK(!push_channel_id_valid("caf\xc3", 4));
    CHECK(!push_channel_id_valid("\xc0\xaf", 2));       /* overlong '/' */
    CHECK(!push_channel_id_valid("\xed\xa0\x80", 3));   /* a surrogate */

    /* Of the 256 single bytes, the 95 printable ASCII ones pass. */
    ok = 0;
    for (c = 0; c < 256; c++) {
        char ch = (char)c;

        ok += push_channel_id_valid(&ch, 1);
    }
    CHECK(ok == 95);
}

/* Channel k of a parsed multi-id is at {t, tag}. */
static int mux_at(const push_msgid_t *c, unsigned k, int64_t t, uint32_t tag)
{
    return c[k].time == t && c[k].tag == tag;
}

static void test_mux_id(void)
{
    push_msgid_t c[4], round[4];
    int has[4] = {1, 1, 1, 0};
    char buf[PUSH_MUX_ID_MAX];
    size_t n;
    unsigned i;

    /* The newest cursor's time; older channels -1; active bracketed. */
    c[0].time = 100; c[0].tag = 2;
    c[1].time = 99;  c[1].tag = 7;
    c[2].time = 100; c[2].tag = 0;
    c[3].time = 0;   c[3].tag = 0;
    n = push_mux_id_format(c, has, 4, 2, buf);
    CHECK(strcmp(buf, "100:2,-1,[0],-1") == 0);
    CHECK_EQ(n, strlen("100:2,-1,[0],-1"));

    /* Parsed back: -1 has everything before 100. */
    CHECK(push_mux_id_parse(buf, n, 4, round) == 0);
    CHECK(mux_at(round, 0, 100, 2));
    CHECK(mux_at(round, 1, 99, UINT32_MAX));
    CHECK(mux_at(round, 2, 100, 0));
    CHECK(mux_at(round, 3, 99, UINT32_MAX));

    /* nchan's shorthand "-", fewer tags than channels, a plain T:N. */
    CHECK(push_mux_id_parse("5:-,[3]", 7, 3, round) == 0);
    CHECK(mux_at(round, 0, 4, UINT32_MAX) && mux_at(round, 1, 5, 3)
          && mux_at(round, 2, 4, UINT32_MAX));
    CHECK(push_mux_id_parse("7:1", 3, 2, round) == 0);
    CHECK(mux_at(round, 0, 7, 1) && mux_at(round, 1, 6, UINT32_MAX));
    /* Time 0 with -1: before everything. */
    CHECK(push_mux_id_parse("0:-1,-1", 7, 2, round) == 0);
    CHECK(mux_at(round, 0, 0, 0) && mux_at(round, 1, 0, 0));

    /* Malformed. */
    CHECK(push_mux_id_parse("5:1,2,3", 7, 2, round) == -1);  /* 3 tags, 2 */
    CHECK(push_mux_id_parse("5:[1],[2]", 9, 2, round) == -1);
    CHECK(push_mux_id_parse("5:1,,2", 6, 3, round) == -1);
    CHECK(push_mux_id_parse("5:[1", 4, 2, round) == -1);
    CHECK(push_mux_id_parse("5:1]", 4, 2, round) == -1);
    CHECK(push_mux_id_parse("5:[]", 4, 2, round) == -1);
    CHECK(push_mux_id_parse("5:x", 3, 2, round) == -1);
    CHECK(push_mux_id_parse("5:-2", 4, 2, round) == -1);
    CHECK(push_mux_id_parse("5", 1, 2, round) == -1);
    CHECK(push_mux_id_parse(":1", 2, 2, round) == -1);
    CHECK(push_mux_id_parse("5:1,", 4, 2, round) == -1);
    CHECK(push_mux_id_parse("5: 1", 4, 2, round) == -1);
    CHECK(push_mux_id_parse("5:4294967296", 12, 2, round) == -1);

    /* As If-None-Match carries the tags: quoted, weak, spaced. */
    CHECK(push_mux_tags_parse(" W/\"-1,[4]\" ", 12, 9, 2, round) == 0);
    CHECK(mux_at(round, 0, 8, UINT32_MAX) && mux_at(round, 1, 9, 4));
    CHECK(push_mux_tags_parse("\"1,2,3\"", 7, 9, 2, round) == -1);

    /* The longest id fits its buffer and parses back. */
    {
        push_msgid_t big[PUSH_MUX_MAX], back[PUSH_MUX_MAX];
        int bhas[PUSH_MUX_MAX];

        for (i = 0; i < PUSH_MUX_MAX; i++) {
            big[i].time = INT64_MAX;
            big[i].tag = UINT32_MAX - i;
            bhas[i] = 1;
        }
        n = push_mux_id_format(big, bhas, PUSH_MUX_MAX, 0, buf);
        CHECK(n < PUSH_MUX_ID_MAX && strlen(buf) == n);
        CHECK(push_mux_id_parse(buf, n, PUSH_MUX_MAX, back) == 0);
        CHECK(mux_at(back, PUSH_MUX_MAX - 1, INT64_MAX,
                     UINT32_MAX - (PUSH_MUX_MAX - 1)));
    }
}

static void test_channel_set(void)
{
    char set[] = "shared\x1fuser 7\x1f" "caf\xc3\xa9";
    char one[] = "a";
    char three[] = "a\x1f" "b\x1f" "c";
    const char *ids[3];

    CHECK_EQ(push_channel_set_split(set, ids, 3), 3);
    CHECK(!strcmp(ids[0], "shared") && !strcmp(ids[1], "user 7")
          && !strcmp(ids[2], "caf\xc3\xa9"));
    CHECK_EQ(push_channel_set_split(one, ids, 3), 1);
    CHECK(!strcmp(ids[0], "a"));
    CHECK_EQ(push_channel_set_split(three, ids, 2), 0);   /* too many */
}

int main(void)
{
    test_msgid_parse();
    test_msgid_format();
    test_msgid_cmp();
    test_msgid_step();
    test_etag();
    test_channel_id();
    test_mux_id();
    test_channel_set();

    return CHECK_DONE("test_id");
}
