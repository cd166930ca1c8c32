/* push_buf.c — a growable byte buffer (see push_buf.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/push_buf.h"

void push_buf_init(push_buf_t *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void push_buf_free(push_buf_t *b)
{
    free(b->data);
    push_buf_init(b);
}

int push_buf_reserve(push_buf_t *b, size_t extra)
{
    size_t need, cap;
    unsigned char *n;

    if (extra <= b->cap - b->len) {
        return 0;
    }
    if (extra > SIZE_MAX - b->len) {
        return -1;
    }
    need = b->len + extra;
    /* Doubling keeps appends amortised O(1) for messages that arrive in
     * many small fragments. */
    cap = b->cap ? b->cap : 256;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    n = realloc(b->data, cap);
    if (n == NULL) {
        return -1;
    }
    b->data = n;
    b->cap = cap;
    return 0;
}

int push_buf_append(push_buf_t *b, const void *data, size_t len)
{
    if (len == 0) {
        return 0;
    }
    if (push_buf_reserve(b, len) != 0) {
        return -1;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}
