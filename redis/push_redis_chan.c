/* push_redis_chan.c — a channel in Redis (see push_redis_chan.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis/push_redis_chan.h"

/* KEYS: stream, meta, counts.  ARGV: body, content type, event, keep,
 * timeout (s), pub/sub channel, inline cutoff (bytes), the publishing
 * server's name, and the floor: the last id its copy has (seconds, tag;
 * 0 0 for none).
 *
 * The floor is how ids never come back: a Redis that lost the channel
 * (restarted without persistence, a failover that lost a tail) would
 * otherwise issue ids servers already gave to other messages; from the
 * floor on it cannot.  Redis behind the floor went back, so one id just
 * past the floor is left out (the hole) and named as the previous one:
 * every copy at the floor or behind it sees a gap there, as it should
 * (it may lack what Redis lost, or what Redis issued again below the
 * floor since), and still gets this message after the gap.
 *
 * The epoch is set once, from TIME, when the meta is made: a channel
 * Redis lost and made again has another, so a server that remembers
 * the old one knows the ids it has are not Redis' any more.  The
 * stream keeps at least one entry (the newest) even for keep 0, so the
 * notice's reader can always fetch it; keep 0 trims the rest at once.
 * Streams and meta expire with the messages' timeout (the meta a day
 * later: the last id must outlive any message it could be confused
 * with). */
/* The id after (s, n), as push_msgid_next: both scripts that issue one
 * start with it. */
#define NEXT_ID_LUA \
    "local function next_id(s, n)\n" \
    "  if n >= 4294967295 then return s + 1, 0 end\n" \
    "  return s, n + 1\n" \
    "end\n"

static const char publish_lua[] =
    NEXT_ID_LUA
    "local t = redis.call('TIME')\n"
    "local m = redis.call('HMGET', KEYS[2], 'lt', 'ln', 'ep')\n"
    "local lt, ln, ep = tonumber(m[1]), tonumber(m[2]), m[3]\n"
    "if not ep then ep = t[1] .. string.format('%06d', tonumber(t[2])) end\n"
    "local ft, fn = tonumber(ARGV[9]), tonumber(ARGV[10])\n"
    "local hole = 0\n"
    "if ft > 0 and (not lt or ft > lt or (ft == lt and fn > ln)) then\n"
    "  lt, ln = next_id(ft, fn)\n"
    "  hole = 1\n"
    "end\n"
    "local s, n = tonumber(t[1]), 0\n"
    "local prev = '0-0'\n"
    "if lt then\n"
    "  prev = lt .. '-' .. ln\n"
    "  if s <= lt then s, n = next_id(lt, ln) end\n"
    "end\n"
    "local keep = tonumber(ARGV[4])\n"
    "local sid = s .. '-' .. n\n"
    "local function add()\n"
    "  return redis.pcall('XADD', KEYS[1], 'MAXLEN', math.max(keep, 1), sid,\n"
    "                     'd', ARGV[1], 't', ARGV[2], 'e', ARGV[3], 'p', prev)\n"
    "end\n"
    "local added = add()\n"
    "if type(added) == 'table' and added.err then\n"
    /* The stream is past the meta (a meta that went back alone): on
     * from the stream's newest entry. */
    "  local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)\n"
    "  if not top[1] then return added end\n"
    "  local a, b = string.match(top[1][1], '^(%d+)-(%d+)$')\n"
    "  s, n = tonumber(a), tonumber(b)\n"
    "  prev = top[1][1]\n"
    "  hole = 0\n"
    "  s, n = next_id(s, n)\n"
    "  sid = s .. '-' .. n\n"
    "  added = add()\n"
    "  if type(added) == 'table' and added.err then return added end\n"
    "end\n"
    "local timeout = tonumber(ARGV[5])\n"
    "if timeout > 0 and s - timeout > 0 then\n"
    "  redis.call('XTRIM', KEYS[1], 'MINID', (s - timeout) .. '-0')\n"
    "end\n"
    "redis.call('HSET', KEYS[2], 'lt', s, 'ln', n, 'ep', ep, 'k', keep,\n"
    "           'to', timeout)\n"
    "if timeout > 0 then\n"
    "  redis.call('EXPIRE', KEYS[1], timeout + 60)\n"
    "  redis.call('EXPIRE', KEYS[2], timeout + 86400)\n"
    "else\n"
    "  redis.call('PERSIST', KEYS[1])\n"
    "  redis.call('PERSIST', KEYS[2])\n"
    "end\n"
    "local head = sid .. ' ' .. prev .. ' ' .. ep .. ' ' .. keep .. ' '\n"
    "             .. timeout\n"
    "local note\n"
    "if #ARGV[1] <= tonumber(ARGV[7]) then\n"
    "  note = head .. ' 1 ' .. #ARGV[2] .. ' ' .. #ARGV[3] .. '\\n'\n"
    "         .. ARGV[2] .. ARGV[3] .. ARGV[1]\n"
    "else\n"
    "  note = head .. ' 0'\n"
    "end\n"
    "local told = redis.call('PUBLISH', ARGV[6], note)\n"
    /* The other servers' subscribers: counts still believed (see
     * push_redis_count.h for the "<count> <until>" form). */
    "local others = 0\n"
    "local c = redis.call('HGETALL', KEYS[3])\n"
    "for i = 1, #c, 2 do\n"
    "  if c[i] ~= ARGV[8] then\n"
    "    local n, u = string.match(c[i + 1], '^(%d+) (%d+)$')\n"
    "    if n and tonumber(u) >= tonumber(t[1]) then\n"
    "      others = others + tonumber(n)\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return {sid, prev, ep, told, others, hole}\n";

/* KEYS: stream, meta.  ARGV: after ("-" for the oldest, else
 * "(<sec>-<n>"), count.  The meta and the entries in one reply, so the
 * last id and the entries agree: {lt, ln, ep, k, to, entries}, lt false
 * when the channel has no meta (never published, or expired). */
static const char read_lua[] =
    "local m = redis.call('HMGET', KEYS[2], 'lt', 'ln', 'ep', 'k', 'to')\n"
    "if not m[1] then return {false} end\n"
    "local e = redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', ARGV[2])\n"
    "return {m[1], m[2], m[3] or '0', m[4] or '0', m[5] or '0', e}\n";

/* KEYS: meta.  ARGV: the floor (seconds, tag).  When Redis' last id is
 * not past the floor (it went back), the last id becomes the floor's
 * next: one id nobody will have, so that every server's copy records a
 * gap there, and what Redis issues next follows it.  Reply: {last
 * seconds, last tag, 1 raised | 0 not, epoch}. */
static const char floor_lua[] =
    NEXT_ID_LUA
    "local m = redis.call('HMGET', KEYS[1], 'lt', 'ln', 'ep')\n"
    "local lt, ln, ep = tonumber(m[1]), tonumber(m[2]), m[3]\n"
    "local ft, fn = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
    "if lt and (lt > ft or (lt == ft and ln > fn)) then\n"
    "  return {lt, ln, 0, ep or '0'}\n"
    "end\n"
    "ft, fn = next_id(ft, fn)\n"
    "redis.call('HSET', KEYS[1], 'lt', ft, 'ln', fn)\n"
    "if not ep then\n"
    "  local t = redis.call('TIME')\n"
    "  ep = t[1] .. string.format('%06d', tonumber(t[2]))\n"
    "  redis.call('HSET', KEYS[1], 'ep', ep)\n"
    "  redis.call('EXPIRE', KEYS[1], 86400)\n"
    "end\n"
    "return {ft, fn, 1, ep}\n";

/* KEYS: stream.  ARGV: pub/sub channel.  The meta stays: ids of the
 * channel made again go on after the deleted one's. */
static const char delete_lua[] =
    "local n = redis.call('XLEN', KEYS[1])\n"
    "redis.call('DEL', KEYS[1])\n"
    "local told = redis.call('PUBLISH', ARGV[1], 'delete')\n"
    "return {n, told}\n";

static int key_make(char **out, size_t *out_len, const char *prefix,
                    const char *chan, size_t chan_len, const char *suffix)
{
    size_t pl = strlen(prefix), sl = strlen(suffix);
    size_t len = pl + 3 + chan_len + 1 + sl;
    char *k = malloc(len + 1);

    if (!k) {
        return -1;
    }
    memcpy(k, prefix, pl);
    memcpy(k + pl, "{c:", 3);
    memcpy(k + pl + 3, chan, chan_len);
    k[pl + 3 + chan_len] = '}';
    memcpy(k + pl + 4 + chan_len, suffix, sl);
    k[len] = '\0';
    *out = k;
    *out_len = len;
    return 0;
}

int push_redis_keys(push_redis_keys_t *k, const char *prefix,
                    const char *chan, size_t chan_len)
{
    memset(k, 0, sizeof(*k));
    if (key_make(&k->stream, &k->stream_len, prefix, chan, chan_len, ":s")
        || key_make(&k->meta, &k->meta_len, prefix, chan, chan_len, ":m")
        || key_make(&k->count, &k->count_len, prefix, chan, chan_len, ":n")
        || key_make(&k->pubsub, &k->pubsub_len, prefix, chan, chan_len,
                    "")) {
        push_redis_keys_free(k);
        return -1;
    }
    return 0;
}

void push_redis_keys_free(push_redis_keys_t *k)
{
    free(k->stream);
    free(k->meta);
    free(k->count);
    free(k->pubsub);
    memset(k, 0, sizeof(*k));
}

int push_redis_stream_id(const char *s, size_t len, push_msgid_t *id)
{
    uint64_t a = 0, b = 0;
    size_t i = 0, digits;

    for (digits = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
        if (digits >= 18) {
            return -1;
        }
        a = a * 10 + (uint64_t)(s[i] - '0');
    }
    if (!digits || i >= len || s[i++] != '-') {
        return -1;
    }
    for (digits = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
        if (digits >= 10) {
            return -1;
        }
        b = b * 10 + (uint64_t)(s[i] - '0');
    }
    if (!digits || i != len || b > UINT32_MAX) {
        return -1;
    }
    id->time = (int64_t)a;
    id->tag = (uint32_t)b;
    return 0;
}

static int failed(char *err, size_t errlen, const char *what,
                  const char *detail)
{
    snprintf(err, errlen, "%s: %s", what, detail);
    return -1;
}

/* The script by its SHA1 when Redis has it, else by its text (which
 * caches it: the next call finds it). */
enum { SCRIPT_PUBLISH, SCRIPT_READ, SCRIPT_DELETE, SCRIPT_FLOOR };

static redisReply *eval_script(push_redis_conn_t *c, unsigned which,
                               const char *lua, int nkeys, int nargs, const char **args,
                               const size_t *lens, int timeout_ms)
{
    char *sha = push_redis_script_sha(c, which);
    const char *argv[24];
    size_t argl[24];
    char nk[8];
    redisReply *r;
    int i, argc = 0;

    if (nkeys + nargs + 3 > 24) {
        return NULL;
    }
    snprintf(nk, sizeof(nk), "%d", nkeys);
    argv[argc] = sha[0] ? "EVALSHA" : "EVAL";
    argl[argc] = strlen(argv[argc]);
    argc++;
    argv[argc] = sha[0] ? sha : lua;
    argl[argc] = strlen(argv[argc]);
    argc++;
    argv[argc] = nk;
    argl[argc++] = strlen(nk);
    for (i = 0; i < nkeys + nargs; i++) {
        argv[argc] = args[i];
        argl[argc++] = lens[i];
    }
    r = push_redis_call(c, argc, argv, argl, timeout_ms);
    if (r && r->type == REDIS_REPLY_ERROR && sha[0]
        && strncmp(r->str, "NOSCRIPT", 8) == 0) {
        /* A restarted or flushed Redis: by the text again. */
        freeReplyObject(r);
        argv[0] = "EVAL";
        argl[0] = 4;
        argv[1] = lua;
        argl[1] = strlen(lua);
        r = push_redis_call(c, argc, argv, argl, timeout_ms);
    }
    if (r && r->type != REDIS_REPLY_ERROR && !sha[0]) {
        const char *load[3] = { "SCRIPT", "LOAD", lua };
        redisReply *l = push_redis_call(c, 3, load, NULL, timeout_ms);

        if (l && l->type == REDIS_REPLY_STRING && l->len == 40) {
            memcpy(sha, l->str, 40);
        }
        if (l) {
            freeReplyObject(l);
        }
    }
    return r;
}

/* -1 with the reason in err when a script's call gave no reply (the
 * connection broke) or an error reply (freed here); 0 when r is a reply
 * to read.  `what` names the script ("publish", "read", "delete"). */
static int script_failed(push_redis_conn_t *c, redisReply *r,
                         const char *what, char *err, size_t errlen)
{
    if (!r) {
        return failed(err, errlen, what, push_redis_broken(c)
                                         ? push_redis_broken(c)
                                         : "no reply");
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "Redis refused the %s: %s", what, r->str);
        freeReplyObject(r);
        return -1;
    }
    return 0;
}

int push_redis_publish(push_redis_conn_t *c, const push_redis_keys_t *k,
                       const char *server, const push_msgid_t *floor,
                       const push_redis_msg_t *msg, uint32_t keep,
                       uint32_t timeout, int timeout_ms,
                       push_redis_published_t *out, char *err,
                       size_t errlen)
{
    char keep_s[16], timeout_s[16], cut_s[16], ft[24], fn[16];
    const char *args[13];
    size_t lens[13];
    redisReply *r;
    int rc = -1;

    snprintf(keep_s, sizeof(keep_s), "%" PRIu32, keep);
    snprintf(timeout_s, sizeof(timeout_s), "%" PRIu32, timeout);
    snprintf(cut_s, sizeof(cut_s), "%d", PUSH_REDIS_INLINE_MAX);
    args[0] = k->stream;
    lens[0] = k->stream_len;
    args[1] = k->meta;
    lens[1] = k->meta_len;
    args[2] = k->count;
    lens[2] = k->count_len;
    args[3] = msg->body ? msg->body : "";
    lens[3] = msg->body_len;
    args[4] = msg->content_type ? msg->content_type : "";
    lens[4] = msg->content_type_len;
    args[5] = msg->event ? msg->event : "";
    lens[5] = msg->event_len;
    args[6] = keep_s;
    lens[6] = strlen(keep_s);
    args[7] = timeout_s;
    lens[7] = strlen(timeout_s);
    args[8] = k->pubsub;
    lens[8] = k->pubsub_len;
    args[9] = cut_s;
    lens[9] = strlen(cut_s);
    args[10] = server ? server : "";
    lens[10] = strlen(args[10]);
    snprintf(ft, sizeof(ft), "%" PRId64, floor ? floor->time : 0);
    snprintf(fn, sizeof(fn), "%" PRIu32, floor ? floor->tag : 0);
    args[11] = ft;
    lens[11] = strlen(ft);
    args[12] = fn;
    lens[12] = strlen(fn);

    r = eval_script(c, SCRIPT_PUBLISH, publish_lua, 3, 10, args, lens,
                    timeout_ms);
    if (script_failed(c, r, "publish", err, errlen)) {
        return -1;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 6
             || r->element[0]->type != REDIS_REPLY_STRING
             || r->element[1]->type != REDIS_REPLY_STRING
             || r->element[2]->type != REDIS_REPLY_STRING
             || r->element[3]->type != REDIS_REPLY_INTEGER
             || r->element[4]->type != REDIS_REPLY_INTEGER
             || r->element[5]->type != REDIS_REPLY_INTEGER
             || push_redis_stream_id(r->element[0]->str, r->element[0]->len,
                                     &out->id) != 0
             || push_redis_stream_id(r->element[1]->str, r->element[1]->len,
                                     &out->prev) != 0) {
        failed(err, errlen, "publish", "an unexpected reply from Redis");
    }
    else {
        out->epoch = strtoull(r->element[2]->str, NULL, 10);
        out->keep = keep;
        out->timeout = timeout;
        out->receivers = r->element[3]->integer;
        out->others = r->element[4]->integer;
        out->hole = r->element[5]->integer != 0;
        rc = 0;
    }
    freeReplyObject(r);
    return rc;
}

/* One XRANGE entry, [id, [field, value, ...]], into m.  -1 when it is
 * not one of ours. */
static int entry_msg(const redisReply *e, push_redis_msg_t *m)
{
    const redisReply *f;
    size_t i;

    memset(m, 0, sizeof(*m));
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2
        || e->element[0]->type != REDIS_REPLY_STRING
        || e->element[1]->type != REDIS_REPLY_ARRAY
        || push_redis_stream_id(e->element[0]->str, e->element[0]->len,
                                &m->id) != 0) {
        return -1;
    }
    f = e->element[1];
    for (i = 0; i + 1 < f->elements; i += 2) {
        const redisReply *name = f->element[i], *v = f->element[i + 1];

        if (name->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING
            || name->len != 1) {
            continue;
        }
        switch (name->str[0]) {
        case 'd':
            m->body = v->str;
            m->body_len = v->len;
            break;
        case 't':
            m->content_type = v->str;
            m->content_type_len = v->len;
            break;
        case 'e':
            m->event = v->str;
            m->event_len = v->len;
            break;
        case 'p':
            if (push_redis_stream_id(v->str, v->len, &m->prev) != 0) {
                return -1;
            }
            break;
        }
    }
    return m->body ? 0 : -1;
}

/* A reply string's decimal value; -1 when it is not one. */
static long long reply_number(const redisReply *r)
{
    char buf[24];
    char *end;
    long long v;

    if (r->type == REDIS_REPLY_INTEGER) {
        return r->integer;
    }
    if (r->type != REDIS_REPLY_STRING || r->len == 0 || r->len >= sizeof(buf)) {
        return -1;
    }
    memcpy(buf, r->str, r->len);
    buf[r->len] = '\0';
    v = strtoll(buf, &end, 10);
    return *end || v < 0 ? -1 : v;
}

int push_redis_read(push_redis_conn_t *c, const push_redis_keys_t *k,
                    const push_msgid_t *after, unsigned count,
                    int timeout_ms, push_redis_state_t *st, char *err,
                    size_t errlen)
{
    char from[48], cnt[16];
    const char *args[4];
    size_t lens[4];
    const redisReply *e;
    long long lt, ln;
    redisReply *r;
    size_t i;

    memset(st, 0, sizeof(*st));
    if (after->time == 0 && after->tag == 0) {
        snprintf(from, sizeof(from), "-");
    }
    else {
        snprintf(from, sizeof(from), "(%" PRId64 "-%" PRIu32, after->time,
                 after->tag);
    }
    snprintf(cnt, sizeof(cnt), "%u", count ? count : 1);
    args[0] = k->stream;
    lens[0] = k->stream_len;
    args[1] = k->meta;
    lens[1] = k->meta_len;
    args[2] = from;
    lens[2] = strlen(from);
    args[3] = cnt;
    lens[3] = strlen(cnt);
    r = eval_script(c, SCRIPT_READ, read_lua, 2, 2, args, lens, timeout_ms);
    if (script_failed(c, r, "read", err, errlen)) {
        return -1;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1) {
        goto odd;
    }
    if (r->elements == 1 && r->element[0]->type == REDIS_REPLY_NIL) {
        st->reply = r;          /* no such channel */
        return 0;
    }
    if (r->elements != 6 || (lt = reply_number(r->element[0])) < 0
        || (ln = reply_number(r->element[1])) < 0 || ln > UINT32_MAX
        || reply_number(r->element[2]) < 0
        || reply_number(r->element[3]) < 0 || reply_number(r->element[4]) < 0
        || r->element[5]->type != REDIS_REPLY_ARRAY) {
        goto odd;
    }
    st->exists = 1;
    st->last.time = lt;
    st->last.tag = (uint32_t)ln;
    st->epoch = (uint64_t)reply_number(r->element[2]);
    st->keep = (uint32_t)reply_number(r->element[3]);
    st->timeout = (uint32_t)reply_number(r->element[4]);
    e = r->element[5];
    if (e->elements > count || !(st->msgs = calloc(e->elements + 1,
                                                   sizeof(*st->msgs)))) {
        goto odd;
    }
    for (i = 0; i < e->elements; i++) {
        if (entry_msg(e->element[i], &st->msgs[i]) != 0) {
            goto odd;
        }
    }
    st->n = (unsigned)e->elements;
    st->reply = r;
    return 0;

odd:
    freeReplyObject(r);
    free(st->msgs);
    memset(st, 0, sizeof(*st));
    return failed(err, errlen, "read", "an unexpected reply from Redis");
}

void push_redis_state_free(push_redis_state_t *st)
{
    if (st->reply) {
        freeReplyObject(st->reply);
    }
    free(st->msgs);
    memset(st, 0, sizeof(*st));
}

/* A decimal number at *p (up to end), moving past it and one following
 * delimiter `d` (0: none). */
static int field(const char **p, const char *end, char d, uint64_t *v)
{
    const char *s = *p;
    int digits = 0;

    *v = 0;
    while (s < end && *s >= '0' && *s <= '9' && digits < 19) {
        *v = *v * 10 + (uint64_t)(*s++ - '0');
        digits++;
    }
    if (!digits || (d && (s >= end || *s != d))) {
        return -1;
    }
    *p = d ? s + 1 : s;
    return 0;
}

/* "<sec>-<n>" followed by a space. */
static int notice_id(const char **p, const char *end, push_msgid_t *id)
{
    const char *sp = memchr(*p, ' ', (size_t)(end - *p));

    if (!sp || push_redis_stream_id(*p, (size_t)(sp - *p), id) != 0) {
        return -1;
    }
    *p = sp + 1;
    return 0;
}

int push_redis_notice_parse(const char *data, size_t len,
                            push_redis_published_t *n, int *inline_msg,
                            push_redis_msg_t *msg)
{
    const char *p = data, *end = data + len;
    uint64_t flag, ct, ev, keep, timeout;

    memset(n, 0, sizeof(*n));
    memset(msg, 0, sizeof(*msg));
    *inline_msg = 0;
    if (notice_id(&p, end, &n->id) != 0 || notice_id(&p, end, &n->prev) != 0
        || field(&p, end, ' ', &n->epoch) != 0
        || field(&p, end, ' ', &keep) != 0 || keep > UINT32_MAX
        || field(&p, end, ' ', &timeout) != 0 || timeout > UINT32_MAX
        || field(&p, end, 0, &flag) != 0 || flag > 1) {
        return -1;
    }
    n->keep = (uint32_t)keep;
    n->timeout = (uint32_t)timeout;
    msg->id = n->id;
    if (!flag) {
        return p == end ? 0 : -1;
    }
    if (p >= end || *p++ != ' ' || field(&p, end, ' ', &ct) != 0
        || field(&p, end, '\n', &ev) != 0
        || ct + ev > (uint64_t)(end - p)) {
        return -1;
    }
    msg->content_type = p;
    msg->content_type_len = (size_t)ct;
    msg->event = p + ct;
    msg->event_len = (size_t)ev;
    msg->body = p + ct + ev;
    msg->body_len = (size_t)(end - msg->body);
    *inline_msg = 1;
    return 0;
}

int push_redis_delete(push_redis_conn_t *c, const push_redis_keys_t *k,
                      int timeout_ms, long long *had, char *err,
                      size_t errlen)
{
    const char *args[2] = { k->stream, k->pubsub };
    size_t lens[2] = { k->stream_len, k->pubsub_len };
    redisReply *r = eval_script(c, SCRIPT_DELETE, delete_lua, 1, 1, args,
                                lens, timeout_ms);
    int rc = -1;

    if (script_failed(c, r, "delete", err, errlen)) {
        return -1;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2
             || r->element[0]->type != REDIS_REPLY_INTEGER) {
        failed(err, errlen, "delete", "an unexpected reply from Redis");
    }
    else {
        *had = r->element[0]->integer;
        rc = 0;
    }
    freeReplyObject(r);
    return rc;
}

int push_redis_floor(push_redis_conn_t *c, const push_redis_keys_t *k,
                     const push_msgid_t *floor, int timeout_ms,
                     push_msgid_t *last, uint64_t *epoch, char *err,
                     size_t errlen)
{
    char ft[24], fn[16];
    const char *args[3] = { k->meta, ft, fn };
    size_t lens[3];
    redisReply *r;
    int rc = -1;

    snprintf(ft, sizeof(ft), "%" PRId64, floor->time);
    snprintf(fn, sizeof(fn), "%" PRIu32, floor->tag);
    lens[0] = k->meta_len;
    lens[1] = strlen(ft);
    lens[2] = strlen(fn);
    r = eval_script(c, SCRIPT_FLOOR, floor_lua, 1, 2, args, lens,
                    timeout_ms);
    if (script_failed(c, r, "floor", err, errlen)) {
        return -1;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 4
        || r->element[0]->type != REDIS_REPLY_INTEGER
        || r->element[1]->type != REDIS_REPLY_INTEGER
        || r->element[2]->type != REDIS_REPLY_INTEGER
        || r->element[1]->integer < 0 || r->element[1]->integer > UINT32_MAX
        || reply_number(r->element[3]) < 0) {
        failed(err, errlen, "floor", "an unexpected reply from Redis");
    }
    else {
        last->time = r->element[0]->integer;
        last->tag = (uint32_t)r->element[1]->integer;
        if (epoch) {
            *epoch = (uint64_t)reply_number(r->element[3]);
        }
        rc = r->element[2]->integer ? 1 : 0;
    }
    freeReplyObject(r);
    return rc;
}

int push_redis_notice_is_delete(const char *data, size_t len)
{
    return len == 6 && memcmp(data, "delete", 6) == 0;
}
