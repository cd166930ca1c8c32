/* Unit tests for push_sse.c: event framing and line breaks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/push_sse.h"

#include "check.h"

static void expect(const char *id, const char *event, const char *data,
                   size_t data_len, const char *want)
{
    size_t size = push_sse_event_size(strlen(id), strlen(event), data,
                                      data_len);
    char *buf = malloc(size + 1);
    size_t n = push_sse_event(buf, id, strlen(id), event, strlen(event),
                              data, data_len);

    buf[n] = '\0';
    CHECK(n == size);
    CHECK(n == strlen(want) && memcmp(buf, want, n) == 0);
    if (n != strlen(want) || memcmp(buf, want, n)) {
        fprintf(stderr, "  got: [%s]\n  want: [%s]\n", buf, want);
    }
    free(buf);
}

#define EXPECT(id, ev, data, want) expect(id, ev, data, sizeof(data) - 1, want)

int main(void)
{
    EXPECT("1:0", "", "hello", "id: 1:0\ndata: hello\n\n");
    EXPECT("1:1", "greet", "hi", "id: 1:1\nevent: greet\ndata: hi\n\n");
    EXPECT("", "", "x", "data: x\n\n");
    EXPECT("2:0", "", "", "id: 2:0\ndata: \n\n");
    EXPECT("2:0", "", "a\nb", "id: 2:0\ndata: a\ndata: b\n\n");
    EXPECT("2:0", "", "a\r\nb", "id: 2:0\ndata: a\ndata: b\n\n");
    EXPECT("2:0", "", "a\rb", "id: 2:0\ndata: a\ndata: b\n\n");
    EXPECT("2:0", "", "a\r\rb", "id: 2:0\ndata: a\ndata: \ndata: b\n\n");
    EXPECT("2:0", "", "a\n\nb", "id: 2:0\ndata: a\ndata: \ndata: b\n\n");
    EXPECT("2:0", "", "a\n", "id: 2:0\ndata: a\ndata: \n\n");
    EXPECT("2:0", "", "a\r", "id: 2:0\ndata: a\ndata: \n\n");
    EXPECT("2:0", "", "a\r\n", "id: 2:0\ndata: a\ndata: \n\n");
    EXPECT("2:0", "", "\n", "id: 2:0\ndata: \ndata: \n\n");
    EXPECT("2:0", "", "\r\n\r\n", "id: 2:0\ndata: \ndata: \ndata: \n\n");
    EXPECT("2:0", "", "\n\r", "id: 2:0\ndata: \ndata: \ndata: \n\n");
    EXPECT("2:0", "", "caf\xc3\xa9 \xf0\x9f\x98\x80",
           "id: 2:0\ndata: caf\xc3\xa9 \xf0\x9f\x98\x80\n\n");
    /* A NUL byte passes through: the body is bytes, not a C string. */
    {
        static const char want[] = "id: 3:0\ndata: a\0b\n\n";
        char out[64];
        size_t n = push_sse_event(out, "3:0", 3, "", 0, "a\0b", 3);

        CHECK(n == sizeof(want) - 1 && memcmp(out, want, n) == 0);
        CHECK(push_sse_event_size(3, 0, "a\0b", 3) == n);
    }
    {
        char big[10000];
        size_t i;

        for (i = 0; i < sizeof(big); i++) {
            big[i] = (i % 7 == 0) ? '\n' : (i % 11 == 0) ? '\r' : 'x';
        }
        CHECK(push_sse_event_size(3, 0, big, sizeof(big)) > sizeof(big));
        {
            size_t size = push_sse_event_size(3, 0, big, sizeof(big));
            char *out = malloc(size);
            CHECK(push_sse_event(out, "1:0", 3, "", 0, big, sizeof(big))
                  == size);
            free(out);
        }
    }
    return CHECK_DONE("test_sse");
}
