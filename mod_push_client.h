/* mod_push_client.h — the push-client handler (mod_push_client.c). */
#ifndef MOD_PUSH_CLIENT_H
#define MOD_PUSH_CLIENT_H

#include "apr_pools.h"

void push_client_register_hooks(apr_pool_t *p);

#endif
