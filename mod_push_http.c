/* mod_push_http.c — the HTTP pieces every handler shares: plain-text
 * replies, CORS, the channel a request names, the client's cursor, the
 * request body and the channel info (in the format Accept names). */
#include "apr_strings.h"
#include "apr_date.h"
#include "apr_lib.h"

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_script.h"
#include "ap_expr.h"

#include "mod_push_accel.h"
#include "mod_push.h"
#include "mod_push_config.h"
#include "mod_push_http.h"
#include "lib/push_channel_info.h"

APLOG_USE_MODULE(push);

int push_reply_text(request_rec *r, int status, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    msg = apr_pvsprintf(r->pool, fmt, ap);
    va_end(ap);
    r->status = status;
    ap_set_content_type(r, "text/plain; charset=utf-8");
    apr_table_setn(r->headers_out, "Cache-Control", "no-cache");
    if (r->header_only) {
        return OK;
    }
    ap_rvputs(r, msg, "\n", NULL);
    return OK;
}

static int origin_allowed(const push_dir_conf *conf, const char *origin,
                          int *wildcard)
{
    const apr_array_header_t *allow = push_conf_allow_origins(conf);
    int i;

    *wildcard = 0;
    if (!allow || !origin) {
        return 0;
    }
    for (i = 0; i < allow->nelts; i++) {
        const char *o = APR_ARRAY_IDX(allow, i, const char *);

        if (!strcmp(o, "*")) {
            *wildcard = 1;
            return 1;
        }
        if (!strcmp(o, "echo")) {
            return 1;     /* any origin, named back, credentials and all */
        }
        if (!strcasecmp(o, origin)) {
            return 1;
        }
    }
    return 0;
}

int push_origin_ok(request_rec *r, const push_dir_conf *conf)
{
    const char *origin = apr_table_get(r->headers_in, "Origin");
    int wildcard;

    return !origin || !push_conf_allow_origins(conf)
           || origin_allowed(conf, origin, &wildcard);
}

void push_add_cors(request_rec *r, const push_dir_conf *conf)
{
    const char *origin = apr_table_get(r->headers_in, "Origin");
    int wildcard;

    if (!origin_allowed(conf, origin, &wildcard)) {
        return;
    }
    if (wildcard) {
        apr_table_setn(r->err_headers_out, "Access-Control-Allow-Origin", "*");
    }
    else {
        /* A named origin may carry credentials (cookies, HTTP auth). */
        apr_table_setn(r->err_headers_out, "Access-Control-Allow-Origin",
                       origin);
        apr_table_setn(r->err_headers_out,
                       "Access-Control-Allow-Credentials", "true");
        apr_table_mergen(r->err_headers_out, "Vary", "Origin");
    }
    apr_table_setn(r->err_headers_out, "Access-Control-Expose-Headers",
                   "Last-Modified, Etag, X-Push-Gap, X-Push-Message-Id, "
                   "X-EventSource-Event, X-Push-Transports, "
                   "X-Push-WebSocket-Publish");
}

int push_reply_preflight(request_rec *r, const push_dir_conf *conf,
                         const char *methods, const char *headers)
{
    int wildcard;

    if (origin_allowed(conf, apr_table_get(r->headers_in, "Origin"),
                       &wildcard)) {
        push_add_cors(r, conf);
        apr_table_setn(r->err_headers_out, "Access-Control-Allow-Methods",
                       methods);
        apr_table_setn(r->err_headers_out, "Access-Control-Allow-Headers",
                       headers);
        apr_table_setn(r->err_headers_out, "Access-Control-Max-Age", "600");
    }
    apr_table_setn(r->headers_out, "Allow", methods);
    r->status = HTTP_NO_CONTENT;
    return OK;
}

int push_is_pubsub(const request_rec *r)
{
    return r->handler && !strcmp(r->handler, "push-pubsub");
}

int push_request_accepts(const request_rec *r, const char *type)
{
    const char *accept = apr_table_get(r->headers_in, "Accept");

    return accept && ap_strcasestr(accept, type);
}

int push_pubsub_publishes(const request_rec *r)
{
    return push_is_pubsub(r) && (r->method_number == M_POST
                                 || r->method_number == M_PUT
                                 || r->method_number == M_DELETE);
}

int push_clients_publish(const request_rec *r, const push_dir_conf *conf)
{
    int set = push_conf_ws_publish_set(conf);

    return push_is_pubsub(r) ? set != 0 : set == 1;
}

/* 1 when id is a channel id this location takes; else 0, after
 * replying 400 (what gave it: `from`). */
static int channel_id_ok(request_rec *r, const push_dir_conf *conf,
                         const char *id, const char *from)
{
    apr_size_t max = push_conf_max_channel_id(conf);

    if (!id || !*id) {
        push_reply_text(r, HTTP_BAD_REQUEST, "No channel id: the request "
                        "names none (%s).", from);
        return 0;
    }
    if (strlen(id) > max) {
        push_reply_text(r, HTTP_BAD_REQUEST, "Channel id too long: %"
                        APR_SIZE_T_FMT " bytes, at most %" APR_SIZE_T_FMT
                        " (PushMaxChannelIdLength).", strlen(id), max);
        return 0;
    }
    if (!push_channel_id_valid(id, strlen(id))) {
        /* Not echoed: it is what cannot be shown safely. */
        push_reply_text(r, HTTP_BAD_REQUEST, "Invalid channel id: it must "
                        "be UTF-8 without control characters (after "
                        "%%-decoding).");
        return 0;
    }
    return 1;
}

/* The channel of a location without PushChannel: the one path segment
 * below the location (the last segment of the URL path where no
 * <Location> path applies).  More than one segment is refused: /sub/a/C
 * and /sub/b/C must not both read C, or a <Location /sub/a> with its own
 * Require would protect nothing. */
static const char *path_channel(request_rec *r, const push_dir_conf *conf)
{
    const char *section = push_conf_section(conf);
    apr_size_t n = section ? strlen(section) : 0;
    const char *id;

    if (section && !strncmp(r->uri, section, n) && r->uri[n] == '/') {
        id = r->uri + n + 1;
        if (strchr(id, '/')) {
            push_reply_text(r, HTTP_BAD_REQUEST, "'%s' is not a channel "
                            "id: the channel is the one path segment "
                            "below %s/ (PushChannel can name it from "
                            "more of the URL).", id, section);
            return NULL;
        }
    }
    else {
        const char *slash = strrchr(r->uri, '/');

        id = slash ? slash + 1 : r->uri;
    }
    return channel_id_ok(r, conf, id, "the URL path ends in /") ? id : NULL;
}

/* Adds id to ids[0..*n) unless it is there already; 0 after replying 400
 * when there would be more than PUSH_MUX_MAX. */
static int channel_add(request_rec *r, const char **ids, unsigned *n,
                       const char *id)
{
    unsigned i;

    for (i = 0; i < *n; i++) {
        if (!strcmp(ids[i], id)) {
            return 1;
        }
    }
    if (*n == PUSH_MUX_MAX) {
        push_reply_text(r, HTTP_BAD_REQUEST, "Too many channels: a "
                        "multiplexed request names at most %d.",
                        PUSH_MUX_MAX);
        return 0;
    }
    ids[(*n)++] = id;
    return 1;
}

/* The channel a request addresses: each of PushChannel's expressions,
 * each value cut by PushChannelSplit when set, or the path's channel.
 * Several (a multiplexed request) come as a channel set
 * (PUSH_CHANNEL_SET_SEP between them), each once, in order.  NULL, after
 * replying 400, when one is invalid. */
const char *push_request_channel(request_rec *r, const push_dir_conf *conf,
                                 push_role_e role)
{
    const apr_array_header_t *exprs =
        role == PUSH_ROLE_ANY ? push_conf_channel(conf)
        : push_conf_role_channel(conf, role == PUSH_ROLE_PUBLISHER);
    const char *split = push_conf_channel_split(conf);
    const char *ids[PUSH_MUX_MAX];
    unsigned n = 0, i;
    char *set, *p;
    apr_size_t len = 0;
    int k;

    if (!exprs) {
        return path_channel(r, conf);
    }
    for (k = 0; k < exprs->nelts; k++) {
        const char *err = NULL;
        const char *v = ap_expr_str_exec(
            r, APR_ARRAY_IDX(exprs, k, ap_expr_info_t *), &err);
        const char *from = "PushChannel's expression gives an empty string";

        if (err) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "PushChannel expression failed for %s: %s",
                          r->uri, err);
            push_reply_text(r, HTTP_INTERNAL_SERVER_ERROR,
                            "The channel id could not be computed.");
            return NULL;
        }
        while (split && v && (p = strstr(v, split))) {
            const char *piece = apr_pstrmemdup(r->pool, v, p - v);

            if (!channel_id_ok(r, conf, piece, "PushChannelSplit cuts an "
                               "empty string")
                || !channel_add(r, ids, &n, piece)) {
                return NULL;
            }
            v = p + strlen(split);
        }
        if (!channel_id_ok(r, conf, v, from) || !channel_add(r, ids, &n, v)) {
            return NULL;
        }
    }
    if (n == 1) {
        return ids[0];
    }
    for (i = 0; i < n; i++) {
        len += strlen(ids[i]) + 1;
    }
    set = p = apr_palloc(r->pool, len);
    for (i = 0; i < n; i++) {
        apr_size_t l = strlen(ids[i]);

        memcpy(p, ids[i], l);
        p += l;
        *p++ = i + 1 < n ? PUSH_CHANNEL_SET_SEP : '\0';
    }
    return set;
}

apr_size_t push_channel_info_render(request_rec *r, const char *channel,
                                    const push_channel_info_t *info,
                                    const char *last_id, char *buf,
                                    apr_size_t cap, const char **type)
{
    char last[PUSH_MSGID_MAX_LEN];
    int text_json;
    push_info_format_e f = push_info_format(apr_table_get(r->headers_in,
                                                          "Accept"),
                                            &text_json);
    push_info_t in;

    if (!last_id) {
        push_msgid_format(&info->last_id, last);
        last_id = last;
    }
    if (f == PUSH_INFO_NONE) {
        f = push_conf_info_text(push_conf(r)) ? PUSH_INFO_TEXT
                                              : PUSH_INFO_JSON;
    }
    *type = push_info_content_type(f, text_json);
    in.channel = channel;
    in.messages = info->messages;
    in.subscribers = info->subscribers;
    in.requested = info->last_seen
        ? apr_time_sec(apr_time_now()) - info->last_seen : -1;
    in.last_id = last_id;
    return push_info_render(buf, cap, f, &in);
}

void push_reply_channel_info(request_rec *r, const char *channel,
                             const push_channel_info_t *info,
                             const char *last_id)
{
    char buf[PUSH_INFO_MAX];
    const char *type;
    apr_size_t n = push_channel_info_render(r, channel, info, last_id, buf,
                                            sizeof(buf), &type);

    apr_table_mergen(r->headers_out, "Vary", "Accept");
    ap_set_content_type(r, type);
    apr_table_setn(r->headers_out, "Cache-Control", "no-cache");
    if (!r->header_only && n > 0) {
        ap_rwrite(buf, (int)n, r);
    }
}

void push_channel_info_add(push_channel_info_t *all,
                           const push_channel_info_t *one)
{
    all->messages += one->messages;
    all->subscribers += one->subscribers;
    if (one->last_seen > all->last_seen) {
        all->last_seen = one->last_seen;
    }
}


const char *push_msgid_str(apr_pool_t *p, const push_msgid_t *id)
{
    char *buf = apr_palloc(p, PUSH_MSGID_MAX_LEN);

    push_msgid_format(id, buf);
    return buf;
}

const char *push_multipart_boundary(void)
{
    static char boundary[33];

    if (!boundary[0]) {
        unsigned char b[16];
        int i;

        if (apr_generate_random_bytes(b, sizeof(b)) != APR_SUCCESS) {
            memcpy(b, "mod_push.bound.y", sizeof(b));
        }
        for (i = 0; i < 16; i++) {
            apr_snprintf(boundary + 2 * i, 3, "%02x", b[i]);
        }
    }
    return boundary;
}

/* Reads the whole request body, at most `max` bytes.  Returns OK, or the
 * status to answer with (413 when over the limit). */
int push_read_body(request_rec *r, apr_off_t max, char **buf,
                   apr_size_t *len)
{
    const char *clen = apr_table_get(r->headers_in, "Content-Length");
    apr_size_t cap, used = 0;
    char *data;
    int rv;

    if (push_accel_kept_body(r, max, buf, len, &rv)) {
        return rv;      /* the application read the client's */
    }
    if ((rv = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK)) != OK) {
        return rv;
    }
    if (clen && r->remaining > max) {
        /* Refuse before reading a byte of it. */
        r->connection->keepalive = AP_CONN_CLOSE;
        return HTTP_REQUEST_ENTITY_TOO_LARGE;
    }
    cap = r->remaining > 0 ? (apr_size_t)r->remaining : 8192;
    data = apr_palloc(r->pool, cap + 1);
    if (ap_should_client_block(r)) {
        for (;;) {
            long n;

            if (used == cap) {
                char *bigger;

                if ((apr_off_t)used > max) {
                    break;
                }
                cap *= 2;
                bigger = apr_palloc(r->pool, cap + 1);
                memcpy(bigger, data, used);
                data = bigger;
            }
            n = ap_get_client_block(r, data + used, cap - used);
            if (n < 0) {
                return HTTP_BAD_REQUEST;
            }
            if (n == 0) {
                break;
            }
            used += (apr_size_t)n;
            if ((apr_off_t)used > max) {
                break;
            }
        }
    }
    if ((apr_off_t)used > max) {
        r->connection->keepalive = AP_CONN_CLOSE;
        return HTTP_REQUEST_ENTITY_TOO_LARGE;
    }
    data[used] = '\0';
    *buf = data;
    *len = used;
    return OK;
}


/* How apr_rfc822_date writes time 0 (push_set_cursor_headers). */
#define EPOCH_HTTP_DATE "Thu, 01 Jan 1970 00:00:00 GMT"

/* If-Modified-Since's time in seconds, or -1 after replying 400.
 * APR_DATE_BAD is the epoch itself, which is what an empty channel's 304
 * says (no message yet): that one date is a cursor, not a malformed
 * header. */
static apr_int64_t ims_time(request_rec *r, const char *ims)
{
    apr_time_t t = apr_date_parse_http(ims);

    if (t == APR_DATE_BAD && strcasecmp(ims, EPOCH_HTTP_DATE) != 0) {
        push_reply_text(r, HTTP_BAD_REQUEST, "Malformed If-Modified-Since: "
                        "'%s' is not an HTTP date.", ims);
        return -1;
    }
    return apr_time_sec(t);
}

/* The client's cursor, from (in order) If-Modified-Since + If-None-Match,
 * Last-Event-ID, ?last_event_id=.  Returns 1 when the client gave one, 0
 * when not, -1 (after replying 400) when it is malformed. */
int push_request_cursor(request_rec *r, push_msgid_t *cursor)
{
    const char *ims = apr_table_get(r->headers_in, "If-Modified-Since");
    const char *lei = apr_table_get(r->headers_in, "Last-Event-ID");
    const char *v;

    if (ims) {
        const char *inm = apr_table_get(r->headers_in, "If-None-Match");
        apr_int64_t t = ims_time(r, ims);

        if (t < 0) {
            return -1;
        }
        cursor->time = t;
        cursor->tag = 0;
        if (inm && push_etag_parse(inm, strlen(inm), &cursor->tag) != 0) {
            push_reply_text(r, HTTP_BAD_REQUEST, "Malformed If-None-Match: "
                            "'%s' is not a message tag (a number).", inm);
            return -1;
        }
        return 1;
    }
    if (lei) {
        if (push_msgid_parse(lei, strlen(lei), cursor) != 0) {
            push_reply_text(r, HTTP_BAD_REQUEST, "Malformed Last-Event-ID: "
                            "'%s' is not a message id (T:N).", lei);
            return -1;
        }
        return 1;
    }
    if (r->args) {
        apr_table_t *args;

        ap_args_to_table(r, &args);
        if ((v = apr_table_get(args, "last_event_id"))) {
            if (push_msgid_parse(v, strlen(v), cursor) != 0) {
                push_reply_text(r, HTTP_BAD_REQUEST, "Malformed "
                                "last_event_id: '%s' is not a message id "
                                "(T:N).", v);
                return -1;
            }
            return 1;
        }
    }
    return 0;
}

/* The client's cursors for a multiplexed request's n channels (n > 1):
 * If-Modified-Since with If-None-Match's tags, or a multi-id in
 * Last-Event-ID or ?last_event_id= (a plain T:N is the first channel's).
 * As push_request_cursor. */
static int request_cursors(request_rec *r, unsigned n, push_msgid_t *cursors)
{
    const char *ims = apr_table_get(r->headers_in, "If-Modified-Since");
    const char *lei = apr_table_get(r->headers_in, "Last-Event-ID");
    const char *v = NULL, *from = "Last-Event-ID";
    unsigned i;

    if (ims) {
        const char *inm = apr_table_get(r->headers_in, "If-None-Match");
        apr_int64_t t = ims_time(r, ims);

        if (t < 0) {
            return -1;
        }
        if (!inm) {
            for (i = 0; i < n; i++) {
                cursors[i].time = t;
                cursors[i].tag = 0;
            }
            return 1;
        }
        if (push_mux_tags_parse(inm, strlen(inm), t, n, cursors) != 0) {
            push_reply_text(r, HTTP_BAD_REQUEST, "Malformed If-None-Match: "
                            "'%s' is not the tags of a multi-channel id "
                            "(t0,[t1],... at most %u of them).", inm, n);
            return -1;
        }
        return 1;
    }
    if (lei) {
        v = lei;
    }
    else if (r->args) {
        apr_table_t *args;

        ap_args_to_table(r, &args);
        v = apr_table_get(args, "last_event_id");
        from = "last_event_id";
    }
    if (!v) {
        return 0;
    }
    if (push_mux_id_parse(v, strlen(v), n, cursors) != 0) {
        push_reply_text(r, HTTP_BAD_REQUEST, "Malformed %s: '%s' is not a "
                        "multi-channel message id (T:t0,[t1],... at most "
                        "%u tags).", from, v, n);
        return -1;
    }
    return 1;
}

int push_request_cursors(request_rec *r, unsigned n, push_msgid_t *cursors)
{
    return n == 1 ? push_request_cursor(r, cursors)
                  : request_cursors(r, n, cursors);
}

/* Last-Modified + Etag say where the client is: the only cursor a plain
 * HTTP client (and nchan's) carries from one poll to the next.  From an
 * id's text: "T:N" gives T and N, a multi-id T and its tags. */
void push_set_cursor_headers(request_rec *r, const char *id)
{
    char *lm = apr_palloc(r->pool, APR_RFC822_DATE_LEN);
    const char *colon = strchr(id, ':');

    apr_rfc822_date(lm, apr_time_from_sec(apr_atoi64(id)));
    apr_table_setn(r->headers_out, "Last-Modified", lm);
    apr_table_setn(r->headers_out, "Etag",
                   apr_pstrdup(r->pool, colon ? colon + 1 : "0"));
}

const char *push_channel_shown(apr_pool_t *p, const char *set)
{
    apr_size_t len = 0, n = 1;
    const char *c;
    char *out, *o;

    for (c = set; *c; c++) {
        n += *c == PUSH_CHANNEL_SET_SEP;
        len += *c == PUSH_CHANNEL_SET_SEP ? 2 : 1;
    }
    if (n == 1) {
        return set;
    }
    if (len > PUSH_CHANNEL_ID_MAX) {
        return apr_psprintf(p, "%" APR_SIZE_T_FMT " channels", n);
    }
    out = o = apr_palloc(p, len + 1);
    for (c = set; *c; c++) {
        if (*c == PUSH_CHANNEL_SET_SEP) {
            *o++ = ',';
            *o++ = ' ';
        }
        else {
            *o++ = *c;
        }
    }
    *o = '\0';
    return out;
}

const char *push_sub_id_str(apr_pool_t *p, const push_sub_t *s,
                            const push_msgid_t *id)
{
    char buf[PUSH_SUB_ID_MAX];

    push_sub_id_text(s, id, buf);
    return apr_pstrdup(p, buf);
}
