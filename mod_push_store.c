/* mod_push_store.c — the shared-memory store's life in httpd: created
 * by the parent at the first start, kept across graceful restarts, and
 * followed in each child by one notifier thread (wake-ups) and one cache
 * of encoded messages. */
#include <errno.h>

#include "apr_atomic.h"
#include "apr_shm.h"

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "ap_mpm.h"

#include "mod_push.h"
#include "mod_push_config.h"

APLOG_USE_MODULE(push);

#define PUSH_SHM_USERDATA_KEY "mod_push_shm"

static push_store_t       *push_store;      /* this process's view */
static push_notify_t      *push_notifier;   /* this child's fan-out thread */
static push_frame_cache_t *push_frames;     /* this child's encodings */
static volatile apr_uint32_t child_stopping;

push_store_t *push_get_store(void)
{
    return push_store;
}

push_notify_t *push_get_notifier(void)
{
    return push_notifier;
}

push_frame_cache_t *push_get_frames(void)
{
    return push_frames;
}

/* The segment hangs off the process pool, which outlives pconf: a
 * graceful restart re-runs post_config with the store (and every
 * buffered message and id) intact. */
/* The segment hangs off the process pool, which outlives pconf: a
 * graceful restart re-runs post_config with the store (and every
 * buffered message and id) intact. */
int push_store_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp, server_rec *s)
{
    apr_pool_t *proc_pool = s->process->pool;
    apr_size_t want = push_conf_shm_size(s);
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

int push_stopping(void)
{
    int state = AP_MPMQ_RUNNING;

    if (apr_atomic_read32(&child_stopping)) {
        return 1;
    }
    ap_mpm_query(AP_MPMQ_MPM_STATE, &state);
    return state == AP_MPMQ_STOPPING;
}

void push_store_child_init(apr_pool_t *pchild, server_rec *s)
{
    (void)pchild;
    if (!push_store) {
        return;
    }
    push_notifier = push_notify_start(push_store, push_stopping);
    if (!push_notifier) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, errno, s,
                     "cannot start the push notifier thread: subscribers "
                     "in this process will be refused");
    }
    /* The most recent encodings: enough for a burst of publishes on a
     * few channels in several variants. */
    push_frames = push_frame_cache_create(64);
}

/* May run from a signal handler (prefork): only an atomic store and a
 * futex wake, no locks. */
void push_store_child_stopping(void)
{
    apr_atomic_set32(&child_stopping, 1);
}

void push_store_wake_everyone(void)
{
    if (push_store) {
        push_store_wake_all(push_store);
    }
}
