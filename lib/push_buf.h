/* push_buf.h — a malloc-backed, growable byte buffer: the WebSocket
 * assembler collects fragmented messages in one, and the deflater writes
 * its output into one.  Pure C. */
#ifndef PUSH_BUF_H
#define PUSH_BUF_H

#include <stddef.h>

/* Zero-initialise it (or push_buf_init); push_buf_free releases it. */
typedef struct {
    unsigned char *data;
    size_t         len;
    size_t         cap;
} push_buf_t;

void push_buf_init(push_buf_t *b);
void push_buf_free(push_buf_t *b);
/* Makes room for `extra` more bytes after len.  0, or -1 out of memory
 * (the buffer is unchanged). */
int  push_buf_reserve(push_buf_t *b, size_t extra);
/* Appends data[0..len).  0, or -1 out of memory. */
int  push_buf_append(push_buf_t *b, const void *data, size_t len);

#endif
