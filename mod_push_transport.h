/* mod_push_transport.h — the registry of transports
 * (mod_push_transport.c), and each transport file's registration. */
#ifndef MOD_PUSH_TRANSPORT_H
#define MOD_PUSH_TRANSPORT_H

#include "httpd.h"

#include "core/push_transport.h"

/* Each transport file registers its table in register_hooks. */
void push_poll_register(apr_pool_t *p);
void push_sse_register(apr_pool_t *p);
void push_ws_register(apr_pool_t *p);
/* A WebSocket handshake on a push-publisher location (push_ws_asks):
 * what the client sends is published to channel, each answered with the
 * channel's info in the format the handshake's Accept names. */
int  push_ws_asks(request_rec *r);
int  push_ws_publisher(request_rec *r, const char *channel);
void push_chunked_register(apr_pool_t *p);
void push_multipart_register(apr_pool_t *p);
void push_rawstream_register(apr_pool_t *p);

void push_transport_register(apr_pool_t *p, const push_transport_t *t);
/* By PushTransports keyword (any case); NULL when there is none. */
const push_transport_t *push_transport_find(apr_pool_t *p, const char *name);
/* Every registered keyword, in id order, for messages. */
const char *push_transport_names(apr_pool_t *p);
/* post_config: fixes the lists below for this generation. */
void push_transports_setup(apr_pool_t *pconf);
/* NULL-terminated, by precedence (the order requests are matched in). */
const push_transport_t *const *push_transports(void);
/* By id; NULL for an id no transport has. */
const push_transport_t *push_transport_by_id(unsigned id);
/* The PushTransports bits of those served by default. */
unsigned push_transports_default(void);

#endif
