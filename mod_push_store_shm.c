/* mod_push_store_shm.c — the "shm" store engine in httpd: one anonymous
 * shared-memory segment of PushSharedMemorySize, made by the parent at
 * the first start and kept, with every buffered message and id, across
 * graceful restarts.  The engine itself is store/push_store_shm.c. */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "ap_provider.h"

#include "apr_time.h"

#include "mod_push.h"
#include "mod_push_config.h"
#include "mod_push_store.h"
#include "store/push_store_shm.h"

APLOG_USE_MODULE(push);

#define PUSH_SHM_KEY "mod_push_shm"

static int shm_open(push_store_t *st, server_rec *s, apr_pool_t *pconf)
{
    apr_size_t want = push_conf_shm_size(s), have = 0;
    void *mem = push_segment_kept(s, PUSH_SHM_KEY, &have);
    push_shm_t *shm = NULL;

    (void)pconf;
    if (mem) {
        shm = push_shm_attach(mem, have);
        if (shm && have != want) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         "PushSharedMemorySize changed from %" APR_SIZE_T_FMT
                         " to %" APR_SIZE_T_FMT " bytes: the store keeps its "
                         "size (and its messages) until a full stop and "
                         "start", have, want);
        }
        if (!shm) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                         "the push store in shared memory was not valid; "
                         "starting a new, empty one");
        }
    }
    if (!shm) {
        if (!(mem = push_segment_create(s, PUSH_SHM_KEY, want))) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        shm = push_shm_format(mem, want, apr_time_sec(apr_time_now()));
        if (!shm) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                         "cannot lay out the push store (robust "
                         "process-shared mutexes unavailable?)");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                     "push store created: %" APR_SIZE_T_FMT " bytes", want);
    }
    /* Set at every start: a restart with another limit applies it to
     * the store it keeps. */
    push_shm_set_max_channels(shm, (uint32_t)push_conf_max_channels(s));
    st->engine = &push_shm_engine;
    st->inst = shm;
    return OK;
}

static const push_store_provider_t shm_provider = {
    "shm", shm_open, NULL
};

void push_store_shm_register(apr_pool_t *p)
{
    ap_register_provider(p, PUSH_STORE_PROVIDER_GROUP, shm_provider.name, "0",
                         &shm_provider);
}
