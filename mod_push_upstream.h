/* mod_push_upstream.h — PushPublisherUpstreamRequest
 * (mod_push_upstream.c). */
#ifndef MOD_PUSH_UPSTREAM_H
#define MOD_PUSH_UPSTREAM_H

#include "httpd.h"

#include "mod_push_config.h"

/* PushPublisherUpstreamRequest, as nchan's
 * nchan_publisher_upstream_request.  Its URL for r (NULL where it is not
 * set, or with *failed after logging why it gives none). */
const char *push_pub_upstream_url(request_rec *r, const push_dir_conf *conf,
                                  const char *channel, int *failed);
/* The message (*body, *len, *type; type may be NULL) is POSTed to url
 * with the channels ids[0..n), and the answer decides.  OK: publish what
 * *body, *len, *type now say (the answer's body and type for a 200, 201
 * or 202, in p; the message as it came for a 304).  Else a status not to
 * publish, with *why the reason (in p): 204 (the application dropped
 * it), 403 (it refused it), 413 (its message is over
 * PushMaxMessageSize), 502 (it could not be asked).  publisher_type
 * names the publisher to the application (http, websocket). */
int push_pub_upstream(request_rec *r, apr_pool_t *p, const char *url,
                      const char *const *ids, unsigned n,
                      const char *publisher_type, const char **body,
                      apr_size_t *len, const char **type, const char **why);

#endif
