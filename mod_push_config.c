/* mod_push_config.c — directives, their merges and their accessors.
 *
 * Every unset value is a sentinel (-1, NULL, 0 or PUSH_FIRST_UNSET) that
 * a merge carries through, so a grandchild section inherits from the
 * nearest section that set it; the accessors turn what is left unset into
 * the documented default, in one place. */
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
#include "mod_push_store.h"
#include "mod_push_transport.h"
#include "lib/push_conf_value.h"
#include "store/push_store_shm.h"

APLOG_USE_MODULE(push);

#define PUSH_DEFAULT_SHM_SIZE (32 * 1024 * 1024)

/* PushFirstMessage: unset, or a position (see push_conf_first_message). */
#define PUSH_FIRST_UNSET INT64_MIN

typedef struct {
    const char *store;                 /* PushStore; NULL: unset */
    apr_size_t shm_size;               /* 0: unset */
    int        subscribers_per_child;  /* -1: unset, 0: derived */
    int        max_channels;           /* 0: unset (as many as fit) */
} push_server_conf;

struct push_dir_conf {
    /* The URL path of the most specific section that applies (a
     * <Location>'s, without a trailing slash), or NULL: the default
     * channel is the one segment below it. */
    const char         *section;
    /* PushChannel and a push-pubsub location's PushPublisherChannel,
     * PushSubscriberChannel: arrays of ap_expr_info_t *, one for each
     * channel of a multiplexed location. */
    apr_array_header_t *channel;
    apr_array_header_t *pub_channel;
    apr_array_header_t *sub_channel;
    const char         *channel_split;   /* PushChannelSplit */
    ap_expr_info_t     *events_channel;  /* PushChannelEventsChannel */
    ap_expr_info_t     *authorize;       /* PushAuthorizeRequest */
    ap_expr_info_t     *arrive;          /* PushSubscribeRequest */
    ap_expr_info_t     *leave;           /* PushUnsubscribeRequest */
    ap_expr_info_t     *upstream;        /* PushPublisherUpstreamRequest */
    unsigned            transports;      /* 1 << transport id; 0: unset */
    apr_int64_t         buffer_length;
    apr_int64_t         message_timeout;
    apr_off_t           max_message_size;
    apr_off_t           backlog;
    apr_int64_t         longpoll_timeout;
    apr_int64_t         subscriber_timeout;   /* PushSubscriberTimeout */
    apr_int64_t         ping_interval;
    apr_int64_t         first_message;
    apr_array_header_t *allow_origins;   /* of const char * */
    int                 ws_publish;
    int                 ws_deflate;
    apr_int64_t         max_channel_subscribers;   /* 0: no limit */
    apr_int64_t         max_channel_id;  /* PushMaxChannelIdLength */
    int                 info_text;       /* PushChannelInfoFormat text */
    const char         *raw_separator;   /* PushRawStreamSeparator */
    apr_uint32_t        raw_tag;         /*   its frame-cache tag */
    const char         *es_event;        /* PushEventSourceEvent */
    apr_uint32_t        es_event_tag;    /*   its frame-cache tag */
    const char         *es_ping_event;   /* PushEventSourcePing event */
    const char         *es_ping_data;
    int                 existing_only;
    int                 x_accel;         /* PushXAccelRedirect */
    int                 lp_multi;        /* PushLongPollMultipart */
    /* PushWebSocketClientHeartbeat: hb_in NULL with hb_set is "Off". */
    int                 hb_set;
    const char         *hb_in, *hb_out;
};

void *push_config_create_server(apr_pool_t *p, server_rec *s)
{
    push_server_conf *conf = apr_pcalloc(p, sizeof(*conf));

    (void)s;
    conf->subscribers_per_child = -1;
    return conf;
}

void *push_config_merge_server(apr_pool_t *p, void *basev, void *addv)
{
    push_server_conf *base = basev, *add = addv;
    push_server_conf *conf = apr_pcalloc(p, sizeof(*conf));

    conf->store = add->store ? add->store : base->store;
    conf->shm_size = add->shm_size ? add->shm_size : base->shm_size;
    conf->max_channels = add->max_channels ? add->max_channels
                                           : base->max_channels;
    conf->subscribers_per_child = add->subscribers_per_child != -1
                                  ? add->subscribers_per_child
                                  : base->subscribers_per_child;
    return conf;
}

void *push_config_create_dir(apr_pool_t *p, char *dir)
{
    push_dir_conf *conf = apr_pcalloc(p, sizeof(*conf));

    /* Only a URL path names a place below which a channel is: not the
     * server's config (NULL), not "/" (everything is below it), not a
     * regex (LocationMatch) and, in practice, no <Directory> (a
     * filesystem path is no prefix of a URL path). */
    if (dir && dir[0] == '/' && dir[1] && !strpbrk(dir, "^$()[]*+?\\|")) {
        apr_size_t n = strlen(dir);

        conf->section = apr_pstrndup(p, dir, dir[n - 1] == '/' ? n - 1 : n);
    }
    conf->buffer_length = -1;
    conf->message_timeout = -1;
    conf->max_message_size = -1;
    conf->backlog = -1;
    conf->longpoll_timeout = -1;
    conf->subscriber_timeout = -1;
    conf->ping_interval = -1;
    conf->first_message = PUSH_FIRST_UNSET;
    conf->ws_publish = -1;
    conf->ws_deflate = -1;
    conf->max_channel_subscribers = -1;
    conf->max_channel_id = -1;
    conf->existing_only = -1;
    conf->x_accel = -1;
    conf->lp_multi = -1;
    conf->info_text = -1;
    return conf;
}

#define MERGE_INT(field) \
    conf->field = add->field != -1 ? add->field : base->field

void *push_config_merge_dir(apr_pool_t *p, void *basev, void *addv)
{
    push_dir_conf *base = basev, *add = addv;
    push_dir_conf *conf = apr_pcalloc(p, sizeof(*conf));

    conf->channel = add->channel ? add->channel : base->channel;
    conf->pub_channel = add->pub_channel ? add->pub_channel
                                         : base->pub_channel;
    conf->sub_channel = add->sub_channel ? add->sub_channel
                                         : base->sub_channel;
    conf->arrive = add->arrive ? add->arrive : base->arrive;
    conf->leave = add->leave ? add->leave : base->leave;
    conf->upstream = add->upstream ? add->upstream : base->upstream;
    conf->channel_split = add->channel_split ? add->channel_split
                                             : base->channel_split;
    conf->events_channel = add->events_channel ? add->events_channel
                                               : base->events_channel;
    conf->authorize = add->authorize ? add->authorize : base->authorize;
    conf->transports = add->transports ? add->transports : base->transports;
    conf->section = add->section ? add->section : base->section;
    MERGE_INT(buffer_length);
    MERGE_INT(message_timeout);
    MERGE_INT(max_message_size);
    MERGE_INT(backlog);
    MERGE_INT(longpoll_timeout);
    MERGE_INT(subscriber_timeout);
    MERGE_INT(ping_interval);
    MERGE_INT(ws_publish);
    MERGE_INT(ws_deflate);
    MERGE_INT(max_channel_subscribers);
    MERGE_INT(max_channel_id);
    MERGE_INT(existing_only);
    MERGE_INT(x_accel);
    MERGE_INT(lp_multi);
    MERGE_INT(info_text);
    conf->raw_separator = add->raw_separator ? add->raw_separator
                                             : base->raw_separator;
    conf->raw_tag = add->raw_separator ? add->raw_tag : base->raw_tag;
    conf->es_event = add->es_event ? add->es_event : base->es_event;
    conf->es_event_tag = add->es_event ? add->es_event_tag
                                       : base->es_event_tag;
    if (add->es_ping_event) {
        conf->es_ping_event = add->es_ping_event;
        conf->es_ping_data = add->es_ping_data;
    }
    else {
        conf->es_ping_event = base->es_ping_event;
        conf->es_ping_data = base->es_ping_data;
    }
    if (add->hb_set) {
        conf->hb_set = 1;
        conf->hb_in = add->hb_in;
        conf->hb_out = add->hb_out;
    }
    else {
        conf->hb_set = base->hb_set;
        conf->hb_in = base->hb_in;
        conf->hb_out = base->hb_out;
    }
    conf->first_message = add->first_message != PUSH_FIRST_UNSET
                          ? add->first_message : base->first_message;
    conf->allow_origins = add->allow_origins ? add->allow_origins
                                             : base->allow_origins;
    return conf;
}

const push_dir_conf *push_conf(const request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &push_module);
}

static const push_server_conf *server_conf(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &push_module);
}

/* Effective values: the defaults live here, once, so an unset directive
 * anywhere in the merge chain still means the documented default. */
const char *push_conf_section(const push_dir_conf *c)
{
    return c->section;
}

const apr_array_header_t *push_conf_role_channel(const push_dir_conf *c,
                                                 int publisher)
{
    const apr_array_header_t *e = publisher ? c->pub_channel
                                            : c->sub_channel;

    return e ? e : c->channel;
}

const char *push_conf_channel_split(const push_dir_conf *c)
{
    return c->channel_split;
}

const ap_expr_info_t *push_conf_authorize(const push_dir_conf *c)
{
    return c->authorize;
}

const ap_expr_info_t *push_conf_upstream(const push_dir_conf *c)
{
    return c->upstream;
}

const ap_expr_info_t *push_conf_presence(const push_dir_conf *c,
                                         int leaving)
{
    return leaving ? c->leave : c->arrive;
}

const ap_expr_info_t *push_conf_events_channel(const push_dir_conf *c)
{
    return c->events_channel;
}

int push_conf_ws_publish_set(const push_dir_conf *c)
{
    return c->ws_publish;
}

const apr_array_header_t *push_conf_channel(const push_dir_conf *c)
{
    return c->channel;
}
unsigned push_conf_transports(const push_dir_conf *c)
{
    return c->transports ? c->transports : push_transports_default();
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
apr_int64_t push_conf_subscriber_timeout(const push_dir_conf *c)
{
    return c->subscriber_timeout > 0 ? c->subscriber_timeout : 0;
}

apr_int64_t push_conf_longpoll_timeout(const push_dir_conf *c)
{
    return c->longpoll_timeout != -1 ? c->longpoll_timeout : 0;
}
apr_off_t push_conf_backlog(const push_dir_conf *c)
{
    return c->backlog != -1 ? c->backlog : 1024 * 1024;
}

apr_int64_t push_conf_ping_interval(const push_dir_conf *c)
{
    return c->ping_interval != -1 ? c->ping_interval : 15;
}
apr_int64_t push_conf_first_message(const push_dir_conf *c)
{
    return c->first_message != PUSH_FIRST_UNSET ? c->first_message
                                                : PUSH_FIRST_OLDEST;
}
const apr_array_header_t *push_conf_allow_origins(const push_dir_conf *c)
{
    return c->allow_origins;
}
apr_size_t push_conf_max_channel_id(const push_dir_conf *c)
{
    return c->max_channel_id > 0 ? (apr_size_t)c->max_channel_id
                                 : PUSH_CHANNEL_ID_MAX;
}

apr_int64_t push_conf_max_channel_subscribers(const push_dir_conf *c)
{
    return c->max_channel_subscribers > 0 ? c->max_channel_subscribers : 0;
}

const char *push_conf_es_event(const push_dir_conf *c, apr_uint32_t *tag)
{
    if (tag) {
        *tag = c->es_event_tag;
    }
    return c->es_event;
}

const char *push_conf_es_ping(const push_dir_conf *c, const char **data)
{
    *data = c->es_ping_data;
    return c->es_ping_event && *c->es_ping_event ? c->es_ping_event : NULL;
}

const char *push_conf_raw_separator(const push_dir_conf *c, apr_uint32_t *tag)
{
    if (tag) {
        *tag = c->raw_separator ? c->raw_tag : 0;
    }
    return c->raw_separator ? c->raw_separator : "\n";
}

int push_conf_info_text(const push_dir_conf *c)
{
    return c->info_text == 1;
}

int push_conf_existing_only(const push_dir_conf *c)
{
    return c->existing_only == 1;
}

int push_conf_longpoll_multipart(const push_dir_conf *c)
{
    return c->lp_multi > 0 ? c->lp_multi : PUSH_LP_ONE;
}

int push_conf_x_accel(const push_dir_conf *c)
{
    return c->x_accel == 1;
}

const char *push_conf_ws_heartbeat(const push_dir_conf *c, const char **out)
{
    *out = c->hb_out;
    return c->hb_in;
}

int push_conf_ws_deflate(const push_dir_conf *c)
{
    return c->ws_deflate != 0;
}
const char *push_conf_store(const server_rec *s)
{
    const push_server_conf *sc = server_conf(s);

    return sc->store ? sc->store : "shm";
}
apr_size_t push_conf_shm_size(const server_rec *s)
{
    const push_server_conf *sc = server_conf(s);

    return sc->shm_size ? sc->shm_size : PUSH_DEFAULT_SHM_SIZE;
}
int push_conf_max_channels(const server_rec *s)
{
    return server_conf(s)->max_channels;
}

int push_conf_subscribers_per_child(const server_rec *s)
{
    const push_server_conf *sc = server_conf(s);

    return sc->subscribers_per_child > 0 ? sc->subscribers_per_child : 0;
}

/* ------------------------------------------------------------------ */
/* Directives                                                           */


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
    if (argc < 1 || argc > PUSH_MUX_MAX) {
        return apr_psprintf(cmd->pool, "%s: expects 1 to %d string "
                            "expressions, one for each channel",
                            cmd->cmd->name, PUSH_MUX_MAX);
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
