/* mod_push_conn.h — connections held by the stream loop: handed over
 * (mod_push_park.c) and served there (mod_push_conn.c). */
#ifndef MOD_PUSH_CONN_H
#define MOD_PUSH_CONN_H

#include "httpd.h"

#include "core/push_sub.h"

void     push_conn_register_hooks(apr_pool_t *p);
void     push_conn_child_init(apr_pool_t *pchild, server_rec *s);
void     push_conn_stopping(int graceful);      /* signal-safe */
/* Whether this request's connection could be parked at all. */
int      push_park_possible(request_rec *r);
/* Hands a stream to the loop (the record takes a copy of *s): 1 when the
 * handler must return SUSPENDED and not touch r again. */
int      push_park_stream(request_rec *r, const push_sub_t *s, int chunked,
                          apr_interval_time_t ping_every);
/* A long poll with nothing to answer yet: 1 when the loop took it (the
 * handler returns SUSPENDED; the transport's respond answers later). */
int      push_park_longpoll(request_rec *r, const push_sub_t *s,
                            apr_interval_time_t timeout);
unsigned push_park_count(void);         /* subscribers held */
unsigned push_park_connections(void);   /* connections held */

#endif
