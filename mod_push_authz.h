/* mod_push_authz.h — PushAuthorizeRequest (mod_push_authz.c). */
#ifndef MOD_PUSH_AUTHZ_H
#define MOD_PUSH_AUTHZ_H

#include "httpd.h"

#include "mod_push_config.h"

/* The channel a subscriber (publisher 0) or publisher request names
 * (on a push-pubsub location, its side's: push_request_channel), once
 * the location's PushAuthorizeRequest URL, if it has one, allowed r to
 * use it.  NULL when the request was answered instead: a bad channel id,
 * or the authorizer's refusal, as it gave it; the handler returns OK. */
const char *push_authorized_channel(request_rec *r,
                                    const push_dir_conf *conf,
                                    int publisher);

#endif
