/* mod_push_admit.h — admission: how many subscribers this MPM can hold
 * without locking out everything else (mod_push_admit.c). */
#ifndef MOD_PUSH_ADMIT_H
#define MOD_PUSH_ADMIT_H

#include "httpd.h"

/* Reads the MPM's sizing; logs (once, in the parent) what it admits. */
void     push_admit_post_config(apr_pool_t *ptemp, server_rec *s);
void     push_admit_child_init(server_rec *s);

/* A subscriber starts on this thread: 1, or 0 after a 503 with
 * Retry-After when holding it would leave too little for publishers,
 * push-status and ordinary pages. */
int      push_admit_take(request_rec *r);
/* It holds no thread any more: it ended, or it was parked (the stream
 * loop's connections are counted there, push_park_connections). */
void     push_admit_release(void);

/* For push-status: subscribers on this child's threads, and how many
 * subscribers this child admits (parked ones, under the event MPM). */
unsigned push_admit_held(void);
int      push_admit_cap(void);

#endif
