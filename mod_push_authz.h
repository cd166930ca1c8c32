/* mod_push_authz.h — PushAuthorizeRequest (mod_push_authz.c). */
#ifndef MOD_PUSH_AUTHZ_H
#define MOD_PUSH_AUTHZ_H

#include "httpd.h"

#include "mod_push_config.h"

/* Asks the location's PushAuthorizeRequest URL whether r may subscribe
 * to or publish on channel (role "subscriber" or "publisher").  OK when
 * it may (or no URL is set); otherwise the answer was given to the
 * client (the authorizer's, as it was) and the handler returns OK. */
int push_authorize(request_rec *r, const push_dir_conf *conf,
                   const char *channel, const char *role);

void push_authz_register_hooks(apr_pool_t *p);

#endif
