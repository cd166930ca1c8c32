/* push_channel_info.c — a channel's info in nchan's formats (see the
 * header). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/push_channel_info.h"

push_info_format_e push_info_format(const char *accept, int *text_json)
{
    static const struct { const char *name; push_info_format_e f; } subs[] = {
        {"plain", PUSH_INFO_TEXT}, {"json", PUSH_INFO_JSON},
        {"x-json", PUSH_INFO_JSON}, {"yaml", PUSH_INFO_YAML},
        {"x-yaml", PUSH_INFO_YAML}, {"xml", PUSH_INFO_XML}
    };
    const char *el = accept;

    *text_json = 0;
    while (el && *el) {
        const char *end = strchr(el, ',');
        size_t len = end ? (size_t)(end - el) : strlen(el);
        const char *p = NULL;
        size_t i, k;

        /* "text/" or "application/" anywhere in the element, as nchan
         * scans for it. */
        for (k = 0; k + 5 <= len && !p; k++) {
            if (!strncasecmp(el + k, "text/", 5)) {
                p = el + k + 5;
            }
            else if (k + 12 <= len && !strncasecmp(el + k, "application/",
                                                   12)) {
                p = el + k + 12;
            }
        }
        for (i = 0; p && i < sizeof(subs) / sizeof(subs[0]); i++) {
            size_t n = strlen(subs[i].name);

            if ((size_t)(el + len - p) >= n && !strncasecmp(p, subs[i].name, n)) {
                *text_json = subs[i].f == PUSH_INFO_JSON && p - el >= 5
                             && !strncasecmp(p - 5, "text/", 5);
                return subs[i].f;
            }
        }
        el = end ? end + 1 : NULL;
    }
    return PUSH_INFO_NONE;
}

const char *push_info_content_type(push_info_format_e f, int text_json)
{
    switch (f) {
    case PUSH_INFO_TEXT: return "text/plain";
    case PUSH_INFO_YAML: return "text/yaml";
    case PUSH_INFO_XML:  return "text/xml";
    default:             return text_json ? "text/json" : "application/json";
    }
}

/* s as the inside of a JSON string: " and \ escaped, and any control
 * character as \u00XX (channel ids have none; cheap to be sure).  Its
 * length, or 0 when it does not fit in cap (with the NUL). */
static size_t json_escape(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (n + 7 > cap) {
            return 0;
        }
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        }
        else if (c < 0x20) {
            memcpy(out + n, "\\u00", 4);
            out[n + 4] = hex[c >> 4];
            out[n + 5] = hex[c & 15];
            n += 6;
        }
        else {
            out[n++] = (char)c;
        }
    }
    out[n] = '\0';
    return n;
}

size_t push_info_render(char *buf, size_t cap, push_info_format_e f,
                        const push_info_t *in)
{
    char chan[6 * 1024 + 1];
    int n;

    switch (f) {
    case PUSH_INFO_TEXT:
        n = snprintf(buf, cap, "queued messages: %u\r\n"
                     "last requested: %lld sec. ago\r\n"
                     "active subscribers: %u\r\n"
                     "last message id: %s", in->messages,
                     (long long)in->requested, in->subscribers, in->last_id);
        break;
    case PUSH_INFO_YAML:
        n = snprintf(buf, cap, "---\r\nmessages: %u\r\nrequested: %lld\r\n"
                     "subscribers: %u\r\nlast_message_id: \"%s\"\r\n\r\n",
                     in->messages, (long long)in->requested,
                     in->subscribers, in->last_id);
        break;
    case PUSH_INFO_XML:
        n = snprintf(buf, cap, "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>"
                     "\r\n<channel>\r\n  <messages>%u</messages>\r\n"
                     "  <requested>%lld</requested>\r\n"
                     "  <subscribers>%u</subscribers>\r\n"
                     "  <last_message_id>%s</last_message_id>\r\n"
                     "</channel>", in->messages, (long long)in->requested,
                     in->subscribers, in->last_id);
        break;
    default:
        /* mod_push's JSON: the channel, then nchan's fields. */
        if (!json_escape(in->channel, chan, sizeof(chan)) && *in->channel) {
            return 0;
        }
        n = snprintf(buf, cap, "{\"channel\":\"%s\",\"messages\":%u,"
                     "\"requested\":%lld,\"subscribers\":%u,"
                     "\"last_message_id\":\"%s\"}\n", chan,
                     in->messages, (long long)in->requested,
                     in->subscribers, in->last_id);
        break;
    }
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}
