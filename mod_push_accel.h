/* mod_push_accel.h — PushXAccelRedirect (mod_push_accel.c): the
 * application hands a client over to a push location with the
 * X-Accel-Redirect header, as nginx's users' applications do. */
#ifndef MOD_PUSH_ACCEL_H
#define MOD_PUSH_ACCEL_H

#include "httpd.h"

/* 1 when r is the target of an X-Accel-Redirect whose handler (ours)
 * returns what r's handler returns: r may answer SUSPENDED (be parked).
 * Only a first redirect qualifies: ap_internal_redirect ends the
 * request it made, and only our handler, one level up, hands SUSPENDED
 * on to the MPM. */
int  push_accel_may_suspend(const request_rec *r);

/* r, such a target, was parked: the handler that redirected to it
 * answers SUSPENDED.  Its output filters are hidden from
 * ap_internal_redirect's ap_die (which would answer 500 for a status it
 * does not know) until push_accel_restore, once the MPM let go. */
void push_accel_suspended(request_rec *r);
void push_accel_restore(request_rec *r);

/* The client's request body as the redirecting handler kept it (the
 * application got a copy): 1 with *rv OK and *buf, *len set, or *rv 413
 * when it was longer than `max`; 0 when r was not handed over with a
 * body (read it from the client). */
int  push_accel_kept_body(request_rec *r, apr_off_t max, char **buf,
                          apr_size_t *len, int *rv);

/* The first request of r's internal redirects (r itself when none). */
request_rec *push_accel_first(request_rec *r);

void push_accel_register_hooks(apr_pool_t *p);

#endif
