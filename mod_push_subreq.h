/* mod_push_subreq.h — the subrequests mod_push makes to a local URL on a
 * client's behalf (mod_push_subreq.c): GETs for PushAuthorizeRequest,
 * PushSubscribeRequest and PushUnsubscribeRequest, a POST with the
 * message for PushPublisherUpstreamRequest. */
#ifndef MOD_PUSH_SUBREQ_H
#define MOD_PUSH_SUBREQ_H

#include "httpd.h"
#include "ap_expr.h"

/* Where the answer's body goes: up to cap bytes into body (cap 0: it is
 * dropped; body NULL with a pool: grown there as it comes, up to cap).
 * over is set when the answer had more than cap bytes.  Never to the
 * client. */
typedef struct {
    char       *body;
    apr_size_t  len;
    apr_size_t  cap;
    apr_pool_t *pool;
    apr_size_t  room;
    int         over;
} push_subreq_body_t;

/* The URL expr gives for r: a local path, or NULL after logging why
 * (directive names the setting, channel what it was for, as the log
 * shows it: push_channel_shown for a set). */
const char *push_subreq_url(request_rec *r, const ap_expr_info_t *expr,
                            const char *directive, const char *channel);

/* A GET subrequest of r to url: the client's headers and cookies (no
 * body, no upgrade), one X-Push-Channel-Id for each of ids[0..n),
 * X-Original-URI and X-Original-Method.  Its answer's body goes to
 * `body`; the caller adds its own headers, runs it (push_subreq_run) and
 * destroys it (ap_destroy_sub_req). */
request_rec *push_subreq_new(request_rec *r, const char *url,
                             const char *const *ids, unsigned n,
                             push_subreq_body_t *body);

/* The same as a POST with body[0..len) of Content-Type type (NULL:
 * none), which mod_proxy passes on (a subrequest's body is the kept
 * body httpd has for it). */
request_rec *push_subreq_post(request_rec *r, const char *url,
                              const char *const *ids, unsigned n,
                              const char *body, apr_size_t len,
                              const char *type, push_subreq_body_t *answer);

/* Runs it; the status it answered with. */
int push_subreq_run(request_rec *sub);

/* A request body given again to whoever reads r (a POST subrequest's;
 * the body an X-Accel-Redirect hand-over kept): data[given..len), then
 * the end when it is complete, else what the filters below still give. */
typedef struct {
    const char *data;
    apr_size_t  len;
    apr_size_t  given;
    int         complete;
} push_body_replay_t;
void push_body_replay(request_rec *r, push_body_replay_t *b);

void push_subreq_register_hooks(apr_pool_t *p);

#endif
