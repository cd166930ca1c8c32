/* mod_push_config.c — the configuration's records: their making, their
 * merges and their accessors (the directives that fill them are
 * mod_push_directives.c's).
 *
 * Every unset value is a sentinel (-1, NULL, 0 or PUSH_FIRST_UNSET) that
 * a merge carries through, so a grandchild section inherits from the
 * nearest section that set it; the accessors turn what is left unset into
 * the documented default, in one place. */
#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"

#include "mod_push.h"
#include "mod_push_config.h"
#include "mod_push_config_rec.h"
#include "mod_push_transport.h"

void *push_config_create_server(apr_pool_t *p, server_rec *s)
{
    push_server_conf *conf = apr_pcalloc(p, sizeof(*conf));

    (void)s;
    conf->subscribers_per_child = -1;
    conf->redis_tls_verify = -1;
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
    conf->redis = add->redis ? add->redis : base->redis;
    conf->redis_n = add->redis ? add->redis_n : base->redis_n;
    conf->redis_timeout_ms = add->redis_timeout_ms ? add->redis_timeout_ms
                                                   : base->redis_timeout_ms;
    conf->redis_prefix = add->redis_prefix ? add->redis_prefix
                                           : base->redis_prefix;
#define MERGE_TLS(f) conf->f = add->f ? add->f : base->f
    MERGE_TLS(redis_tls_ca_file);
    MERGE_TLS(redis_tls_ca_path);
    MERGE_TLS(redis_tls_cert_file);
    MERGE_TLS(redis_tls_key_file);
    MERGE_TLS(redis_tls_server_name);
#undef MERGE_TLS
    conf->redis_tls_verify = add->redis_tls_verify != -1
                             ? add->redis_tls_verify : base->redis_tls_verify;
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

const struct push_redis_url_s *push_conf_redis(const server_rec *s)
{
    return server_conf(s)->redis;
}

unsigned push_conf_redis_seeds(const server_rec *s,
                               const struct push_redis_url_s **urls)
{
    *urls = server_conf(s)->redis;
    return server_conf(s)->redis_n;
}

int push_conf_redis_timeout_ms(const server_rec *s)
{
    const push_server_conf *sc = server_conf(s);

    return sc->redis_timeout_ms ? sc->redis_timeout_ms
                                : PUSH_DEFAULT_REDIS_TIMEOUT_MS;
}

void push_conf_redis_tls(const server_rec *s, push_redis_tls_conf_t *tls)
{
    const push_server_conf *sc = server_conf(s);

    tls->ca_file = sc->redis_tls_ca_file;
    tls->ca_path = sc->redis_tls_ca_path;
    tls->cert_file = sc->redis_tls_cert_file;
    tls->key_file = sc->redis_tls_key_file;
    tls->server_name = sc->redis_tls_server_name;
    tls->verify = sc->redis_tls_verify != 0;
}

int push_conf_redis_tls_given(const server_rec *s)
{
    const push_server_conf *sc = server_conf(s);

    return sc->redis_tls_ca_file || sc->redis_tls_ca_path
           || sc->redis_tls_cert_file || sc->redis_tls_key_file
           || sc->redis_tls_server_name || sc->redis_tls_verify != -1;
}

const char *push_conf_redis_prefix(const server_rec *s)
{
    const push_server_conf *sc = server_conf(s);

    return sc->redis_prefix ? sc->redis_prefix : "push:";
}

int push_conf_subscribers_per_child(const server_rec *s)
{
    const push_server_conf *sc = server_conf(s);

    return sc->subscribers_per_child > 0 ? sc->subscribers_per_child : 0;
}
