/* mod_push_redis.c — PushRedis in httpd (see mod_push_redis.h).
 *
 * The bridge (redis/push_bridge.c) runs in a process of its own, forked
 * by the parent once the store is open, as mod_cgid runs its daemon: it
 * works under every MPM, survives child recycling, and is one Redis
 * pub/sub connection per server however many children there are.  The
 * parent starts it again when it dies, and stops it (SIGTERM) when its
 * configuration goes, at a restart; the next generation starts its own.
 *
 * Children talk to Redis on their own, one route per thread that needs
 * one (push_redis_route.h: a connection per Redis node, made when first
 * needed, made again when it broke): a
 * publish is a script call, a subscribe a read of what the copy lacks.
 * Every call is bounded by PushRedisTimeout. */
#include <signal.h>
#include <unistd.h>

#include "apr_strings.h"
#include "apr_signal.h"
#include "apr_thread_proc.h"

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "ap_mpm.h"
#include "mpm_common.h"

#include "mod_push.h"
#include "mod_push_config.h"
#include "mod_push_redis.h"
#include "mod_push_store.h"
#include "redis/push_bridge.h"
#include "redis/push_mirror.h"
#include "redis/push_redis_chan.h"
#include "redis/push_redis_conn.h"
#include "redis/push_redis_count.h"
#include "redis/push_redis_route.h"
#include "redis/push_redis_tls.h"

APLOG_USE_MODULE(push);

int push_redis_on(const server_rec *s)
{
    return push_conf_redis(s) != NULL;
}

/* ------------------------------------------------------------------ */
/* The bridge process                                                   */

static server_rec  *bridge_server;
static apr_pool_t  *bridge_pool;
static volatile sig_atomic_t bridge_stop;

/* This server's name among those sharing the Redis, in the subscriber
 * counts (push_redis_count.h): its host and the pid of httpd's parent
 * process, which a graceful restart keeps (so the next generation's
 * bridge takes over the counts).  Set in the parent before any child
 * or bridge is forked, which inherit it. */
static char server_name[APRMAXHOSTLEN + 24];

static void bridge_log(void *ctx, int level, const char *msg)
{
    static const int levels[] = { APLOG_ERR, APLOG_WARNING, APLOG_INFO,
                                  APLOG_DEBUG };

    ap_log_error(APLOG_MARK, levels[level < 0 || level > 3 ? 3 : level], 0,
                 (server_rec *)ctx, "Redis bridge: %s", msg);
}

static void bridge_on_signal(int sig)
{
    (void)sig;
    bridge_stop = 1;
}

static void bridge_main(server_rec *s, apr_pool_t *p, pid_t parent)
{
    const push_store_t *store = push_store();
    const push_redis_url_t *seeds;
    unsigned nseeds;
    push_bridge_t *b;

    apr_signal(SIGTERM, bridge_on_signal);
    apr_signal(SIGINT, bridge_on_signal);
    apr_signal(SIGHUP, SIG_IGN);
    apr_signal(SIGUSR1, SIG_IGN);
    apr_signal(SIGWINCH, SIG_IGN);
    apr_signal(SIGPIPE, SIG_IGN);
    apr_signal(SIGCHLD, SIG_DFL);
    if (ap_run_drop_privileges(p, s) != 0) {
        ap_log_error(APLOG_MARK, APLOG_ALERT, 0, s, "Redis bridge: cannot "
                     "drop privileges; not started");
        exit(1);
    }
    nseeds = push_conf_redis_seeds(s, &seeds);
    b = store ? push_bridge_create(store, seeds, nseeds,
                                   push_conf_redis_prefix(s), server_name,
                                   push_conf_redis_timeout_ms(s), bridge_log,
                                   s)
              : NULL;
    if (!b) {
        ap_log_error(APLOG_MARK, APLOG_ALERT, 0, s, "Redis bridge: no store "
                     "or no memory; not started");
        exit(1);
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "Redis bridge (pid %ld) "
                 "following this server's channels in %s:%d",
                 (long)getpid(), push_conf_redis(s)->host,
                 push_conf_redis(s)->port);
    /* Until told to stop, or the parent is gone (killed -9). */
    while (!bridge_stop && getppid() == parent) {
        push_bridge_step(b, 500);
    }
    if (bridge_stop) {
        /* Stopped or restarted: this server's subscribers are gone or
         * about to be counted by the next bridge. */
        push_bridge_leave(b);
    }
    push_bridge_destroy(b);
    exit(0);
}

static int bridge_start(apr_pool_t *p, server_rec *s, apr_proc_t *proc);

static void bridge_maint(int reason, void *data, apr_wait_t status)
{
    apr_proc_t *proc = data;
    int state;

    switch (reason) {
    case APR_OC_REASON_DEATH:
        apr_proc_other_child_unregister(data);
        if (ap_mpm_query(AP_MPMQ_MPM_STATE, &state) == APR_SUCCESS
            && state != AP_MPMQ_STOPPING) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, bridge_server, "Redis "
                         "bridge process %ld ended (status %d); starting "
                         "another", (long)proc->pid, (int)status);
            bridge_start(bridge_pool, bridge_server, proc);
        }
        break;
    case APR_OC_REASON_LOST:
        apr_proc_other_child_unregister(data);
        bridge_start(bridge_pool, bridge_server, proc);
        break;
    case APR_OC_REASON_RESTART:
        apr_proc_other_child_unregister(data);
        break;
    case APR_OC_REASON_UNREGISTER:
        /* Said by the unregistering itself (and when the configuration
         * goes, which also stops the process): nothing more to do. */
        break;
    default:
        break;
    }
}

static int bridge_start(apr_pool_t *p, server_rec *s, apr_proc_t *proc)
{
    pid_t parent = getpid(), pid = fork();

    if (pid < 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, errno, s, "cannot start the "
                     "Redis bridge process");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (pid == 0) {
        bridge_main(s, p, parent);
    }
    proc->pid = pid;
    proc->in = proc->out = proc->err = NULL;
    /* Stopped (SIGTERM, then SIGKILL after 3 s) with this configuration. */
    apr_pool_note_subprocess(p, proc, APR_KILL_AFTER_TIMEOUT);
    apr_proc_other_child_register(proc, bridge_maint, proc, NULL, p);
    return OK;
}

static apr_status_t tls_free(void *t)
{
    push_redis_tls_free(t);
    return APR_SUCCESS;
}

int push_redis_check_config(apr_pool_t *pconf, server_rec *s)
{
    const push_redis_url_t *seeds;
    unsigned n = push_conf_redis_seeds(s, &seeds), i;
    push_redis_tls_conf_t conf;
    push_redis_tls_t *t;
    char err[512];

    if (!n || !seeds[0].tls) {
        if (push_conf_redis_tls_given(s)) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "PushRedisTLS* "
                         "directives are given, but no PushRedis URL is "
                         "rediss:// (TLS)");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        return OK;
    }
    push_conf_redis_tls(s, &conf);
    if (!(t = push_redis_tls_create(&conf, err, sizeof(err)))) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "PushRedis: TLS to "
                     "Redis: %s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_pool_cleanup_register(pconf, t, tls_free, apr_pool_cleanup_null);
    /* Every copy of a seed (a thread's route, a cluster node's URL, the
     * bridge's) takes the context with it. */
    for (i = 0; i < n; i++) {
        ((push_redis_url_t *)seeds)[i].tls_ctx = t;
    }
    if (!conf.verify) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "PushRedisTLSVerify "
                     "Off: any certificate a Redis server shows is taken "
                     "(the connection is encrypted, but to whom is not "
                     "known)");
    }
    return OK;
}

int push_redis_post_config(apr_pool_t *pconf, server_rec *s)
{
    apr_proc_t *proc;

    if (!push_redis_on(s) || !push_store()
        || ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    bridge_server = s;
    bridge_pool = pconf;
    if (!server_name[0]) {
        char host[APRMAXHOSTLEN + 1];

        if (apr_gethostname(host, sizeof(host), pconf) != APR_SUCCESS) {
            apr_cpystrn(host, "localhost", sizeof(host));
        }
        apr_snprintf(server_name, sizeof(server_name), "%s:%ld", host,
                     (long)getpid());
    }
    proc = apr_pcalloc(pconf, sizeof(*proc));
    return bridge_start(pconf, s, proc);
}

/* ------------------------------------------------------------------ */
/* A child's own connections                                            */

/* One route per thread (a connection per Redis node it needs): a
 * connection is not thread-safe, and a thread that publishes once
 * usually publishes again. */
static __thread push_redis_route_t *thread_route;

static push_redis_route_t *route(request_rec *r)
{
    if (!thread_route) {
        const push_redis_url_t *seeds;
        unsigned n = push_conf_redis_seeds(r->server, &seeds);

        thread_route = push_redis_route_create(seeds, n,
                                               push_conf_redis_timeout_ms(
                                                   r->server));
    }
    return thread_route;
}

/* Runs op on channel's Redis node; 0, or -1 with the reason in err. */
static int on_channel(request_rec *r, const push_redis_keys_t *k,
                      push_redis_op_fn op, void *arg, char *err,
                      size_t errlen)
{
    push_redis_route_t *rt = route(r);

    if (!rt) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return push_redis_route_do(rt, k->meta, k->meta_len, op, arg, err,
                               errlen);
}

typedef struct {
    const push_redis_keys_t *k;
    const push_msgid_t      *floor;
    const push_redis_msg_t  *m;
    const push_limits_t     *limits;
    int                      timeout_ms;
    push_redis_published_t  *p;
} publish_arg;

static int publish_op(push_redis_conn_t *c, void *arg, char *err,
                      size_t errlen)
{
    publish_arg *a = arg;

    return push_redis_publish(c, a->k, server_name, a->floor, a->m,
                              a->limits->buffer_length, a->limits->timeout,
                              a->timeout_ms, a->p, err, errlen);
}

push_status_e push_redis_publish_to(request_rec *r, const char *channel,
                                    const push_message_t *msg,
                                    const push_limits_t *limits,
                                    push_msgid_t *id,
                                    push_channel_info_t *info)
{
    const push_store_t *store = push_store();
    push_redis_keys_t k;
    push_redis_msg_t m;
    push_redis_published_t p;
    push_channel_info_t mine;
    publish_arg a;
    size_t len = strlen(channel);
    int64_t now = apr_time_sec(apr_time_now());
    char err[200];
    int rc;

    /* The floor: Redis gives an id after the last this copy has, even if
     * it lost the channel meanwhile (push_redis_chan.h). */
    if (push_store_info(store, channel, len, now, &mine) != PUSH_OK) {
        memset(&mine, 0, sizeof(mine));
    }
    if (push_redis_keys(&k, push_conf_redis_prefix(r->server), channel,
                        len) != 0) {
        return PUSH_BAD_ARG;
    }
    memset(&m, 0, sizeof(m));
    m.body = msg->body;
    m.body_len = msg->body_len;
    m.content_type = msg->content_type;
    m.content_type_len = msg->content_type_len;
    m.event = msg->event;
    m.event_len = msg->event_len;
    a.k = &k;
    a.floor = &mine.last_id;
    a.m = &m;
    a.limits = limits;
    a.timeout_ms = push_conf_redis_timeout_ms(r->server);
    a.p = &p;
    rc = on_channel(r, &k, publish_op, &a, err, sizeof(err));
    push_redis_keys_free(&k);
    if (rc != 0) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "publish to %s: "
                      "Redis (PushRedis) did not take it: %s", channel, err);
        return PUSH_UNAVAILABLE;
    }
    *id = p.id;
    /* Into this server's copy at once when it follows on from what the
     * copy has; else the bridge brings it, in order. */
    if (push_mirror_apply(store, channel, len, &p, &m, now, info) != 0) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "publish to %s: "
                      "this server's copy lacks the message before it; "
                      "the bridge brings both", channel);
        if (push_store_info(store, channel, len, now, info) != PUSH_OK) {
            memset(info, 0, sizeof(*info));
            info->last_id = p.id;
        }
    }
    info->subscribers += (apr_uint32_t)p.others;
    return PUSH_OK;
}

typedef struct {
    const char *prefix, *channel;
    int         timeout_ms;
} sync_arg;

static int sync_op(push_redis_conn_t *c, void *arg, char *err,
                   size_t errlen)
{
    sync_arg *a = arg;

    return push_mirror_catch_up(push_store(), c, a->prefix, a->channel,
                                strlen(a->channel),
                                apr_time_sec(apr_time_now()), a->timeout_ms,
                                err, errlen);
}

void push_redis_sync(request_rec *r, const char *channel)
{
    sync_arg a = { push_conf_redis_prefix(r->server), channel,
                   push_conf_redis_timeout_ms(r->server) };
    push_redis_keys_t k;
    char err[200];
    int rc;

    /* The bridge follows the channel and keeps the copy current: no
     * round trip to Redis for each subscriber (a long poll is one at
     * every message). */
    if (push_store_mirrored(push_store(), channel, strlen(channel),
                            push_redis_now_ms())) {
        return;
    }
    if (push_redis_keys(&k, a.prefix, channel, strlen(channel)) != 0) {
        return;
    }
    rc = on_channel(r, &k, sync_op, &a, err, sizeof(err));
    push_redis_keys_free(&k);
    if (rc < 0) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "subscribe to %s: "
                      "this server's copy not brought up to Redis "
                      "(PushRedis): %s; it catches up when Redis is back",
                      channel, err);
    }
}

typedef struct {
    const push_redis_keys_t *k;
    int                      timeout_ms;
    long long                n;
} count_arg;

static int count_op(push_redis_conn_t *c, void *arg, char *err,
                    size_t errlen)
{
    count_arg *a = arg;

    return push_redis_count_others(c, a->k->count, a->k->count_len,
                                   server_name, apr_time_sec(apr_time_now()),
                                   a->timeout_ms, &a->n, err, errlen);
}

apr_uint32_t push_redis_subscribers_elsewhere(request_rec *r,
                                             const char *channel)
{
    push_redis_keys_t k;
    count_arg a;
    char err[200];

    if (push_redis_keys(&k, push_conf_redis_prefix(r->server), channel,
                        strlen(channel)) != 0) {
        return 0;
    }
    a.k = &k;
    a.timeout_ms = push_conf_redis_timeout_ms(r->server);
    a.n = 0;
    if (on_channel(r, &k, count_op, &a, err, sizeof(err)) != 0) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "channel info of %s: "
                      "the other servers' subscribers not counted "
                      "(PushRedis): %s", channel, err);
        a.n = 0;
    }
    push_redis_keys_free(&k);
    return (apr_uint32_t)a.n;
}

static int delete_op(push_redis_conn_t *c, void *arg, char *err,
                     size_t errlen)
{
    count_arg *a = arg;

    return push_redis_delete(c, a->k, a->timeout_ms, &a->n, err, errlen);
}

push_status_e push_redis_delete_to(request_rec *r, const char *channel,
                                   long long *had)
{
    push_redis_keys_t k;
    count_arg a;
    char err[200];
    int rc;

    if (push_redis_keys(&k, push_conf_redis_prefix(r->server), channel,
                        strlen(channel)) != 0) {
        return PUSH_BAD_ARG;
    }
    a.k = &k;
    a.timeout_ms = push_conf_redis_timeout_ms(r->server);
    a.n = 0;
    rc = on_channel(r, &k, delete_op, &a, err, sizeof(err));
    push_redis_keys_free(&k);
    if (rc != 0) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "delete of %s: Redis "
                      "(PushRedis) did not take it: %s", channel, err);
        return PUSH_UNAVAILABLE;
    }
    *had = a.n;
    return PUSH_OK;
}
