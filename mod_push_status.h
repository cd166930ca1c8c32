/* mod_push_status.h — push-status, push-stub-status and the mod_status
 * section (mod_push_status.c). */
#ifndef MOD_PUSH_STATUS_H
#define MOD_PUSH_STATUS_H

#include "apr_pools.h"

void push_status_register_hooks(apr_pool_t *p);

#endif
