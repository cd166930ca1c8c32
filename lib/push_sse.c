/* push_sse.c — Server-Sent Events framing (see the header). */
#include <string.h>

#include "lib/push_sse.h"

static const char ID_FIELD[] = "id: ";
static const char EVENT_FIELD[] = "event: ";
static const char DATA_FIELD[] = "data: ";

#define LIT_LEN(s) (sizeof(s) - 1)

/* Number of lines in data: line breaks + 1 (CRLF counts once). */
static size_t count_lines(const char *data, size_t len)
{
    size_t i, lines = 1;

    for (i = 0; i < len; i++) {
        if (data[i] == '\n') {
            lines++;
        }
        else if (data[i] == '\r') {
            lines++;
            if (i + 1 < len && data[i + 1] == '\n') {
                i++;
            }
        }
    }
    return lines;
}

static size_t count_breaks_bytes(const char *data, size_t len)
{
    size_t i, n = 0;

    for (i = 0; i < len; i++) {
        if (data[i] == '\n' || data[i] == '\r') {
            n++;
        }
    }
    return n;
}

size_t push_sse_event_size(size_t id_len, size_t event_len,
                           const char *data, size_t data_len)
{
    size_t size = 1;   /* the blank line that dispatches the event */

    if (id_len) {
        size += LIT_LEN(ID_FIELD) + id_len + 1;
    }
    if (event_len) {
        size += LIT_LEN(EVENT_FIELD) + event_len + 1;
    }
    /* Each line: "data: " + its bytes + "\n"; the break bytes themselves
     * are not copied. */
    size += count_lines(data, data_len) * (LIT_LEN(DATA_FIELD) + 1)
            + data_len - count_breaks_bytes(data, data_len);
    return size;
}

size_t push_sse_event(char *out, const char *id, size_t id_len,
                      const char *event, size_t event_len,
                      const char *data, size_t data_len)
{
    char *p = out;
    size_t i = 0;

    if (id_len) {
        memcpy(p, ID_FIELD, LIT_LEN(ID_FIELD));
        p += LIT_LEN(ID_FIELD);
        memcpy(p, id, id_len);
        p += id_len;
        *p++ = '\n';
    }
    if (event_len) {
        memcpy(p, EVENT_FIELD, LIT_LEN(EVENT_FIELD));
        p += LIT_LEN(EVENT_FIELD);
        memcpy(p, event, event_len);
        p += event_len;
        *p++ = '\n';
    }
    for (;;) {
        size_t start = i;

        while (i < data_len && data[i] != '\n' && data[i] != '\r') {
            i++;
        }
        memcpy(p, DATA_FIELD, LIT_LEN(DATA_FIELD));
        p += LIT_LEN(DATA_FIELD);
        memcpy(p, data + start, i - start);
        p += i - start;
        *p++ = '\n';
        if (i == data_len) {
            break;
        }
        if (data[i] == '\r' && i + 1 < data_len && data[i + 1] == '\n') {
            i++;
        }
        i++;   /* past the break; a break at the very end leaves an
                * empty last line, as the body had */
    }
    *p++ = '\n';
    return (size_t)(p - out);
}
