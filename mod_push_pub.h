/* mod_push_pub.h — the publisher handler (mod_push_pub.c). */
#ifndef MOD_PUSH_PUB_H
#define MOD_PUSH_PUB_H

#include "httpd.h"

void push_pub_register_hooks(apr_pool_t *p);

#endif
