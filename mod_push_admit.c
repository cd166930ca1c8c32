/* mod_push_admit.c — admission control.
 *
 * A subscriber holds a connection for as long as it listens, and the MPM
 * holds only so many: past that it stops accepting, and a publish,
 * push-status or a plain page waits with the subscribers (AH00484,
 * "server reached MaxRequestWorkers").  So mod_push works out what the
 * MPM holds and refuses subscribers beyond it, less a reserve, with a
 * quick 503 and Retry-After:
 *
 *   event    per child: ThreadsPerChild + idle threads x
 *            AsyncRequestWorkerFactor connections are accepted.  A parked
 *            subscriber is one connection; one on a thread (TLS, HTTP/2,
 *            or while its handler runs) is a connection and an idle
 *            thread less, so it costs 1 + AsyncRequestWorkerFactor.
 *   worker   per child: a thread per connection, ThreadsPerChild.
 *   prefork  server-wide: a process per connection, MaxRequestWorkers;
 *            the scoreboard says how many are taken.
 *
 * The reserve is an eighth of the threads (at least 2), kept for
 * everything that is not a subscriber.  PushMaxSubscribersPerChild, when
 * set, caps subscribers on threads further.
 *
 * Every connection is a descriptor of its child too: with the soft
 * RLIMIT_NOFILE too low for what the MPM admits, the listener's accept
 * fails (EMFILE) and the server stops taking connections, publishers
 * and pages included.  So the parent raises the soft limit to what the
 * admitted subscribers need (the hard one at most), and what a child
 * admits is also kept within the descriptors it has, less one per
 * thread (the other requests') and what it has open besides: counted
 * once, in the parent, and inherited; the startup log says when that is
 * fewer than the MPM would admit. */
#include <dirent.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "apr_atomic.h"
#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "ap_mpm.h"
#include "scoreboard.h"

#include "mod_push.h"
#include "mod_push_admit.h"
#include "mod_push_config.h"
#include "mod_push_conn.h"
#include "mod_push_http.h"
#include "mod_push_store.h"

APLOG_USE_MODULE(push);

/* Costs in sixteenths of a connection, so that a fractional
 * AsyncRequestWorkerFactor needs no floating point per request. */
#define UNIT 16

typedef struct {
    int async;          /* event: connections park */
    int threads;        /* ThreadsPerChild (1 for prefork) */
    int daemons;        /* children at most (prefork: MaxRequestWorkers) */
    int server_limit;   /* scoreboard rows */
    int factor;         /* AsyncRequestWorkerFactor x UNIT */
    int reserve;        /* threads (prefork: processes) kept free */
    int explicit_cap;   /* PushMaxSubscribersPerChild, 0: unset */
    long fd_room;       /* connections a child's descriptors hold for
                         * subscribers; -1: no limit */
} sizing_t;

/* Descriptors a child has open besides its connections: the parent's
 * (listeners, logs, the store), and a few of its own (the MPM's and the
 * stream loop's pollsets and wake-ups, the pipe of death). */
#define CHILD_OWN_FDS 32

static sizing_t       sz;
static apr_uint32_t   held;       /* subscribers on this child's threads */

/* AsyncRequestWorkerFactor as written anywhere in the main config (the
 * MPM does not tell it), x UNIT; the MPM's default 2 otherwise. */
static int find_factor(const ap_directive_t *d)
{
    for (; d; d = d->next) {
        int f;

        if (!strcasecmp(d->directive, "AsyncRequestWorkerFactor")
            && d->args) {
            double v = atof(d->args);

            if (v > 0) {
                return (int)(v * UNIT + 0.5);
            }
        }
        if (d->first_child && (f = find_factor(d->first_child)) > 0) {
            return f;
        }
    }
    return 0;
}

/* Descriptors open in this process now. */
static long open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    long n = 0;

    if (!d) {
        return 64;                  /* a guess beyond any of ours */
    }
    while ((e = readdir(d)) != NULL) {
        n += e->d_name[0] != '.';
    }
    closedir(d);
    return n - 1;                   /* not the directory's own */
}

/* Connections for subscribers a child's descriptors hold, by the soft
 * limit `soft`: -1 when unlimited. */
static long fd_room_of(rlim_t soft, long base, int threads)
{
    long room;

    if (soft == RLIM_INFINITY) {
        return -1;
    }
    room = (long)soft - base - CHILD_OWN_FDS - threads;
    return room > 0 ? room : 0;
}

/* The MPM's sizing; the descriptors are counted by fit_fd_limit. */
static void read_sizing(server_rec *s)
{
    int threaded = 0, async = 0, threads = 1, daemons = 1, limit = 1;

    ap_mpm_query(AP_MPMQ_IS_THREADED, &threaded);
    ap_mpm_query(AP_MPMQ_IS_ASYNC, &async);
    ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads);
    ap_mpm_query(AP_MPMQ_MAX_DAEMONS, &daemons);
    ap_mpm_query(AP_MPMQ_HARD_LIMIT_DAEMONS, &limit);
    sz.async = async;
    sz.threads = threaded && threads > 0 ? threads : 1;
    sz.daemons = daemons > 0 ? daemons : 1;
    sz.server_limit = limit > 0 ? limit : sz.daemons;
    sz.factor = async ? find_factor(ap_conftree) : 0;
    if (async && sz.factor <= 0) {
        sz.factor = 2 * UNIT;
    }
    sz.reserve = (sz.threads > 1 ? sz.threads : sz.daemons) / 8;
    if (sz.reserve < 2) {
        sz.reserve = 2;
    }
    sz.explicit_cap = push_conf_subscribers_per_child(s);
    sz.fd_room = -1;
}

/* What a child may spend, in UNITs (event, worker). */
static long child_budget(void)
{
    long per_thread = UNIT + sz.factor;

    return (long)(sz.threads - sz.reserve) * per_thread;
}

/* Parked subscribers one child admits (event), or subscribers on its
 * threads (worker), or server-wide (prefork). */
static int admitted(void)
{
    if (sz.threads == 1) {
        return sz.daemons - sz.reserve;
    }
    if (!sz.async) {
        return sz.threads - sz.reserve;
    }
    /* All parked, but the one whose handler is running. */
    return (int)((child_budget() - (UNIT + sz.factor)) / UNIT) + 1;
}

/* What a child admits, within its descriptors too. */
static int admitted_within_fds(void)
{
    int n = admitted();

    return sz.fd_room >= 0 && sz.fd_room < n ? (int)sz.fd_room : n;
}

/* In the parent: the soft descriptor limit raised (up to the hard one)
 * to what the MPM's sizing asks of a child; said when it cannot be. */
static void fit_fd_limit(server_rec *s)
{
    struct rlimit rl;
    long base = open_fds(), want;
    int n = admitted();
    rlim_t was;

    /* Under worker, PushMaxSubscribersPerChild caps them all (under
     * event, only those on threads; the parked ones are the many). */
    if (!sz.async && sz.explicit_cap > 0 && sz.explicit_cap < n) {
        n = sz.explicit_cap;
    }
    if (sz.threads == 1 || getrlimit(RLIMIT_NOFILE, &rl) != 0
        || rl.rlim_cur == RLIM_INFINITY) {
        return;
    }
    want = n + base + CHILD_OWN_FDS + sz.threads;
    was = rl.rlim_cur;
    if (n >= 1 && (long)rl.rlim_cur < want && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max != RLIM_INFINITY
                      && (long)rl.rlim_max < want ? rl.rlim_max
                                                  : (rlim_t)want;
        if (setrlimit(RLIMIT_NOFILE, &rl) == 0) {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "mod_push: raised "
                         "the soft descriptor limit (ulimit -n) from %lu to "
                         "%lu for the %d subscribers a child admits",
                         (unsigned long)was, (unsigned long)rl.rlim_cur, n);
        }
        else {
            rl.rlim_cur = was;
        }
    }
    sz.fd_room = fd_room_of(rl.rlim_cur, base, sz.threads);
    if (n >= 1 && sz.fd_room >= 0 && sz.fd_room < n) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "mod_push: a child's "
                     "descriptor limit (ulimit -n %lu, hard %lu) holds "
                     "%ld subscribers, fewer than the %d this MPM sizing "
                     "admits: subscribers beyond it are refused with 503; "
                     "raise the limit (ulimit -n, LimitNOFILE= for "
                     "systemd, APACHE_ULIMIT_MAX_FILES in Debian's "
                     "envvars) to at least %ld",
                     (unsigned long)rl.rlim_cur,
                     (unsigned long)rl.rlim_max, sz.fd_room, n, want);
    }
}

void push_admit_post_config(apr_pool_t *ptemp, server_rec *s)
{
    int n;

    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return;     /* the first, trial pass */
    }
    read_sizing(s);
    fit_fd_limit(s);
    n = admitted_within_fds();
    if (n < 1) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "mod_push: this MPM "
                     "sizing leaves no room for subscribers once %d %s are "
                     "kept for other requests; raise %s", sz.reserve,
                     sz.threads == 1 ? "processes" : "threads",
                     sz.threads == 1 ? "MaxRequestWorkers"
                                     : "ThreadsPerChild");
        return;
    }
    if (sz.threads == 1) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "mod_push: admits %d "
                     "subscribers (prefork: a process each, %d kept for "
                     "other requests); MaxRequestWorkers raises it", n,
                     sz.reserve);
    }
    else if (!sz.async) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "mod_push: admits %d "
                     "subscribers per child, %d server-wide (worker: a "
                     "thread each, %d kept for other requests); "
                     "ThreadsPerChild raises it", n, n * sz.daemons,
                     sz.reserve);
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "mod_push: admits %d "
                     "parked subscribers per child, %d server-wide (event: "
                     "ThreadsPerChild %d x (1 + AsyncRequestWorkerFactor "
                     "%s), less %d threads' worth for other requests); "
                     "ThreadsPerChild or AsyncRequestWorkerFactor raises it",
                     n, n * sz.daemons, sz.threads,
                     apr_psprintf(ptemp, "%g", (double)sz.factor / UNIT),
                     sz.reserve);
    }
}

/* The sizing is the parent's, inherited: a child does not count its
 * descriptors again (its own are in CHILD_OWN_FDS already). */
void push_admit_child_init(server_rec *s)
{
    (void)s;
    apr_atomic_set32(&held, 0);
}

/* Processes of the server that are taken (prefork), from the
 * scoreboard: whatever is not free is, this one included. */
static int processes_taken(void)
{
    int i, n = 0;

    if (!ap_scoreboard_image) {
        return 0;
    }
    for (i = 0; i < sz.server_limit; i++) {
        int st = ap_scoreboard_image->servers[i][0].status;

        if (st != SERVER_DEAD && st != SERVER_READY && st != SERVER_STARTING
            && st != SERVER_IDLE_KILL) {
            n++;
        }
    }
    return n;
}

/* With this subscriber counted on its thread: NULL while the child (or
 * the server) still has its reserve, else what would raise the limit it
 * reached, for the log. */
static const char *over(unsigned on_threads)
{
    if (sz.explicit_cap > 0 && on_threads > (unsigned)sz.explicit_cap) {
        return "PushMaxSubscribersPerChild";
    }
    if (sz.threads == 1) {
        return processes_taken() <= sz.daemons - sz.reserve
               ? NULL : "MaxRequestWorkers";
    }
    if (sz.fd_room >= 0
        && (long)push_park_connections() + (long)on_threads > sz.fd_room) {
        return "the descriptor limit, ulimit -n,";
    }
    if (!sz.async) {
        return on_threads <= (unsigned)(sz.threads - sz.reserve)
               ? NULL : "ThreadsPerChild";
    }
    return (long)push_park_connections() * UNIT
           + (long)on_threads * (UNIT + sz.factor) <= child_budget()
           ? NULL : "ThreadsPerChild or AsyncRequestWorkerFactor";
}

int push_admit_take(request_rec *r)
{
    unsigned n = apr_atomic_inc32(&held) + 1;
    const char *limit = over(n);

    if (!limit) {
        return 1;
    }
    apr_atomic_dec32(&held);
    push_limit_warn(r, PUSH_LIMIT_ADMISSION, apr_psprintf(r->pool,
                    "subscriber refused with 503: this %s holds as many "
                    "subscribers as it can while answering other requests "
                    "(%u on threads, %u parked; %s raises it, see the "
                    "startup notice)", sz.threads == 1 ? "server" : "child",
                    n - 1, push_park_connections(), limit));
    apr_table_setn(r->err_headers_out, "Retry-After", "1");
    push_reply_text(r, HTTP_SERVICE_UNAVAILABLE, "Too many subscribers in "
                    "this server; retry shortly.");
    return 0;
}

void push_admit_release(void)
{
    apr_atomic_dec32(&held);
}

unsigned push_admit_held(void)
{
    return apr_atomic_read32(&held);
}

int push_admit_cap(void)
{
    int n = admitted_within_fds();

    if (sz.explicit_cap > 0 && (sz.threads == 1 || sz.explicit_cap < n)) {
        n = sz.explicit_cap;
    }
    return n;
}
