/* push_redis_conn.h — one connection to a Redis server, for the
 * backplane.
 *
 * Debian 12's hiredis (0.14.1) is used for what it does well, the RESP
 * reply reader and the command formatter; the socket is ours: a
 * non-blocking TCP connection that every call bounds by a deadline, so
 * an unreachable or stalled Redis costs at most PushRedisTimeout and
 * never a hung thread.  Two ways to use one:
 *
 *   - call: one command, its reply, within a timeout (a publishing
 *     thread, a catch-up read);
 *   - send / flush / feed / next: the pieces of call for a poll loop
 *     that owns the connection (a pub/sub connection, whose pushes come
 *     whenever they come).
 *
 * A connection that failed (a timeout, a reset, a reply that is not
 * RESP) is broken for good: push_redis_broken says so and why, and the
 * owner closes it and connects again.  Not thread-safe: one owner at a
 * time.  Pure C, no httpd or APR types. */
#ifndef PUSH_REDIS_CONN_H
#define PUSH_REDIS_CONN_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "redis/push_redis_url.h"

typedef struct push_redis_conn push_redis_conn_t;

/* Connects within timeout_ms, then authenticates and selects the
 * database as the URL says (within the same time).  NULL on failure,
 * with the reason in err (errlen bytes, NUL-terminated). */
push_redis_conn_t *push_redis_connect(const push_redis_url_t *u,
                                      int timeout_ms, char *err,
                                      size_t errlen);
void push_redis_close(push_redis_conn_t *c);

int push_redis_fd(const push_redis_conn_t *c);
/* NULL while it is sound; else why it broke. */
const char *push_redis_broken(const push_redis_conn_t *c);
/* Broken from now on (a caller whose pipeline it can no longer account
 * for): its owner closes it. */
void push_redis_break(push_redis_conn_t *c, const char *why);
/* For a connection kept idle between uses (a thread's, a catch-up
 * reader's): 1 when it is still sound; 0 when the server closed it
 * meanwhile (a restart, CLIENT KILL, its timeout) or sent what nobody
 * asked for, and it is broken from now on.  Without it, the first use
 * after a Redis restart fails, though Redis is back. */
int push_redis_idle_ok(push_redis_conn_t *c);

/* One command (argv[i] is lens[i] bytes; lens NULL: NUL-terminated
 * strings) and its reply within timeout_ms.  The reply (the caller
 * frees it with freeReplyObject; an error reply is a reply), or NULL
 * when the connection broke (push_redis_broken says why). */
redisReply *push_redis_call(push_redis_conn_t *c, int argc,
                            const char **argv, const size_t *lens,
                            int timeout_ms);

/* What was queued with push_redis_send written, and the n replies it
 * gives read and dropped, within timeout_ms (a pipeline of commands
 * whose replies do not matter one by one): the number of error
 * replies, or -1 when the connection broke. */
int push_redis_drain(push_redis_conn_t *c, unsigned n, int timeout_ms);

/* A poll loop's pieces.  send queues a command (0, or -1 out of
 * memory); flush writes what is queued as far as the socket takes it
 * without waiting (1 all written, 0 some left: poll for POLLOUT, -1
 * broken); feed reads what the socket has (0, or -1 broken: closed by
 * the server, or an error); next takes the next whole reply or push
 * (1 and *reply, 0 none complete yet, -1 broken; a broken
 * connection still gives the replies it had read whole). */
int push_redis_send(push_redis_conn_t *c, int argc, const char **argv,
                    const size_t *lens);
int push_redis_flush(push_redis_conn_t *c);
int push_redis_feed(push_redis_conn_t *c);
int push_redis_next(push_redis_conn_t *c, redisReply **reply);
/* 1 while something queued is not written yet. */
int push_redis_writing(const push_redis_conn_t *c);

/* The SHA1 of script `which` (below PUSH_REDIS_SCRIPTS) as this
 * connection's server was given it (SCRIPT LOAD), for EVALSHA: 41
 * bytes, "" until then.  Per connection: a server that restarted is a
 * new connection, and one that forgot while connected says NOSCRIPT. */
#define PUSH_REDIS_SCRIPTS 4
char *push_redis_script_sha(push_redis_conn_t *c, unsigned which);

/* Redis Cluster's redirections: a reply "MOVED <slot> <host>:<port>"
 * (the slot lives there now), "ASK ..." (this once, while the slot
 * moves) or "TRYAGAIN" (a moment later) is remembered by the
 * connection it came on, for the caller's route (push_redis_route.h)
 * to follow; it stays until cleared.  With asking on, every
 * push_redis_call is sent after an ASKING (not pipelined sends). */
#define PUSH_REDIS_MOVED    1
#define PUSH_REDIS_ASK      2
#define PUSH_REDIS_TRYAGAIN 3   /* not run: the slot is being moved */
typedef struct {
    int  kind;              /* 0: none */
    int  slot;
    char host[PUSH_REDIS_HOST_MAX + 1];
    int  port;
} push_redis_redirect_t;

const push_redis_redirect_t *push_redis_redirected(push_redis_conn_t *c);
void push_redis_redirect_clear(push_redis_conn_t *c);
void push_redis_asking(push_redis_conn_t *c, int on);

/* Milliseconds on a clock that does not step (CLOCK_MONOTONIC). */
long long push_redis_now_ms(void);

#endif
