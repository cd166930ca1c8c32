/* push_sse.h — Server-Sent Events framing (WHATWG HTML, "event stream"
 * format).  Pure C: builds the bytes of one event, which are the same for
 * every subscriber of a message. */
#ifndef PUSH_SSE_H
#define PUSH_SSE_H

#include <stddef.h>

/* Bytes push_sse_event writes for these fields (no NUL). */
size_t push_sse_event_size(size_t id_len, size_t event_len,
                           const char *data, size_t data_len);

/* Writes one event into out (push_sse_event_size bytes):
 *   "id: ID\n" when id_len, "event: NAME\n" when event_len,
 *   one "data: LINE\n" per line of data, then "\n".
 * Lines of data end at CRLF, LF or a lone CR (all line breaks in the SSE
 * grammar), so an EventSource sees exactly the lines the body had; an
 * empty body is one empty data line.  id and event must hold no CR/LF.
 * Returns the bytes written. */
size_t push_sse_event(char *out, const char *id, size_t id_len,
                      const char *event, size_t event_len,
                      const char *data, size_t data_len);

#endif
