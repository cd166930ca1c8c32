/* mod_push — push messaging for Apache httpd 2.4.
 *
 * Module glue: configuration, the shared-memory store's lifecycle, and the
 * three handlers:
 *   push-publisher   POST/PUT publish, GET channel info, DELETE channel
 *   push-subscriber  long poll and short poll here; it hands
 *                    EventSource requests to mod_push_sse.c and WebSocket
 *                    upgrades to mod_push_ws.c
 *   push-status      store-wide counters as JSON
 *
 * The store itself (push_store.c), the id grammar (push_id.c) and the
 * per-process wake-up fan-out (push_notify.c) know nothing of httpd.
 */
#include <poll.h>
#include <errno.h>

#include "apr_strings.h"
#include "apr_shm.h"
#include "apr_date.h"
#include "apr_atomic.h"
#include "apr_lib.h"

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_script.h"
#include "ap_expr.h"
#include "ap_mpm.h"
#include "mpm_common.h"

#include "lib/push_id.h"
#include "store/push_store.h"
#include "store/push_notify.h"
#include "lib/push_frame_cache.h"
#include "mod_push.h"

module AP_MODULE_DECLARE_DATA push_module;

#define PUSH_SHM_USERDATA_KEY "mod_push_shm"
#define PUSH_DEFAULT_SHM_SIZE (32 * 1024 * 1024)

/* ------------------------------------------------------------------ */
/* Configuration                                                       */

typedef struct {
    apr_size_t shm_size;          /* 0: unset */
    int        subscribers_per_child;  /* -1: unset, 0: derived */
} push_server_conf;

static void *create_server_conf(apr_pool_t *p, server_rec *s)
{
    push_server_conf *conf = apr_pcalloc(p, sizeof(*conf));

    (void)s;
    conf->subscribers_per_child = -1;
    return conf;
}

static void *merge_server_conf(apr_pool_t *p, void *basev, void *addv)
{
    push_server_conf *base = basev, *add = addv;
    push_server_conf *conf = apr_pcalloc(p, sizeof(*conf));

    conf->shm_size = add->shm_size ? add->shm_size : base->shm_size;
    conf->subscribers_per_child = add->subscribers_per_child != -1
                                  ? add->subscribers_per_child
                                  : base->subscribers_per_child;
    return conf;
}

static void *create_dir_conf(apr_pool_t *p, char *dir)
{
    push_dir_conf *conf = apr_pcalloc(p, sizeof(*conf));

    (void)dir;
    conf->buffer_length = -1;
    conf->message_timeout = -1;
    conf->max_message_size = -1;
    conf->longpoll_timeout = -1;
    conf->ping_interval = -1;
    conf->first_message = PUSH_FIRST_UNSET;
    conf->ws_publish = -1;
    conf->ws_deflate = -1;
    return conf;
}

#define MERGE_INT(field) \
    conf->field = add->field != -1 ? add->field : base->field

static void *merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    push_dir_conf *base = basev, *add = addv;
    push_dir_conf *conf = apr_pcalloc(p, sizeof(*conf));

    conf->channel = add->channel ? add->channel : base->channel;
    conf->transports = add->transports ? add->transports : base->transports;
    MERGE_INT(buffer_length);
    MERGE_INT(message_timeout);
    MERGE_INT(max_message_size);
    MERGE_INT(longpoll_timeout);
    MERGE_INT(ping_interval);
    MERGE_INT(ws_publish);
    MERGE_INT(ws_deflate);
    conf->first_message = add->first_message != PUSH_FIRST_UNSET
                          ? add->first_message : base->first_message;
    conf->allow_origins = add->allow_origins ? add->allow_origins
                                             : base->allow_origins;
    return conf;
}

/* Effective values: the defaults live here, once, so an unset directive
 * anywhere in the merge chain still means the documented default. */
int push_conf_transports(const push_dir_conf *c)
{
    return c->transports ? c->transports
                         : (PUSH_TF_WEBSOCKET | PUSH_TF_EVENTSOURCE
                            | PUSH_TF_LONGPOLL);
}
apr_uint32_t push_conf_buffer_length(const push_dir_conf *c)
{
    return c->buffer_length != -1 ? (apr_uint32_t)c->buffer_length : 10;
}
apr_uint32_t push_conf_message_timeout(const push_dir_conf *c)
{
    return c->message_timeout != -1 ? (apr_uint32_t)c->message_timeout : 3600;
}
apr_off_t push_conf_max_message_size(const push_dir_conf *c)
{
    return c->max_message_size != -1 ? c->max_message_size : 1024 * 1024;
}
apr_int64_t push_conf_longpoll_timeout(const push_dir_conf *c)
{
    return c->longpoll_timeout != -1 ? c->longpoll_timeout : 0;
}
apr_int64_t push_conf_ping_interval(const push_dir_conf *c)
{
    return c->ping_interval != -1 ? c->ping_interval : 15;
}
int push_conf_first_newest(const push_dir_conf *c)
{
    return c->first_message == PUSH_FIRST_NEWEST;
}
int push_conf_ws_publish(const push_dir_conf *c)
{
    return c->ws_publish == 1;
}
int push_conf_ws_deflate(const push_dir_conf *c)
{
    return c->ws_deflate != 0;
}

/* "<n>[K|M|G]" (case-insensitive) into bytes; -1 when malformed. */
static apr_off_t parse_size(const char *arg)
{
    char *end;
    apr_int64_t n, mult = 1;

    if (!apr_isdigit(*arg)) {
        return -1;
    }
    n = apr_strtoi64(arg, &end, 10);
    if (errno == ERANGE) {
        return -1;
    }
    switch (apr_tolower(*end)) {
    case 'k': mult = 1024; end++; break;
    case 'm': mult = 1024 * 1024; end++; break;
    case 'g': mult = 1024 * 1024 * 1024; end++; break;
    case '\0': break;
    default: return -1;
    }
    if (apr_tolower(*end) == 'b') {
        end++;
    }
    if (*end || n > APR_INT64_MAX / mult) {
        return -1;
    }
    return n * mult;
}

/* A whole number of seconds or items in [min, max]; -1 when not. */
static apr_int64_t parse_count(const char *arg, apr_int64_t min,
                               apr_int64_t max)
{
    char *end;
    apr_int64_t n;

    if (!apr_isdigit(*arg)) {
        return -1;
    }
    errno = 0;
    n = apr_strtoi64(arg, &end, 10);
    if (errno || *end || n < min || n > max) {
        return -1;
    }
    return n;
}

static const char *set_shm_size(cmd_parms *cmd, void *dummy, const char *arg)
{
    push_server_conf *sconf =
        ap_get_module_config(cmd->server->module_config, &push_module);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    apr_off_t size;

    (void)dummy;
    if (err) {
        return err;
    }
    size = parse_size(arg);
    if (size < PUSH_STORE_MIN_SIZE || size > ((apr_off_t)64 << 30)) {
        return apr_psprintf(cmd->pool, "PushSharedMemorySize: '%s' is not "
                            "a size from 64K to 64G (a number of bytes, "
                            "optionally with a K, M or G suffix)", arg);
    }
    sconf->shm_size = (apr_size_t)size;
    return NULL;
}

static const char *set_subscribers_per_child(cmd_parms *cmd, void *dummy,
                                             const char *arg)
{
    push_server_conf *sconf =
        ap_get_module_config(cmd->server->module_config, &push_module);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    apr_int64_t n;

    (void)dummy;
    if (err) {
        return err;
    }
    n = parse_count(arg, 1, 1000000);
    if (n < 0) {
        return "PushMaxSubscribersPerChild: expects a whole number from "
               "1 to 1000000";
    }
    sconf->subscribers_per_child = (int)n;
    return NULL;
}

static const char *set_channel(cmd_parms *cmd, void *dconf, const char *arg)
{
    push_dir_conf *conf = dconf;
    const char *err = NULL;

    conf->channel = ap_expr_parse_cmd(cmd, arg, AP_EXPR_FLAG_STRING_RESULT,
                                      &err, NULL);
    if (err) {
        return apr_psprintf(cmd->pool, "PushChannel: cannot parse string "
                            "expression '%s': %s", arg, err);
    }
    return NULL;
}

static const char *add_transport(cmd_parms *cmd, void *dconf, const char *arg)
{
    push_dir_conf *conf = dconf;
    int bit;

    if (!strcasecmp(arg, "websocket")) {
        bit = PUSH_TF_WEBSOCKET;
    }
    else if (!strcasecmp(arg, "eventsource")) {
        bit = PUSH_TF_EVENTSOURCE;
    }
    else if (!strcasecmp(arg, "longpoll")) {
        bit = PUSH_TF_LONGPOLL;
    }
    else if (!strcasecmp(arg, "poll")) {
        bit = PUSH_TF_POLL;
    }
    else {
        return apr_psprintf(cmd->pool, "PushTransports: unknown transport "
                            "'%s' (accepted: websocket eventsource longpoll "
                            "poll)", arg);
    }
    /* Each section starts from 0 (unset), so a PushTransports here
     * replaces what an enclosing section allowed rather than adding. */
    conf->transports |= bit;
    return NULL;
}

/* Directives taking a whole number in a range: where it goes in the
 * per-directory config, the range, and what to say when it is not. */
typedef struct {
    apr_size_t  offset;
    apr_int64_t min, max;
    const char *expects;
} count_directive;

static const count_directive buffer_length_arg = {
    APR_OFFSETOF(push_dir_conf, buffer_length), 1, 1000000,
    "a whole number of messages from 1 to 1000000"
};
static const count_directive message_timeout_arg = {
    APR_OFFSETOF(push_dir_conf, message_timeout), 0, 10L * 365 * 86400,
    "a whole number of seconds (0 keeps messages until they are pushed "
    "out of the buffer)"
};
static const count_directive longpoll_timeout_arg = {
    APR_OFFSETOF(push_dir_conf, longpoll_timeout), 0, 365L * 86400,
    "a whole number of seconds (0 waits for ever)"
};
static const count_directive ping_interval_arg = {
    APR_OFFSETOF(push_dir_conf, ping_interval), 0, 86400,
    "a whole number of seconds (0 turns keep-alive pings off)"
};

static const char *set_count(cmd_parms *cmd, void *dconf, const char *arg)
{
    const count_directive *d = cmd->info;
    apr_int64_t n = parse_count(arg, d->min, d->max);

    if (n < 0) {
        return apr_psprintf(cmd->pool, "%s: expects %s", cmd->cmd->name,
                            d->expects);
    }
    *(apr_int64_t *)((char *)dconf + d->offset) = n;
    return NULL;
}

static const char *set_max_message_size(cmd_parms *cmd, void *dconf,
                                        const char *arg)
{
    push_dir_conf *conf = dconf;

    conf->max_message_size = parse_size(arg);
    if (conf->max_message_size < 1
        || conf->max_message_size > ((apr_off_t)1 << 30)) {
        return apr_psprintf(cmd->pool, "PushMaxMessageSize: '%s' is not a "
                            "size from 1 byte to 1G (optionally with a K, M "
                            "or G suffix)", arg);
    }
    return NULL;
}

static const char *set_first_message(cmd_parms *cmd, void *dconf,
                                     const char *arg)
{
    push_dir_conf *conf = dconf;

    (void)cmd;
    if (!strcasecmp(arg, "oldest")) {
        conf->first_message = PUSH_FIRST_OLDEST;
    }
    else if (!strcasecmp(arg, "newest")) {
        conf->first_message = PUSH_FIRST_NEWEST;
    }
    else {
        return "PushFirstMessage: expects 'oldest' or 'newest'";
    }
    return NULL;
}

static const char *add_allow_origin(cmd_parms *cmd, void *dconf,
                                    const char *arg)
{
    push_dir_conf *conf = dconf;

    if (strcmp(arg, "*") && !ap_strchr_c(arg, ':')) {
        return apr_psprintf(cmd->pool, "PushAllowOrigin: '%s' is neither "
                            "'*' nor an origin such as https://example.com",
                            arg);
    }
    if (!conf->allow_origins) {
        /* this section's own list: it replaces an inherited one */
        conf->allow_origins = apr_array_make(cmd->pool, 2, sizeof(char *));
    }
    APR_ARRAY_PUSH(conf->allow_origins, const char *) = arg;
    return NULL;
}

static const char *set_flag(cmd_parms *cmd, void *dconf, int on)
{
    push_dir_conf *conf = dconf;

    if (!strcasecmp(cmd->cmd->name, "PushWebSocketPublish")) {
        conf->ws_publish = on;
    }
    else {
        conf->ws_deflate = on;
    }
    return NULL;
}

static const command_rec push_cmds[] = {
    AP_INIT_TAKE1("PushSharedMemorySize", set_shm_size, NULL, RSRC_CONF,
                  "Size of the shared-memory message store, e.g. 32M "
                  "(main server only; a change needs a full restart)"),
    AP_INIT_TAKE1("PushMaxSubscribersPerChild", set_subscribers_per_child,
                  NULL, RSRC_CONF,
                  "Subscribers one child process may hold at once; more get "
                  "503 (default: 3/4 of ThreadsPerChild)"),
    AP_INIT_TAKE1("PushChannel", set_channel, NULL, RSRC_CONF | ACCESS_CONF,
                  "String expression giving the channel id (default: the "
                  "last segment of the URL path)"),
    AP_INIT_ITERATE("PushTransports", add_transport, NULL,
                    RSRC_CONF | ACCESS_CONF,
                    "Subscriber transports: websocket eventsource longpoll "
                    "poll"),
    AP_INIT_TAKE1("PushMessageBufferLength", set_count,
                  (void *)&buffer_length_arg,
                  RSRC_CONF | ACCESS_CONF,
                  "Messages a channel keeps (default 10)"),
    AP_INIT_TAKE1("PushMessageTimeout", set_count,
                  (void *)&message_timeout_arg,
                  RSRC_CONF | ACCESS_CONF,
                  "Seconds a message is kept (default 3600, 0: no expiry)"),
    AP_INIT_TAKE1("PushMaxMessageSize", set_max_message_size, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "Largest message accepted (default 1M)"),
    AP_INIT_TAKE1("PushLongPollTimeout", set_count,
                  (void *)&longpoll_timeout_arg,
                  RSRC_CONF | ACCESS_CONF,
                  "Seconds a long poll waits before 304 (default 0: for ever)"),
    AP_INIT_TAKE1("PushPingInterval", set_count,
                  (void *)&ping_interval_arg,
                  RSRC_CONF | ACCESS_CONF,
                  "Seconds of idle stream before a keep-alive ping "
                  "(default 15, 0: off)"),
    AP_INIT_TAKE1("PushFirstMessage", set_first_message, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "Where a subscriber without a cursor starts: oldest|newest"),
    AP_INIT_ITERATE("PushAllowOrigin", add_allow_origin, NULL,
                    RSRC_CONF | ACCESS_CONF,
                    "Origins allowed cross-origin access (CORS), or *"),
    AP_INIT_FLAG("PushWebSocketPublish", set_flag, NULL,
                 RSRC_CONF | ACCESS_CONF,
                 "On: WebSocket clients may publish to the channel"),
    AP_INIT_FLAG("PushWebSocketDeflate", set_flag, NULL,
                 RSRC_CONF | ACCESS_CONF,
                 "On: negotiate permessage-deflate (default On)"),
    {NULL}
};

/* ------------------------------------------------------------------ */
/* The shared store: created in the parent, kept across restarts        */

static push_store_t  *push_store;      /* this process's view */
static push_notify_t *push_notifier;   /* this child's fan-out thread */
static push_frame_cache_t *push_frames; /* this child's encoded messages */
static apr_uint32_t   child_subscribers;
static int            subscribers_cap;
static volatile apr_uint32_t child_stopping;

/* The segment hangs off the process pool, which outlives pconf: a
 * graceful restart re-runs post_config with the store (and every
 * buffered message and id) intact. */
static int push_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp, server_rec *s)
{
    push_server_conf *sconf = ap_get_module_config(s->module_config,
                                                   &push_module);
    apr_pool_t *proc_pool = s->process->pool;
    apr_size_t want = sconf->shm_size ? sconf->shm_size
                                      : PUSH_DEFAULT_SHM_SIZE;
    apr_shm_t *shm = NULL;
    apr_status_t rv;
    void *mem;

    (void)pconf; (void)plog; (void)ptemp;
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    apr_pool_userdata_get((void **)&shm, PUSH_SHM_USERDATA_KEY, proc_pool);
    if (shm) {
        apr_size_t have = apr_shm_size_get(shm);

        push_store = push_store_attach(apr_shm_baseaddr_get(shm), have);
        if (push_store && have != want) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         "PushSharedMemorySize changed from %" APR_SIZE_T_FMT
                         " to %" APR_SIZE_T_FMT " bytes: the store keeps its "
                         "size (and its messages) until a full stop and "
                         "start", have, want);
        }
        if (push_store) {
            return OK;
        }
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     "the push store in shared memory was not valid; "
                     "starting a new, empty one");
    }
    rv = apr_shm_create(&shm, want, NULL, proc_pool);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     "cannot create %" APR_SIZE_T_FMT " bytes of anonymous "
                     "shared memory for the push store", want);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    mem = apr_shm_baseaddr_get(shm);
    push_store = push_store_format(mem, apr_shm_size_get(shm),
                                   apr_time_sec(apr_time_now()));
    if (!push_store) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     "cannot lay out the push store (robust process-shared "
                     "mutexes unavailable?)");
        apr_shm_destroy(shm);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* No cleanup of ours: the process pool outlives this DSO (it is
     * unloaded with pconf), and apr_shm_create already registered APR's
     * own cleanup to unmap the segment at exit. */
    apr_pool_userdata_set(shm, PUSH_SHM_USERDATA_KEY, apr_pool_cleanup_null,
                          proc_pool);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                 "push store created: %" APR_SIZE_T_FMT " bytes", want);
    return OK;
}

static int notifier_should_stop(void)
{
    int state = AP_MPMQ_RUNNING;

    if (apr_atomic_read32(&child_stopping)) {
        return 1;
    }
    ap_mpm_query(AP_MPMQ_MPM_STATE, &state);
    return state == AP_MPMQ_STOPPING;
}

static void push_child_init(apr_pool_t *pchild, server_rec *s)
{
    push_server_conf *sconf = ap_get_module_config(s->module_config,
                                                   &push_module);
    int threads = 1;

    if (!push_store) {
        return;
    }
    push_notifier = push_notify_start(push_store, notifier_should_stop);
    if (!push_notifier) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, errno, s,
                     "cannot start the push notifier thread: subscribers "
                     "in this process will be refused");
    }
    /* The most recent encodings: enough for a burst of publishes on a
     * few channels in several variants. */
    push_frames = push_frame_cache_create(64);
    if (push_notifier) {
        push_park_child_init(pchild, s);
    }
    ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads);
    if (threads < 1) {
        threads = 1;
    }
    subscribers_cap = sconf->subscribers_per_child > 0
                      ? sconf->subscribers_per_child
                      : (threads * 3 / 4 > 0 ? threads * 3 / 4 : 1);
}

/* May run from a signal handler (prefork): only an atomic store and a
 * futex wake, no locks. */
static void push_child_stopping(apr_pool_t *pchild, int graceful)
{
    (void)pchild;
    apr_atomic_set32(&child_stopping, 1);
    push_park_stopping(graceful);
    if (push_store) {
        push_store_wake_all(push_store);
    }
}

/* ------------------------------------------------------------------ */
/* Small response helpers shared by every handler                       */

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
    int i;

    *wildcard = 0;
    if (!conf->allow_origins || !origin) {
        return 0;
    }
    for (i = 0; i < conf->allow_origins->nelts; i++) {
        const char *o = APR_ARRAY_IDX(conf->allow_origins, i, const char *);

        if (!strcmp(o, "*")) {
            *wildcard = 1;
            return 1;
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

    return !origin || !conf->allow_origins
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
                   "Last-Modified, Etag, X-Push-Gap, X-Push-Message-Id");
}

static int reply_preflight(request_rec *r, const push_dir_conf *conf,
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

/* The channel a request addresses: PushChannel's expression, or the last
 * segment of the URL path.  NULL, after replying 400, when invalid. */
const char *push_request_channel(request_rec *r, const push_dir_conf *conf)
{
    const char *id;

    if (conf->channel) {
        const char *err = NULL;

        id = ap_expr_str_exec(r, conf->channel, &err);
        if (err) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "PushChannel expression failed for %s: %s",
                          r->uri, err);
            push_reply_text(r, HTTP_INTERNAL_SERVER_ERROR,
                            "The channel id could not be computed.");
            return NULL;
        }
    }
    else {
        const char *slash = strrchr(r->uri, '/');

        id = slash ? slash + 1 : r->uri;
    }
    if (!id || !push_channel_id_valid(id, strlen(id))) {
        push_reply_text(r, HTTP_BAD_REQUEST,
                        "Invalid channel id '%s': use 1 to 255 characters "
                        "of A-Z a-z 0-9 _ . ~ -", id ? id : "");
        return NULL;
    }
    return id;
}

static void json_channel_info(request_rec *r, const char *channel,
                              const push_channel_info_t *info)
{
    char last[PUSH_MSGID_MAX_LEN];

    push_msgid_format(&info->last_id, last);
    ap_set_content_type(r, "application/json");
    apr_table_setn(r->headers_out, "Cache-Control", "no-cache");
    if (r->header_only) {
        return;
    }
    /* Channel ids are restricted to characters that need no escaping. */
    ap_rprintf(r, "{\"channel\":\"%s\",\"messages\":%u,\"subscribers\":%u,"
               "\"last_message_id\":\"%s\"}\n", channel, info->messages,
               info->subscribers, last);
}

static const char *format_id(apr_pool_t *p, const push_msgid_t *id)
{
    char *buf = apr_palloc(p, PUSH_MSGID_MAX_LEN);

    push_msgid_format(id, buf);
    return buf;
}

/* ------------------------------------------------------------------ */
/* push-publisher                                                       */

/* Reads the whole request body, at most `max` bytes.  Returns OK, or the
 * status to answer with (413 when over the limit). */
static int read_body(request_rec *r, apr_off_t max, char **buf,
                     apr_size_t *len)
{
    const char *clen = apr_table_get(r->headers_in, "Content-Length");
    apr_size_t cap, used = 0;
    char *data;
    int rv;

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

static int publish(request_rec *r, const push_dir_conf *conf,
                   const char *channel)
{
    const char *ctype = apr_table_get(r->headers_in, "Content-Type");
    const char *event = apr_table_get(r->headers_in, "X-EventSource-Event");
    apr_off_t max = push_conf_max_message_size(conf);
    push_channel_info_t info;
    push_message_t msg;
    push_limits_t limits;
    push_msgid_t id;
    push_status_e st;
    apr_size_t len;
    char *body;
    int rv;

    if (ctype && strlen(ctype) > 255) {
        return push_reply_text(r, HTTP_BAD_REQUEST,
                               "Content-Type is longer than 255 bytes.");
    }
    if (event && (strlen(event) > 255 || strpbrk(event, "\r\n"))) {
        return push_reply_text(r, HTTP_BAD_REQUEST,
                               "X-EventSource-Event must be at most 255 "
                               "bytes on one line.");
    }
    rv = read_body(r, max, &body, &len);
    if (rv == HTTP_REQUEST_ENTITY_TOO_LARGE) {
        return push_reply_text(r, rv, "Message too large: the limit "
                               "(PushMaxMessageSize) is %" APR_OFF_T_FMT
                               " bytes.", max);
    }
    if (rv != OK) {
        return rv;
    }
    memset(&msg, 0, sizeof(msg));
    msg.body = body;
    msg.body_len = len;
    msg.content_type = ctype ? ctype : "";
    msg.content_type_len = ctype ? strlen(ctype) : 0;
    msg.event = event ? event : "";
    msg.event_len = event ? strlen(event) : 0;
    limits.buffer_length = push_conf_buffer_length(conf);
    limits.timeout = push_conf_message_timeout(conf);

    st = push_store_publish(push_store, channel, strlen(channel), &msg,
                            &limits, apr_time_sec(r->request_time), &id,
                            &info);
    switch (st) {
    case PUSH_OK:
        break;
    case PUSH_TOO_BIG:
        return push_reply_text(r, HTTP_INSUFFICIENT_STORAGE,
                               "Message cannot fit in the push store "
                               "(PushSharedMemorySize) even after evicting "
                               "every other message.");
    case PUSH_NO_CHANNEL_SLOT:
        return push_reply_text(r, HTTP_INSUFFICIENT_STORAGE,
                               "Every channel slot of the push store is in "
                               "use by channels with messages or "
                               "subscribers; raise PushSharedMemorySize.");
    default:
        return push_reply_text(r, HTTP_BAD_REQUEST, "Message refused.");
    }
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "published %s to %s "
                  "(%" APR_SIZE_T_FMT " bytes, %u subscribers)",
                  format_id(r->pool, &id), channel, len, info.subscribers);
    r->status = info.subscribers ? HTTP_CREATED : HTTP_ACCEPTED;
    apr_table_setn(r->headers_out, "X-Push-Message-Id",
                   format_id(r->pool, &id));
    json_channel_info(r, channel, &info);
    return OK;
}

static int publisher_handler(request_rec *r)
{
    push_dir_conf *conf;
    const char *channel;
    push_channel_info_t info;
    static const char allow[] = "GET, POST, PUT, DELETE, OPTIONS";

    if (strcmp(r->handler, "push-publisher")) {
        return DECLINED;
    }
    conf = ap_get_module_config(r->per_dir_config, &push_module);
    if (!push_store) {
        return push_reply_text(r, HTTP_SERVICE_UNAVAILABLE,
                               "The push store is not available.");
    }
    push_add_cors(r, conf);
    if (r->method_number == M_OPTIONS) {
        return reply_preflight(r, conf, allow, "Content-Type, "
                               "X-EventSource-Event, If-Modified-Since, "
                               "If-None-Match, Last-Event-ID");
    }
    if (r->method_number != M_GET && r->method_number != M_POST
        && r->method_number != M_PUT && r->method_number != M_DELETE) {
        apr_table_setn(r->headers_out, "Allow", allow);
        return push_reply_text(r, HTTP_METHOD_NOT_ALLOWED,
                               "Method %s not allowed: a publisher takes "
                               "%s.", r->method, allow);
    }
    if (!(channel = push_request_channel(r, conf))) {
        return OK;
    }
    switch (r->method_number) {
    case M_POST:
    case M_PUT:
        return publish(r, conf, channel);
    case M_DELETE:
        if (push_store_delete(push_store, channel, strlen(channel),
                              apr_time_sec(r->request_time), &info)
            != PUSH_OK) {
            return push_reply_text(r, HTTP_NOT_FOUND, "Channel '%s' not "
                                   "found.", channel);
        }
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "deleted channel %s "
                      "(%u messages, %u subscribers)", channel,
                      info.messages, info.subscribers);
        json_channel_info(r, channel, &info);
        return OK;
    default:
        if (push_store_info(push_store, channel, strlen(channel),
                            apr_time_sec(r->request_time), &info)
            != PUSH_OK) {
            return push_reply_text(r, HTTP_NOT_FOUND, "Channel '%s' not "
                                   "found.", channel);
        }
        json_channel_info(r, channel, &info);
        return OK;
    }
}

/* ------------------------------------------------------------------ */
/* push-subscriber: cursors, waiting, and the polling transports        */

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
        apr_time_t t = apr_date_parse_http(ims);

        if (t == APR_DATE_BAD) {
            push_reply_text(r, HTTP_BAD_REQUEST, "Malformed "
                            "If-Modified-Since: '%s' is not an HTTP date.",
                            ims);
            return -1;
        }
        cursor->time = apr_time_sec(t);
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

static void *pool_alloc(void *ctx, size_t size)
{
    return apr_palloc((apr_pool_t *)ctx, size);
}

/* The raw descriptor of the client's TCP connection (for HTTP/2 streams,
 * the connection carrying them), or -1. */
static int client_fd(request_rec *r)
{
    conn_rec *c = r->connection->master ? r->connection->master
                                        : r->connection;
    apr_socket_t *sock = ap_get_conn_socket(c);
    apr_os_sock_t fd;

    if (!sock || apr_os_sock_get(&fd, sock) != APR_SUCCESS) {
        return -1;
    }
    return fd;
}

/* Takes a per-child subscriber place; 0 (after replying 503) when full. */
int push_subscriber_enter(request_rec *r)
{
    if (!push_notifier) {
        push_reply_text(r, HTTP_SERVICE_UNAVAILABLE,
                        "Subscribers are not available in this server "
                        "process.");
        return 0;
    }
    if (apr_atomic_inc32(&child_subscribers) >= (apr_uint32_t)subscribers_cap) {
        apr_atomic_dec32(&child_subscribers);
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "subscriber refused: "
                      "this child already holds %d (PushMaxSubscribersPerChild)",
                      subscribers_cap);
        apr_table_setn(r->err_headers_out, "Retry-After", "1");
        push_reply_text(r, HTTP_SERVICE_UNAVAILABLE, "Too many subscribers "
                        "in this server process; retry shortly.");
        return 0;
    }
    return 1;
}

void push_subscriber_leave(void)
{
    apr_atomic_dec32(&child_subscribers);
}

int push_subscriber_begin(request_rec *r, const push_dir_conf *conf,
                          const char *channel, push_transport_e transport,
                          push_sub_t *sub, push_channel_info_t *info,
                          push_msgid_t *cursor, int *has_cursor)
{
    if ((*has_cursor = push_request_cursor(r, cursor)) < 0
        || !push_subscriber_enter(r)) {
        return 0;
    }
    if (push_store_subscribe(push_store, channel, strlen(channel), transport,
                             apr_time_sec(apr_time_now()), sub, info)
        != PUSH_OK) {
        push_subscriber_leave();
        push_reply_text(r, HTTP_INSUFFICIENT_STORAGE, "Every channel slot "
                        "of the push store is in use; raise "
                        "PushSharedMemorySize.");
        return 0;
    }
    if (!*has_cursor && push_conf_first_newest(conf)) {
        /* "newest": everything after what the channel has now. */
        *cursor = info->last_id;
        *has_cursor = 1;
    }
    return 1;
}

void push_subscriber_end(const push_sub_t *sub)
{
    push_store_unsubscribe(push_store, sub);
    push_subscriber_leave();
}

push_store_t *push_get_store(void)
{
    return push_store;
}

/* For transports that poll more than the channel (WebSocket): a
 * registration for the channel's wake-ups, NULL when the server is
 * stopping. */
push_notify_gen_t *push_wait_watch(apr_uint32_t slot)
{
    if (notifier_should_stop()) {
        push_notify_shutdown(push_notifier);
    }
    return push_notify_watch(push_notifier, slot);
}

int push_wait_fd(const push_notify_gen_t *gen)
{
    return push_notify_fd(gen);
}

push_notify_gen_t *push_wait_rewatch(apr_uint32_t slot,
                                     push_notify_gen_t *gen)
{
    if (notifier_should_stop()) {
        push_notify_shutdown(push_notifier);
    }
    return push_notify_rewatch(push_notifier, slot, gen);
}

void push_wait_unwatch(apr_uint32_t slot, push_notify_gen_t *gen)
{
    if (gen) {
        push_notify_unwatch(push_notifier, slot, gen);
    }
}

/* Waits for the next message after *cursor (NULL: the oldest buffered).
 * `deadline` 0 waits for ever; otherwise it is when to give up.
 * `ping_every` > 0 returns PUSH_WAIT_PING after that much idle time. */
push_wait_e push_wait_next(request_rec *r, apr_pool_t *p,
                           const push_sub_t *sub,
                           const push_msgid_t *cursor, apr_time_t deadline,
                           apr_interval_time_t ping_every, int wait,
                           push_wait_hint_t *hint, push_message_t *msg,
                           int *gap, push_msgid_t *gap_id)
{
    int fd = wait ? client_fd(r) : -1;
    apr_time_t ping_at = ping_every > 0 ? apr_time_now() + ping_every : 0;
    /* Registered before the first look, so a publish after it wakes us. */
    push_notify_gen_t *gen = wait ? push_wait_watch(sub->slot) : NULL;
    int woken = 0;

    if (gap) {
        *gap = 0;
    }
    for (;;) {
        push_status_e st;
        struct pollfd pfd[2];
        apr_time_t now, until;
        int timeout_ms, n;

        if (hint && hint->valid
            && push_store_channel_version(push_store, sub->slot)
               == hint->version) {
            /* Nothing published or deleted since a look that found no
             * more: no need to take the store's lock. */
            st = PUSH_NONE;
        }
        else {
            st = push_store_next(push_store, sub, cursor,
                                 apr_time_sec(apr_time_now()),
                                 p ? pool_alloc : NULL, p, msg, gap, gap_id);
            if (hint) {
                hint->valid = (st == PUSH_FOUND || st == PUSH_NONE)
                              && msg->newest;
                hint->version = msg->version;
            }
        }
        if (st == PUSH_FOUND || st == PUSH_GONE || !gen) {
            push_wait_unwatch(sub->slot, gen);
            if (st == PUSH_FOUND) {
                return PUSH_WAIT_MESSAGE;
            }
            if (st == PUSH_GONE) {
                return PUSH_WAIT_GONE;
            }
            return wait ? PUSH_WAIT_STOPPING : PUSH_WAIT_TIMEOUT;
        }
        if (woken) {
            /* Woken, but nothing for us (another channel's change, or a
             * message already gone): wait on the current generation, and
             * look once more, since a publish may have come in between. */
            woken = 0;
            gen = push_notify_rewatch(push_notifier, sub->slot, gen);
            continue;
        }
        now = apr_time_now();
        until = deadline;
        if (ping_at && (!until || ping_at < until)) {
            until = ping_at;
        }
        timeout_ms = until ? (int)((until - now + 999) / 1000) : -1;
        if (until && timeout_ms <= 0) {
            timeout_ms = 0;
        }
        pfd[0].fd = push_notify_fd(gen);
        pfd[0].events = POLLIN;
        pfd[0].revents = 0;
        /* POLLRDHUP, not POLLIN: a pipelined request is not a hang-up,
         * and TLS records would look like data. */
        pfd[1].fd = fd;
        pfd[1].events = POLLRDHUP;
        pfd[1].revents = 0;
        n = poll(pfd, fd >= 0 ? 2 : 1, timeout_ms);
        if ((n < 0 && errno != EINTR)
            || (n > 0 && (pfd[1].revents & (POLLRDHUP | POLLHUP | POLLERR)))) {
            push_wait_unwatch(sub->slot, gen);
            return PUSH_WAIT_CLIENT_GONE;
        }
        if (n <= 0 && notifier_should_stop()) {
            push_notify_shutdown(push_notifier);
        }
        now = apr_time_now();
        if (deadline && now >= deadline) {
            push_wait_unwatch(sub->slot, gen);
            /* A message may have arrived in the same instant. */
            st = push_store_next(push_store, sub, cursor,
                                 apr_time_sec(now), p ? pool_alloc : NULL,
                                 p, msg, gap, gap_id);
            return st == PUSH_FOUND ? PUSH_WAIT_MESSAGE
                   : st == PUSH_GONE ? PUSH_WAIT_GONE : PUSH_WAIT_TIMEOUT;
        }
        if (ping_at && now >= ping_at) {
            push_wait_unwatch(sub->slot, gen);
            return PUSH_WAIT_PING;
        }
        /* Look first with the fired registration still held: usually
         * the message is there and no new registration is needed. */
        woken = n > 0 && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR));
        if (!woken && push_notify_stopping(push_notifier)) {
            woken = 1;   /* rewatch gives NULL: one last look, then stop */
        }
    }
}

/* The encoding of message *id (just found by an id-only look at the
 * store) in this variant: from this process's cache, or built by encode()
 * from a fresh copy of the message and cached for the other subscribers.
 * The frame's key.id is the message it encodes.  NULL when the message
 * went away in between (or out of memory): look again. */
push_frame_t *push_frame_for(request_rec *r, apr_pool_t *p,
                             const push_sub_t *sub,
                             const push_msgid_t *cursor,
                             const push_msgid_t *id, apr_uint32_t variant,
                             push_encode_fn encode, void *ctx)
{
    push_frame_key_t key;
    push_message_t msg;
    push_frame_t *f;
    const void *data;
    apr_size_t len;

    memset(&key, 0, sizeof(key));
    key.slot = sub->slot;
    key.epoch = sub->epoch;
    key.id = *id;
    key.variant = variant;
    if (push_frames) {
        int must_build;

        /* Waits while another thread of this process builds it. */
        f = push_frame_cache_acquire(push_frames, &key, &must_build);
        if (f) {
            push_store_count_encoding(push_store, 1);
            return f;
        }
        if (!must_build) {
            return NULL;
        }
    }
    if (push_store_next(push_store, sub, cursor, apr_time_sec(apr_time_now()),
                        pool_alloc, p, &msg, NULL, NULL) != PUSH_FOUND
        || push_msgid_cmp(&msg.id, id) != 0
        || encode(ctx, r, p, &msg, &data, &len) != APR_SUCCESS) {
        /* Gone (evicted) since the look: the caller looks again. */
        if (push_frames) {
            push_frame_cache_abandon(push_frames, &key);
        }
        return NULL;
    }
    push_store_count_encoding(push_store, 0);
    if (push_frames) {
        return push_frame_cache_put(push_frames, &key, data, len);
    }
    /* No cache (out of memory at startup): a private frame. */
    if ((f = malloc(sizeof(*f) + len)) != NULL) {
        f->key = key;
        f->refs = 1;
        f->len = len;
        memcpy(f->data, data, len);
    }
    return f;
}

void push_frame_done(push_frame_t *f)
{
    if (push_frames) {
        push_frame_release(push_frames, f);
    }
    else {
        free(f);
    }
}

/* Last-Modified + Etag say where the client is: the only cursor a plain
 * HTTP client (and nchan's) carries from one poll to the next. */
static void set_cursor_headers(request_rec *r, const push_msgid_t *id)
{
    char *lm = apr_palloc(r->pool, APR_RFC822_DATE_LEN);

    apr_rfc822_date(lm, apr_time_from_sec(id->time));
    apr_table_setn(r->headers_out, "Last-Modified", lm);
    apr_table_setn(r->headers_out, "Etag",
                   apr_psprintf(r->pool, "%u", id->tag));
}

static int reply_message(request_rec *r, const push_message_t *msg,
                         int gap, const push_msgid_t *gap_id)
{
    set_cursor_headers(r, &msg->id);
    apr_table_setn(r->headers_out, "Cache-Control", "no-cache");
    apr_table_setn(r->headers_out, "X-Push-Message-Id",
                   format_id(r->pool, &msg->id));
    if (gap) {
        apr_table_setn(r->headers_out, "X-Push-Gap",
                       format_id(r->pool, gap_id));
    }
    if (msg->content_type_len) {
        ap_set_content_type(r, msg->content_type);
    }
    ap_set_content_length(r, msg->body_len);
    r->status = HTTP_OK;
    if (!r->header_only && msg->body_len) {
        ap_rwrite(msg->body, (int)msg->body_len, r);
    }
    return OK;
}

static int reply_not_modified(request_rec *r, const push_msgid_t *cursor)
{
    set_cursor_headers(r, cursor);
    apr_table_setn(r->headers_out, "Cache-Control", "no-cache");
    r->status = HTTP_NOT_MODIFIED;
    return OK;
}

/* The answer to a poll once its wait is over. */
static int reply_poll(request_rec *r, const char *channel, push_wait_e w,
                      const push_message_t *msg, int gap,
                      const push_msgid_t *gap_id,
                      const push_msgid_t *idle_cursor)
{
    switch (w) {
    case PUSH_WAIT_MESSAGE:
        return reply_message(r, msg, gap, gap_id);
    case PUSH_WAIT_GONE:
        return push_reply_text(r, HTTP_GONE, "Channel '%s' was deleted.",
                               channel);
    case PUSH_WAIT_CLIENT_GONE:
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "long-poll client on "
                      "channel %s went away", channel);
        r->connection->aborted = 1;
        r->connection->keepalive = AP_CONN_CLOSE;
        return OK;
    case PUSH_WAIT_STOPPING:
        /* The client polls again at once, from the same cursor, and
         * reaches a live process. */
        r->connection->keepalive = AP_CONN_CLOSE;
        /* fall through */
    default:
        return reply_not_modified(r, idle_cursor);
    }
}

static int poll_subscriber(request_rec *r, const push_dir_conf *conf,
                           const char *channel, int wait)
{
    push_transport_e transport = wait ? PUSH_TRANSPORT_LONGPOLL
                                      : PUSH_TRANSPORT_POLL;
    push_msgid_t cursor = {0, 0}, gap_id;
    push_channel_info_t info;
    push_message_t msg;
    push_sub_t sub;
    apr_int64_t timeout = push_conf_longpoll_timeout(conf);
    apr_time_t deadline = 0;
    push_wait_hint_t hint;
    push_wait_e w;
    int has_cursor, gap = 0;

    if (!push_subscriber_begin(r, conf, channel, transport, &sub, &info,
                               &cursor, &has_cursor)) {
        return OK;
    }
    /* A client polling again right after its last message (the usual
     * case) is known to be caught up: no need to look before waiting. */
    hint.valid = has_cursor && push_msgid_cmp(&cursor, &info.last_id) >= 0
                 && info.last_id.time != 0;
    hint.version = info.version;
    if (timeout > 0) {
        deadline = apr_time_now() + apr_time_from_sec(timeout);
    }
    if (wait && push_park_possible(r)) {
        /* Under the event MPM a long poll waits without a thread
         * (mod_push_park.c) when there is nothing for it now. */
        w = push_wait_next(r, r->pool, &sub, has_cursor ? &cursor : NULL,
                           0, 0, 0, &hint, &msg, &gap, &gap_id);
        if (w == PUSH_WAIT_TIMEOUT
            && push_park_longpoll(r, conf, channel, &sub,
                                  has_cursor ? &cursor : NULL,
                                  has_cursor ? &cursor : &info.last_id,
                                  &hint)) {
            return SUSPENDED;
        }
    }
    else {
        w = PUSH_WAIT_TIMEOUT;
    }
    if (w == PUSH_WAIT_TIMEOUT) {
        w = push_wait_next(r, r->pool, &sub, has_cursor ? &cursor : NULL,
                           deadline, 0, wait, &hint, &msg, &gap, &gap_id);
    }
    push_subscriber_end(&sub);
    return reply_poll(r, channel, w, &msg, gap, &gap_id,
                      has_cursor ? &cursor : &info.last_id);
}

int push_longpoll_resume(request_rec *r, const char *channel,
                         const push_sub_t *sub, const push_msgid_t *cursor,
                         const push_msgid_t *idle_cursor,
                         push_resume_e why)
{
    push_msgid_t gap_id;
    push_message_t msg;
    int gap = 0;
    push_wait_e w = push_wait_next(r, r->pool, sub, cursor, 0, 0, 0, NULL,
                                   &msg, &gap, &gap_id);

    if (w == PUSH_WAIT_TIMEOUT) {
        if (why == PUSH_RESUME_LOOK) {
            return SUSPENDED;
        }
        if (why == PUSH_RESUME_STOP) {
            w = PUSH_WAIT_STOPPING;
        }
    }
    return reply_poll(r, channel, w, &msg, gap, &gap_id, idle_cursor);
}

static int subscriber_handler(request_rec *r)
{
    push_dir_conf *conf;
    const char *channel, *upgrade, *accept;
    int transports;

    if (strcmp(r->handler, "push-subscriber")) {
        return DECLINED;
    }
    conf = ap_get_module_config(r->per_dir_config, &push_module);
    if (!push_store) {
        return push_reply_text(r, HTTP_SERVICE_UNAVAILABLE,
                               "The push store is not available.");
    }
    transports = push_conf_transports(conf);
    push_add_cors(r, conf);
    if (r->method_number == M_OPTIONS) {
        return reply_preflight(r, conf, "GET, OPTIONS", "If-Modified-Since, "
                               "If-None-Match, Last-Event-ID, "
                               "Cache-Control");
    }
    if (r->method_number != M_GET) {
        apr_table_setn(r->headers_out, "Allow", "GET, OPTIONS");
        return push_reply_text(r, HTTP_METHOD_NOT_ALLOWED, "Method %s not "
                               "allowed: a subscriber takes GET.", r->method);
    }
    if (!(channel = push_request_channel(r, conf))) {
        return OK;
    }
    upgrade = apr_table_get(r->headers_in, "Upgrade");
    accept = apr_table_get(r->headers_in, "Accept");
    if (upgrade && ap_find_token(r->pool, upgrade, "websocket")) {
        if (transports & PUSH_TF_WEBSOCKET) {
            return push_ws_subscriber(r, conf, channel);
        }
        return push_reply_text(r, HTTP_BAD_REQUEST, "WebSocket is not "
                               "enabled here (PushTransports).");
    }
    if (accept && (transports & PUSH_TF_EVENTSOURCE)
        && ap_strcasestr(accept, "text/event-stream")) {
        return push_sse_subscriber(r, conf, channel);
    }
    if (transports & PUSH_TF_POLL) {
        return poll_subscriber(r, conf, channel, 0);
    }
    if (transports & PUSH_TF_LONGPOLL) {
        return poll_subscriber(r, conf, channel, 1);
    }
    return push_reply_text(r, HTTP_NOT_ACCEPTABLE, "This location serves "
                           "only %s%s; ask with the matching request.",
                           transports & PUSH_TF_EVENTSOURCE
                           ? "EventSource (Accept: text/event-stream) " : "",
                           transports & PUSH_TF_WEBSOCKET
                           ? "WebSocket (Upgrade: websocket)" : "");
}

/* ------------------------------------------------------------------ */
/* push-status                                                          */

static int status_handler(request_rec *r)
{
    static const char *names[PUSH_TRANSPORT_COUNT] = {
        "longpoll", "poll", "eventsource", "websocket"
    };
    push_store_stats_t st;
    apr_uint64_t total = 0;
    int i;

    if (strcmp(r->handler, "push-status")) {
        return DECLINED;
    }
    if (r->method_number != M_GET) {
        apr_table_setn(r->headers_out, "Allow", "GET");
        return push_reply_text(r, HTTP_METHOD_NOT_ALLOWED,
                               "Method %s not allowed: status takes GET.",
                               r->method);
    }
    if (!push_store) {
        return push_reply_text(r, HTTP_SERVICE_UNAVAILABLE,
                               "The push store is not available.");
    }
    push_store_stats(push_store, apr_time_sec(apr_time_now()), &st);
    ap_set_content_type(r, "application/json");
    apr_table_setn(r->headers_out, "Cache-Control", "no-cache");
    if (r->header_only) {
        return OK;
    }
    ap_rprintf(r, "{\"channels\":%u,\"channel_slots\":%u,"
               "\"messages\":%" APR_UINT64_T_FMT ",\"subscribers\":{",
               st.channels, st.channel_slots, (apr_uint64_t)st.messages);
    for (i = 0; i < PUSH_TRANSPORT_COUNT; i++) {
        ap_rprintf(r, "\"%s\":%u,", names[i], st.subscribers_by[i]);
        total += st.subscribers_by[i];
    }
    ap_rprintf(r, "\"total\":%" APR_UINT64_T_FMT "},"
               "\"published\":%" APR_UINT64_T_FMT ","
               "\"evicted\":%" APR_UINT64_T_FMT ","
               "\"expired\":%" APR_UINT64_T_FMT ","
               "\"store_bytes_used\":%" APR_UINT64_T_FMT ","
               "\"store_bytes_total\":%" APR_UINT64_T_FMT ","
               "\"store_created\":%" APR_INT64_T_FMT ","
               "\"lock_recoveries\":%" APR_UINT64_T_FMT ","
               "\"encodings_built\":%" APR_UINT64_T_FMT ","
               "\"encodings_reused\":%" APR_UINT64_T_FMT ","
               "\"child_subscribers\":%u,\"child_subscriber_cap\":%d,"
               "\"child_parked_streams\":%u,"
               "\"child_parked_connections\":%u}\n",
               total, (apr_uint64_t)st.published, (apr_uint64_t)st.evicted,
               (apr_uint64_t)st.expired, (apr_uint64_t)st.bytes_used,
               (apr_uint64_t)st.bytes_total, (apr_int64_t)st.created,
               (apr_uint64_t)st.recoveries, (apr_uint64_t)st.encoded,
               (apr_uint64_t)st.encoded_reused,
               apr_atomic_read32(&child_subscribers), subscribers_cap,
               push_park_count(), push_park_connections());
    return OK;
}

/* Push locations are not files: no directory walk, stat() or .htaccess
 * lookup on every poll (mod_proxy does the same for what it proxies).
 * <Location> sections apply to them as usual; <Directory> sections and
 * .htaccess files do not.  The handler is known from the <Location>
 * walk, before translate_name; map_to_storage runs with the server's
 * defaults only, so the finding is kept in between. */
static int push_translate_name(request_rec *r)
{
    core_dir_config *d = ap_get_core_module_config(r->per_dir_config);
    const char *err = NULL, *h;

    if (!d || !d->expr_handler || r->main) {
        return DECLINED;
    }
    h = ap_expr_str_exec(r, d->expr_handler, &err);
    if (!err && h && !strncmp(h, "push-", 5)
        && (!strcmp(h + 5, "subscriber") || !strcmp(h + 5, "publisher")
            || !strcmp(h + 5, "status"))) {
        ap_set_module_config(r->request_config, &push_module, (void *)h);
    }
    return DECLINED;
}

static int push_map_to_storage(request_rec *r)
{
    return ap_get_module_config(r->request_config, &push_module)
           ? OK : DECLINED;
}

static void push_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_post_config(push_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(push_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_stopping(push_child_stopping, NULL, NULL, APR_HOOK_MIDDLE);
    push_park_register_hooks();
    ap_hook_translate_name(push_translate_name, NULL, NULL,
                           APR_HOOK_REALLY_FIRST);
    ap_hook_map_to_storage(push_map_to_storage, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(publisher_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(subscriber_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(status_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(push) = {
    STANDARD20_MODULE_STUFF,
    create_dir_conf,
    merge_dir_conf,
    create_server_conf,
    merge_server_conf,
    push_cmds,
    push_register_hooks,
    AP_MODULE_FLAG_NONE
};
