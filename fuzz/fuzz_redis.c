/* fuzz_redis.c — libFuzzer target for what the Redis backplane parses:
 * PushRedis's URL (redis/push_redis_url.c) and what comes back from
 * Redis, stream ids and publish notices (redis/push_redis_chan.c).
 *
 * Input: byte 0 mod 3 picks the parser, the rest is the value (a URL is
 * cut at its first NUL, as a configuration line is).  Promises: an
 * accepted URL has a non-empty host of at most 255 bytes, a port in 1 ..
 * 65535 and a database >= 0, and no NUL in what it decoded; an accepted
 * stream id formats back as "<time>-<tag>" equal to the input once
 * leading zeros are dropped; an accepted notice's inline message lies
 * inside the input, its body running to the input's end. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_input.h"
#include "redis/push_redis_chan.h"
#include "redis/push_redis_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int within(const char *p, size_t len, const char *s, size_t n)
{
    return p >= s && p + len <= s + n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n;
    char *s;

    if (size < 1) {
        return 0;
    }
    switch (data[0] % 3) {
    case 0: {
        push_redis_url_t u;
        const char *why = NULL;

        if (!(s = fuzz_value(data, size, &n, 1))) {
            return 0;
        }
        if (push_redis_url_parse(s, &u, &why) == 0) {
            if (!u.host[0] || strlen(u.host) > PUSH_REDIS_HOST_MAX
                || u.port < 1 || u.port > 65535 || u.db < 0) {
                abort();
            }
        }
        else if (!why || !why[0]) {
            abort();
        }
        break;
    }
    case 1: {
        push_msgid_t id;

        if (!(s = fuzz_value(data, size, &n, 0))) {
            return 0;
        }
        if (push_redis_stream_id(s, n, &id) == 0) {
            char back[48], norm[48];
            size_t i = 0, j = 0;

            snprintf(back, sizeof(back), "%" PRId64 "-%" PRIu32, id.time,
                     id.tag);
            /* The input without leading zeros in either number. */
            if (n >= sizeof(norm)) {
                abort();
            }
            while (i < n) {
                while (i + 1 < n && s[i] == '0' && s[i + 1] != '-') {
                    i++;
                }
                while (i < n && s[i] != '-') {
                    norm[j++] = s[i++];
                }
                if (i < n) {
                    norm[j++] = s[i++];
                }
            }
            norm[j] = '\0';
            if (strcmp(back, norm) != 0) {
                abort();
            }
        }
        break;
    }
    default: {
        push_redis_published_t note;
        push_redis_msg_t m;
        int inl;

        if (!(s = fuzz_value(data, size, &n, 0))) {
            return 0;
        }
        if (push_redis_notice_parse(s, n, &note, &inl, &m) == 0 && inl) {
            if (!within(m.content_type, m.content_type_len, s, n)
                || !within(m.event, m.event_len, s, n)
                || !within(m.body, m.body_len, s, n)
                || m.body + m.body_len != s + n) {
                abort();
            }
        }
        break;
    }
    }
    free(s);
    return 0;
}
