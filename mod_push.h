/* mod_push.h — what every httpd unit of mod_push shares: the module.
 *
 * Each unit has a header of its own (mod_push_<unit>.h).  The path of a
 * message reads one way through them:
 *   mod_push_pub.c (POST) -> the store engine (mod_push_store*.c, store/)
 *   -> its wake-up (store/push_notify.c) -> a driver: the stream loop
 *   (mod_push_conn.c over core/push_loop.c and core/push_stream.c) or a
 *   worker thread (mod_push_sub.c) -> the one delivery step
 *   (core/push_sub.c) -> the transport's table (mod_push_<transport>.c:
 *   sse, ws, poll, chunked, multipart, rawstream) -> a sink (core/push_sink.c, or the
 *   filter sink in mod_push_sub.c).
 */
#ifndef MOD_PUSH_H
#define MOD_PUSH_H

#include "httpd.h"
#include "http_config.h"

/* Said by push-stub-status (and wherever a version is shown). */
#define MOD_PUSH_VERSION "1.0.0"

extern module AP_MODULE_DECLARE_DATA push_module;

#endif
