#!/bin/bash
# bench/run-bench.sh: mod_push and Nchan under the same load, one table.
#
#   bench/run-bench.sh                 full comparison (make bench)
#   bench/run-bench.sh --smoke PORT    quick check of a server already
#                                      running on 127.0.0.1:PORT
#                                      (make bench-smoke)
#   bench/run-bench.sh --selftest      pushbench against bench/fakepush.py
#                                      (make bench-selftest)
#
# The full run starts httpd with the module from the build tree
# (.libs/mod_push.so, copied) and bench/httpd.conf.in, and, when nginx and
# its nchan module are installed, nginx with bench/nginx.conf.in; a fresh
# server for every transport, so one run's memory does not flatter the
# next.  Both listen on loopback only and are stopped on exit, failure or
# Ctrl-C.  Nothing is installed here: see `make bench-deps`.
#
# Environment (all optional):
#   N=10000 M=20 INTERVAL=300   subscribers, messages, ms between messages
#   TRANSPORTS="longpoll sse ws"  SERVERS="mod_push nchan"
#   PUSH_PORT=18080 NCHAN_PORT=18081
#   JOBS=2        pushbench worker processes
#   PROCS=2       server processes: httpd children, nginx workers (more
#                 than one per core only when one process's descriptor
#                 limit cannot hold its share of N)
#   SOURCES=      source addresses 127.0.0.1..K (default: 1 per 20000 subs)
#   RATE=2000     new connections per second
#   DRAIN=30      seconds after the last publish before undelivered
#                 messages count as lost
#   TPUT_SECS=5 TPUT_CONNS=4    publish-throughput runs: with no
#   TPUT_SUBS=1000                subscribers, and with this many event
#                                 streams on the channel (0: skip)
#   KEEP=1        keep the scratch directory (configs, logs, raw output)
#   TLS=1         subscribers over TLS (https:// long polls and event
#                 streams, wss://) on PORT+10 of each server, both with the
#                 same self-signed ECDSA P-256 certificate (mod_ssl,
#                 nginx's ssl); publishes stay plain.  Not with REDIS=1.
#   REDIS=1       scale-out: a private redis-server on 127.0.0.1:REDIS_PORT
#                 (18379), and two of each server sharing it (mod_push's
#                 PushRedis, Nchan's nchan_redis_url), on PORT and PORT+2;
#                 subscribers split between them, publishes to the first
#   SMOKE_N=200 SMOKE_M=3 SMOKE_STATUS=/push-status   (--smoke)
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
bench="$here/bench"
pushbench=${PUSHBENCH:-$bench/pushbench}

N=${N:-10000}
M=${M:-20}
INTERVAL=${INTERVAL:-300}
TRANSPORTS=${TRANSPORTS:-longpoll sse ws}
SERVERS=${SERVERS:-mod_push nchan}
PUSH_PORT=${PUSH_PORT:-18080}
NCHAN_PORT=${NCHAN_PORT:-18081}
JOBS=${JOBS:-2}
PROCS=${PROCS:-2}
RATE=${RATE:-2000}
TPUT_SECS=${TPUT_SECS:-5}
TPUT_CONNS=${TPUT_CONNS:-4}
TPUT_SUBS=${TPUT_SUBS:-1000}
DRAIN=${DRAIN:-30}
SOURCES=${SOURCES:-$(( N / 20000 + 1 ))}
REDIS=${REDIS:-}
TLS=${TLS:-}
REDIS_PORT=${REDIS_PORT:-18379}

say() { echo "== $*" >&2; }
fail() { echo "run-bench: $*" >&2; exit 1; }

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
for v in N M INTERVAL PUSH_PORT NCHAN_PORT JOBS PROCS RATE TPUT_SECS TPUT_CONNS TPUT_SUBS \
         SOURCES DRAIN REDIS_PORT; do
    is_uint "${!v}" || fail "$v must be a number, not '${!v}'"
done
[ "$N" -ge 1 ] || fail "N must be at least 1"
[ "$M" -ge 1 ] || fail "M must be at least 1"
[ -n "$TLS" ] && [ -n "$REDIS" ] && fail "TLS=1 and REDIS=1 do not go together"

# Builds pushbench when it is missing or older than its source (make
# bench does this first; this is for running the script alone).
build_pushbench() {
    if [ -z "${PUSHBENCH:-}" ] && { [ ! -x "$pushbench" ] ||
        [ "$bench/pushbench.c" -nt "$pushbench" ]; }; then
        say "building pushbench"
        ${CC:-cc} -std=gnu11 -Wall -Wextra -O2 -g -o "$pushbench" \
            "$bench/pushbench.c" -lssl -lcrypto || fail "cannot build pushbench"
    fi
    [ -x "$pushbench" ] || fail "no pushbench at $pushbench"
}

port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# ---------------------------------------------------------------------
# --smoke PORT: N=200 M=3 against a running server, every transport it
# offers; non-zero on any lost message or failure.

smoke() {
    local port=$1 t rc ok=0 failed=0
    is_uint "$port" || fail "--smoke needs a port number"
    build_pushbench
    port_open "$port" || fail "nothing listens on 127.0.0.1:$port"
    for t in $TRANSPORTS; do
        say "smoke: $t on 127.0.0.1:$port"
        timeout --kill-after=10 300 "$pushbench" -L smoke -t "$t" \
            -n "${SMOKE_N:-200}" -m "${SMOKE_M:-3}" -i 100 -p "$port" \
            -s "${SMOKE_STATUS:-/push-status}" -w 500 -I 200 -D 5 -C 30
        rc=$?
        case $rc in
        0) ok=$((ok + 1)) ;;
        3) echo "smoke: $t is not offered by the server on port $port" \
               "(skipped)" ;;
        *) echo "smoke: $t FAILED (exit $rc)"; failed=$((failed + 1)) ;;
        esac
    done
    if [ "$failed" -gt 0 ] || [ "$ok" -eq 0 ]; then
        echo "smoke: FAILED ($ok transports passed, $failed failed)"
        exit 1
    fi
    echo "smoke: ok ($ok transports passed)"
    exit 0
}

# ---------------------------------------------------------------------
# --selftest [PORT]: pushbench's own checks (SHA-1, base64, the
# Sec-WebSocket-Accept example of RFC 6455), then every transport against
# bench/fakepush.py, a server that splits, fragments, pings and varies its
# framing wherever the protocols allow.

selftest() {
    local port=${1:-18090} t b out rc line fails=0 pid pongs i
    is_uint "$port" || fail "--selftest takes a port number"
    build_pushbench
    "$pushbench" -X || fail "pushbench -X failed"
    command -v python3 >/dev/null || fail "the self-test needs python3"
    port_open "$port" && fail "port $port is in use"
    python3 "$bench/fakepush.py" "$port" 300 &
    pid=$!
    trap 'kill "$pid" 2>/dev/null' EXIT
    for ((i = 0; i < 50; i++)); do
        port_open "$port" && break
        sleep 0.1
    done
    for t in longpoll sse ws; do
        for b in 0 300 70000; do
            out=$(timeout 120 "$pushbench" -q -L selftest -t "$t" -n 20 \
                  -m 10 -i 50 -b "$b" -p "$port" -s /status -w 200 -I 0 \
                  -D 20 -c "self-$t-$b")
            rc=$?
            line=$(grep '^RESULT ' <<<"$out")
            printf 'selftest %-8s pad %-5s exit %d: %s\n' "$t" "$b" "$rc" \
                "$(grep -o 'delivered=[0-9]* expected=[0-9]* lost=[0-9]* dup=[0-9]* ooo=[0-9]*' <<<"$line")"
            [ "$rc" -eq 0 ] || fails=$((fails + 1))
        done
    done
    pongs=$( (exec 3<>"/dev/tcp/127.0.0.1/$port" &&
              printf 'GET /pongs HTTP/1.0\r\n\r\n' >&3 && cat <&3) |
             sed -n 's/^pongs: //p')
    echo "selftest: ${pongs:-no} pongs to the server's 600 pings"
    [ "${pongs:-0}" -eq 600 ] || fails=$((fails + 1))
    kill "$pid" 2>/dev/null
    if [ "$fails" -gt 0 ]; then
        echo "selftest: FAILED ($fails)"
        exit 1
    fi
    echo "selftest: ok"
    exit 0
}

case ${1:-} in
--smoke) smoke "${2:-${PORT:-8080}}" ;;
--selftest) selftest "${2:-18090}" ;;
"") ;;
*) fail "usage: run-bench.sh [--smoke PORT | --selftest [PORT]]" ;;
esac

# ---------------------------------------------------------------------
# scratch directory, limits, cleanup

build_pushbench
[ -f "$here/.libs/mod_push.so" ] ||
    fail "no .libs/mod_push.so: build the module first (make all)"
apxs=${APXS:-$(command -v apxs || echo /usr/bin/apxs)}
[ -x "$apxs" ] || fail "no apxs (apt-get install apache2-dev)"
moddir=$("$apxs" -q LIBEXECDIR)
httpd_bin=$("$apxs" -q SBINDIR)/$("$apxs" -q PROGNAME)
[ -x "$httpd_bin" ] || fail "no httpd at $httpd_bin"

work=$(mktemp -d /tmp/pushbench.XXXXXX) || fail "mktemp failed"
chmod 755 "$work"
results="$work/results"
: > "$results"
running_pidfiles=()

# Stops the server whose pid file is given: TERM to its main process, then
# KILL to it and to the children it had, after 20 s.
stop_server() {
    local pidfile=$1 pid kids i
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile" 2>/dev/null)
    if ! is_uint "${pid:-x}" || ! kill -0 "$pid" 2>/dev/null; then
        rm -f "$pidfile"
        return 0
    fi
    kids=$(ps -o pid= --ppid "$pid" 2>/dev/null | tr -d ' ')
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 200; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "run-bench: server $pid does not stop; killing it" >&2
        kill -KILL "$pid" 2>/dev/null
    fi
    for i in $kids; do
        kill -KILL "$i" 2>/dev/null
    done
    rm -f "$pidfile"
}

cleanup() {
    local f
    for f in "${running_pidfiles[@]}"; do
        stop_server "$f"
    done
    running_pidfiles=()
    if [ -n "${KEEP:-}" ]; then
        echo "run-bench: scratch directory kept: $work" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Open files: every subscriber is a descriptor in pushbench and in the
# server.  Root may raise the hard limit; others get what it allows.
nofile=$(( N + 8192 ))
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$nofile" ]; then
    if [ "$(id -u)" -eq 0 ]; then
        ulimit -Hn "$nofile" 2>/dev/null || true
    fi
fi
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$nofile" ]; then
    echo "run-bench: open-file hard limit $(ulimit -Hn) < $nofile; N=$N" \
         "may not fit" >&2
    nofile=$(ulimit -Hn)
fi
ulimit -Sn "$nofile" || fail "cannot raise the open-file limit to $nofile"

run_user=""
if [ "$(id -u)" -eq 0 ]; then
    # httpd and nginx refuse to serve as root; children take this user
    run_user=$(id -u www-data >/dev/null 2>&1 && echo www-data || echo nobody)
fi

# ---------------------------------------------------------------------
# httpd with mod_push

# start_httpd_at PORT DIR: one server, its configuration, logs and pid
# file in DIR.
start_httpd_at() {
    local port=$1 dir=$2 conf="$2/httpd.conf"
    local threads servers workers factor user_lines="" redis_lines="" text i
    local tls_lines=""
    mkdir -p "$dir"
    chmod 755 "$dir"
    port_open "$port" && fail "port $port is in use (PUSH_PORT=...)"
    # Subscribers wait without a thread (mod_push_conn.c): one child per
    # core, and room for every connection in either child (the event MPM
    # admits ThreadsPerChild + idle threads x AsyncRequestWorkerFactor
    # connections per child).
    threads=64
    servers=$PROCS
    factor=$(( N / threads + 4 ))
    workers=$(( servers * threads ))
    if [ -n "$run_user" ]; then
        user_lines="User $run_user
Group $(id -gn "$run_user")"
    fi
    [ -n "$REDIS" ] && redis_lines="PushRedis redis://127.0.0.1:$REDIS_PORT"
    if [ -n "$TLS" ]; then
        port_open $((port + 10)) && fail "port $((port + 10)) is in use"
        tls_lines="LoadModule socache_shmcb_module \"$moddir/mod_socache_shmcb.so\"
LoadModule ssl_module \"$moddir/mod_ssl.so\"
SSLSessionCache shmcb:$dir/ssl_scache(512000)
Listen 127.0.0.1:$((port + 10))
<VirtualHost 127.0.0.1:$((port + 10))>
    SSLEngine on
    SSLCertificateFile \"$work/tls.crt\"
    SSLCertificateKeyFile \"$work/tls.key\"
</VirtualHost>"
    fi
    cp "$here/.libs/mod_push.so" "$dir/mod_push.so"
    text=$(<"$bench/httpd.conf.in")
    text=${text//@WORK@/$dir}
    text=${text//@REDIS_LINES@/$redis_lines}
    text=${text//@TLS_LINES@/$tls_lines}
    text=${text//@PORT@/$port}
    text=${text//@MODDIR@/$moddir}
    text=${text//@MODULE@/$dir/mod_push.so}
    text=${text//@USER_LINES@/$user_lines}
    text=${text//@SERVERS@/$servers}
    text=${text//@THREADS@/$threads}
    text=${text//@WORKERS@/$workers}
    text=${text//@FACTOR@/$factor}
    text=${text//@N@/$N}
    printf '%s\n' "$text" > "$conf"
    rm -f "$dir/httpd.pid"
    running_pidfiles+=("$dir/httpd.pid")
    "$httpd_bin" -f "$conf" -k start ||
        { cat "$dir/httpd-error.log" >&2 2>/dev/null; fail "httpd did not start"; }
    for ((i = 0; i < 300; i++)); do
        [ -s "$dir/httpd.pid" ] && port_open "$port" && break
        sleep 0.1
    done
    if ! port_open "$port"; then
        tail -20 "$dir/httpd-error.log" >&2 2>/dev/null
        fail "httpd does not listen on $port"
    fi
    # all children up (they each open the listener; with PushRedis one
    # more, the bridge)
    for ((i = 0; i < 100; i++)); do
        [ "$(ps -o pid= --ppid "$(cat "$dir/httpd.pid")" | wc -l)" -ge "$servers" ] && break
        sleep 0.1
    done
    say "httpd (mod_push) on 127.0.0.1:$port: $servers x $threads threads${REDIS:+, PushRedis}"
}

start_httpd() {
    start_httpd_at "$PUSH_PORT" "$work/a"
    [ -n "$REDIS" ] && start_httpd_at $((PUSH_PORT + 2)) "$work/b"
    return 0
}

# ---------------------------------------------------------------------
# nginx with nchan

nginx_bin=${NGINX:-/usr/sbin/nginx}
nchan_load=""

find_nchan() {
    local v modpath so
    [ -x "$nginx_bin" ] || return 1
    v=$("$nginx_bin" -V 2>&1) || return 1
    modpath=$(sed -n 's/.*--modules-path=\([^ ]*\).*/\1/p' <<<"$v")
    for so in ${NCHAN_MODULE:-} "$modpath/ngx_nchan_module.so" \
              /usr/lib/nginx/modules/ngx_nchan_module.so \
              /usr/share/nginx/modules/ngx_nchan_module.so; do
        if [ -n "$so" ] && [ -f "$so" ]; then
            nchan_load="load_module \"$so\";"
            return 0
        fi
    done
    if grep -qi 'nchan' <<<"$v"; then
        nchan_load="# nchan is built into this nginx"
        return 0
    fi
    return 1
}

# start_nginx_at PORT DIR: one server, as start_httpd_at.
start_nginx_at() {
    local port=$1 dir=$2 conf="$2/nginx.conf" v temps="" m text i
    local user_line="" conns redis_lines="" tls_lines=""
    mkdir -p "$dir"
    chmod 755 "$dir"
    port_open "$port" && fail "port $port is in use (NCHAN_PORT=...)"
    v=$("$nginx_bin" -V 2>&1)
    for m in client_body proxy fastcgi uwsgi scgi; do
        case $m in
        client_body) ;;
        *) grep -q -- "--without-http_${m}_module" <<<"$v" && continue ;;
        esac
        temps+="    ${m}_temp_path \"$dir/nginx-$m\";"$'\n'
    done
    [ -n "$run_user" ] && user_line="user $run_user;"
    # a worker may end up with every subscriber; its descriptor limit is
    # the one this shell has (a worker running as $run_user cannot raise
    # its hard limit)
    conns=$(( N + 4096 ))
    [ "$conns" -gt $(( nofile - 64 )) ] && conns=$(( nofile - 64 ))
    [ -n "$REDIS" ] && redis_lines="    nchan_redis_url \"redis://127.0.0.1:$REDIS_PORT\";
    nchan_use_redis on;"
    if [ -n "$TLS" ]; then
        port_open $((port + 10)) && fail "port $((port + 10)) is in use"
        tls_lines="        listen 127.0.0.1:$((port + 10)) ssl backlog=4096 reuseport;
        ssl_certificate \"$work/tls.crt\";
        ssl_certificate_key \"$work/tls.key\";"
    fi
    text=$(<"$bench/nginx.conf.in")
    text=${text//@WORK@/$dir}
    text=${text//@REDIS_LINES@/$redis_lines}
    text=${text//@TLS_LINES@/$tls_lines}
    text=${text//@PORT@/$port}
    text=${text//@LOAD_MODULE@/$nchan_load}
    text=${text//@USER_LINE@/$user_line}
    text=${text//@TEMP_PATHS@/${temps%$'\n'}}
    text=${text//@CONNECTIONS@/$conns}
    text=${text//@NOFILE@/$nofile}
    text=${text//@PROCS@/$PROCS}
    printf '%s\n' "$text" > "$conf"
    rm -f "$dir/nginx.pid"
    running_pidfiles+=("$dir/nginx.pid")
    "$nginx_bin" -p "$dir" -c "$conf" -e "$dir/nginx-error.log" \
        2>>"$dir/nginx-error.log" ||
        { tail -20 "$dir/nginx-error.log" >&2; fail "nginx did not start"; }
    for ((i = 0; i < 300; i++)); do
        [ -s "$dir/nginx.pid" ] && port_open "$port" && break
        sleep 0.1
    done
    port_open "$port" || { tail -20 "$dir/nginx-error.log" >&2;
                           fail "nginx does not listen on $port"; }
    say "nginx (Nchan) on 127.0.0.1:$port, $PROCS workers${REDIS:+, nchan_use_redis}"
}

start_nginx() {
    start_nginx_at "$NCHAN_PORT" "$work/a"
    [ -n "$REDIS" ] && start_nginx_at $((NCHAN_PORT + 2)) "$work/b"
    return 0
}

start_server() {
    case $1 in
    mod_push) start_httpd "${2:-}" ;;
    nchan) start_nginx ;;
    esac
}

stop_named() {
    local d
    for d in "$work/a" "$work/b"; do
        case $1 in
        mod_push) stop_server "$d/httpd.pid" ;;
        nchan) stop_server "$d/nginx.pid" ;;
        esac
    done
    # the next run starts from an empty Redis
    [ -n "$REDIS" ] && redis-cli -p "$REDIS_PORT" FLUSHALL >/dev/null 2>&1
    return 0
}

# REDIS=1: one redis-server for every run (emptied between them), no
# persistence: the servers' work is measured, not the disk's.
start_redis() {
    local i
    command -v redis-server >/dev/null ||
        fail "REDIS=1 needs redis-server (apt-get install redis-server)"
    port_open "$REDIS_PORT" && fail "port $REDIS_PORT is in use (REDIS_PORT=...)"
    mkdir -p "$work/redis"
    running_pidfiles+=("$work/redis/redis.pid")
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$work/redis" \
        --save "" --appendonly no --daemonize yes \
        --pidfile "$work/redis/redis.pid" --logfile "$work/redis/redis.log" ||
        fail "redis-server did not start"
    for ((i = 0; i < 100; i++)); do
        port_open "$REDIS_PORT" && [ -s "$work/redis/redis.pid" ] && break
        sleep 0.1
    done
    port_open "$REDIS_PORT" || fail "redis-server does not listen on $REDIS_PORT"
    say "redis-server on 127.0.0.1:$REDIS_PORT"
}

server_port() { [ "$1" = mod_push ] && echo "$PUSH_PORT" || echo "$NCHAN_PORT"; }
# The subscribers' ports: the one server's (its TLS port with TLS=1), or
# both (REDIS=1).
sub_ports() {
    local p; p=$(server_port "$1")
    if [ -n "$TLS" ]; then echo $((p + 10))
    elif [ -n "$REDIS" ]; then echo "$p,$((p + 2))"
    else echo "$p"
    fi
}
tls_opt=()
[ -n "$TLS" ] && tls_opt=(-Z)
# What pushbench measures PSS and CPU of: the server (pid file), or both
# servers and the Redis they share (pids).
server_pids() {
    local f=httpd.pid; [ "$1" = nchan ] && f=nginx.pid
    if [ -z "$REDIS" ]; then
        echo "$work/a/$f"
        return
    fi
    echo "$(cat "$work/a/$f"),$(cat "$work/b/$f"),$(cat "$work/redis/redis.pid")"
}

# One pushbench run; its RESULT line goes to $results as
# "server=<s> rc=<exit> <key=value...>".
record() {
    local server=$1 rc=$2 out=$3 line
    line=$(grep '^RESULT ' "$out" | tail -1)
    [ -n "$line" ] || line="RESULT result=error"
    echo "server=$server rc=$rc ${line#RESULT }" >> "$results"
}

run_latency() {
    local server=$1 t=$2 out="$work/$1-$2.out" rc limit
    limit=$(( 120 + N / RATE * 3 + M * INTERVAL / 1000 + DRAIN + 60 ))
    say "$server, $t: $N subscribers, $M messages"
    timeout --kill-after=10 "$limit" "$pushbench" -L "$server" -t "$t" \
        -n "$N" -m "$M" -i "$INTERVAL" -p "$(server_port "$server")" \
        -e "$(sub_ports "$server")" \
        -u /sub -U /pub -s /push-status -P "$(server_pids "$server")" \
        -j "$JOBS" -S "$SOURCES" -r "$RATE" -D "$DRAIN" \
        ${tls_opt[@]+"${tls_opt[@]}"} > "$out"
    rc=$?
    grep -v '^RESULT ' "$out"
    record "$server" "$rc" "$out"
}

# run_throughput SERVER [SUBSCRIBERS]: publishers as fast as they go,
# with no subscribers, or with that many event streams on the channel.
run_throughput() {
    local server=$1 subs=${2:-0} out="$work/$1-tput-${2:-0}.out" rc
    local sub_opts=()
    [ "$subs" -gt 0 ] && sub_opts=(-n "$subs" -t sse -j "$JOBS"
                                   -e "$(sub_ports "$server")"
                                   ${tls_opt[@]+"${tls_opt[@]}"})
    say "$server: publish throughput, $TPUT_CONNS connections, $TPUT_SECS s," \
        "$subs subscribers"
    timeout --kill-after=10 $(( TPUT_SECS + 120 )) "$pushbench" -L "$server" \
        -T -k "$TPUT_CONNS" -d "$TPUT_SECS" -p "$(server_port "$server")" \
        -U /pub -P "$(server_pids "$server")" -I 1000 \
        ${sub_opts[@]+"${sub_opts[@]}"} > "$out"
    rc=$?
    grep -v '^RESULT ' "$out"
    record "$server" "$rc" "$out"
}

# ---------------------------------------------------------------------
# the runs

servers=()
for s in $SERVERS; do
    case $s in
    mod_push) servers+=(mod_push) ;;
    nchan)
        if find_nchan; then
            servers+=(nchan)
        else
            say "Nchan not found (nginx with ngx_nchan_module): comparing" \
                "nothing; 'make bench-deps' installs it"
        fi
        ;;
    *) fail "unknown server '$s' (mod_push, nchan)" ;;
    esac
done
[ ${#servers[@]} -gt 0 ] || fail "no server to benchmark"

say "N=$N M=$M interval=${INTERVAL}ms transports: $TRANSPORTS;" \
    "pushbench -j $JOBS -S $SOURCES; scratch $work${REDIS:+; two servers each, through Redis}"
[ -n "$REDIS" ] && start_redis
if [ -n "$TLS" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
        -nodes -days 2 -subj /CN=localhost -keyout "$work/tls.key" \
        -out "$work/tls.crt" 2>/dev/null || fail "cannot make a certificate"
    chmod 644 "$work/tls.key"
fi
for s in "${servers[@]}"; do
    for t in $TRANSPORTS; do
        start_server "$s" "$t"
        run_latency "$s" "$t"
        stop_named "$s"
    done
    start_server "$s"
    run_throughput "$s"
    stop_named "$s"
    if [ "$TPUT_SUBS" -gt 0 ]; then
        start_server "$s" sse
        run_throughput "$s" "$TPUT_SUBS"
        stop_named "$s"
    fi
done

# ---------------------------------------------------------------------
# the table

declare -A R
while read -r line; do
    srv="" tr="tput" mode="" nsubs=0
    for kv in $line; do
        case $kv in
        server=*) srv=${kv#server=} ;;
        transport=*) tr=${kv#transport=} ;;
        mode=*) mode=${kv#mode=} ;;
        n=*) nsubs=${kv#n=} ;;
        esac
    done
    if [ "$mode" = throughput ]; then
        tr=tput
        [ "$nsubs" != 0 ] && tr=tput_subs
    fi
    for kv in $line; do
        R["$srv|$tr|${kv%%=*}"]=${kv#*=}
    done
done < "$results"

get() { echo "${R["$1|$2|$3"]:-}"; }

# cell SERVER TRANSPORT KEY SCALE DECIMALS: the value, n/a or na
cell() {
    local v res
    res=$(get "$1" "$2" result)
    v=$(get "$1" "$2" "$3")
    if [ -z "$res" ]; then echo "-"; return; fi
    if [ "$res" = unavailable ]; then echo "n/a"; return; fi
    if [ -z "$v" ] || [ "$v" = na ]; then echo "na"; return; fi
    awk -v v="$v" -v s="$4" -v d="$5" 'BEGIN { printf "%.*f", d, v / s }'
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a !~ /^-?[0-9.]+$/ || b !~ /^-?[0-9.]+$/ || b + 0 == 0) {
            print "-"; exit }
        printf "%.2f", a / b }'
}

have() { [ -n "$(get "$1" "$2" result)" ]; }

row() {   # TRANSPORT-LABEL METRIC-LABEL TRANSPORT KEY SCALE DECIMALS
    local a="-" b="-"
    have mod_push "$3" && a=$(cell mod_push "$3" "$4" "$5" "$6")
    have nchan "$3" && b=$(cell nchan "$3" "$4" "$5" "$6")
    printf "$fmt" "$1" "$2" "$a" "$b" "$(ratio "$a" "$b")"
}

pair_row() {   # lost / dup, subscribed / errors: no ratio
    local s v out=()
    for s in mod_push nchan; do
        if ! have "$s" "$2"; then out+=("-"); continue; fi
        if [ "$(get "$s" "$2" result)" = unavailable ]; then
            out+=("n/a"); continue
        fi
        case $3 in
        lostdup) v="$(get "$s" "$2" lost)/$(get "$s" "$2" dup)" ;;
        subs) v="$(get "$s" "$2" subscribed)/$(( $(get "$s" "$2" conn_errors) + $(get "$s" "$2" http_errors) ))" ;;
        gaps) v="$(get "$s" "$2" gaps)" ;;
        esac
        out+=("$v")
    done
    printf "$fmt" "$1" "$4" "${out[0]}" "${out[1]}" ""
}

fmt='%-9s %-30s %12s %12s %16s\n'
echo
echo "mod_push vs Nchan: $N subscribers, $M messages every $INTERVAL ms" \
     "(pushbench -j $JOBS, loopback, $(nproc) cores)"
[ -n "$REDIS" ] && echo "through Redis: two servers of each sharing one redis-server," \
     "subscribers split between them, publishes to the first"
[ -n "$TLS" ] && echo "over TLS: every subscriber https:// or wss:// (TLS 1.3," \
     "ECDSA P-256, the same certificate), publishes plain"

printf "$fmt" transport metric mod_push Nchan "mod_push/Nchan"
printf '%s\n' "$(printf '%.0s-' {1..84})"
for t in $TRANSPORTS; do
    row "$t" "fan-out median (ms)" "$t" fanout_med_ms 1 2
    row "" "latency p50 (ms)" "$t" lat_p50_ms 1 2
    row "" "latency p99 (ms)" "$t" lat_p99_ms 1 2
    pair_row "" "$t" lostdup "lost / duplicated"
    pair_row "" "$t" subs "subscribed / errors"
    row "" "memory per idle sub (KB)" "$t" mem_per_sub_kb 1 1
    row "" "server PSS, all idle (MB)" "$t" pss_idle_kb 1024 1
    row "" "idle CPU (ms per s)" "$t" cpu_idle_ms_per_s 1 1
    row "" "CPU publishing M msgs (ms)" "$t" cpu_pub_ms 1 0
done
row "publish" "throughput (msg/s, $TPUT_CONNS conns)" tput msgs_per_s 1 0
if [ "$TPUT_SUBS" -gt 0 ]; then
    row "" "... with $TPUT_SUBS event streams" tput_subs msgs_per_s 1 0
    row "" "    deliveries/s to them" tput_subs deliveries_per_s 1 0
    pair_row "" tput_subs gaps "    push-gap (lost, and said)"
fi
echo
echo "raw results (key=value): $results${KEEP:+ (kept)}"
cat "$results"

# non-zero when a run that was possible lost messages or failed
status=0
while read -r line; do
    case " $line " in
    *" result=fail "*|*" result=error "*) status=2 ;;
    esac
done < "$results"
exit $status
