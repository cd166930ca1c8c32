/* fuzz_input.h — how the fuzz targets take their input: byte 0 picks
 * what is checked, the rest is the value, copied into exactly its own
 * size so that AddressSanitizer sees any read past its length. */
#ifndef FUZZ_INPUT_H
#define FUZZ_INPUT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The value after the selector byte (*n bytes; with nul, one more, a
 * NUL), to free(); NULL for an empty input or no memory. */
static inline char *fuzz_value(const uint8_t *data, size_t size, size_t *n,
                               int nul)
{
    size_t len;
    char *s;

    if (size < 1) {
        return NULL;
    }
    *n = size - 1;
    len = *n + (nul != 0);
    s = malloc(len ? len : 1);
    if (s) {
        memcpy(s, data + 1, *n);
        if (nul) {
            s[*n] = '\0';
        }
    }
    return s;
}

#endif
