/* mod_push_directives.c — reading httpd.conf: every Push* directive's
 * table entry, context and value grammar (lib/push_conf_value.c), each
 * bad value refused at startup with a message naming the directive and
 * what it takes.  The records they fill are mod_push_config_rec.h's. */
#include <errno.h>

#include "apr_strings.h"
#include "apr_lib.h"

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "ap_provider.h"
#include "http_log.h"

#include "mod_push.h"
#include "mod_push_config.h"
#include "mod_push_config_rec.h"
#include "mod_push_store.h"
#include "mod_push_transport.h"
#include "lib/push_conf_value.h"
#include "redis/push_redis_url.h"
#include "store/push_store_shm.h"

APLOG_USE_MODULE(push);


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
    size = push_parse_size(arg);
    if (size < PUSH_SHM_MIN_SIZE || size > ((apr_off_t)64 << 30)) {
        return apr_psprintf(cmd->pool, "PushSharedMemorySize: '%s' is not "
                            "a size from 64K to 64G (a number of bytes, "
                            "optionally with a K, M or G suffix)", arg);
    }
    sconf->shm_size = (apr_size_t)size;
    return NULL;
}

/* PushRedis: the whole server's channels in Redis (its store is one for
 * every virtual host, so the URLs are the main server's).  The line's
 * URLs together: several are a Redis Cluster's seeds. */
static const char *set_redis(cmd_parms *cmd, void *dummy, int argc,
                             char *const argv[])
{
    push_server_conf *sconf =
        ap_get_module_config(cmd->server->module_config, &push_module);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY), *why;
    push_redis_url_t *urls;
    int i;

    (void)dummy;
    if (err) {
        return apr_pstrcat(cmd->pool, err, " (PushRedis holds the channels "
                           "of every virtual host: one store per server)",
                           NULL);
    }
    if (argc < 1) {
        return "PushRedis: at least one redis:// or rediss:// URL";
    }
    if (argc > PUSH_REDIS_SEEDS_MAX) {
        return apr_psprintf(cmd->pool, "PushRedis: at most %d URLs (a "
                            "cluster's seed nodes)", PUSH_REDIS_SEEDS_MAX);
    }
    urls = apr_palloc(cmd->pool, argc * sizeof(*urls));
    for (i = 0; i < argc; i++) {
        if (push_redis_url_parse(argv[i], &urls[i], &why) != 0) {
            return apr_psprintf(cmd->pool, "PushRedis: '%s' %s (expected "
                                "redis://[[user]:password@]host[:port][/db], "
                                "or rediss:// for TLS)", argv[i], why);
        }
        if (urls[i].tls != urls[0].tls) {
            return apr_psprintf(cmd->pool, "PushRedis: '%s' and '%s': a "
                                "cluster's nodes all speak TLS (rediss://) "
                                "or none does (redis://)", argv[0], argv[i]);
        }
        if (argc > 1 && urls[i].db != 0) {
            return apr_psprintf(cmd->pool, "PushRedis: '%s' names database "
                                "%ld, but several URLs are a Redis Cluster, "
                                "which has database 0 only", argv[i],
                                urls[i].db);
        }
    }
    /* A later PushRedis line replaces an earlier one. */
    sconf->redis = urls;
    sconf->redis_n = argc;
    return NULL;
}

/* PushRedisTimeout: "2" or "2s" seconds, "500ms"; 100 ms to 60 s. */
static const char *set_redis_timeout(cmd_parms *cmd, void *dummy,
                                     const char *arg)
{
    push_server_conf *sconf =
        ap_get_module_config(cmd->server->module_config, &push_module);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    size_t len = strlen(arg);
    apr_int64_t ms = -1;

    (void)dummy;
    if (err) {
        return err;
    }
    if (len > 2 && strcmp(arg + len - 2, "ms") == 0) {
        char *digits = apr_pstrndup(cmd->temp_pool, arg, len - 2);

        ms = push_parse_count(digits, 100, 60000);
    }
    else {
        apr_int64_t s = push_parse_seconds(arg, 1, 60);

        ms = s < 0 ? -1 : s * 1000;
    }
    if (ms < 0) {
        return apr_psprintf(cmd->pool, "PushRedisTimeout: '%s' is not a "
                            "time from 100ms to 60s (seconds, or a number "
                            "followed by ms)", arg);
    }
    sconf->redis_timeout_ms = (int)ms;
    return NULL;
}

/* PushRedisPrefix: what every key name starts with. */
static const char *set_redis_prefix(cmd_parms *cmd, void *dummy,
                                    const char *arg)
{
    push_server_conf *sconf =
        ap_get_module_config(cmd->server->module_config, &push_module);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY), *p;

    (void)dummy;
    if (err) {
        return err;
    }
    for (p = arg; *p; p++) {
        if (!apr_isgraph(*p) || *p == '{' || *p == '}') {
            return apr_psprintf(cmd->pool, "PushRedisPrefix: '%s' may hold "
                                "printable characters only, no spaces and "
                                "no braces (they would change the key's "
                                "Redis Cluster slot)", arg);
        }
    }
    if (p - arg > 64) {
        return "PushRedisPrefix: at most 64 characters";
    }
    sconf->redis_prefix = arg;
    return NULL;
}

/* PushRedisTLSCACertificateFile and the other files of PushRedisTLS*:
 * relative to ServerRoot, and there to be read (their content is
 * checked once the whole configuration is read: push_redis_tls_setup). */
static const char *set_redis_tls_file(cmd_parms *cmd, void *dummy,
                                      const char *arg)
{
    push_server_conf *sconf =
        ap_get_module_config(cmd->server->module_config, &push_module);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    const char *path = ap_server_root_relative(cmd->pool, arg);
    int is_dir = !strcmp(cmd->cmd->name, "PushRedisTLSCACertificatePath");
    apr_finfo_t fi;
    apr_status_t rv;

    (void)dummy;
    if (err) {
        return err;
    }
    if (!path) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a valid path",
                            cmd->cmd->name, arg);
    }
    if ((rv = apr_stat(&fi, path, APR_FINFO_TYPE, cmd->temp_pool))
        != APR_SUCCESS) {
        char buf[120];

        return apr_psprintf(cmd->pool, "%s: cannot read '%s': %s",
                            cmd->cmd->name, path,
                            apr_strerror(rv, buf, sizeof(buf)));
    }
    if (fi.filetype != (is_dir ? APR_DIR : APR_REG)) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a %s",
                            cmd->cmd->name, path,
                            is_dir ? "directory" : "file");
    }
    *(const char **)((char *)sconf + (apr_size_t)cmd->info) = path;
    return NULL;
}

/* PushRedisTLSServerName: the name every node's certificate must hold
 * (and the one asked for, SNI). */
static const char *set_redis_tls_name(cmd_parms *cmd, void *dummy,
                                      const char *arg)
{
    push_server_conf *sconf =
        ap_get_module_config(cmd->server->module_config, &push_module);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY), *p;

    (void)dummy;
    if (err) {
        return err;
    }
    for (p = arg; *p; p++) {
        if (!apr_isalnum(*p) && *p != '-' && *p != '.' && *p != ':') {
            return apr_psprintf(cmd->pool, "PushRedisTLSServerName: '%s' is "
                                "not a host name or address", arg);
        }
    }
    if (!*arg || p - arg > 253) {
        return "PushRedisTLSServerName: a host name of 1 to 253 characters";
    }
    sconf->redis_tls_server_name = arg;
    return NULL;
}

static const char *set_redis_tls_verify(cmd_parms *cmd, void *dummy,
                                        int on)
{
    push_server_conf *sconf =
        ap_get_module_config(cmd->server->module_config, &push_module);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    (void)dummy;
    if (err) {
        return err;
    }
    sconf->redis_tls_verify = on;
    return NULL;
}

/* Directives taking a whole number in a range: where it goes in the
 * per-directory config (or, for the server-wide ones, the main server's),
 * the range, and what to say when it is not. */
typedef struct {
    apr_size_t  offset;
    apr_int64_t min, max;
    const char *expects;
} count_directive;

static const count_directive max_channels_arg = {
    APR_OFFSETOF(push_server_conf, max_channels), 1, 100000000,
    "a whole number of channels from 1 to 100000000"
};
static const count_directive subscribers_per_child_arg = {
    APR_OFFSETOF(push_server_conf, subscribers_per_child), 1, 1000000,
    "a whole number from 1 to 1000000"
};

static const char *set_server_count(cmd_parms *cmd, void *dummy,
                                    const char *arg)
{
    const count_directive *d = cmd->info;
    push_server_conf *sconf =
        ap_get_module_config(cmd->server->module_config, &push_module);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    apr_int64_t n;

    (void)dummy;
    if (err) {
        return err;
    }
    if ((n = push_parse_count(arg, d->min, d->max)) < 0) {
        return apr_psprintf(cmd->pool, "%s: expects %s", cmd->cmd->name,
                            d->expects);
    }
    *(int *)((char *)sconf + d->offset) = (int)n;
    return NULL;
}

/* PushChannel, PushPublisherChannel, PushSubscriberChannel: a string
 * expression into the field cmd->info names. */
static const char *set_channel(cmd_parms *cmd, void *dconf, const char *arg)
{
    ap_expr_info_t **field = (ap_expr_info_t **)((char *)dconf
                                                 + (apr_size_t)cmd->info);
    const char *err = NULL;

    *field = ap_expr_parse_cmd(cmd, arg, AP_EXPR_FLAG_STRING_RESULT, &err,
                               NULL);
    if (err) {
        return apr_psprintf(cmd->pool, "%s: cannot parse string expression "
                            "'%s': %s", cmd->cmd->name, arg, err);
    }
    return NULL;
}

/* PushChannel, PushPublisherChannel, PushSubscriberChannel: one string
 * expression per channel (several: a multiplexed location), replacing
 * what an enclosing section said. */
static const char *set_channels(cmd_parms *cmd, void *dconf, int argc,
                                char *const argv[])
{
    apr_array_header_t **field = (apr_array_header_t **)(
        (char *)dconf + (apr_size_t)cmd->info);
    apr_array_header_t *exprs;
    const char *rest = cmd->directive ? cmd->directive->args : "";
    int i, words = 0;

    /* httpd hands over at most MAX_ARGC (64) arguments and drops the
     * rest without a word: counted here, so that none is lost
     * silently. */
    while (*ap_getword_conf(cmd->temp_pool, &rest)) {
        words++;
    }
    if (words > argc) {
        return apr_psprintf(cmd->pool, "%s: at most %d string expressions "
                            "(httpd's limit on a directive's arguments); "
                            "PushChannelSplit cuts one value into up to %d "
                            "channel ids", cmd->cmd->name, argc,
                            PUSH_MUX_MAX);
    }
    if (argc < 1) {
        return apr_psprintf(cmd->pool, "%s: expects string expressions, "
                            "one for each channel", cmd->cmd->name);
    }
    exprs = apr_array_make(cmd->pool, argc, sizeof(ap_expr_info_t *));
    for (i = 0; i < argc; i++) {
        const char *err = NULL;
        ap_expr_info_t *e = ap_expr_parse_cmd(cmd, argv[i],
                                              AP_EXPR_FLAG_STRING_RESULT,
                                              &err, NULL);

        if (err) {
            return apr_psprintf(cmd->pool, "%s: cannot parse string "
                                "expression '%s': %s", cmd->cmd->name,
                                argv[i], err);
        }
        APR_ARRAY_PUSH(exprs, ap_expr_info_t *) = e;
    }
    *field = exprs;
    return NULL;
}

/* PushChannelSplit: 1 to 255 bytes that cut each channel expression's
 * value into several channel ids. */
static const char *set_channel_split(cmd_parms *cmd, void *dconf,
                                     const char *arg)
{
    push_dir_conf *conf = dconf;

    if (!*arg || strlen(arg) > 255) {
        return "PushChannelSplit: expects a delimiter of 1 to 255 bytes";
    }
    conf->channel_split = apr_pstrdup(cmd->pool, arg);
    return NULL;
}

static const char *add_transport(cmd_parms *cmd, void *dconf, const char *arg)
{
    push_dir_conf *conf = dconf;
    const push_transport_t *t = push_transport_find(cmd->temp_pool, arg);

    if (!t) {
        return apr_psprintf(cmd->pool, "PushTransports: unknown transport "
                            "'%s' (accepted: %s)", arg,
                            push_transport_names(cmd->temp_pool));
    }
    /* Each section starts from 0 (unset), so a PushTransports here
     * replaces what an enclosing section allowed rather than adding. */
    conf->transports |= 1u << t->id;
    return NULL;
}

static const char *set_store(cmd_parms *cmd, void *dummy, const char *arg)
{
    push_server_conf *sconf =
        ap_get_module_config(cmd->server->module_config, &push_module);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    apr_array_header_t *names;
    const char *list = "";
    int i;

    (void)dummy;
    if (err) {
        return err;
    }
    if (ap_lookup_provider(PUSH_STORE_PROVIDER_GROUP, arg, "0")) {
        sconf->store = arg;
        return NULL;
    }
    names = ap_list_provider_names(cmd->temp_pool, PUSH_STORE_PROVIDER_GROUP,
                                   "0");
    for (i = 0; names && i < names->nelts; i++) {
        list = apr_pstrcat(cmd->temp_pool, list, i ? " " : "",
                           APR_ARRAY_IDX(names, i, ap_list_provider_names_t)
                               .provider_name, NULL);
    }
    return apr_psprintf(cmd->pool, "PushStore: unknown store engine '%s' "
                        "(available: %s)", arg, list);
}


static const count_directive buffer_length_arg = {
    APR_OFFSETOF(push_dir_conf, buffer_length), 0, 1000000,
    "a whole number of messages from 1 to 1000000"
};
/* Durations: seconds, or with units (5m, 1h30m, 2d). */
static const count_directive max_channel_subscribers_arg = {
    APR_OFFSETOF(push_dir_conf, max_channel_subscribers), 0, 100000000,
    "a whole number of subscribers from 0 (no limit) to 100000000"
};
static const count_directive max_channel_id_arg = {
    APR_OFFSETOF(push_dir_conf, max_channel_id), 1, PUSH_CHANNEL_ID_MAX,
    "a whole number of bytes from 1 to " APR_STRINGIFY(PUSH_CHANNEL_ID_MAX)
};
static const count_directive message_timeout_arg = {
    APR_OFFSETOF(push_dir_conf, message_timeout), 0, 10L * 365 * 86400,
    "a duration up to 10 years: seconds, or with units such as 90s, 5m, "
    "1h30m, 2d (0 keeps messages until they are pushed out of the buffer)"
};
static const count_directive subscriber_timeout_arg = {
    APR_OFFSETOF(push_dir_conf, subscriber_timeout), 0, 365L * 86400,
    "a duration up to a year: seconds, or with units such as 90s, 5m, "
    "1h (0: never)"
};
static const count_directive longpoll_timeout_arg = {
    APR_OFFSETOF(push_dir_conf, longpoll_timeout), 0, 365L * 86400,
    "a duration up to a year: seconds, or with units such as 90s, 5m, "
    "1h (0 waits for ever)"
};
static const count_directive ping_interval_arg = {
    APR_OFFSETOF(push_dir_conf, ping_interval), 0, 86400,
    "a duration up to a day: seconds, or with units such as 30s, 5m "
    "(0 turns keep-alive pings off)"
};

static const char *set_count(cmd_parms *cmd, void *dconf, const char *arg)
{
    const count_directive *d = cmd->info;
    apr_int64_t n = push_parse_count(arg, d->min, d->max);

    if (n < 0) {
        return apr_psprintf(cmd->pool, "%s: expects %s", cmd->cmd->name,
                            d->expects);
    }
    *(apr_int64_t *)((char *)dconf + d->offset) = n;
    return NULL;
}

static const char *set_duration(cmd_parms *cmd, void *dconf,
                                const char *arg)
{
    const count_directive *d = cmd->info;
    apr_int64_t n = push_parse_seconds(arg, d->min, d->max);

    if (n < 0) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not %s", cmd->cmd->name,
                            arg, d->expects);
    }
    *(apr_int64_t *)((char *)dconf + d->offset) = n;
    return NULL;
}

/* Directives taking a size (K, M, G suffixes) in a range, into an
 * apr_off_t of the per-directory config. */
static const count_directive max_message_size_arg = {
    APR_OFFSETOF(push_dir_conf, max_message_size), 1, (apr_int64_t)1 << 30,
    "a size from 1 byte to 1G"
};
static const count_directive backlog_arg = {
    APR_OFFSETOF(push_dir_conf, backlog), 1024, (apr_int64_t)1 << 30,
    "a size from 1K to 1G"
};

static const char *set_size(cmd_parms *cmd, void *dconf, const char *arg)
{
    const count_directive *d = cmd->info;
    apr_off_t size = push_parse_size(arg);

    if (size < d->min || size > d->max) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not %s (optionally with "
                            "a K, M or G suffix)", cmd->cmd->name, arg,
                            d->expects);
    }
    *(apr_off_t *)((char *)dconf + d->offset) = size;
    return NULL;
}

static const char *set_first_message(cmd_parms *cmd, void *dconf,
                                     const char *arg)
{
    push_dir_conf *conf = dconf;

    apr_int64_t n;

    (void)cmd;
    if (!strcasecmp(arg, "oldest")) {
        conf->first_message = PUSH_FIRST_OLDEST;
    }
    else if (!strcasecmp(arg, "newest")) {
        conf->first_message = PUSH_FIRST_NEWEST;
    }
    else if ((n = push_parse_count(arg[0] == '-' ? arg + 1 : arg, 0,
                                   1000000)) >= 0) {
        /* nchan's numbers: N from the oldest, -N from the newest, 0 the
         * newest. */
        conf->first_message = arg[0] == '-' ? -n : n;
    }
    else {
        return "PushFirstMessage: expects 'oldest', 'newest', N (the Nth "
               "buffered message from the oldest) or -N (the Nth from the "
               "newest), N up to 1000000";
    }
    return NULL;
}

static const char *add_allow_origin(cmd_parms *cmd, void *dconf,
                                    const char *arg)
{
    push_dir_conf *conf = dconf;

    if (strcasecmp(arg, "echo") && !push_origin_valid(arg)) {
        return apr_psprintf(cmd->pool, "PushAllowOrigin: '%s' is neither "
                            "'*', 'echo' nor an origin as browsers send it, "
                            "scheme://host[:port] with no path (such as "
                            "https://example.com)", arg);
    }
    if (!conf->allow_origins) {
        /* this section's own list: it replaces an inherited one */
        conf->allow_origins = apr_array_make(cmd->pool, 2, sizeof(char *));
    }
    APR_ARRAY_PUSH(conf->allow_origins, const char *) =
        strcasecmp(arg, "echo") ? arg : "echo";
    return NULL;
}

/* PushWebSocketClientHeartbeat <in> <out> | Off.  A heartbeat fits in
 * one small frame each way, as a ping would. */
static const char *set_heartbeat(cmd_parms *cmd, void *dconf,
                                 const char *in, const char *out)
{
    push_dir_conf *conf = dconf;

    conf->hb_set = 1;
    if (!out && !strcasecmp(in, "off")) {
        conf->hb_in = conf->hb_out = NULL;
        return NULL;
    }
    if (!out) {
        return "PushWebSocketClientHeartbeat: expects two texts, the "
               "client's heartbeat and the answer (or Off)";
    }
    if (!*in || !*out || strlen(in) > PUSH_WS_HEARTBEAT_MAX
        || strlen(out) > PUSH_WS_HEARTBEAT_MAX) {
        return apr_psprintf(cmd->pool, "PushWebSocketClientHeartbeat: each "
                            "text must be 1 to %d bytes", PUSH_WS_HEARTBEAT_MAX);
    }
    conf->hb_in = in;
    conf->hb_out = out;
    return NULL;
}

/* A configured text's frame-cache tag (FNV-1a, never 0): computed once
 * here, not for every message a transport encodes. */
static apr_uint32_t text_tag(const char *s)
{
    apr_uint32_t h = 2166136261u;

    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 16777619u;
    }
    return h ? h : 1;
}

/* PushRawStreamSeparator: C-style escapes (\n, \r, \t, \\) read, 1 to
 * 255 bytes after them. */
static const char *set_raw_separator(cmd_parms *cmd, void *dconf,
                                     const char *arg)
{
    push_dir_conf *conf = dconf;
    char *out = apr_palloc(cmd->pool, strlen(arg) + 1), *o = out;

    for (; *arg; arg++) {
        if (*arg != '\\') {
            *o++ = *arg;
            continue;
        }
        switch (*++arg) {
        case 'n':  *o++ = '\n'; break;
        case 'r':  *o++ = '\r'; break;
        case 't':  *o++ = '\t'; break;
        case '\\': *o++ = '\\'; break;
        default:
            return "PushRawStreamSeparator: the escapes are \\n, \\r, "
                   "\\t and \\\\";
        }
    }
    *o = '\0';
    if (!*out || o - out > 255) {
        return "PushRawStreamSeparator: expects 1 to 255 bytes";
    }
    conf->raw_separator = out;
    conf->raw_tag = text_tag(out);
    return NULL;
}

/* An EventSource event name: one line of at most 255 bytes. */
static int es_name_ok(const char *s)
{
    return *s && strlen(s) <= 255 && !strpbrk(s, "\r\n");
}

static const char *set_es_event(cmd_parms *cmd, void *dconf, const char *arg)
{
    push_dir_conf *conf = dconf;

    (void)cmd;
    if (!es_name_ok(arg)) {
        return "PushEventSourceEvent: expects an event name of 1 to 255 "
               "bytes on one line";
    }
    conf->es_event = arg;
    conf->es_event_tag = text_tag(arg);
    return NULL;
}

/* PushEventSourcePing comment | event <name> [<data>] */
static const char *set_es_ping(cmd_parms *cmd, void *dconf, const char *how,
                               const char *name, const char *data)
{
    push_dir_conf *conf = dconf;

    (void)cmd;
    if (!strcasecmp(how, "comment") && !name) {
        conf->es_ping_event = "";     /* set: the comment, overriding */
        conf->es_ping_data = NULL;
        return NULL;
    }
    if (strcasecmp(how, "event") || !name || !es_name_ok(name)
        || (data && (strlen(data) > 255 || strpbrk(data, "\r\n")))) {
        return "PushEventSourcePing: expects 'comment', or 'event <name> "
               "[<data>]' (each one line of at most 255 bytes)";
    }
    conf->es_ping_event = name;
    conf->es_ping_data = data;
    return NULL;
}

static const char *set_info_format(cmd_parms *cmd, void *dconf,
                                   const char *arg)
{
    push_dir_conf *conf = dconf;

    (void)cmd;
    if (!strcasecmp(arg, "json") || !strcasecmp(arg, "text")) {
        conf->info_text = !strcasecmp(arg, "text");
        return NULL;
    }
    return "PushChannelInfoFormat: expects 'json' (mod_push's) or 'text' "
           "(nchan's)";
}

static const char *set_lp_multi(cmd_parms *cmd, void *dconf,
                                const char *arg)
{
    push_dir_conf *conf = dconf;

    (void)cmd;
    if (!strcasecmp(arg, "off")) {
        conf->lp_multi = PUSH_LP_ONE;
    }
    else if (!strcasecmp(arg, "on")) {
        conf->lp_multi = PUSH_LP_MULTIPART;
    }
    else if (!strcasecmp(arg, "raw")) {
        conf->lp_multi = PUSH_LP_RAW;
    }
    else {
        return "PushLongPollMultipart: expects off, on (multipart/mixed) or "
               "raw (PushRawStreamSeparator after each message)";
    }
    return NULL;
}

/* On|Off into the int that cmd->info points at within the record (as
 * ap_set_flag_slot does; the record's unset value is -1, not 0). */
static const char *set_flag(cmd_parms *cmd, void *dconf, int on)
{
    *(int *)((char *)dconf + (apr_size_t)cmd->info) = on;
    return NULL;
}

const command_rec push_config_cmds[] = {
    AP_INIT_TAKE1("PushStore", set_store, NULL, RSRC_CONF,
                  "Store engine holding channels and messages (main server "
                  "only; default shm)"),
    AP_INIT_TAKE_ARGV("PushRedis", set_redis, NULL, RSRC_CONF,
                      "Share channels with every server using this Redis: "
                      "redis://[[user]:password@]host[:port][/db], or a "
                      "Redis Cluster's seed nodes (several URLs; main "
                      "server only)"),
    AP_INIT_TAKE1("PushRedisTimeout", set_redis_timeout, NULL, RSRC_CONF,
                  "How long a Redis command may take before a publish is "
                  "answered 503 (default 2s; e.g. 500ms)"),
    AP_INIT_TAKE1("PushRedisPrefix", set_redis_prefix, NULL, RSRC_CONF,
                  "What the names of mod_push's Redis keys start with "
                  "(default push:)"),
    AP_INIT_TAKE1("PushRedisTLSCACertificateFile", set_redis_tls_file,
                  (void *)APR_OFFSETOF(push_server_conf, redis_tls_ca_file),
                  RSRC_CONF, "The certificates (PEM) that rediss:// servers' "
                  "certificates must lead to (default: the system's)"),
    AP_INIT_TAKE1("PushRedisTLSCACertificatePath", set_redis_tls_file,
                  (void *)APR_OFFSETOF(push_server_conf, redis_tls_ca_path),
                  RSRC_CONF, "A directory of such certificates, hashed as "
                  "openssl rehash does"),
    AP_INIT_TAKE1("PushRedisTLSCertificateFile", set_redis_tls_file,
                  (void *)APR_OFFSETOF(push_server_conf, redis_tls_cert_file),
                  RSRC_CONF, "The client certificate (PEM) shown to a "
                  "rediss:// server that asks for one"),
    AP_INIT_TAKE1("PushRedisTLSCertificateKeyFile", set_redis_tls_file,
                  (void *)APR_OFFSETOF(push_server_conf, redis_tls_key_file),
                  RSRC_CONF, "Its private key (PEM; default: in the "
                  "certificate's file)"),
    AP_INIT_TAKE1("PushRedisTLSServerName", set_redis_tls_name, NULL,
                  RSRC_CONF, "The name rediss:// servers' certificates must "
                  "hold (default: each URL's host, or a cluster node's "
                  "address)"),
    AP_INIT_FLAG("PushRedisTLSVerify", set_redis_tls_verify, NULL, RSRC_CONF,
                 "Off: take any certificate a rediss:// server shows "
                 "(default On)"),
    AP_INIT_TAKE1("PushSharedMemorySize", set_shm_size, NULL, RSRC_CONF,
                  "Size of the shared-memory message store, e.g. 32M "
                  "(main server only; a change needs a full restart)"),
    AP_INIT_TAKE1("PushMaxChannels", set_server_count,
                  (void *)&max_channels_arg, RSRC_CONF,
                  "Channels the store holds at most (default: as many as "
                  "PushSharedMemorySize has slots for)"),
    AP_INIT_TAKE1("PushMaxSubscribersPerChild", set_server_count,
                  (void *)&subscribers_per_child_arg, RSRC_CONF,
                  "A further cap on subscribers holding a worker thread in "
                  "one child (default: admission alone decides)"),
    AP_INIT_TAKE_ARGV("PushChannel", set_channels,
                      (void *)APR_OFFSETOF(push_dir_conf, channel),
                      RSRC_CONF | ACCESS_CONF,
                      "String expressions giving the channel id, or several "
                      "for a multiplexed location (default: the last "
                      "segment of the URL path)"),
    AP_INIT_TAKE1("PushChannelSplit", set_channel_split, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "A delimiter that cuts each channel expression's value "
                  "into several channel ids (default none)"),
    AP_INIT_TAKE_ARGV("PushPublisherChannel", set_channels,
                      (void *)APR_OFFSETOF(push_dir_conf, pub_channel),
                      RSRC_CONF | ACCESS_CONF,
                      "On a push-pubsub location: the channels publishing "
                      "goes to (string expressions; default PushChannel's)"),
    AP_INIT_TAKE1("PushAuthorizeRequest", set_channel,
                  (void *)APR_OFFSETOF(push_dir_conf, authorize),
                  RSRC_CONF | ACCESS_CONF,
                  "A local URL (a string expression) asked before each "
                  "subscribe and publish; 2xx allows"),
    AP_INIT_TAKE1("PushSubscribeRequest", set_channel,
                  (void *)APR_OFFSETOF(push_dir_conf, arrive),
                  RSRC_CONF | ACCESS_CONF,
                  "A local URL (a string expression) told of each "
                  "streaming subscriber that arrives"),
    AP_INIT_TAKE1("PushUnsubscribeRequest", set_channel,
                  (void *)APR_OFFSETOF(push_dir_conf, leave),
                  RSRC_CONF | ACCESS_CONF,
                  "A local URL (a string expression) told of each "
                  "streaming subscriber that leaves"),
    AP_INIT_TAKE1("PushPublisherUpstreamRequest", set_channel,
                  (void *)APR_OFFSETOF(push_dir_conf, upstream),
                  RSRC_CONF | ACCESS_CONF,
                  "A local URL (a string expression) each message is "
                  "POSTed to before it is published; its answer decides"),
    AP_INIT_TAKE1("PushChannelEventsChannel", set_channel,
                  (void *)APR_OFFSETOF(push_dir_conf, events_channel),
                  RSRC_CONF | ACCESS_CONF,
                  "The channel this location's channel events are "
                  "published to (a string expression; default none)"),
    AP_INIT_TAKE_ARGV("PushSubscriberChannel", set_channels,
                      (void *)APR_OFFSETOF(push_dir_conf, sub_channel),
                      RSRC_CONF | ACCESS_CONF,
                      "On a push-pubsub location: the channels subscribing "
                      "reads (string expressions; default PushChannel's)"),
    AP_INIT_ITERATE("PushTransports", add_transport, NULL,
                    RSRC_CONF | ACCESS_CONF,
                    "Subscriber transports: websocket eventsource longpoll "
                    "poll"),
    AP_INIT_TAKE1("PushMessageBufferLength", set_count,
                  (void *)&buffer_length_arg,
                  RSRC_CONF | ACCESS_CONF,
                  "Messages a channel keeps (default 10)"),
    AP_INIT_TAKE1("PushMessageTimeout", set_duration,
                  (void *)&message_timeout_arg,
                  RSRC_CONF | ACCESS_CONF,
                  "How long a message is kept: seconds or 5m, 1h... "
                  "(default 3600, 0: no expiry)"),
    AP_INIT_TAKE1("PushMaxMessageSize", set_size,
                  (void *)&max_message_size_arg,
                  RSRC_CONF | ACCESS_CONF,
                  "Largest message accepted (default 1M)"),
    AP_INIT_TAKE1("PushSubscriberBacklog", set_size, (void *)&backlog_arg,
                  RSRC_CONF | ACCESS_CONF,
                  "Undelivered messages a connected subscriber may fall "
                  "behind by before it is told of a gap (default 1M)"),
    AP_INIT_TAKE1("PushLongPollTimeout", set_duration,
                  (void *)&longpoll_timeout_arg,
                  RSRC_CONF | ACCESS_CONF,
                  "Seconds a long poll waits before 304 (default 0: for ever)"),
    AP_INIT_TAKE1("PushSubscriberTimeout", set_duration,
                  (void *)&subscriber_timeout_arg,
                  RSRC_CONF | ACCESS_CONF,
                  "A subscriber that gets no message for this long is "
                  "ended: a long poll with 408, a stream closed (default "
                  "0: never)"),
    AP_INIT_TAKE1("PushLongPollMultipart", set_lp_multi, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "off (default: one message a poll's answer), on (every "
                  "waiting message, multipart/mixed) or raw (separated by "
                  "PushRawStreamSeparator)"),
    AP_INIT_TAKE1("PushPingInterval", set_duration,
                  (void *)&ping_interval_arg,
                  RSRC_CONF | ACCESS_CONF,
                  "Seconds of idle stream before a keep-alive ping "
                  "(default 15, 0: off)"),
    AP_INIT_TAKE1("PushFirstMessage", set_first_message, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "Where a subscriber without a cursor starts: "
                  "oldest|newest|N|-N"),
    AP_INIT_ITERATE("PushAllowOrigin", add_allow_origin, NULL,
                    RSRC_CONF | ACCESS_CONF,
                    "Origins allowed cross-origin access (CORS), * (any, no "
                    "credentials) or echo (any, with credentials)"),
    AP_INIT_FLAG("PushWebSocketPublish", set_flag,
                 (void *)APR_OFFSETOF(push_dir_conf, ws_publish),
                 RSRC_CONF | ACCESS_CONF,
                 "On: WebSocket clients may publish to the channel"),
    AP_INIT_TAKE1("PushMaxChannelIdLength", set_count,
                  (void *)&max_channel_id_arg, RSRC_CONF | ACCESS_CONF,
                  "Longest channel id, in bytes (default and most: "
                  APR_STRINGIFY(PUSH_CHANNEL_ID_MAX) "); longer ones get "
                  "400"),
    AP_INIT_TAKE1("PushMaxChannelSubscribers", set_count,
                  (void *)&max_channel_subscribers_arg,
                  RSRC_CONF | ACCESS_CONF,
                  "Subscribers a channel may have, on every transport and "
                  "process (default 0: no limit); more get 403"),
    AP_INIT_FLAG("PushSubscribeExistingChannelsOnly", set_flag,
                 (void *)APR_OFFSETOF(push_dir_conf, existing_only),
                 RSRC_CONF | ACCESS_CONF,
                 "On: subscribing to a channel with neither messages nor "
                 "subscribers is refused with 403 (default Off)"),
    AP_INIT_FLAG("PushXAccelRedirect", set_flag,
                 (void *)APR_OFFSETOF(push_dir_conf, x_accel),
                 RSRC_CONF | ACCESS_CONF,
                 "On: a response here (from mod_proxy, CGI, ...) with "
                 "X-Accel-Redirect hands the client to that local URL by "
                 "an internal redirect (default Off)"),
    AP_INIT_TAKE1("PushEventSourceEvent", set_es_event, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "The event name of every message: published here, or "
                  "sent to event streams here"),
    AP_INIT_TAKE123("PushEventSourcePing", set_es_ping, NULL,
                    RSRC_CONF | ACCESS_CONF,
                    "An event stream's keep-alive: comment (default), or "
                    "event <name> [<data>]"),
    AP_INIT_TAKE1("PushRawStreamSeparator", set_raw_separator, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "What follows each message of an http-raw-stream "
                  "(default \\n; \\n \\r \\t \\\\ escapes)"),
    AP_INIT_TAKE1("PushChannelInfoFormat", set_info_format, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "A publisher's answer when Accept names no format: json "
                  "(default) or text (nchan's)"),
    AP_INIT_TAKE12("PushWebSocketClientHeartbeat", set_heartbeat, NULL,
                   RSRC_CONF | ACCESS_CONF,
                   "A WebSocket client's heartbeat text and the answer it "
                   "gets (or Off)"),
    AP_INIT_FLAG("PushWebSocketDeflate", set_flag,
                 (void *)APR_OFFSETOF(push_dir_conf, ws_deflate),
                 RSRC_CONF | ACCESS_CONF,
                 "On: negotiate permessage-deflate (default On)"),
    {NULL}
};
