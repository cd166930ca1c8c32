/* mod_push_store.h — the store engine in httpd: providers chosen by
 * PushStore, the shared memory kept across restarts, and what every
 * process's subscribers share (mod_push_store.c, mod_push_store_shm.c). */
#ifndef MOD_PUSH_STORE_H
#define MOD_PUSH_STORE_H

#include "httpd.h"

#include "core/push_sub.h"
#include "store/push_store.h"

/* A store engine as httpd sees it: registered by name (PushStore), like
 * httpd's socache providers. */
#define PUSH_STORE_PROVIDER_GROUP "push_store"
typedef struct {
    const char *name;
    /* post_config, in the parent: the engine's data for this server,
     * created or kept from the previous generation.  OK, or an HTTP
     * status after logging why. */
    int  (*open)(push_store_t *st, server_rec *s, apr_pool_t *pconf);
    /* child_init: what one process needs (may be NULL). */
    void (*child_init)(push_store_t *st, apr_pool_t *pchild, server_rec *s);
} push_store_provider_t;

void push_store_shm_register(apr_pool_t *p);

/* Shared memory kept across restarts on the process pool: the segment
 * stored under key, or NULL; and a new one stored under it. */
void *push_segment_kept(server_rec *s, const char *key, apr_size_t *size);
void *push_segment_create(server_rec *s, const char *key, apr_size_t size);

int  push_store_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp, server_rec *s);
void push_store_child_init(apr_pool_t *pchild, server_rec *s);
void push_store_child_stopping(void);   /* signal-safe */
void push_store_wake_everyone(void);    /* signal-safe */
/* What this process's subscribers share; NULL without a store. */
const push_env_t *push_env(void);
/* The store alone; NULL without one. */
const push_store_t *push_store(void);
/* 1 when this process is stopping (or the MPM is). */
int  push_stopping(void);

/* A limit (PUSH_LIMIT_*) was reached: said at warn once per server start
 * (the server-wide counters remember it; later ones at debug), so a full
 * server does not flood its log. */
void push_limit_warn(request_rec *r, unsigned limit, const char *what);

/* The store had no room for a new channel (PUSH_NO_CHANNEL_SLOT): said
 * in the log (push_limit_warn) and answered 507 with the reason, which
 * names the long-id table for an id over what a slot holds. */
int  push_reply_no_channel(request_rec *r, const char *channel);

/* Copies handed out by a look, in a pool (push_copy_fn). */
void *push_pool_copy(void *pool, const push_msgid_t *id, apr_size_t size);

#endif
