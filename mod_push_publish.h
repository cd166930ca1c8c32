/* mod_push_publish.h — a message into the store, to each channel of a
 * set (mod_push_publish.c): what an HTTP publisher and a client's
 * WebSocket share. */
#ifndef MOD_PUSH_PUBLISH_H
#define MOD_PUSH_PUBLISH_H

#include "httpd.h"

#include "mod_push_config.h"
#include "store/push_store.h"

/* Publishes msg to each of ids[0..n) with the limits conf says (with
 * PushRedis through Redis, which gives the id; PUSH_UNAVAILABLE when it
 * did not take it in time), each publish a channel_publish event.  may_wait: first wait a little while
 * the channel's subscribers are far behind (back-pressure; never on the
 * stream loop's thread).  *all is the channels' info summed, *last the
 * last one's and *id its message's id; *done how many took it.  PUSH_OK,
 * or the refusal of channel ids[*done]. */
push_status_e push_publish_to(request_rec *r, const push_dir_conf *conf,
                              const char *const *ids, unsigned n,
                              const push_message_t *msg, int may_wait,
                              push_channel_info_t *all,
                              push_channel_info_t *last, push_msgid_t *id,
                              unsigned *done);

#endif
