/* mod_push_store.c — the store's life in httpd: the engine PushStore names
 * is opened by the parent at each (re)start, keeping its data across
 * graceful restarts, and each child then starts what its subscribers
 * share (push_env_t): one notifier thread following the engine's wake
 * source, one cache of encoded messages, and the server-wide counters. */
#include <errno.h>

#include "apr_atomic.h"
#include "apr_shm.h"
#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "ap_mpm.h"
#include "ap_provider.h"

#include "mod_push.h"
#include "mod_push_config.h"
#include "mod_push_events.h"
#include "mod_push_http.h"
#include "mod_push_store.h"
#include "store/push_store_shm.h"

APLOG_USE_MODULE(push);

#define PUSH_COUNTERS_KEY "mod_push_counters"

static push_store_t                 store;       /* engine NULL: none */
static const push_store_provider_t *provider;
static push_counters_t             *counters;
static push_env_t                   env;         /* this child's */
static int                          env_ready;
static volatile apr_uint32_t        child_stopping;

const push_env_t *push_env(void)
{
    return env_ready ? &env : NULL;
}

const push_store_t *push_store(void)
{
    return store.engine ? &store : NULL;
}

void *push_pool_copy(void *pool, const push_msgid_t *id, apr_size_t size)
{
    (void)id;
    return apr_palloc(pool, size);
}

/* ------------------------------------------------------------------ */
/* Shared memory kept across restarts                                   */

/* A segment hangs off the process pool, which outlives pconf: a graceful
 * restart re-runs post_config with it (and what it holds) intact. */
void *push_segment_kept(server_rec *s, const char *key, apr_size_t *size)
{
    apr_shm_t *shm = NULL;

    apr_pool_userdata_get((void **)&shm, key, s->process->pool);
    if (!shm) {
        return NULL;
    }
    *size = apr_shm_size_get(shm);
    return apr_shm_baseaddr_get(shm);
}

void *push_segment_create(server_rec *s, const char *key, apr_size_t size)
{
    apr_pool_t *proc_pool = s->process->pool;
    apr_shm_t *shm = NULL;
    apr_status_t rv = apr_shm_create(&shm, size, NULL, proc_pool);

    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "cannot create %"
                     APR_SIZE_T_FMT " bytes of anonymous shared memory (%s)",
                     size, key);
        return NULL;
    }
    /* No cleanup of ours: the process pool outlives this DSO (it is
     * unloaded with pconf), and apr_shm_create already registered APR's
     * own cleanup to unmap the segment at exit.  A segment this replaces
     * stays mapped until then: old children may still use it. */
    apr_pool_userdata_set(shm, key, apr_pool_cleanup_null, proc_pool);
    return apr_shm_baseaddr_get(shm);
}

/* ------------------------------------------------------------------ */
/* Lifecycle                                                            */

int push_store_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp, server_rec *s)
{
    const char *name = push_conf_store(s);
    apr_size_t size = 0;
    void *mem;
    int rv;

    (void)plog; (void)ptemp;
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    store.engine = NULL;
    provider = ap_lookup_provider(PUSH_STORE_PROVIDER_GROUP, name, "0");
    if (!provider) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "PushStore: no store "
                     "engine '%s'", name);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if ((rv = provider->open(&store, s, pconf)) != OK) {
        store.engine = NULL;
        return rv;
    }
    mem = push_segment_kept(s, PUSH_COUNTERS_KEY, &size);
    if (!(counters = push_counters_attach(mem, size))) {
        mem = push_segment_create(s, PUSH_COUNTERS_KEY,
                                  sizeof(push_counters_t));
        /* Without it nothing is counted; subscribers still work. */
        counters = push_counters_attach(mem, sizeof(push_counters_t));
    }
    if (counters) {
        /* Each limit is said again after a (re)start. */
        __atomic_store_n(&counters->warned, 0, __ATOMIC_RELAXED);
    }
    return OK;
}

int push_stopping(void)
{
    int state = AP_MPMQ_RUNNING;

    if (apr_atomic_read32(&child_stopping)) {
        return 1;
    }
    ap_mpm_query(AP_MPMQ_MPM_STATE, &state);
    return state == AP_MPMQ_STOPPING;
}

void push_limit_warn(request_rec *r, unsigned limit, const char *what)
{
    int first = push_counters_first(counters, limit);

    ap_log_rerror(APLOG_MARK, first ? APLOG_WARNING : APLOG_DEBUG, 0, r,
                  "%s%s", what, first ? " (said once until the server "
                  "restarts; later ones at debug)" : "");
}

int push_reply_no_channel(request_rec *r, const char *channel)
{
    if (strlen(channel) > PUSH_SHM_ID_INLINE) {
        push_limit_warn(r, PUSH_LIMIT_CHANNELS, "the push store holds as "
                        "many channels with ids over "
                        APR_STRINGIFY(PUSH_SHM_ID_INLINE) " bytes as it may "
                        "(one for every eighth channel slot: "
                        "PushSharedMemorySize); new ones are refused");
        return push_reply_text(r, HTTP_INSUFFICIENT_STORAGE, "The push "
                               "store holds as many channels with ids over "
                               APR_STRINGIFY(PUSH_SHM_ID_INLINE) " bytes as "
                               "it may, all with messages or subscribers "
                               "(PushSharedMemorySize).");
    }
    push_limit_warn(r, PUSH_LIMIT_CHANNELS, "the push store holds as many "
                    "channels as it may (PushMaxChannels, "
                    "PushSharedMemorySize); new ones are refused");
    return push_reply_text(r, HTTP_INSUFFICIENT_STORAGE, "The push store "
                           "holds as many channels as it may, all with "
                           "messages or subscribers (PushMaxChannels, "
                           "PushSharedMemorySize).");
}

/* A subscriber was told it missed messages: which channel, for whoever
 * reads the log (it is counted in push-status as subscriber_gaps). */
static void log_gap(const push_sub_t *s, const push_msgid_t *gap_id)
{
    /* A multiplexed subscriber's gap is in the channel the look found. */
    const push_sub_t *m = s->active ? s->more[s->active - 1] : s;
    char id[PUSH_MSGID_MAX_LEN];

    if (!s->r) {
        return;
    }
    push_msgid_format(gap_id, id);
    if (s->live) {
        /* Lost while it was connected: a limit was reached. */
        push_limit_warn(s->r, PUSH_LIMIT_BACKLOG, apr_psprintf(s->r->pool,
                        "%s subscriber on channel %s missed messages up to "
                        "%s while connected: it was more than "
                        "PushSubscriberBacklog behind, or the store ran out "
                        "of room (PushSharedMemorySize); it was told so",
                        s->t->name, m->channel, id));
        return;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, s->r, "%s subscriber on "
                  "channel %s missed messages up to %s (they were gone "
                  "before it came)", s->t->name, m->channel, id);
}

/* A parked stream's client took nothing of what waited for it for
 * Timeout: closed, as httpd closes any write that makes no progress. */
static void log_stalled(const push_sub_t *s, int64_t waited)
{
    if (s->r) {
        push_limit_warn(s->r, PUSH_LIMIT_STALLED, apr_psprintf(s->r->pool,
                        "%s subscriber on channel %s closed: it read "
                        "nothing of what waited for it for %" APR_INT64_T_FMT
                        " s (Timeout); it resumes from its cursor when it "
                        "reconnects", s->t->name, s->channel,
                        (apr_int64_t)(waited / APR_USEC_PER_SEC)));
    }
}

/* The child is exiting (prefork: perhaps from its signal handler): the
 * notifier thread ends before the process tears itself down, so that it
 * never runs in what is being unloaded. */
static apr_status_t notify_quit(void *data)
{
    push_notify_quit(data, 1000);
    return APR_SUCCESS;
}

void push_store_child_init(apr_pool_t *pchild, server_rec *s)
{
    env_ready = 0;
    if (!store.engine) {
        return;
    }
    if (provider->child_init) {
        provider->child_init(&store, pchild, s);
    }
    env.store = store;
    env.counters = counters;
    env.stopping = push_stopping;
    env.gap = log_gap;
    env.stalled = log_stalled;
    env.left = push_event_left;
    env.notify = push_notify_start(&store, push_stopping);
    if (!env.notify) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, errno, s,
                     "cannot start the push notifier thread: subscribers "
                     "in this process will be refused");
        return;
    }
    apr_pool_cleanup_register(pchild, env.notify, notify_quit,
                              apr_pool_cleanup_null);
    /* The most recent encodings: enough for a burst of publishes on a
     * few channels in several variants. */
    env.frames = push_frame_cache_create(64);
    env_ready = 1;
}

/* May run from a signal handler (prefork): only an atomic store. */
void push_store_child_stopping(void)
{
    apr_atomic_set32(&child_stopping, 1);
}

/* May run from a signal handler: a futex wake at most. */
void push_store_wake_everyone(void)
{
    if (store.engine) {
        store.engine->wake_all(store.inst);
    }
}
