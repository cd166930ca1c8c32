/* push_channel_info.h — a publisher's answer about a channel, in the
 * format the request's Accept names, as nchan chooses and words it:
 * nchan's text, YAML and XML with nchan's field names, and mod_push's
 * JSON, which has every field nchan's JSON has.  Pure C: unit-tested in
 * t/unit/test_channel_info.c. */
#ifndef PUSH_CHANNEL_INFO_H
#define PUSH_CHANNEL_INFO_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    PUSH_INFO_NONE = 0,   /* Accept names no format: the location decides */
    PUSH_INFO_TEXT,
    PUSH_INFO_JSON,
    PUSH_INFO_YAML,
    PUSH_INFO_XML
} push_info_format_e;

/* nchan's choice: the first element of Accept holding "text/" or
 * "application/" followed by plain, json, x-json, yaml, x-yaml or xml.
 * *text_json is 1 when that was "text/json" (answered as text/json, as
 * nchan does), 0 otherwise.  PUSH_INFO_NONE for NULL or no match. */
push_info_format_e push_info_format(const char *accept, int *text_json);

/* The Content-Type of an answer in format f. */
const char *push_info_content_type(push_info_format_e f, int text_json);

typedef struct {
    const char *channel;       /* UTF-8; escaped here for JSON */
    uint32_t    messages;
    uint32_t    subscribers;
    int64_t     requested;     /* seconds since a subscriber came; -1 never */
    const char *last_id;       /* "T:N" */
} push_info_t;

/* Writes the answer into buf (NUL-terminated); its length, or 0 when
 * cap is too small (PUSH_INFO_MAX is always enough for a channel id of
 * at most 1024 bytes). */
#define PUSH_INFO_MAX 8192
size_t push_info_render(char *buf, size_t cap, push_info_format_e f,
                        const push_info_t *in);

#endif
