/* pushbench.c — load generator for HTTP push servers (mod_push, Nchan).
 *
 * Opens N subscribers of one transport (long poll, Server-Sent Events or
 * WebSocket) to one channel, publishes M messages over a keep-alive
 * publisher connection, and measures delivery latency, fan-out time,
 * lost/duplicated/out-of-order deliveries, and the server's memory (PSS)
 * and CPU time.  A second mode (-T) measures publish throughput.
 *
 * -Z: the subscribers speak TLS (https://, wss://; the certificate is not
 * checked), the publisher plain HTTP.
 *
 * One epoll loop per process; -j N forks N worker processes that share
 * the subscribers (the parent then only publishes and measures).  Load
 * goes to IPv4 loopback addresses only.  Every wait is bounded.
 *
 * Message body: "pb <run> <seq> <mono_ns> <real_ns> [x...]" where <run>
 * is this run's random id (deliveries from other runs are ignored),
 * <seq> 1..M, and the send times from CLOCK_MONOTONIC / CLOCK_REALTIME.
 *
 * Exit status: 0 all delivered; 1 usage or setup error; 2 lost messages,
 * subscribers that never subscribed, or publish errors; 3 the server
 * does not offer the transport (every subscriber refused with 4xx/501).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PB_MAX_SUBS        1000000
#define PB_MAX_MSGS        1000000
#define PB_MAX_SAMPLES     (64u * 1024 * 1024)
#define PB_MAX_JOBS        64
#define PB_MAX_SOURCES     250
#define PB_MAX_BODY        (16u * 1024 * 1024)
#define PB_MAX_HEAD        (64u * 1024)
#define PB_MAX_RETRIES     20
#define PB_MAX_INFLIGHT    512       /* connects in progress per process */
#define PB_WS_GUID         "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

#define NS_PER_MS  1000000ull
#define NS_PER_S   1000000000ull

/* ------------------------------------------------------------------ */
/* utilities                                                            */

static const char *progname = "pushbench";

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
                                                     noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", progname);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int quiet;

static void note(const char *fmt, ...)
{
    va_list ap;

    if (quiet) {
        return;
    }
    fprintf(stderr, "%s: ", progname);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint64_t real_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (!p) {
        die("out of memory (%zu x %zu bytes)", n, size);
    }
    return p;
}

static void random_bytes(void *buf, size_t n)
{
    unsigned char *p = buf;

    while (n > 0) {
        ssize_t r = getrandom(p, n, 0);

        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            die("getrandom: %s", strerror(errno));
        }
        p += r;
        n -= (size_t)r;
    }
}

/* xorshift64*: WebSocket masking keys (RFC 6455 wants them unpredictable
 * to intermediaries; seeded from getrandom, that is plenty here). */
static uint64_t rng_state;

static uint32_t rng32(void)
{
    uint64_t x = rng_state;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1Dull) >> 32);
}

/* A byte buffer holding p[off..len). */
typedef struct {
    char   *p;
    size_t  off, len, cap;
} buf_t;

static void buf_reserve(buf_t *b, size_t more)
{
    size_t need, cap;

    if (b->off && b->off == b->len) {
        b->off = b->len = 0;
    }
    if (b->len + more <= b->cap) {
        return;
    }
    if (b->off) {
        memmove(b->p, b->p + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
        if (b->len + more <= b->cap) {
            return;
        }
    }
    need = b->len + more;
    cap = b->cap ? b->cap : 1024;
    while (cap < need) {
        cap *= 2;
    }
    b->p = realloc(b->p, cap);
    if (!b->p) {
        die("out of memory (%zu bytes)", cap);
    }
    b->cap = cap;
}

static void buf_add(buf_t *b, const void *data, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void buf_printf(buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void buf_printf(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    buf_reserve(b, 256);
    va_start(ap, fmt);
    n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        die("formatting failed");
    }
    if ((size_t)n >= b->cap - b->len) {
        buf_reserve(b, (size_t)n + 1);
        va_start(ap, fmt);
        vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

static size_t buf_avail(const buf_t *b)
{
    return b->len - b->off;
}

static char *buf_data(const buf_t *b)
{
    return b->p + b->off;
}

static void buf_consume(buf_t *b, size_t n)
{
    b->off += n;
    if (b->off >= b->len) {
        b->off = b->len = 0;
    }
}

static void buf_clear(buf_t *b)
{
    b->off = b->len = 0;
}

static void buf_free(buf_t *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

/* ------------------------------------------------------------------ */
/* SHA-1 (FIPS 180-4) and base64, for the WebSocket handshake           */

typedef struct {
    uint32_t h[5];
    uint64_t bytes;
    unsigned char block[64];
    size_t   used;
} sha1_t;

static uint32_t rol32(uint32_t x, int n)
{
    return (x << n) | (x >> (32 - n));
}

static void sha1_block(sha1_t *s, const unsigned char *p)
{
    uint32_t w[80], a, b, c, d, e, t;
    int i;

    for (i = 0; i < 16; i++) {
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16
               | (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    }
    for (i = 16; i < 80; i++) {
        w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    }
    a = s->h[0];
    b = s->h[1];
    c = s->h[2];
    d = s->h[3];
    e = s->h[4];
    for (i = 0; i < 80; i++) {
        uint32_t f, k;

        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5A827999;
        }
        else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ED9EBA1;
        }
        else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8F1BBCDC;
        }
        else {
            f = b ^ c ^ d;
            k = 0xCA62C1D6;
        }
        t = rol32(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = rol32(b, 30);
        b = a;
        a = t;
    }
    s->h[0] += a;
    s->h[1] += b;
    s->h[2] += c;
    s->h[3] += d;
    s->h[4] += e;
}

static void sha1_init(sha1_t *s)
{
    static const uint32_t h0[5] = {
        0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0
    };

    memcpy(s->h, h0, sizeof(h0));
    s->bytes = 0;
    s->used = 0;
}

static void sha1_update(sha1_t *s, const void *data, size_t n)
{
    const unsigned char *p = data;

    s->bytes += n;
    while (n > 0) {
        size_t take = 64 - s->used;

        if (take > n) {
            take = n;
        }
        memcpy(s->block + s->used, p, take);
        s->used += take;
        p += take;
        n -= take;
        if (s->used == 64) {
            sha1_block(s, s->block);
            s->used = 0;
        }
    }
}

static void sha1_final(sha1_t *s, unsigned char out[20])
{
    uint64_t bits = s->bytes * 8;
    unsigned char pad = 0x80, len[8];
    int i;

    sha1_update(s, &pad, 1);
    pad = 0;
    while (s->used != 56) {
        sha1_update(s, &pad, 1);
    }
    for (i = 0; i < 8; i++) {
        len[i] = (unsigned char)(bits >> (56 - 8 * i));
    }
    sha1_update(s, len, 8);
    for (i = 0; i < 20; i++) {
        out[i] = (unsigned char)(s->h[i / 4] >> (24 - 8 * (i % 4)));
    }
}

/* NUL-terminated base64 of n bytes into out (4 * ceil(n / 3) + 1). */
static void base64(const unsigned char *in, size_t n, char *out)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;

    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8
                     | in[i + 2];

        *out++ = tab[v >> 18];
        *out++ = tab[(v >> 12) & 63];
        *out++ = tab[(v >> 6) & 63];
        *out++ = tab[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16;

        if (i + 1 < n) {
            v |= (uint32_t)in[i + 1] << 8;
        }
        *out++ = tab[v >> 18];
        *out++ = tab[(v >> 12) & 63];
        *out++ = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        *out++ = '=';
    }
    *out = '\0';
}

/* Sec-WebSocket-Accept for a key (29 bytes with the NUL). */
static void ws_accept_for(const char *key, char out[29])
{
    sha1_t s;
    unsigned char d[20];

    sha1_init(&s);
    sha1_update(&s, key, strlen(key));
    sha1_update(&s, PB_WS_GUID, sizeof(PB_WS_GUID) - 1);
    sha1_final(&s, d);
    base64(d, 20, out);
}

static int self_test(void)
{
    static const struct {
        const char *in, *sha1;
    } v[] = {
        { "", "da39a3ee5e6b4b0d3255bfef95601890afd80709" },
        { "abc", "a9993e364706816aba3e25717850c26c9cd0d89d" },
        { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
          "84983e441c3bd26ebaae4aa1f95129e5e54670f1" },
    };
    char acc[29], b64[16];
    size_t i;
    int fails = 0;

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        sha1_t s;
        unsigned char d[20];
        char hex[41];
        int j;

        sha1_init(&s);
        sha1_update(&s, v[i].in, strlen(v[i].in));
        sha1_final(&s, d);
        for (j = 0; j < 20; j++) {
            snprintf(hex + 2 * j, 3, "%02x", d[j]);
        }
        if (strcmp(hex, v[i].sha1)) {
            fprintf(stderr, "sha1(\"%s\") = %s, want %s\n", v[i].in, hex,
                    v[i].sha1);
            fails++;
        }
    }
    /* RFC 6455, section 1.3 */
    ws_accept_for("dGhlIHNhbXBsZSBub25jZQ==", acc);
    if (strcmp(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")) {
        fprintf(stderr, "ws accept = %s\n", acc);
        fails++;
    }
    base64((const unsigned char *)"fooba", 5, b64);
    if (strcmp(b64, "Zm9vYmE=")) {
        fprintf(stderr, "base64(fooba) = %s\n", b64);
        fails++;
    }
    printf("self-test: %s\n", fails ? "FAILED" : "ok");
    return fails ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* options                                                              */

enum { TR_LONGPOLL, TR_SSE, TR_WS };
#define PB_MAX_PORTS 8
static const char *const tr_names[] = { "longpoll", "sse", "ws" };

typedef struct {
    const char *host;
    int         port;
    const char *sub_path;
    const char *pub_path;
    const char *channel;
    const char *status_path;
    const char *pids;
    const char *label;
    int         transport;
    long        nsubs;
    long        nmsgs;
    long        interval_ms;
    long        pad;
    int         nsources;
    int         jobs;
    long        rate;
    long        settle_ms;
    long        idle_ms;
    long        connect_timeout_s;
    long        drain_timeout_s;
    int         throughput;
    int         tput_conns;
    long        tput_secs;
    int         rst_close;
    int         tls;          /* -Z: subscribers over TLS */
    uint16_t    sub_ports[PB_MAX_PORTS];  /* -e; none: opt.port */
    int         nsub_ports;
} opts_t;

static opts_t opt = {
    .host = "127.0.0.1", .port = 8080, .sub_path = "/sub",
    .pub_path = "/pub", .transport = TR_LONGPOLL, .nsubs = 100,
    .nmsgs = 20, .interval_ms = 300, .nsources = 1, .jobs = 1,
    .rate = 2000, .settle_ms = 1000, .idle_ms = 2000,
    .connect_timeout_s = 0, .drain_timeout_s = 10, .tput_conns = 4,
    .tput_secs = 5, .rst_close = 1,
};

static struct in_addr dst_addr;
static char host_hdr[128];
static char sub_target[1024];
static char pub_target[1024];
static uint32_t run_id;

static void usage(int code) __attribute__((noreturn));

static void usage(int code)
{
    FILE *f = code ? stderr : stdout;

    fprintf(f,
"usage: pushbench [options]\n"
"  -t longpoll|sse|ws   subscriber transport (longpoll)\n"
"  -n N                 subscribers (100)\n"
"  -m M                 messages to publish (20)\n"
"  -i MS                interval between publishes, ms (300)\n"
"  -b BYTES             padding added to each message body (0)\n"
"  -h HOST              server address, an IPv4 loopback address (127.0.0.1)\n"
"  -p PORT              server port (8080)\n"
"  -e PORT,PORT,...     subscribers spread over these ports, round robin\n"
"                       (servers sharing channels; -p publishes, and the\n"
"                       status counts of all are added up)\n"
"  -u PATH              subscriber location prefix (/sub)\n"
"  -U PATH              publisher location prefix (/pub)\n"
"  -c CHANNEL           channel id (default: a fresh one per run)\n"
"  -s PATH              status URL path (e.g. /push-status): wait until the\n"
"                       server counts all subscribers\n"
"  -P SPEC              server processes for PSS/CPU: a pid file, pids\n"
"                       (1,2,3), or name:COMM; children are included\n"
"  -S K                 spread subscribers over source addresses\n"
"                       127.0.0.1..127.0.0.K (1)\n"
"  -j J                 worker processes for the subscribers (1)\n"
"  -r RATE              new connections per second while ramping (2000)\n"
"  -w MS                settle time after all subscribed (1000)\n"
"  -I MS                idle window for the idle CPU measurement (2000)\n"
"  -C SEC               connect phase timeout (30 + N/RATE*2)\n"
"  -D SEC               drain timeout after the last publish (10)\n"
"  -T                   publish-throughput mode (no subscribers unless -n)\n"
"  -k K                 throughput: parallel publisher connections (4)\n"
"  -d SEC               throughput: duration, seconds (5)\n"
"  -L LABEL             label printed in the summary\n"
"  -Z                   subscribers over TLS (https://, wss://) to the -e/-p\n"
"                       ports; the certificate is not checked\n"
"  -G                   close connections gracefully (FIN) at the end\n"
"                       instead of with a reset (RST, no TIME_WAIT)\n"
"  -q                   quiet: only the summary\n"
"  -X                   run the SHA-1/base64 self-test and exit\n"
"  -H                   this help\n");
    exit(code);
}

static long num_arg(const char *s, const char *what, long lo, long hi)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        die("bad %s '%s' (want %ld..%ld)", what, s, lo, hi);
    }
    return v;
}

static int channel_ok(const char *s)
{
    size_t n = strlen(s), i;

    if (n < 1 || n > 255) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!isalnum((unsigned char)s[i]) && !strchr("_.~-", s[i])) {
            return 0;
        }
    }
    return 1;
}

static const char *path_ok(const char *s, const char *what)
{
    size_t i;

    if (s[0] != '/' || strlen(s) > 512) {
        die("%s must start with / (and be short): '%s'", what, s);
    }
    for (i = 0; s[i]; i++) {
        if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f) {
            die("%s has a blank or control character", what);
        }
    }
    return s;
}

static void parse_opts(int argc, char **argv)
{
    static char chan[64];
    int c, n_given = 0;

    while ((c = getopt(argc, argv, "t:n:m:i:b:h:p:e:u:U:c:s:P:S:j:r:w:I:C:D:"
                              "Tk:d:L:GqXZH")) != -1) {
        switch (c) {
        case 't':
            if (!strcmp(optarg, "longpoll") || !strcmp(optarg, "lp")) {
                opt.transport = TR_LONGPOLL;
            }
            else if (!strcmp(optarg, "sse")
                     || !strcmp(optarg, "eventsource")) {
                opt.transport = TR_SSE;
            }
            else if (!strcmp(optarg, "ws") || !strcmp(optarg, "websocket")) {
                opt.transport = TR_WS;
            }
            else {
                die("unknown transport '%s' (longpoll, sse, ws)", optarg);
            }
            break;
        case 'Z': opt.tls = 1; break;
        case 'n':
            opt.nsubs = num_arg(optarg, "-n", 0, PB_MAX_SUBS);
            n_given = 1;
            break;
        case 'm': opt.nmsgs = num_arg(optarg, "-m", 1, PB_MAX_MSGS); break;
        case 'i': opt.interval_ms = num_arg(optarg, "-i", 0, 60000); break;
        case 'b': opt.pad = num_arg(optarg, "-b", 0, 1 << 20); break;
        case 'h': opt.host = optarg; break;
        case 'p': opt.port = (int)num_arg(optarg, "-p", 1, 65535); break;
        case 'e': {
            char *list = strdup(optarg), *tok, *save = NULL;

            opt.nsub_ports = 0;
            for (tok = strtok_r(list, ",", &save); tok;
                 tok = strtok_r(NULL, ",", &save)) {
                if (opt.nsub_ports == PB_MAX_PORTS) {
                    die("-e takes at most %d ports", PB_MAX_PORTS);
                }
                opt.sub_ports[opt.nsub_ports++] =
                    (uint16_t)num_arg(tok, "-e", 1, 65535);
            }
            free(list);
            break;
        }
        case 'u': opt.sub_path = path_ok(optarg, "-u"); break;
        case 'U': opt.pub_path = path_ok(optarg, "-U"); break;
        case 'c': opt.channel = optarg; break;
        case 's': opt.status_path = path_ok(optarg, "-s"); break;
        case 'P': opt.pids = optarg; break;
        case 'S':
            opt.nsources = (int)num_arg(optarg, "-S", 1, PB_MAX_SOURCES);
            break;
        case 'j': opt.jobs = (int)num_arg(optarg, "-j", 1, PB_MAX_JOBS); break;
        case 'r': opt.rate = num_arg(optarg, "-r", 1, 1000000); break;
        case 'w': opt.settle_ms = num_arg(optarg, "-w", 0, 600000); break;
        case 'I': opt.idle_ms = num_arg(optarg, "-I", 0, 600000); break;
        case 'C':
            opt.connect_timeout_s = num_arg(optarg, "-C", 1, 3600);
            break;
        case 'D': opt.drain_timeout_s = num_arg(optarg, "-D", 0, 3600); break;
        case 'T': opt.throughput = 1; break;
        case 'k':
            opt.tput_conns = (int)num_arg(optarg, "-k", 1, 1024);
            break;
        case 'd': opt.tput_secs = num_arg(optarg, "-d", 1, 3600); break;
        case 'L': opt.label = optarg; break;
        case 'G': opt.rst_close = 0; break;
        case 'q': quiet = 1; break;
        case 'X': exit(self_test());
        case 'H': usage(0);
        default: usage(1);
        }
    }
    if (optind != argc) {
        usage(1);
    }
    if (inet_pton(AF_INET, opt.host, &dst_addr) != 1
        || (ntohl(dst_addr.s_addr) >> 24) != 127) {
        die("-h %s: only IPv4 loopback addresses (127.x.x.x) are allowed",
            opt.host);
    }
    if (opt.throughput && !n_given) {
        opt.nsubs = 0;
    }
    if ((long)opt.jobs > opt.nsubs && opt.nsubs > 0) {
        opt.jobs = (int)opt.nsubs;
    }
    if (opt.nsubs == 0) {
        opt.jobs = 1;
    }
    if ((uint64_t)opt.nsubs * (uint64_t)opt.nmsgs > PB_MAX_SAMPLES) {
        die("-n x -m is too large (at most %u deliveries)", PB_MAX_SAMPLES);
    }
    if (!opt.connect_timeout_s) {
        opt.connect_timeout_s = 30 + 2 * (opt.nsubs / opt.rate);
    }
    if (!opt.channel) {
        snprintf(chan, sizeof(chan), "pb-%ld-%d", (long)time(NULL),
                 (int)getpid());
        opt.channel = chan;
    }
    if (!channel_ok(opt.channel)) {
        die("bad channel id '%s' (1-255 of A-Z a-z 0-9 _ . ~ -)",
            opt.channel);
    }
    snprintf(host_hdr, sizeof(host_hdr), "%s:%d", opt.host, opt.port);
    snprintf(sub_target, sizeof(sub_target), "%s%s%s", opt.sub_path,
             opt.sub_path[strlen(opt.sub_path) - 1] == '/' ? "" : "/",
             opt.channel);
    snprintf(pub_target, sizeof(pub_target), "%s%s%s", opt.pub_path,
             opt.pub_path[strlen(opt.pub_path) - 1] == '/' ? "" : "/",
             opt.channel);
}

/* ------------------------------------------------------------------ */
/* results shared between the worker processes and the parent           */

enum { PH_CONNECT, PH_RUN, PH_FINISH };

/* Written by one process, read by the parent. */
typedef struct {
    uint64_t active;        /* gauge: subscribed right now */
    uint64_t ever;          /* subscribers that subscribed at least once */
    uint64_t gaveup;        /* stopped trying without subscribing */
    uint64_t unavailable;   /* refused: the transport is not offered */
    uint64_t received;      /* first deliveries of this run's messages */
    uint64_t any;           /* every delivery of this run's messages */
    uint64_t dups;
    uint64_t ooo;           /* out of order */
    uint64_t foreign;       /* not this run's messages (or unparsable) */
    uint64_t gaps;          /* X-Push-Gap seen */
    uint64_t conn_errors;
    uint64_t http_errors;
    uint64_t stream_ends;   /* SSE/WS streams the server ended */
    uint64_t reconnects;
    uint64_t lost;          /* at the end */
    uint64_t never;         /* at the end: never subscribed */
    uint64_t nlat;          /* latency samples written */
    uint64_t last_status;   /* last HTTP status refusing a subscriber */
    int      done;
} __attribute__((aligned(64))) wstat_t;

typedef struct {
    int      phase;
    int      jobs;
} __attribute__((aligned(64))) shm_hdr_t;

static shm_hdr_t *shm;
static wstat_t   *wstats;       /* [jobs] */
static uint32_t  *mcount;       /* [jobs][M + 1] deliveries per message */
static uint64_t  *mlast;        /* [jobs][M + 1] last delivery time */
static uint32_t  *lat_us;       /* samples, per worker from lat_off[w] */
static uint64_t   lat_off[PB_MAX_JOBS + 1];

#define ST_ADD(f, n)  __atomic_fetch_add(&(f), (uint64_t)(n), __ATOMIC_RELAXED)
#define ST_SUB(f, n)  __atomic_fetch_sub(&(f), (uint64_t)(n), __ATOMIC_RELAXED)
#define LOAD(f)       __atomic_load_n(&(f), __ATOMIC_RELAXED)

static long worker_lo(int w)
{
    return (long)((int64_t)opt.nsubs * w / opt.jobs);
}

static void shm_setup(void)
{
    size_t m1 = (size_t)opt.nmsgs + 1;
    size_t size, o_w, o_c, o_l, o_lat;
    char *base;
    int w;

    o_w = sizeof(shm_hdr_t);
    o_c = o_w + sizeof(wstat_t) * (size_t)opt.jobs;
    o_l = o_c + sizeof(uint32_t) * m1 * (size_t)opt.jobs;
    o_l = (o_l + 7) & ~(size_t)7;
    o_lat = o_l + sizeof(uint64_t) * m1 * (size_t)opt.jobs;
    size = o_lat + sizeof(uint32_t) * (size_t)opt.nsubs * (size_t)opt.nmsgs
           + 64;
    base = mmap(NULL, size, PROT_READ | PROT_WRITE,
                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) {
        die("mmap %zu bytes: %s", size, strerror(errno));
    }
    shm = (shm_hdr_t *)base;
    wstats = (wstat_t *)(base + o_w);
    mcount = (uint32_t *)(base + o_c);
    mlast = (uint64_t *)(base + o_l);
    lat_us = (uint32_t *)(base + o_lat);
    shm->jobs = opt.jobs;
    for (w = 0; w <= opt.jobs; w++) {
        lat_off[w] = (uint64_t)worker_lo(w) * (uint64_t)opt.nmsgs;
    }
}

static void set_phase(int ph)
{
    __atomic_store_n(&shm->phase, ph, __ATOMIC_RELEASE);
}

static int get_phase(void)
{
    return __atomic_load_n(&shm->phase, __ATOMIC_ACQUIRE);
}

typedef struct {
    uint64_t active, ever, gaveup, unavailable, received, any, dups, ooo,
             foreign, gaps, conn_errors, http_errors, stream_ends,
             reconnects, lost, never, nlat, last_status;
} totals_t;

static void totals(totals_t *t)
{
    int w;

    memset(t, 0, sizeof(*t));
    for (w = 0; w < opt.jobs; w++) {
        wstat_t *s = &wstats[w];

        t->active += LOAD(s->active);
        t->ever += LOAD(s->ever);
        t->gaveup += LOAD(s->gaveup);
        t->unavailable += LOAD(s->unavailable);
        t->received += LOAD(s->received);
        t->any += LOAD(s->any);
        t->dups += LOAD(s->dups);
        t->ooo += LOAD(s->ooo);
        t->foreign += LOAD(s->foreign);
        t->gaps += LOAD(s->gaps);
        t->conn_errors += LOAD(s->conn_errors);
        t->http_errors += LOAD(s->http_errors);
        t->stream_ends += LOAD(s->stream_ends);
        t->reconnects += LOAD(s->reconnects);
        t->lost += LOAD(s->lost);
        t->never += LOAD(s->never);
        t->nlat += LOAD(s->nlat);
        if (LOAD(s->last_status)) {
            t->last_status = LOAD(s->last_status);
        }
    }
}

/* ------------------------------------------------------------------ */
/* the server's processes: PSS and CPU time                             */

typedef struct {
    pid_t *v;
    int    n, cap;
} pidset_t;

static void pidset_add(pidset_t *s, pid_t p)
{
    int i;

    for (i = 0; i < s->n; i++) {
        if (s->v[i] == p) {
            return;
        }
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->v = realloc(s->v, sizeof(pid_t) * (size_t)s->cap);
        if (!s->v) {
            die("out of memory");
        }
    }
    s->v[s->n++] = p;
}

static int pidset_has(const pidset_t *s, pid_t p)
{
    int i;

    for (i = 0; i < s->n; i++) {
        if (s->v[i] == p) {
            return 1;
        }
    }
    return 0;
}

static int read_small_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t got = 0;

    if (fd < 0) {
        return -1;
    }
    while (got + 1 < cap) {
        ssize_t r = read(fd, buf + got, cap - 1 - got);

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    return (int)got;
}

/* ppid and utime+stime (ticks) from /proc/<pid>/stat. */
static int proc_stat(pid_t pid, pid_t *ppid, uint64_t *ticks)
{
    char path[64], buf[1024], *p;
    unsigned long long ut = 0, st = 0;
    int pp = 0;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (read_small_file(path, buf, sizeof(buf)) <= 0) {
        return -1;
    }
    if (!(p = strrchr(buf, ')'))) {
        return -1;
    }
    /* fields after "(comm)": state ppid pgrp session tty tpgid flags
     * minflt cminflt majflt cmajflt utime stime */
    if (sscanf(p + 1, " %*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
               &pp, &ut, &st) != 3) {
        return -1;
    }
    if (ppid) {
        *ppid = pp;
    }
    if (ticks) {
        *ticks = ut + st;
    }
    return 0;
}

/* The processes named by -P and all their descendants, right now. */
static void server_pids(pidset_t *out)
{
    const char *spec = opt.pids;
    struct stat sb;
    DIR *d;
    struct dirent *de;
    pid_t *all = NULL, *par = NULL;
    int nall = 0, capall = 0, changed, i;

    out->n = 0;
    if (!spec) {
        return;
    }
    d = opendir("/proc");
    if (!d) {
        return;
    }
    while ((de = readdir(d))) {
        pid_t pid, pp;

        if (!isdigit((unsigned char)de->d_name[0])) {
            continue;
        }
        pid = (pid_t)atoi(de->d_name);
        if (proc_stat(pid, &pp, NULL) < 0) {
            continue;
        }
        if (nall == capall) {
            capall = capall ? capall * 2 : 256;
            all = realloc(all, sizeof(pid_t) * (size_t)capall);
            par = realloc(par, sizeof(pid_t) * (size_t)capall);
            if (!all || !par) {
                die("out of memory");
            }
        }
        all[nall] = pid;
        par[nall] = pp;
        nall++;
        if (!strncmp(spec, "name:", 5)) {
            char path[64], comm[64];

            snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
            if (read_small_file(path, comm, sizeof(comm)) > 0) {
                comm[strcspn(comm, "\n")] = '\0';
                if (!strcmp(comm, spec + 5) && pid != getpid()) {
                    pidset_add(out, pid);
                }
            }
        }
    }
    closedir(d);
    if (strncmp(spec, "name:", 5)) {
        char buf[4096];
        const char *p = spec;

        if (stat(spec, &sb) == 0 && S_ISREG(sb.st_mode)) {
            if (read_small_file(spec, buf, sizeof(buf)) < 0) {
                buf[0] = '\0';
            }
            p = buf;
        }
        while (*p) {
            char *end;
            long v = strtol(p, &end, 10);

            if (end == p) {
                p++;
                continue;
            }
            if (v > 0 && v < INT_MAX) {
                pidset_add(out, (pid_t)v);
            }
            p = end;
        }
    }
    /* add descendants until nothing changes */
    do {
        changed = 0;
        for (i = 0; i < nall; i++) {
            if (!pidset_has(out, all[i]) && pidset_has(out, par[i])) {
                pidset_add(out, all[i]);
                changed = 1;
            }
        }
    } while (changed);
    free(all);
    free(par);
}

/* Sum of PSS over the server's processes, KB; -1 when unknown. */
static long long server_pss_kb(int *nprocs)
{
    pidset_t s = { 0 };
    long long total = 0;
    int i, seen = 0;

    server_pids(&s);
    for (i = 0; i < s.n; i++) {
        char path[64], line[256];
        FILE *f;
        long long kb = -1;

        snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)s.v[i]);
        if (!(f = fopen(path, "r"))) {
            continue;
        }
        while (fgets(line, sizeof(line), f)) {
            if (!strncmp(line, "Pss:", 4)) {
                kb = strtoll(line + 4, NULL, 10);
                break;
            }
        }
        fclose(f);
        if (kb >= 0) {
            total += kb;
            seen++;
        }
    }
    free(s.v);
    if (nprocs) {
        *nprocs = seen;
    }
    return seen ? total : -1;
}

/* utime+stime over the server's processes, ms; NAN when unknown. */
static double server_cpu_ms(void)
{
    pidset_t s = { 0 };
    uint64_t total = 0;
    int i, seen = 0;
    long hz = sysconf(_SC_CLK_TCK);

    server_pids(&s);
    for (i = 0; i < s.n; i++) {
        uint64_t t;

        if (proc_stat(s.v[i], NULL, &t) == 0) {
            total += t;
            seen++;
        }
    }
    free(s.v);
    return seen ? (double)total * 1000.0 / (double)(hz > 0 ? hz : 100) : NAN;
}

/* ------------------------------------------------------------------ */
/* connections and the HTTP/1.1 response parser                         */

enum { K_SUB, K_PUB };

enum {
    RS_HEAD, RS_LEN, RS_CHUNK_SIZE, RS_CHUNK_DATA, RS_CHUNK_CRLF,
    RS_TRAILER, RS_EOF, RS_DONE
};

typedef struct {
    uint8_t  state;
    uint8_t  chunked;
    uint8_t  close;
    uint8_t  has_len;
    uint8_t  gap;
    int      status;
    int      retry_after;
    uint64_t remain;
    char     lm[40];        /* Last-Modified */
    char     etag[40];
    char     accept[32];    /* Sec-WebSocket-Accept */
} resp_t;

typedef struct conn {
    int      fd;
    uint32_t id;            /* index in conns[] */
    uint8_t  kind;
    uint8_t  connecting;
    uint8_t  out_armed;
    uint8_t  ws;            /* upgraded to WebSocket */
    uint8_t  handshaking;   /* TLS handshake under way */
    SSL     *ssl;           /* a TLS subscriber's (-Z) */
    uint32_t gen;           /* bumped at every close */
    uint16_t port;          /* 0: opt.port */
    buf_t    out;
    buf_t    in;
    buf_t    body;
    resp_t   rs;
} conn_t;

static int ep = -1;
static conn_t **conns;
static uint32_t nconns, capconns;

static void conn_register(conn_t *c, int kind)
{
    if (nconns == capconns) {
        capconns = capconns ? capconns * 2 : 1024;
        conns = realloc(conns, sizeof(conn_t *) * capconns);
        if (!conns) {
            die("out of memory");
        }
    }
    c->fd = -1;
    c->kind = (uint8_t)kind;
    c->id = nconns;
    conns[nconns++] = c;
}

/* epoll data: the connection's index and generation, so that an event
 * fetched for a socket closed meanwhile is never applied to its
 * successor. */
static uint64_t conn_tag(const conn_t *c)
{
    return (uint64_t)c->id << 32 | c->gen;
}

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

/* Starts a non-blocking connect; 0 or an errno. */
static int conn_open(conn_t *c, int src)
{
    struct sockaddr_in sa;
    struct epoll_event ev;
    int fd, one = 1;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return errno;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (src >= 0 && opt.nsources > 1) {
        /* The port is chosen at connect(), unique per 4-tuple, so each
         * source address has the whole ephemeral range to itself. */
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
                   sizeof(one));
        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)src);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            int e = errno;

            close(fd);
            return e;
        }
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(c->port ? c->port : (uint16_t)opt.port);
    sa.sin_addr = dst_addr;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0
        && errno != EINPROGRESS) {
        int e = errno;

        close(fd);
        return e;
    }
    c->fd = fd;
    c->connecting = 1;
    c->out_armed = 1;
    c->ws = 0;
    buf_clear(&c->in);
    buf_clear(&c->out);
    buf_clear(&c->body);
    memset(&c->rs, 0, sizeof(c->rs));
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
    ev.data.u64 = conn_tag(c);
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
        int e = errno;

        close(fd);
        c->fd = -1;
        return e;
    }
    return 0;
}

static void conn_close(conn_t *c, int rst)
{
    if (c->fd >= 0) {
        if (rst) {
            struct linger lg = { 1, 0 };

            setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        }
        close(c->fd);
        c->fd = -1;
    }
    if (c->ssl) {
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    c->handshaking = 0;
    c->gen++;
    c->connecting = 0;
    c->ws = 0;
    buf_clear(&c->in);
    buf_clear(&c->out);
    buf_clear(&c->body);
}

static void conn_arm(conn_t *c, int out)
{
    struct epoll_event ev;

    if (c->out_armed == out || c->fd < 0) {
        return;
    }
    ev.events = EPOLLIN | EPOLLRDHUP | (out ? EPOLLOUT : 0);
    ev.data.u64 = conn_tag(c);
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->out_armed = (uint8_t)out;
}

/* Writes what is queued; 0, or -1 with errno on a dead connection. */
static int conn_flush(conn_t *c)
{
    while (buf_avail(&c->out)) {
        ssize_t r;

        if (c->ssl) {
            int n = SSL_write(c->ssl, buf_data(&c->out),
                              (int)buf_avail(&c->out));

            if (n > 0) {
                buf_consume(&c->out, (size_t)n);
                continue;
            }
            switch (SSL_get_error(c->ssl, n)) {
            case SSL_ERROR_WANT_WRITE:
                conn_arm(c, 1);
                return 0;
            case SSL_ERROR_WANT_READ:
                return 0;
            default:
                errno = ECONNRESET;
                return -1;
            }
        }
        r = write(c->fd, buf_data(&c->out), buf_avail(&c->out));
        if (r > 0) {
            buf_consume(&c->out, (size_t)r);
            continue;
        }
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0 && errno == EAGAIN) {
            conn_arm(c, 1);
            return 0;
        }
        return -1;
    }
    conn_arm(c, 0);
    return 0;
}

static size_t head_end(const char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (p[i] != '\n') {
            continue;
        }
        if (i + 1 < n && p[i + 1] == '\n') {
            return i + 2;
        }
        if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n') {
            return i + 3;
        }
    }
    return 0;
}

static void copy_value(char *dst, size_t cap, const char *v, size_t n)
{
    if (n >= cap) {
        n = cap - 1;
    }
    memcpy(dst, v, n);
    dst[n] = '\0';
}

static int has_token(const char *v, size_t n, const char *tok)
{
    size_t t = strlen(tok), i;

    for (i = 0; i + t <= n; i++) {
        if (!strncasecmp(v + i, tok, t)) {
            return 1;
        }
    }
    return 0;
}

/* Parses the status line and headers in p[0..n); -1 when malformed. */
static int parse_head(resp_t *rs, const char *p, size_t n)
{
    const char *end = p + n, *line = p;
    int first = 1, http10 = 0, keepalive = 0;

    rs->status = 0;
    rs->chunked = rs->close = rs->has_len = rs->gap = 0;
    rs->retry_after = 0;
    rs->remain = 0;
    rs->lm[0] = rs->etag[0] = rs->accept[0] = '\0';
    while (line < end) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        const char *le, *colon, *v, *ve;
        size_t nlen;

        if (!nl) {
            nl = end;
        }
        le = nl;
        if (le > line && le[-1] == '\r') {
            le--;
        }
        if (first) {
            if (le - line < 12 || strncmp(line, "HTTP/1.", 7)
                || !isdigit((unsigned char)line[9])
                || !isdigit((unsigned char)line[10])
                || !isdigit((unsigned char)line[11]) || line[8] != ' ') {
                return -1;
            }
            http10 = line[7] == '0';
            rs->status = (line[9] - '0') * 100 + (line[10] - '0') * 10
                         + (line[11] - '0');
            first = 0;
        }
        else if (le > line) {
            colon = memchr(line, ':', (size_t)(le - line));
            if (!colon) {
                return -1;
            }
            nlen = (size_t)(colon - line);
            v = colon + 1;
            while (v < le && (*v == ' ' || *v == '\t')) {
                v++;
            }
            ve = le;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) {
                ve--;
            }
#define HDR_IS(name) (nlen == sizeof(name) - 1 \
                      && !strncasecmp(line, name, sizeof(name) - 1))
            if (HDR_IS("Content-Length")) {
                uint64_t len = 0;
                const char *q;

                if (v == ve) {
                    return -1;
                }
                for (q = v; q < ve; q++) {
                    if (!isdigit((unsigned char)*q) || len > PB_MAX_BODY) {
                        return -1;
                    }
                    len = len * 10 + (uint64_t)(*q - '0');
                }
                rs->has_len = 1;
                rs->remain = len;
            }
            else if (HDR_IS("Transfer-Encoding")) {
                rs->chunked = (uint8_t)has_token(v, (size_t)(ve - v),
                                                 "chunked");
            }
            else if (HDR_IS("Connection")) {
                if (has_token(v, (size_t)(ve - v), "close")) {
                    rs->close = 1;
                }
                if (has_token(v, (size_t)(ve - v), "keep-alive")) {
                    keepalive = 1;
                }
            }
            else if (HDR_IS("Last-Modified")) {
                copy_value(rs->lm, sizeof(rs->lm), v, (size_t)(ve - v));
            }
            else if (HDR_IS("Etag")) {
                copy_value(rs->etag, sizeof(rs->etag), v, (size_t)(ve - v));
            }
            else if (HDR_IS("Sec-WebSocket-Accept")) {
                copy_value(rs->accept, sizeof(rs->accept), v,
                           (size_t)(ve - v));
            }
            else if (HDR_IS("X-Push-Gap")) {
                rs->gap = 1;
            }
            else if (HDR_IS("Retry-After")) {
                rs->retry_after = atoi(v);
            }
#undef HDR_IS
        }
        line = nl + 1;
    }
    if (first) {
        return -1;
    }
    if (http10 && !keepalive) {
        rs->close = 1;
    }
    if (rs->chunked) {
        rs->has_len = 0;
    }
    return 0;
}

/* Handlers per connection kind (below).  Each returns -1 when it closed
 * or replaced the connection. */
static int  on_head(conn_t *c);
static int  on_body(conn_t *c);
static int  on_done(conn_t *c);
static void on_connected(conn_t *c);
static void on_connect_failed(conn_t *c, int err);
static void on_lost(conn_t *c, int err);
static int  ws_process(conn_t *c);

#define STEP_MORE  0      /* need more input */
#define STEP_OK    1      /* progress */
#define STEP_ERR  -1      /* protocol error */
#define STEP_GONE -2      /* a handler closed the connection */

static int body_take(conn_t *c, size_t n)
{
    if (c->body.len - c->body.off + n > PB_MAX_BODY) {
        return -1;
    }
    buf_add(&c->body, buf_data(&c->in), n);
    buf_consume(&c->in, n);
    return 0;
}

static int resp_finish(conn_t *c)
{
    uint32_t gen = c->gen;

    c->rs.state = RS_DONE;
    if (on_done(c) < 0 || c->gen != gen) {
        return STEP_GONE;
    }
    if (!c->ws) {
        c->rs.state = RS_HEAD;
        buf_clear(&c->body);
    }
    return STEP_OK;
}

static int http_step(conn_t *c)
{
    resp_t *rs = &c->rs;
    char *p = buf_data(&c->in), *nl;
    size_t n = buf_avail(&c->in), take, end;
    uint32_t gen = c->gen;

    switch (rs->state) {
    case RS_HEAD:
        if (!(end = head_end(p, n))) {
            return n > PB_MAX_HEAD ? STEP_ERR : STEP_MORE;
        }
        if (parse_head(rs, p, end) < 0) {
            return STEP_ERR;
        }
        buf_consume(&c->in, end);
        if (rs->status >= 100 && rs->status < 200 && rs->status != 101) {
            return STEP_OK;             /* interim response: skip it */
        }
        buf_clear(&c->body);
        if (rs->status == 101 || rs->status == 204 || rs->status == 304) {
            rs->state = RS_DONE;
        }
        else if (rs->chunked) {
            rs->state = RS_CHUNK_SIZE;
        }
        else if (rs->has_len) {
            rs->state = rs->remain ? RS_LEN : RS_DONE;
        }
        else {
            rs->state = RS_EOF;
            rs->close = 1;
        }
        if (on_head(c) < 0 || c->gen != gen) {
            return STEP_GONE;
        }
        if (c->ws) {
            return STEP_OK;
        }
        return rs->state == RS_DONE ? resp_finish(c) : STEP_OK;
    case RS_LEN:
    case RS_CHUNK_DATA:
        take = n < rs->remain ? n : (size_t)rs->remain;
        if (body_take(c, take) < 0) {
            return STEP_ERR;
        }
        rs->remain -= take;
        if (on_body(c) < 0 || c->gen != gen) {
            return STEP_GONE;
        }
        if (rs->remain) {
            return STEP_MORE;
        }
        if (rs->state == RS_CHUNK_DATA) {
            rs->state = RS_CHUNK_CRLF;
            return STEP_OK;
        }
        return resp_finish(c);
    case RS_CHUNK_SIZE: {
        uint64_t size = 0;
        char *q;
        int digits = 0;

        if (!(nl = memchr(p, '\n', n))) {
            return n > 1024 ? STEP_ERR : STEP_MORE;
        }
        for (q = p; q < nl && isxdigit((unsigned char)*q); q++) {
            if (++digits > 8) {
                return STEP_ERR;
            }
            size = size * 16 + (uint64_t)(isdigit((unsigned char)*q)
                                          ? *q - '0'
                                          : (tolower((unsigned char)*q)
                                             - 'a' + 10));
        }
        if (!digits || (q < nl && *q != ';' && *q != '\r' && *q != ' '
                        && *q != '\t')) {
            return STEP_ERR;
        }
        buf_consume(&c->in, (size_t)(nl - p) + 1);
        if (size == 0) {
            rs->state = RS_TRAILER;
        }
        else {
            rs->remain = size;
            rs->state = RS_CHUNK_DATA;
        }
        return STEP_OK;
    }
    case RS_CHUNK_CRLF:
        if (p[0] == '\n') {
            buf_consume(&c->in, 1);
        }
        else if (p[0] == '\r') {
            if (n < 2) {
                return STEP_MORE;
            }
            if (p[1] != '\n') {
                return STEP_ERR;
            }
            buf_consume(&c->in, 2);
        }
        else {
            return STEP_ERR;
        }
        rs->state = RS_CHUNK_SIZE;
        return STEP_OK;
    case RS_TRAILER:
        if (!(nl = memchr(p, '\n', n))) {
            return n > PB_MAX_HEAD ? STEP_ERR : STEP_MORE;
        }
        end = (size_t)(nl - p) + 1;
        buf_consume(&c->in, end);
        if (end == 1 || (end == 2 && p[0] == '\r')) {
            return resp_finish(c);
        }
        return STEP_OK;
    case RS_EOF:
        if (body_take(c, n) < 0) {
            return STEP_ERR;
        }
        if (on_body(c) < 0 || c->gen != gen) {
            return STEP_GONE;
        }
        return STEP_MORE;
    default:
        /* data after a complete response we did not ask for */
        return STEP_ERR;
    }
}

/* Runs the parser over the input; -1 when the connection went away. */
static int conn_process(conn_t *c)
{
    uint32_t gen = c->gen;

    while (c->gen == gen && c->fd >= 0 && buf_avail(&c->in)) {
        int r;

        if (c->ws) {
            return ws_process(c);
        }
        r = http_step(c);
        if (r == STEP_GONE) {
            return -1;
        }
        if (r == STEP_ERR) {
            on_lost(c, EPROTO);
            return -1;
        }
        if (r == STEP_MORE) {
            break;
        }
    }
    return c->gen == gen && c->fd >= 0 ? 0 : -1;
}

static void conn_readable(conn_t *c)
{
    uint32_t gen = c->gen;
    int eof = 0, err = 0;

    for (;;) {
        size_t room;
        ssize_t r;

        buf_reserve(&c->in, 16384);
        room = c->in.cap - c->in.len;
        if (c->ssl) {
            int n = SSL_read(c->ssl, c->in.p + c->in.len, (int)room);

            if (n > 0) {
                c->in.len += (size_t)n;
                /* A record at a time: on while the socket may hold more.
                 * What OpenSSL holds already wakes no epoll, so it is
                 * read before stopping. */
                if (buf_avail(&c->in) > 4 * 1024 * 1024
                    && !SSL_pending(c->ssl)) {
                    break;
                }
                continue;
            }
            switch (SSL_get_error(c->ssl, n)) {
            case SSL_ERROR_WANT_READ:
                break;
            case SSL_ERROR_WANT_WRITE:
                conn_arm(c, 1);
                break;
            case SSL_ERROR_ZERO_RETURN:
                eof = 1;
                break;
            case SSL_ERROR_SYSCALL:
                err = errno ? errno : ECONNRESET;
                ERR_clear_error();
                break;
            default:
                err = ECONNRESET;
                ERR_clear_error();
                break;
            }
            break;
        }
        r = read(c->fd, c->in.p + c->in.len, room);
        if (r > 0) {
            c->in.len += (size_t)r;
            if ((size_t)r < room || buf_avail(&c->in) > 4 * 1024 * 1024) {
                break;
            }
            continue;
        }
        if (r == 0) {
            eof = 1;
            break;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN) {
            err = errno;
        }
        break;
    }
    if (buf_avail(&c->in) && conn_process(c) < 0) {
        return;
    }
    if (c->gen != gen || c->fd < 0) {
        return;
    }
    if (eof && !c->ws && c->rs.state == RS_EOF) {
        if (resp_finish(c) == STEP_GONE || c->gen != gen) {
            return;
        }
    }
    if (eof || err) {
        on_lost(c, err);
    }
}

/* This process's TLS client context (-Z): no certificate check, the
 * library's default protocol versions and ciphers, as a browser's would
 * be. */
static SSL_CTX *tls_ctx(void)
{
    static SSL_CTX *ctx;

    if (!ctx) {
        if (!(ctx = SSL_CTX_new(TLS_client_method()))) {
            die("cannot make a TLS context");
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        /* A close without close_notify is an end of stream, as it is to
         * a browser. */
        SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
        SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE
                              | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
                              | SSL_MODE_RELEASE_BUFFERS);
    }
    return ctx;
}

/* One step of a TLS handshake; when it is done, the connection goes on
 * as a plain one that has just connected. */
static void tls_handshake(conn_t *c)
{
    uint32_t gen = c->gen;
    int rc = SSL_do_handshake(c->ssl);

    if (rc == 1) {
        c->handshaking = 0;
        on_connected(c);
        if (c->gen == gen && c->fd >= 0 && conn_flush(c) < 0) {
            on_lost(c, errno);
        }
        return;
    }
    switch (SSL_get_error(c->ssl, rc)) {
    case SSL_ERROR_WANT_READ:
        conn_arm(c, 0);
        return;
    case SSL_ERROR_WANT_WRITE:
        conn_arm(c, 1);
        return;
    default:
        ERR_clear_error();
        on_connect_failed(c, ECONNRESET);
        return;
    }
}

static void conn_event(conn_t *c, uint32_t events)
{
    uint32_t gen = c->gen;

    if (c->fd < 0) {
        return;
    }
    if (c->connecting) {
        int err = 0;
        socklen_t len = sizeof(err);

        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
            return;
        }
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
            err = errno;
        }
        if (!err && (events & EPOLLERR)) {
            err = ECONNRESET;
        }
        if (err) {
            on_connect_failed(c, err);
            return;
        }
        c->connecting = 0;
        if (opt.tls && c->kind == K_SUB) {
            if (!(c->ssl = SSL_new(tls_ctx()))
                || SSL_set_fd(c->ssl, c->fd) != 1) {
                die("cannot set up a TLS connection");
            }
            SSL_set_connect_state(c->ssl);
            c->handshaking = 1;
            tls_handshake(c);
            return;
        }
        on_connected(c);
        if (c->gen != gen || c->fd < 0) {
            return;
        }
        if (conn_flush(c) < 0) {
            on_lost(c, errno);
        }
        return;
    }
    if (c->handshaking) {
        tls_handshake(c);
        return;
    }
    if ((events & EPOLLOUT) && conn_flush(c) < 0) {
        on_lost(c, errno);
        return;
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        conn_readable(c);
    }
}

/* ------------------------------------------------------------------ */
/* subscribers                                                          */

enum { SS_NEW, SS_CONNECTING, SS_REQ, SS_STREAM, SS_WAIT, SS_DEAD };

#define PB_MAX_RECONNECTS 1000

typedef struct {
    conn_t         c;           /* first: a K_SUB conn_t * is a sub_t * */
    uint8_t        state;
    uint8_t        active;      /* counted in the active gauge */
    uint8_t        ever;
    uint8_t        inflight;    /* started, not yet subscribed */
    uint8_t        sse_cr;      /* last line ended with CR */
    uint8_t        sse_data;    /* the pending event has data */
    uint8_t        sse_gap;     /* ... and is a push-gap notice */
    uint8_t        ws_frag;     /* opcode of a fragmented message */
    uint8_t        src;         /* source address index */
    uint16_t       retries;
    uint16_t       reconnects;
    uint32_t       maxseq;
    uint64_t       retry_at;
    unsigned char *seen;        /* bit k-1: message k delivered */
    buf_t          ev;          /* SSE: the pending event's data */
    char           lm[40];      /* long poll cursor: Last-Modified */
    char           etag[40];    /*                   Etag */
    char           evid[64];    /* SSE: last event id */
    char           accept[29];  /* WS: expected Sec-WebSocket-Accept */
} sub_t;

static sub_t    *subs;
static long      nsubs_local, next_start, inflight, nretry;
static sub_t   **retry_q;
static wstat_t  *st;
static int       my_w, have_engine;
static uint64_t  ramp_t0;
static double    ramp_rate;
static unsigned  noted_errors;

static void note_error(const char *fmt, ...) __attribute__((format(printf, 1,
                                                                   2)));

/* The first few errors of a process are worth seeing; not 10,000. */
static void note_error(const char *fmt, ...)
{
    va_list ap;

    if (quiet || ++noted_errors > 5) {
        if (!quiet && noted_errors == 6) {
            fprintf(stderr, "%s: [%d] more errors; counting only\n",
                    progname, my_w);
        }
        return;
    }
    fprintf(stderr, "%s: [%d] ", progname, my_w);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void sub_start(sub_t *s);

static void sub_not_inflight(sub_t *s)
{
    if (s->inflight) {
        s->inflight = 0;
        inflight--;
    }
}

static void sub_activate(sub_t *s)
{
    sub_not_inflight(s);
    if (!s->active) {
        s->active = 1;
        ST_ADD(st->active, 1);
    }
    if (!s->ever) {
        s->ever = 1;
        ST_ADD(st->ever, 1);
    }
    s->retries = 0;
}

static void sub_deactivate(sub_t *s)
{
    sub_not_inflight(s);
    if (s->active) {
        s->active = 0;
        ST_SUB(st->active, 1);
    }
    conn_close(&s->c, 0);
    s->ws_frag = 0;
    s->sse_cr = s->sse_data = s->sse_gap = 0;
    buf_clear(&s->ev);
}

static void sub_giveup(sub_t *s, int unavailable)
{
    sub_deactivate(s);
    s->state = SS_DEAD;
    if (!s->ever) {
        ST_ADD(st->gaveup, 1);
        if (unavailable) {
            ST_ADD(st->unavailable, 1);
        }
    }
}

static void sub_retry(sub_t *s, uint64_t delay_ns)
{
    sub_deactivate(s);
    if (get_phase() == PH_FINISH || ++s->retries > PB_MAX_RETRIES) {
        sub_giveup(s, 0);
        return;
    }
    s->state = SS_WAIT;
    s->retry_at = mono_ns() + delay_ns;
    retry_q[nretry++] = s;
}

/* The connection ended in a normal way (keep-alive closed, stream
 * ended): connect again at once. */
static void sub_reconnect(sub_t *s)
{
    sub_deactivate(s);
    if (get_phase() == PH_FINISH || ++s->reconnects > PB_MAX_RECONNECTS) {
        sub_giveup(s, 0);
        return;
    }
    ST_ADD(st->reconnects, 1);
    sub_start(s);
}

static void sub_conn_error(sub_t *s, int err)
{
    static int hinted;

    ST_ADD(st->conn_errors, 1);
    note_error("subscriber connection: %s", strerror(err));
    if (err == EADDRNOTAVAIL && opt.nsources == 1 && !hinted++) {
        note_error("out of source ports: spread over more source "
                   "addresses with -S");
    }
    sub_retry(s, NS_PER_S);
}

static void sub_request(sub_t *s)
{
    conn_t *c = &s->c;

    buf_printf(&c->out, "GET %s HTTP/1.1\r\nHost: %s\r\n", sub_target,
               host_hdr);
    switch (opt.transport) {
    case TR_LONGPOLL:
        buf_printf(&c->out, "Accept: */*\r\n");
        if (s->lm[0]) {
            buf_printf(&c->out, "If-Modified-Since: %s\r\n", s->lm);
        }
        if (s->etag[0]) {
            buf_printf(&c->out, "If-None-Match: %s\r\n", s->etag);
        }
        break;
    case TR_SSE:
        buf_printf(&c->out, "Accept: text/event-stream\r\n"
                   "Cache-Control: no-cache\r\n");
        if (s->evid[0]) {
            buf_printf(&c->out, "Last-Event-ID: %s\r\n", s->evid);
        }
        break;
    case TR_WS: {
        unsigned char raw[16];
        char key[25];
        int i;

        for (i = 0; i < 16; i += 4) {
            uint32_t r = rng32();

            memcpy(raw + i, &r, 4);
        }
        base64(raw, 16, key);
        ws_accept_for(key, s->accept);
        buf_printf(&c->out, "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n",
                   key);
        break;
    }
    }
    buf_printf(&c->out, "\r\n");
    s->state = SS_REQ;
    if (!c->connecting && conn_flush(c) < 0) {
        on_lost(c, errno);
        return;
    }
    if (opt.transport == TR_LONGPOLL) {
        /* a long poll is subscribed once its request is out */
        sub_activate(s);
    }
}

static void sub_start(sub_t *s)
{
    int tries, err = 0;

    if (!s->inflight) {
        s->inflight = 1;
        inflight++;
    }
    for (tries = 0; tries < opt.nsources; tries++) {
        err = conn_open(&s->c, opt.nsources > 1 ? s->src : -1);
        if (err != EADDRNOTAVAIL && err != EADDRINUSE) {
            break;
        }
        s->src = (uint8_t)((s->src + 1) % opt.nsources);
    }
    if (err) {
        sub_conn_error(s, err);
        return;
    }
    s->state = SS_CONNECTING;
}

static void deliver(sub_t *s, const char *p, size_t n)
{
    uint64_t now = mono_ns();
    unsigned long long seq, sent, wall;
    unsigned int run;
    char tmp[96];
    size_t k = n < sizeof(tmp) - 1 ? n : sizeof(tmp) - 1;
    unsigned char *byte, bit;
    size_t at;

    memcpy(tmp, p, k);
    tmp[k] = '\0';
    if (sscanf(tmp, "pb %x %llu %llu %llu", &run, &seq, &sent, &wall) != 4
        || run != run_id) {
        ST_ADD(st->foreign, 1);
        return;
    }
    ST_ADD(st->any, 1);
    if (seq < 1 || seq > (unsigned long long)opt.nmsgs) {
        return;                         /* throughput messages: seq 0 */
    }
    byte = &s->seen[(seq - 1) / 8];
    bit = (unsigned char)(1u << ((seq - 1) % 8));
    if (*byte & bit) {
        ST_ADD(st->dups, 1);
        return;
    }
    *byte |= bit;
    if (seq < s->maxseq) {
        ST_ADD(st->ooo, 1);
    }
    else {
        s->maxseq = (uint32_t)seq;
    }
    ST_ADD(st->received, 1);
    if (st->nlat < lat_off[my_w + 1] - lat_off[my_w]) {
        uint64_t us = now > sent ? (now - sent) / 1000 : 0;

        lat_us[lat_off[my_w] + st->nlat] = us > UINT32_MAX ? UINT32_MAX
                                                           : (uint32_t)us;
        ST_ADD(st->nlat, 1);
    }
    at = (size_t)my_w * ((size_t)opt.nmsgs + 1) + seq;
    mcount[at]++;
    if (now > mlast[at]) {
        mlast[at] = now;
    }
}

/* Server-Sent Events (WHATWG HTML, "event stream interpretation"). */
static void sse_dispatch(sub_t *s)
{
    if (s->sse_gap) {
        ST_ADD(st->gaps, 1);    /* mod_push: messages lost, said so */
    }
    else if (s->sse_data) {
        size_t n = buf_avail(&s->ev);

        if (n && buf_data(&s->ev)[n - 1] == '\n') {
            n--;
        }
        deliver(s, buf_data(&s->ev), n);
    }
    buf_clear(&s->ev);
    s->sse_data = 0;
    s->sse_gap = 0;
}

static void sse_line(sub_t *s, const char *l, size_t n)
{
    const char *colon, *v;
    size_t fn, vn;

    if (n == 0) {
        sse_dispatch(s);
        return;
    }
    if (l[0] == ':') {
        return;                         /* comment (keep-alive) */
    }
    if ((colon = memchr(l, ':', n))) {
        fn = (size_t)(colon - l);
        v = colon + 1;
        vn = n - fn - 1;
        if (vn && *v == ' ') {
            v++;
            vn--;
        }
    }
    else {
        fn = n;
        v = l + n;
        vn = 0;
    }
    if (fn == 4 && !memcmp(l, "data", 4)) {
        if (buf_avail(&s->ev) + vn > PB_MAX_BODY) {
            ST_ADD(st->foreign, 1);
            buf_clear(&s->ev);
        }
        buf_add(&s->ev, v, vn);
        buf_add(&s->ev, "\n", 1);
        s->sse_data = 1;
    }
    else if (fn == 2 && !memcmp(l, "id", 2) && !memchr(v, '\0', vn)) {
        copy_value(s->evid, sizeof(s->evid), v, vn);
    }
    else if (fn == 5 && !memcmp(l, "event", 5)) {
        s->sse_gap = vn == 8 && !memcmp(v, "push-gap", 8);
    }
    /* "retry" does not matter here */
}

static int sse_process(sub_t *s)
{
    buf_t *b = &s->c.body;

    while (buf_avail(b)) {
        char *p = buf_data(b);
        size_t n = buf_avail(b), i;

        if (s->sse_cr) {
            s->sse_cr = 0;
            if (p[0] == '\n') {
                buf_consume(b, 1);      /* CRLF */
                continue;
            }
        }
        for (i = 0; i < n && p[i] != '\n' && p[i] != '\r'; i++) {
        }
        if (i == n) {
            break;                      /* partial line: wait */
        }
        if (p[i] == '\r') {
            s->sse_cr = 1;
        }
        sse_line(s, p, i);
        buf_consume(b, i + 1);
    }
    return 0;
}

/* RFC 6455: client frames are masked. */
static int ws_send(conn_t *c, int op, const void *data, size_t n)
{
    unsigned char h[14], mask[4];
    const unsigned char *d = data;
    uint32_t key = rng32();
    size_t hl, i;
    char *out;

    h[0] = (unsigned char)(0x80 | op);
    if (n < 126) {
        h[1] = (unsigned char)(0x80 | n);
        hl = 2;
    }
    else if (n < 65536) {
        h[1] = 0x80 | 126;
        h[2] = (unsigned char)(n >> 8);
        h[3] = (unsigned char)n;
        hl = 4;
    }
    else {
        h[1] = 0x80 | 127;
        for (i = 0; i < 8; i++) {
            h[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
        }
        hl = 10;
    }
    memcpy(mask, &key, 4);
    memcpy(h + hl, mask, 4);
    hl += 4;
    buf_add(&c->out, h, hl);
    buf_reserve(&c->out, n);
    out = c->out.p + c->out.len;
    for (i = 0; i < n; i++) {
        out[i] = (char)(d[i] ^ mask[i & 3]);
    }
    c->out.len += n;
    return conn_flush(c);
}

static void sub_stream_end(sub_t *s)
{
    ST_ADD(st->stream_ends, 1);
    sub_reconnect(s);
}

static void ws_error(sub_t *s, const char *why)
{
    ST_ADD(st->http_errors, 1);
    note_error("WebSocket protocol error: %s", why);
    sub_retry(s, NS_PER_S);
}

static int ws_process(conn_t *c)
{
    sub_t *s = (sub_t *)c;
    uint32_t gen = c->gen;

    while (c->gen == gen && c->fd >= 0) {
        unsigned char *p = (unsigned char *)buf_data(&c->in), *pl;
        size_t n = buf_avail(&c->in), hdr = 2, i;
        uint64_t len;
        int fin, op, masked;

        if (n < 2) {
            break;
        }
        fin = p[0] & 0x80;
        op = p[0] & 0x0f;
        masked = p[1] & 0x80;
        len = p[1] & 0x7f;
        if (p[0] & 0x70) {
            ws_error(s, "reserved bits set (no extension was negotiated)");
            return -1;
        }
        if (len == 126) {
            if (n < 4) {
                break;
            }
            len = (uint64_t)p[2] << 8 | p[3];
            hdr = 4;
        }
        else if (len == 127) {
            if (n < 10) {
                break;
            }
            len = 0;
            for (i = 0; i < 8; i++) {
                len = len << 8 | p[2 + i];
            }
            hdr = 10;
        }
        if (masked) {
            hdr += 4;
        }
        if (len > PB_MAX_BODY) {
            ws_error(s, "frame too large");
            return -1;
        }
        if (n < hdr + len) {
            break;
        }
        pl = p + hdr;
        if (masked) {
            for (i = 0; i < len; i++) {
                pl[i] ^= p[hdr - 4 + (i & 3)];
            }
        }
        if (op >= 8 && (!fin || len > 125)) {
            ws_error(s, "bad control frame");
            return -1;
        }
        switch (op) {
        case 0x1:
        case 0x2:
            if (s->ws_frag) {
                ws_error(s, "new message inside a fragmented one");
                return -1;
            }
            if (fin) {
                deliver(s, (char *)pl, len);
            }
            else {
                s->ws_frag = (uint8_t)op;
                buf_clear(&c->body);
                buf_add(&c->body, pl, len);
            }
            break;
        case 0x0:
            if (!s->ws_frag) {
                ws_error(s, "continuation without a message");
                return -1;
            }
            if (buf_avail(&c->body) + len > PB_MAX_BODY) {
                ws_error(s, "message too large");
                return -1;
            }
            buf_add(&c->body, pl, len);
            if (fin) {
                deliver(s, buf_data(&c->body), buf_avail(&c->body));
                buf_clear(&c->body);
                s->ws_frag = 0;
            }
            break;
        case 0x8:
            /* echo the status code, then the stream is over */
            ws_send(c, 0x8, pl, len >= 2 ? 2 : 0);
            sub_stream_end(s);
            return -1;
        case 0x9:
            if (ws_send(c, 0xA, pl, len) < 0) {
                on_lost(c, errno);
                return -1;
            }
            break;
        case 0xA:
            break;
        default:
            ws_error(s, "unknown opcode");
            return -1;
        }
        buf_consume(&c->in, hdr + len);
    }
    return c->gen == gen && c->fd >= 0 ? 0 : -1;
}

/* A refusal; -1 (the connection is closed). */
static int sub_http_error(sub_t *s)
{
    resp_t *rs = &s->c.rs;
    int status = rs->status;
    uint64_t delay = NS_PER_S;

    __atomic_store_n(&st->last_status, (uint64_t)status, __ATOMIC_RELAXED);
    if (!s->ever && (status == 400 || status == 403 || status == 404
                     || status == 405 || status == 406 || status == 426
                     || status == 501)) {
        note_error("subscriber refused: %d %.*s", status,
                   (int)(buf_avail(&s->c.body) > 120
                         ? 120 : buf_avail(&s->c.body)),
                   buf_data(&s->c.body));
        sub_giveup(s, 1);
        return -1;
    }
    ST_ADD(st->http_errors, 1);
    note_error("subscriber got HTTP %d", status);
    if (rs->retry_after > 0) {
        delay = (uint64_t)(rs->retry_after > 5 ? 5 : rs->retry_after)
                * NS_PER_S;
    }
    sub_retry(s, delay);
    return -1;
}

static int sub_on_head(sub_t *s)
{
    conn_t *c = &s->c;
    resp_t *rs = &c->rs;

    if (rs->gap) {
        ST_ADD(st->gaps, 1);
    }
    if (opt.transport == TR_SSE && rs->status == 200) {
        s->state = SS_STREAM;
        s->sse_cr = s->sse_data = s->sse_gap = 0;
        buf_clear(&s->ev);
        sub_activate(s);
    }
    else if (opt.transport == TR_WS && rs->status == 101) {
        if (strcmp(rs->accept, s->accept)) {
            ws_error(s, "wrong Sec-WebSocket-Accept");
            return -1;
        }
        c->ws = 1;
        s->ws_frag = 0;
        buf_clear(&c->body);
        s->state = SS_STREAM;
        sub_activate(s);
    }
    return 0;
}

static int sub_on_done(sub_t *s)
{
    conn_t *c = &s->c;
    resp_t *rs = &c->rs;

    if (opt.transport != TR_LONGPOLL) {
        if (rs->status == 200 && s->state == SS_STREAM) {
            sub_stream_end(s);
            return -1;
        }
        return sub_http_error(s);
    }
    if (rs->status == 200) {
        deliver(s, buf_data(&c->body), buf_avail(&c->body));
    }
    else if (rs->status != 304) {
        return sub_http_error(s);
    }
    if (rs->lm[0]) {
        memcpy(s->lm, rs->lm, sizeof(s->lm));
        memcpy(s->etag, rs->etag, sizeof(s->etag));
    }
    if (rs->close) {
        sub_reconnect(s);
        return -1;
    }
    if (get_phase() == PH_FINISH) {
        return 0;
    }
    sub_request(s);
    return 0;
}

static void sub_on_lost(sub_t *s, int err)
{
    if (s->state == SS_STREAM) {
        sub_stream_end(s);
    }
    else if (s->state == SS_REQ && opt.transport == TR_LONGPOLL
             && s->c.rs.state == RS_HEAD && !buf_avail(&s->c.in)) {
        /* the server closed the kept-alive connection: poll again */
        sub_reconnect(s);
    }
    else {
        sub_conn_error(s, err ? err : ECONNRESET);
    }
}

static void engine_init(int w, long lo, long hi)
{
    size_t seen_bytes = ((size_t)opt.nmsgs + 7) / 8;
    unsigned char *seen;
    long i;

    my_w = w;
    st = &wstats[w];
    nsubs_local = hi - lo;
    subs = xcalloc((size_t)nsubs_local, sizeof(sub_t));
    seen = xcalloc((size_t)nsubs_local, seen_bytes);
    retry_q = xcalloc((size_t)nsubs_local, sizeof(sub_t *));
    for (i = 0; i < nsubs_local; i++) {
        conn_register(&subs[i].c, K_SUB);
        subs[i].seen = seen + (size_t)i * seen_bytes;
        subs[i].src = (uint8_t)((lo + i) % opt.nsources);
        if (opt.nsub_ports > 0) {
            subs[i].c.port = opt.sub_ports[(lo + i) % opt.nsub_ports];
        }
    }
    ramp_rate = (double)opt.rate * (double)nsubs_local / (double)opt.nsubs;
    ramp_t0 = mono_ns();
    have_engine = 1;
}

static void engine_tick(void)
{
    uint64_t now = mono_ns();
    long i;

    if (get_phase() == PH_FINISH) {
        return;
    }
    if (next_start < nsubs_local) {
        double due = ramp_rate * (double)(now - ramp_t0) / 1e9 + 1;

        while (next_start < nsubs_local && (double)next_start < due
               && inflight < PB_MAX_INFLIGHT) {
            sub_start(&subs[next_start++]);
        }
    }
    for (i = 0; i < nretry;) {
        sub_t *s = retry_q[i];

        if (now >= s->retry_at) {
            retry_q[i] = retry_q[--nretry];
            if (s->state == SS_WAIT) {
                sub_start(s);
            }
        }
        else {
            i++;
        }
    }
}

static void engine_finish(void)
{
    uint64_t lost = 0, never = 0;
    long i, k;

    for (i = 0; i < nsubs_local; i++) {
        sub_t *s = &subs[i];

        if (s->ever) {
            for (k = 0; k < opt.nmsgs; k++) {
                if (!(s->seen[k / 8] & (1u << (k % 8)))) {
                    lost++;
                }
            }
        }
        else {
            never++;
        }
        sub_not_inflight(s);
        conn_close(&s->c, opt.rst_close);
        buf_free(&s->c.in);
        buf_free(&s->c.out);
        buf_free(&s->c.body);
        buf_free(&s->ev);
    }
    __atomic_store_n(&st->lost, lost, __ATOMIC_RELAXED);
    __atomic_store_n(&st->never, never, __ATOMIC_RELAXED);
    __atomic_store_n(&st->done, 1, __ATOMIC_RELEASE);
}

/* ------------------------------------------------------------------ */
/* publishers                                                           */

enum { PM_NONE, PM_LATENCY, PM_TPUT };

typedef struct {
    conn_t   c;             /* first */
    uint8_t  up;            /* connected */
    uint8_t  busy;          /* a request is out */
    int      reconnects;
    long     seq;
    uint64_t sent_at;
} pub_t;

static pub_t    *pubs;
static int       npubs, pub_mode;
static long      pub_next;          /* latency mode: next sequence number */
static uint64_t  pub_t0, pub_interval_ns;
static uint64_t *pub_sent;          /* [M + 1] */
static uint64_t *pub_rtt;           /* [M + 1] */
static uint64_t  pub_ok, pub_err, pub_ok_window, tput_end;
static uint64_t *tput_rtt;
static size_t    tput_nrtt, tput_caprtt;
static int       tput_stop, pub_noted;
static char     *padding;

static void pub_open(pub_t *p)
{
    int err;

    p->up = p->busy = 0;
    if (++p->reconnects > 100) {
        return;
    }
    if ((err = conn_open(&p->c, -1))) {
        pub_err++;
        if (pub_noted++ < 5) {
            note("publisher connection: %s", strerror(err));
        }
    }
}

static void pub_send(pub_t *p, long seq)
{
    conn_t *c = &p->c;
    char head[128];
    uint64_t t = mono_ns();
    int hn;

    hn = snprintf(head, sizeof(head), "pb %08x %ld %" PRIu64 " %" PRIu64
                  "%s", run_id, seq, t, real_ns(), opt.pad ? " " : "");
    buf_printf(&c->out, "POST %s HTTP/1.1\r\nHost: %s\r\n"
               "Content-Type: text/plain\r\nContent-Length: %ld\r\n\r\n",
               pub_target, host_hdr, (long)hn + opt.pad);
    buf_add(&c->out, head, (size_t)hn);
    if (opt.pad) {
        buf_add(&c->out, padding, (size_t)opt.pad);
    }
    p->busy = 1;
    p->seq = seq;
    p->sent_at = t;
    if (seq > 0 && seq <= opt.nmsgs) {
        pub_sent[seq] = t;
    }
    if (!c->connecting && conn_flush(c) < 0) {
        on_lost(c, errno);
    }
}

static int pub_on_done(pub_t *p)
{
    resp_t *rs = &p->c.rs;
    uint64_t now = mono_ns();

    p->busy = 0;
    if (rs->status >= 200 && rs->status < 300) {
        pub_ok++;
        if (pub_mode == PM_LATENCY && p->seq > 0 && p->seq <= opt.nmsgs) {
            pub_rtt[p->seq] = now - p->sent_at;
        }
        if (pub_mode == PM_TPUT && now <= tput_end) {
            pub_ok_window++;
            if (tput_nrtt < tput_caprtt) {
                tput_rtt[tput_nrtt++] = now - p->sent_at;
            }
        }
    }
    else {
        pub_err++;
        if (pub_noted++ < 5) {
            note("publish answered HTTP %d: %.*s", rs->status,
                 (int)(buf_avail(&p->c.body) > 120
                       ? 120 : buf_avail(&p->c.body)),
                 buf_data(&p->c.body));
        }
    }
    if (rs->close) {
        conn_close(&p->c, 0);
        pub_open(p);
        return -1;
    }
    if (pub_mode == PM_TPUT && !tput_stop && now < tput_end) {
        pub_send(p, 0);
    }
    return 0;
}

static void pub_on_lost(pub_t *p, int err)
{
    if (p->busy) {
        pub_err++;
    }
    if (pub_noted++ < 5) {
        note("publisher connection lost: %s",
             err ? strerror(err) : "closed by the server");
    }
    conn_close(&p->c, 0);
    pub_open(p);
}

static void pub_tick(void)
{
    pub_t *p = &pubs[0];
    uint64_t due;

    if (pub_mode != PM_LATENCY || !p->up || p->busy || pub_next > opt.nmsgs) {
        return;
    }
    due = pub_t0 + (uint64_t)(pub_next - 1) * pub_interval_ns;
    if (mono_ns() >= due) {
        pub_send(p, pub_next++);
    }
}

/* ------------------------------------------------------------------ */
/* dispatch by connection kind                                          */

static int on_head(conn_t *c)
{
    return c->kind == K_SUB ? sub_on_head((sub_t *)c) : 0;
}

static int on_body(conn_t *c)
{
    if (c->kind == K_SUB && opt.transport == TR_SSE
        && ((sub_t *)c)->state == SS_STREAM) {
        return sse_process((sub_t *)c);
    }
    return 0;
}

static int on_done(conn_t *c)
{
    return c->kind == K_SUB ? sub_on_done((sub_t *)c)
                            : pub_on_done((pub_t *)c);
}

static void on_connected(conn_t *c)
{
    if (c->kind == K_SUB) {
        sub_request((sub_t *)c);
    }
    else {
        ((pub_t *)c)->up = 1;
    }
}

static void on_connect_failed(conn_t *c, int err)
{
    if (c->kind == K_SUB) {
        conn_close(c, 0);
        sub_conn_error((sub_t *)c, err);
    }
    else {
        pub_t *p = (pub_t *)c;

        pub_err++;
        if (pub_noted++ < 5) {
            note("publisher connection: %s", strerror(err));
        }
        conn_close(c, 0);
        pub_open(p);
    }
}

static void on_lost(conn_t *c, int err)
{
    if (c->kind == K_SUB) {
        sub_on_lost((sub_t *)c, err);
    }
    else {
        pub_on_lost((pub_t *)c, err);
    }
}

/* ------------------------------------------------------------------ */
/* the loop                                                             */

static void loop_once(int timeout_ms)
{
    struct epoll_event evs[512];
    int n, i;

    if (pub_mode == PM_LATENCY && pub_next <= opt.nmsgs) {
        uint64_t due = pub_t0 + (uint64_t)(pub_next - 1) * pub_interval_ns;
        uint64_t now = mono_ns();
        int ms = due > now ? (int)((due - now) / NS_PER_MS) : 0;

        if (ms < timeout_ms) {
            timeout_ms = ms;
        }
    }
    n = epoll_wait(ep, evs, 512, timeout_ms);
    for (i = 0; i < n; i++) {
        uint32_t id = (uint32_t)(evs[i].data.u64 >> 32);
        uint32_t gen = (uint32_t)evs[i].data.u64;

        if (id < nconns && conns[id]->gen == gen) {
            conn_event(conns[id], evs[i].events);
        }
    }
    if (have_engine) {
        engine_tick();
    }
    if (pub_mode == PM_LATENCY) {
        pub_tick();
    }
}

/* Runs the loop until cond() holds or the deadline passes; 1 if cond. */
static int loop_until(uint64_t deadline, int (*cond)(void))
{
    for (;;) {
        uint64_t now = mono_ns();
        int ms;

        if (cond && cond()) {
            return 1;
        }
        if (now >= deadline) {
            return 0;
        }
        ms = (int)((deadline - now + NS_PER_MS - 1) / NS_PER_MS);
        loop_once(ms < 10 ? ms : 10);
    }
}

static void loop_for_ms(long ms)
{
    loop_until(mono_ns() + (uint64_t)ms * NS_PER_MS, NULL);
}

/* ------------------------------------------------------------------ */
/* the status URL                                                       */

/* The server's subscriber count from the status URL (mod_push's JSON
 * "subscribers":{..."total":N}, or Nchan's stub status "subscribers: N");
 * -1 when unknown.  A blocking request, with 2 s timeouts. */
static long status_subscribers_at(int port)
{
    struct timeval tv = { 2, 0 };
    struct sockaddr_in sa;
    char req[1400], resp[65536], *body, *p;
    size_t got = 0;
    long v = -1;
    int fd, n;

    if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr = dst_addr;
    n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n",
                 opt.status_path, host_hdr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0
        || write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    while (got + 1 < sizeof(resp)) {
        ssize_t r = read(fd, resp + got, sizeof(resp) - 1 - got);

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    resp[got] = '\0';
    if (strncmp(resp, "HTTP/1.", 7) || got < 12 || strncmp(resp + 9, "200", 3)
        || !(body = strstr(resp, "\r\n\r\n"))) {
        return -1;
    }
    if ((p = strstr(body, "\"subscribers\""))
        && (p = strstr(p, "\"total\":"))) {
        v = strtol(p + 8, NULL, 10);
    }
    else if ((p = strstr(body, "subscribers:"))) {
        v = strtol(p + 12, NULL, 10);
    }
    return v;
}

/* ... added up over the subscribers' ports (-e), each server counting
 * its own; -1 when one is unknown. */
static long status_subscribers(void)
{
    long sum = 0;
    int i;

    /* -Z: one server, whose plain port answers the status request. */
    if (opt.nsub_ports == 0 || opt.tls) {
        return status_subscribers_at(opt.port);
    }
    for (i = 0; i < opt.nsub_ports; i++) {
        long v = status_subscribers_at(opt.sub_ports[i]);

        if (v < 0) {
            return -1;
        }
        sum += v;
    }
    return sum;
}

/* ------------------------------------------------------------------ */
/* the run                                                              */

static pid_t kids[PB_MAX_JOBS];
static int   nkids;
static uint64_t hard_deadline;

static void raise_nofile(rlim_t need)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
        die("getrlimit: %s", strerror(errno));
    }
    if (rl.rlim_cur >= need) {
        return;
    }
    if (rl.rlim_max < need) {
        struct rlimit up = { need, need };

        /* only root may raise the hard limit */
        if (setrlimit(RLIMIT_NOFILE, &up) == 0) {
            return;
        }
        die("need %lu open files per process but the hard limit is %lu: "
            "raise it (ulimit -Hn), or use more worker processes (-j)",
            (unsigned long)need, (unsigned long)rl.rlim_max);
    }
    rl.rlim_cur = need;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
        die("setrlimit(RLIMIT_NOFILE, %lu): %s", (unsigned long)need,
            strerror(errno));
    }
}

static void worker_main(int w)
{
    pid_t parent = getppid();

    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) {
        _exit(1);
    }
    close(ep);
    if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        _exit(1);
    }
    rng_state ^= (uint64_t)getpid() * 0x9E3779B97F4A7C15ull;
    engine_init(w, worker_lo(w), worker_lo(w + 1));
    while (get_phase() != PH_FINISH && mono_ns() < hard_deadline) {
        loop_once(10);
    }
    engine_finish();
    _exit(0);
}

static void start_subscribers(void)
{
    int w;

    set_phase(PH_CONNECT);
    if (opt.jobs == 1) {
        engine_init(0, 0, opt.nsubs);
        return;
    }
    fflush(NULL);
    for (w = 0; w < opt.jobs; w++) {
        pid_t pid = fork();

        if (pid < 0) {
            die("fork: %s", strerror(errno));
        }
        if (pid == 0) {
            worker_main(w);
        }
        kids[nkids++] = pid;
    }
}

static void stop_subscribers(void)
{
    uint64_t until;
    int i, left;

    set_phase(PH_FINISH);
    if (have_engine) {
        engine_finish();
    }
    until = mono_ns() + 20 * NS_PER_S;
    do {
        left = 0;
        for (i = 0; i < nkids; i++) {
            if (kids[i] > 0) {
                if (waitpid(kids[i], NULL, WNOHANG) == kids[i]) {
                    kids[i] = 0;
                }
                else {
                    left++;
                }
            }
        }
        if (left) {
            usleep(10000);
        }
    } while (left && mono_ns() < until);
    for (i = 0; i < nkids; i++) {
        if (kids[i] > 0) {
            note("worker %d does not finish; killing it", (int)kids[i]);
            kill(kids[i], SIGKILL);
            waitpid(kids[i], NULL, 0);
            kids[i] = 0;
        }
    }
}

static int cond_connected(void)
{
    totals_t t;

    totals(&t);
    return t.active + t.gaveup >= (uint64_t)opt.nsubs;
}

static int cond_pub_up(void)
{
    int i;

    for (i = 0; i < npubs; i++) {
        if (!pubs[i].up) {
            return 0;
        }
    }
    return 1;
}

static int cond_published(void)
{
    return pub_next > opt.nmsgs && !pubs[0].busy;
}

static int cond_drained(void)
{
    totals_t t;

    totals(&t);
    return t.received >= t.ever * (uint64_t)opt.nmsgs;
}

static int cond_tput_idle(void)
{
    int i;

    for (i = 0; i < npubs; i++) {
        if (pubs[i].busy && pubs[i].up) {
            return 0;
        }
    }
    return 1;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* nearest-rank percentile of sorted v[0..n) */
static size_t rank(size_t n, double q)
{
    size_t r = (size_t)(q * (double)n + 0.999999);

    return r ? r - 1 : 0;
}

static void open_publishers(int n)
{
    int i;

    npubs = n;
    pubs = xcalloc((size_t)n, sizeof(pub_t));
    for (i = 0; i < n; i++) {
        conn_register(&pubs[i].c, K_PUB);
        pub_open(&pubs[i]);
    }
}

/* Prints "key=value" for a measurement that may be unknown (NAN). */
static void kv_num(FILE *f, const char *key, double v, int decimals)
{
    if (isnan(v)) {
        fprintf(f, " %s=na", key);
    }
    else {
        fprintf(f, " %s=%.*f", key, decimals, v);
    }
}

typedef struct {
    uint64_t t_start, t_connected;
    long     status_subs;
    long long pss_base, pss_idle;
    int      procs;
    double   cpu_idle_ms_per_s;
    uint64_t active_idle;
} phase1_t;

/* Subscribers in, settled, idle measurements taken.  0, or 3 when the
 * server refused every subscriber. */
static int phase_subscribe(phase1_t *r)
{
    uint64_t deadline, next_note;
    totals_t t;
    double c0, c1;
    uint64_t i0, i1;

    r->status_subs = -1;
    r->pss_base = server_pss_kb(&r->procs);
    r->t_start = mono_ns();
    if (opt.nsubs > 0) {
        start_subscribers();
        deadline = r->t_start + (uint64_t)opt.connect_timeout_s * NS_PER_S;
        next_note = r->t_start + NS_PER_S;
        while (!loop_until(next_note < deadline ? next_note : deadline,
                           cond_connected)
               && mono_ns() < deadline) {
            totals(&t);
            note("connecting: %" PRIu64 "/%ld subscribed, %" PRIu64
                 " refused or given up, %" PRIu64 " connection errors",
                 t.active, opt.nsubs, t.gaveup, t.conn_errors);
            next_note += NS_PER_S;
        }
        r->t_connected = mono_ns();
        totals(&t);
        if (t.ever == 0 && t.unavailable > 0) {
            return 3;
        }
        if (t.active < (uint64_t)opt.nsubs) {
            note("only %" PRIu64 " of %ld subscribers are subscribed after "
                 "%ld s", t.active, opt.nsubs, opt.connect_timeout_s);
        }
        if (opt.status_path) {
            uint64_t sd = mono_ns()
                          + (uint64_t)(opt.connect_timeout_s > 20
                                       ? opt.connect_timeout_s : 20)
                            * NS_PER_S;

            for (;;) {
                long v = status_subscribers();

                totals(&t);
                r->status_subs = v;
                if (v < 0) {
                    note("no subscriber count at %s; settling for %ld ms "
                         "instead", opt.status_path, opt.settle_ms);
                    break;
                }
                if ((uint64_t)v >= t.active) {
                    break;
                }
                if (mono_ns() >= sd) {
                    note("the server counts %ld subscribers, we have %" PRIu64
                         "; going on", v, t.active);
                    break;
                }
                loop_for_ms(200);
            }
        }
        loop_for_ms(opt.settle_ms);
        if (!cond_connected()) {
            /* refused late (a long poll's 503 comes after its request
             * was out): wait for the retries, once more */
            totals(&t);
            note("%" PRIu64 " subscribers are retrying; waiting for them",
                 (uint64_t)opt.nsubs - t.active - t.gaveup);
            loop_until(mono_ns() + (uint64_t)opt.connect_timeout_s
                                   * NS_PER_S, cond_connected);
            loop_for_ms(opt.settle_ms < 500 ? opt.settle_ms : 500);
            if (!cond_connected()) {
                totals(&t);
                note("publishing with %" PRIu64 " of %ld subscribed",
                     t.active, opt.nsubs);
            }
        }
    }
    else {
        r->t_connected = r->t_start;
    }
    c0 = server_cpu_ms();
    i0 = mono_ns();
    loop_for_ms(opt.idle_ms);
    c1 = server_cpu_ms();
    i1 = mono_ns();
    r->cpu_idle_ms_per_s = i1 > i0 ? (c1 - c0) * 1e9 / (double)(i1 - i0)
                                   : NAN;
    r->pss_idle = server_pss_kb(&r->procs);
    totals(&t);
    r->active_idle = t.active;
    return 0;
}

static void print_unavailable(const phase1_t *r)
{
    totals_t t;

    (void)r;
    totals(&t);
    printf("%s %s: the server refused every subscriber (last HTTP %" PRIu64
           "): transport not available\n", opt.label ? opt.label : "pushbench",
           tr_names[opt.transport], t.last_status);
    printf("RESULT label=%s mode=%s transport=%s n=%ld result=unavailable "
           "http_status=%" PRIu64 "\n", opt.label ? opt.label : "-",
           opt.throughput ? "throughput" : "latency",
           tr_names[opt.transport], opt.nsubs, t.last_status);
}

static int run_latency(void)
{
    phase1_t r;
    totals_t t;
    uint64_t t_pub0, t_last, drain_deadline;
    double cpu0, cpu1, *fan, fan_med = NAN, fan_max = NAN, rtt_med = NAN;
    uint64_t *rtts;
    uint32_t *lat;
    size_t nlat = 0, nfan = 0, nrtt = 0, complete = 0;
    double p50 = NAN, p90 = NAN, p99 = NAN, pmax = NAN, mem_per_sub = NAN;
    long k;
    int w, rc, fail;
    const char *label = opt.label ? opt.label : "-";

    pub_sent = xcalloc((size_t)opt.nmsgs + 1, sizeof(uint64_t));
    pub_rtt = xcalloc((size_t)opt.nmsgs + 1, sizeof(uint64_t));
    if ((rc = phase_subscribe(&r))) {
        stop_subscribers();
        print_unavailable(&r);
        return rc;
    }
    set_phase(PH_RUN);

    /* publish */
    open_publishers(1);
    if (!loop_until(mono_ns() + 5 * NS_PER_S, cond_pub_up)) {
        stop_subscribers();
        die("the publisher cannot connect to %s", host_hdr);
    }
    cpu0 = server_cpu_ms();
    pub_interval_ns = (uint64_t)opt.interval_ms * NS_PER_MS;
    pub_next = 1;
    pub_t0 = t_pub0 = mono_ns();
    pub_mode = PM_LATENCY;
    loop_until(t_pub0 + (uint64_t)opt.nmsgs * pub_interval_ns
               + 60 * NS_PER_S, cond_published);
    t_last = pub_sent[opt.nmsgs] ? pub_sent[opt.nmsgs] : mono_ns();
    if (pub_next <= opt.nmsgs) {
        note("published only %ld of %ld messages", pub_next - 1, opt.nmsgs);
    }
    pub_mode = PM_NONE;
    drain_deadline = t_last + (uint64_t)opt.drain_timeout_s * NS_PER_S;
    if (opt.nsubs > 0 && !loop_until(drain_deadline, cond_drained)) {
        totals(&t);
        note("drain timeout: %" PRIu64 " of %" PRIu64 " deliveries after "
             "%ld s", t.received, t.ever * (uint64_t)opt.nmsgs,
             opt.drain_timeout_s);
    }
    cpu1 = server_cpu_ms();
    stop_subscribers();
    conn_close(&pubs[0].c, 0);
    totals(&t);

    /* latency percentiles */
    lat = xcalloc((size_t)t.nlat, sizeof(uint32_t));
    for (w = 0; w < opt.jobs; w++) {
        uint64_t n = LOAD(wstats[w].nlat);

        memcpy(lat + nlat, lat_us + lat_off[w], (size_t)n * sizeof(uint32_t));
        nlat += (size_t)n;
    }
    if (nlat) {
        qsort(lat, nlat, sizeof(uint32_t), cmp_u32);
        p50 = lat[rank(nlat, 0.50)] / 1000.0;
        p90 = lat[rank(nlat, 0.90)] / 1000.0;
        p99 = lat[rank(nlat, 0.99)] / 1000.0;
        pmax = lat[nlat - 1] / 1000.0;
    }
    /* fan-out: publish -> last subscriber, per message */
    fan = xcalloc((size_t)opt.nmsgs, sizeof(double));
    rtts = xcalloc((size_t)opt.nmsgs, sizeof(uint64_t));
    for (k = 1; k <= opt.nmsgs; k++) {
        uint64_t cnt = 0, last = 0;

        for (w = 0; w < opt.jobs; w++) {
            size_t at = (size_t)w * ((size_t)opt.nmsgs + 1) + (size_t)k;

            cnt += mcount[at];
            if (mlast[at] > last) {
                last = mlast[at];
            }
        }
        if (cnt && pub_sent[k] && last >= pub_sent[k]) {
            fan[nfan++] = (double)(last - pub_sent[k]) / 1e6;
            if (cnt >= t.ever) {
                complete++;
            }
        }
        if (pub_rtt[k]) {
            rtts[nrtt++] = pub_rtt[k];
        }
    }
    if (nfan) {
        size_t i, j;

        for (i = 1; i < nfan; i++) {        /* insertion sort: M is small */
            double v = fan[i];

            for (j = i; j > 0 && fan[j - 1] > v; j--) {
                fan[j] = fan[j - 1];
            }
            fan[j] = v;
        }
        fan_med = nfan % 2 ? fan[nfan / 2]
                           : (fan[nfan / 2 - 1] + fan[nfan / 2]) / 2;
        fan_max = fan[nfan - 1];
    }
    if (nrtt) {
        qsort(rtts, nrtt, sizeof(uint64_t), cmp_u64);
        rtt_med = (double)rtts[rank(nrtt, 0.5)] / 1e6;
    }
    if (r.pss_base >= 0 && r.pss_idle >= 0 && r.active_idle > 0) {
        mem_per_sub = (double)(r.pss_idle - r.pss_base)
                      / (double)r.active_idle;
    }
    fail = t.lost > 0 || t.never > 0 || pub_err > 0
           || pub_ok < (uint64_t)opt.nmsgs;

    /* human summary */
    printf("%s %s: %ld subscribers, %ld messages every %ld ms, "
           "%s%s (channel %s)\n", opt.label ? opt.label : "pushbench",
           tr_names[opt.transport], opt.nsubs, opt.nmsgs, opt.interval_ms,
           host_hdr, sub_target, opt.channel);
    printf("  subscribers  %" PRIu64 " subscribed in %.2f s, %" PRIu64
           " never", t.ever, (double)(r.t_connected - r.t_start) / 1e9,
           t.never);
    if (opt.status_path) {
        printf(", server counted %ld", r.status_subs);
    }
    printf("\n  deliveries   %" PRIu64 "/%" PRIu64 "  lost %" PRIu64 "  dup %"
           PRIu64 "  out-of-order %" PRIu64 "  gaps %" PRIu64 "  other %"
           PRIu64 "\n", t.received, t.ever * (uint64_t)opt.nmsgs, t.lost,
           t.dups, t.ooo, t.gaps, t.foreign);
    printf("  latency ms   p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n",
           p50, p90, p99, pmax);
    printf("  fan-out ms   median %.2f  max %.2f  (%zu of %ld messages "
           "reached every subscriber)\n", fan_med, fan_max, complete,
           opt.nmsgs);
    printf("  publish      %" PRIu64 " ok, %" PRIu64 " errors, response "
           "median %.2f ms\n", pub_ok, pub_err, rtt_med);
    printf("  errors       connect %" PRIu64 ", http %" PRIu64 ", streams "
           "ended %" PRIu64 ", reconnects %" PRIu64 "\n", t.conn_errors,
           t.http_errors, t.stream_ends, t.reconnects);
    if (r.pss_base >= 0) {
        printf("  server       PSS %.1f MB before, %.1f MB idle with %" PRIu64
               " subscribers (%.2f KB each), %d processes\n",
               r.pss_base / 1024.0, r.pss_idle / 1024.0, r.active_idle,
               mem_per_sub, r.procs);
        printf("               CPU idle %.1f ms/s; publishing %.0f ms "
               "(%.2f ms per message)\n", r.cpu_idle_ms_per_s, cpu1 - cpu0,
               (cpu1 - cpu0) / (double)opt.nmsgs);
    }
    printf("  result       %s\n", fail ? "FAIL" : "ok");

    /* machine-readable */
    printf("RESULT label=%s mode=latency transport=%s n=%ld m=%ld "
           "interval_ms=%ld pad=%ld jobs=%d sources=%d subscribed=%" PRIu64
           " never=%" PRIu64 " status_subs=%ld delivered=%" PRIu64
           " expected=%" PRIu64 " lost=%" PRIu64 " dup=%" PRIu64 " ooo=%"
           PRIu64 " gaps=%" PRIu64 " other=%" PRIu64 " conn_errors=%" PRIu64
           " http_errors=%" PRIu64 " stream_ends=%" PRIu64 " reconnects=%"
           PRIu64 " pub_ok=%" PRIu64 " pub_err=%" PRIu64, label,
           tr_names[opt.transport], opt.nsubs, opt.nmsgs, opt.interval_ms,
           opt.pad, opt.jobs, opt.nsources, t.ever, t.never, r.status_subs,
           t.received, t.ever * (uint64_t)opt.nmsgs, t.lost, t.dups, t.ooo,
           t.gaps, t.foreign, t.conn_errors, t.http_errors, t.stream_ends,
           t.reconnects, pub_ok, pub_err);
    kv_num(stdout, "connect_s", (double)(r.t_connected - r.t_start) / 1e9, 3);
    kv_num(stdout, "lat_p50_ms", p50, 3);
    kv_num(stdout, "lat_p90_ms", p90, 3);
    kv_num(stdout, "lat_p99_ms", p99, 3);
    kv_num(stdout, "lat_max_ms", pmax, 3);
    kv_num(stdout, "fanout_med_ms", fan_med, 3);
    kv_num(stdout, "fanout_max_ms", fan_max, 3);
    printf(" fanout_complete=%zu", complete);
    kv_num(stdout, "pub_rtt_med_ms", rtt_med, 3);
    kv_num(stdout, "pss_base_kb", r.pss_base < 0 ? NAN : (double)r.pss_base,
           0);
    kv_num(stdout, "pss_idle_kb", r.pss_idle < 0 ? NAN : (double)r.pss_idle,
           0);
    printf(" server_procs=%d idle_subs=%" PRIu64, r.procs, r.active_idle);
    kv_num(stdout, "mem_per_sub_kb", mem_per_sub, 3);
    kv_num(stdout, "cpu_idle_ms_per_s", r.cpu_idle_ms_per_s, 2);
    kv_num(stdout, "cpu_pub_ms", cpu1 - cpu0, 0);
    printf(" result=%s\n", fail ? "fail" : "ok");
    free(lat);
    free(fan);
    free(rtts);
    return fail ? 2 : 0;
}

static int run_throughput(void)
{
    phase1_t r;
    totals_t t;
    uint64_t t0;
    double cpu0, cpu1, rate, rtt_med = NAN, secs;
    int rc, i;
    const char *label = opt.label ? opt.label : "-";

    if ((rc = phase_subscribe(&r))) {
        stop_subscribers();
        print_unavailable(&r);
        return rc;
    }
    set_phase(PH_RUN);
    open_publishers(opt.tput_conns);
    if (!loop_until(mono_ns() + 5 * NS_PER_S, cond_pub_up)) {
        stop_subscribers();
        die("the publishers cannot connect to %s", host_hdr);
    }
    tput_caprtt = 2000000;
    tput_rtt = xcalloc(tput_caprtt, sizeof(uint64_t));
    cpu0 = server_cpu_ms();
    t0 = mono_ns();
    tput_end = t0 + (uint64_t)opt.tput_secs * NS_PER_S;
    pub_mode = PM_TPUT;
    for (i = 0; i < npubs; i++) {
        pub_send(&pubs[i], 0);
    }
    loop_until(tput_end, NULL);
    tput_stop = 1;
    cpu1 = server_cpu_ms();
    secs = (double)(mono_ns() - t0) / 1e9;
    loop_until(mono_ns() + 3 * NS_PER_S, cond_tput_idle);
    if (opt.nsubs > 0) {
        loop_for_ms(1000);
    }
    stop_subscribers();
    for (i = 0; i < npubs; i++) {
        conn_close(&pubs[i].c, 0);
    }
    totals(&t);
    rate = (double)pub_ok_window / (double)opt.tput_secs;
    if (tput_nrtt) {
        qsort(tput_rtt, tput_nrtt, sizeof(uint64_t), cmp_u64);
        rtt_med = (double)tput_rtt[rank(tput_nrtt, 0.5)] / 1e6;
    }
    printf("%s publish throughput: %d connections for %ld s to %s%s\n",
           opt.label ? opt.label : "pushbench", npubs, opt.tput_secs,
           host_hdr, pub_target);
    printf("  published    %" PRIu64 " (%.0f messages/s), %" PRIu64
           " errors, response median %.3f ms\n", pub_ok_window, rate,
           pub_err, rtt_med);
    if (opt.nsubs > 0) {
        printf("  subscribers  %" PRIu64 " (%s), %" PRIu64 " deliveries, %"
               PRIu64 " gaps\n", t.ever, tr_names[opt.transport], t.any,
               t.gaps);
    }
    if (!isnan(cpu0)) {
        printf("  server CPU   %.0f ms in %.1f s (%.0f%% of one core), "
               "%.1f us per message\n", cpu1 - cpu0, secs,
               (cpu1 - cpu0) / secs / 10.0,
               pub_ok_window ? (cpu1 - cpu0) * 1000.0
                               / (double)pub_ok_window : 0.0);
    }
    printf("RESULT label=%s mode=throughput transport=%s conns=%d secs=%ld "
           "n=%ld published=%" PRIu64 " pub_err=%" PRIu64 " deliveries=%"
           PRIu64, label, opt.nsubs ? tr_names[opt.transport] : "-", npubs,
           opt.tput_secs,
           opt.nsubs, pub_ok_window, pub_err, t.any);
    printf(" gaps=%" PRIu64, t.gaps);
    kv_num(stdout, "msgs_per_s", rate, 0);
    /* With subscribers: what reached them, per second of publishing
     * (a server that takes publishes faster than it fans them out
     * leaves slow subscribers gaps instead). */
    kv_num(stdout, "deliveries_per_s", (double)t.any / (double)opt.tput_secs,
           0);
    kv_num(stdout, "pub_rtt_med_ms", rtt_med, 3);
    kv_num(stdout, "cpu_ms", cpu1 - cpu0, 0);
    printf(" result=%s\n", pub_err || !pub_ok_window ? "fail" : "ok");
    return pub_err || !pub_ok_window ? 2 : 0;
}

int main(int argc, char **argv)
{
    long per_proc;

    parse_opts(argc, argv);
    random_bytes(&rng_state, sizeof(rng_state));
    rng_state |= 1;
    random_bytes(&run_id, sizeof(run_id));
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);

    per_proc = opt.jobs > 1 ? (opt.nsubs + opt.jobs - 1) / opt.jobs
                            : opt.nsubs;
    raise_nofile((rlim_t)per_proc + (rlim_t)opt.tput_conns + 64);
    if (opt.pad) {
        padding = xcalloc((size_t)opt.pad, 1);
        memset(padding, 'x', (size_t)opt.pad);
    }
    shm_setup();
    if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        die("epoll_create1: %s", strerror(errno));
    }
    hard_deadline = mono_ns()
        + (uint64_t)(2 * opt.connect_timeout_s + 20 + opt.drain_timeout_s
                     + 120 + (opt.throughput ? opt.tput_secs : 0)) * NS_PER_S
        + (uint64_t)(opt.settle_ms + opt.idle_ms) * NS_PER_MS
        + (uint64_t)opt.nmsgs * (uint64_t)opt.interval_ms * NS_PER_MS;
    note("%s %s: %ld subscribers on %s%s, run %08x",
         opt.throughput ? "throughput" : "latency", tr_names[opt.transport],
         opt.nsubs, host_hdr, sub_target, run_id);
    return opt.throughput ? run_throughput() : run_latency();
}
