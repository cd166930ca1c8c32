# mod_push — build, run and test.  See README.md.
#
#   make            build mod_push.so with apxs
#   make install    apxs -i -a -n push (and the Debian a2enmod files)
#   make run        throwaway httpd on 127.0.0.1:$(PORT) with conf/example.conf
#   make test       unit tests, then the Apache::Test suite under every MPM
#   make fuzz       longer libFuzzer runs
#   make soak       churn, kill -9 and graceful restarts, for longer

APXS     ?= $(shell command -v apxs 2>/dev/null || echo /usr/bin/apxs)
PORT     ?= 8080
MPMS     ?= event worker prefork
CC       ?= cc
WARN      = -Wall -Wextra
FUZZ_SECONDS ?= 300

# Pure parts: no httpd types, unit-tested and fuzzed alone.
LIB_SRC   = lib/push_id.c lib/push_sse.c lib/push_frame_cache.c lib/push_buf.c \
            lib/push_utf8.c lib/push_ws_codec.c lib/push_ws_deflate.c \
            lib/push_conf_value.c lib/push_channel_info.c
# Channel ids are checked as UTF-8: the id grammar needs the UTF-8 check.
ID_SRC    = lib/push_id.c lib/push_utf8.c
SHM_SRC   = store/push_store_shm.c store/push_store_shm_chan.c \
            store/push_store_shm_hold.c store/push_store_shm_lock.c \
            store/push_store_shm_mirror.c
STORE_SRC = $(SHM_SRC) store/push_notify.c
CORE_SRC  = core/push_sub.c core/push_sink.c core/push_loop.c core/push_stream.c
REDIS_SRC = redis/push_redis_url.c redis/push_redis_conn.c \
            redis/push_redis_tls.c redis/push_redis_chan.c redis/push_redis_count.c \
            redis/push_redis_route.c redis/push_mirror.c redis/push_bridge.c
PURE_SRC  = $(LIB_SRC) $(STORE_SRC) $(CORE_SRC) $(REDIS_SRC)
# httpd glue: one job a file (see mod_push.c).
GLUE_SRC  = mod_push.c mod_push_config.c mod_push_directives.c mod_push_http.c \
            mod_push_pub.c mod_push_publish.c \
            mod_push_store.c mod_push_store_shm.c mod_push_transport.c \
            mod_push_sub.c mod_push_filters.c mod_push_admit.c mod_push_conn.c mod_push_park.c \
            mod_push_tls.c mod_push_workers.c \
            mod_push_poll.c mod_push_sse.c mod_push_ws.c mod_push_client.c \
            mod_push_status.c mod_push_events.c mod_push_chunked.c \
            mod_push_multipart.c mod_push_rawstream.c mod_push_authz.c \
            mod_push_accel.c mod_push_subreq.c mod_push_presence.c \
            mod_push_upstream.c mod_push_redis.c
# The browser client, built into the module (SetHandler push-client).
CLIENT_SRC = build/push_client_js.c
MODULE_SRC = $(GLUE_SRC) $(PURE_SRC) $(CLIENT_SRC)
HEADERS   = $(wildcard *.h lib/*.h store/*.h core/*.h redis/*.h)

UNIT_CFLAGS = -std=gnu11 $(WARN) -Werror -O1 -g -fno-omit-frame-pointer \
              -fsanitize=address,undefined -I.
UNIT_TESTS  = build/test_id build/test_store build/test_sse \
              build/test_ws_codec build/test_ws_deflate build/test_frame_cache \
              build/test_notify build/test_loop build/test_conf_value \
              build/test_channel_info build/test_redis build/test_redis_tls build/test_bridge \
              build/test_cluster
FUZZ_CC     = clang
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -I.
FUZZ_SMOKE_SECONDS ?= 8
WS_CODEC_SRC = lib/push_ws_codec.c lib/push_utf8.c lib/push_ws_deflate.c lib/push_buf.c

.PHONY: all deps install run test unit test-suite test-asan fuzz fuzz-smoke soak soak-suite clean

all: .libs/mod_push.so

deps:
	@tools/ensure-deps.sh build

APXS_FLAGS = -n push -I$(CURDIR) -Wc,-std=gnu11 -Wc,-Wall -Wc,-Wextra \
             -Wc,-Werror
MODULE_LIBS = -lpthread -lz -lhiredis -lssl -lcrypto

.libs/mod_push.so: $(MODULE_SRC) $(HEADERS) Makefile
	@tools/ensure-deps.sh build
	$(APXS) -c $(APXS_FLAGS) -Wc,-O2 -o mod_push.la $(MODULE_SRC) $(MODULE_LIBS)

# The same module under AddressSanitizer and UBSan, beside the real one
# (make test-asan): build/asan-module/.libs/mod_push.so.
SAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=undefined
build/asan-module/.libs/mod_push.so: $(MODULE_SRC) $(HEADERS) Makefile | build
	@mkdir -p build/asan-module
	$(APXS) -c $(APXS_FLAGS) -Wc,"$(SAN_FLAGS)" -Wc,-fno-omit-frame-pointer \
	    -Wc,-O1 -Wl,"$(SAN_FLAGS)" -o build/asan-module/mod_push.la \
	    $(MODULE_SRC) $(MODULE_LIBS)

install: .libs/mod_push.so
	$(APXS) -i -a -n push mod_push.la
	@if [ -d /etc/apache2/mods-available ]; then \
	    install -m 644 conf/push.load conf/push.conf /etc/apache2/mods-available/; \
	    echo "Debian: enable with 'a2enmod push' (then reload apache2)"; \
	fi

run: .libs/mod_push.so
	@REDIS=$(REDIS) tools/ensure-deps.sh run
	@REDIS=$(REDIS) tools/run-httpd.sh $(PORT)

build:
	mkdir -p build

build/push_client_js.c: client/push.js tools/embed.sh | build
	tools/embed.sh client/push.js push_client_js > $@.tmp && mv $@.tmp $@

build/test_id: t/unit/test_id.c t/unit/check.h $(ID_SRC) lib/push_id.h | build
	$(CC) $(UNIT_CFLAGS) -o $@ t/unit/test_id.c $(ID_SRC)

build/test_store: t/unit/test_store.c t/unit/check.h $(SHM_SRC) $(ID_SRC) $(HEADERS) | build
	$(CC) $(UNIT_CFLAGS) -o $@ t/unit/test_store.c \
	    $(SHM_SRC) $(ID_SRC) -lpthread

build/test_conf_value: t/unit/test_conf_value.c t/unit/check.h lib/push_conf_value.c lib/push_conf_value.h | build
	$(CC) $(UNIT_CFLAGS) -o $@ t/unit/test_conf_value.c lib/push_conf_value.c

build/test_channel_info: t/unit/test_channel_info.c t/unit/check.h lib/push_channel_info.c lib/push_channel_info.h | build
	$(CC) $(UNIT_CFLAGS) -o $@ t/unit/test_channel_info.c lib/push_channel_info.c

# Against a real redis-server, which the test starts itself.
REDIS_LIB_SRC = redis/push_redis_url.c redis/push_redis_conn.c \
                redis/push_redis_tls.c redis/push_redis_chan.c redis/push_redis_count.c \
                redis/push_redis_route.c lib/push_buf.c lib/push_id.c \
                lib/push_utf8.c
REDIS_LIBS = -lhiredis -lssl -lcrypto

build/test_redis_tls: t/unit/test_redis_tls.c t/unit/redis_server.h t/unit/check.h $(REDIS_LIB_SRC) $(HEADERS) | build
	$(CC) $(UNIT_CFLAGS) -o $@ t/unit/test_redis_tls.c $(REDIS_LIB_SRC) $(REDIS_LIBS)

build/test_redis: t/unit/test_redis.c t/unit/redis_server.h t/unit/check.h $(REDIS_LIB_SRC) $(HEADERS) | build
	$(CC) $(UNIT_CFLAGS) -o $@ t/unit/test_redis.c $(REDIS_LIB_SRC) $(REDIS_LIBS)

BRIDGE_SRC = redis/push_bridge.c redis/push_mirror.c

build/test_bridge: t/unit/test_bridge.c t/unit/redis_server.h t/unit/check.h $(REDIS_LIB_SRC) $(BRIDGE_SRC) $(SHM_SRC) $(HEADERS) | build
	$(CC) $(UNIT_CFLAGS) -o $@ t/unit/test_bridge.c $(BRIDGE_SRC) \
	    $(REDIS_LIB_SRC) $(SHM_SRC) $(REDIS_LIBS) -lpthread

build/test_cluster: t/unit/test_cluster.c t/unit/redis_cluster.h t/unit/redis_server.h t/unit/check.h $(REDIS_LIB_SRC) $(BRIDGE_SRC) $(SHM_SRC) $(HEADERS) | build
	$(CC) $(UNIT_CFLAGS) -o $@ t/unit/test_cluster.c $(BRIDGE_SRC) \
	    $(REDIS_LIB_SRC) $(SHM_SRC) $(REDIS_LIBS) -lpthread

build/test_sse: t/unit/test_sse.c t/unit/check.h lib/push_sse.c lib/push_sse.h | build
	$(CC) $(UNIT_CFLAGS) -o $@ t/unit/test_sse.c lib/push_sse.c

build/test_notify: t/unit/test_notify.c t/unit/check.h $(STORE_SRC) $(ID_SRC) $(HEADERS) | build
	$(CC) $(UNIT_CFLAGS) -o $@ t/unit/test_notify.c $(STORE_SRC) $(ID_SRC) -lpthread

build/test_loop: t/unit/test_loop.c t/unit/check.h $(CORE_SRC) $(STORE_SRC) lib/push_frame_cache.c lib/push_buf.c $(ID_SRC) $(HEADERS) | build
	$(CC) $(UNIT_CFLAGS) -o $@ t/unit/test_loop.c $(CORE_SRC) $(STORE_SRC) \
	    lib/push_frame_cache.c lib/push_buf.c $(ID_SRC) -lpthread

build/test_ws_codec: t/unit/test_ws_codec.c t/unit/ws_wire.h t/unit/check.h $(WS_CODEC_SRC) $(HEADERS) | build
	$(CC) $(UNIT_CFLAGS) -o $@ t/unit/test_ws_codec.c $(WS_CODEC_SRC) -lz

build/test_ws_deflate: t/unit/test_ws_deflate.c t/unit/ws_wire.h t/unit/check.h $(WS_CODEC_SRC) $(HEADERS) | build
	$(CC) $(UNIT_CFLAGS) -o $@ t/unit/test_ws_deflate.c $(WS_CODEC_SRC) -lz

build/test_frame_cache: t/unit/test_frame_cache.c t/unit/check.h lib/push_frame_cache.c lib/push_frame_cache.h | build
	$(CC) $(UNIT_CFLAGS) -o $@ t/unit/test_frame_cache.c lib/push_frame_cache.c -lpthread

# libFuzzer targets, one per parser of what clients send: the WebSocket
# frames (with and without permessage-deflate), cursors and channel ids,
# the handshake headers, SSE framing (what a body may do to it), the
# directive values (sizes, counts, durations, origins), and what the
# Redis backplane reads (PushRedis's URL, stream ids, publish notices).
FUZZ_TARGETS = ws_frame cursor handshake sse conf_value redis

build/fuzz_ws_frame: fuzz/fuzz_ws_frame.c $(WS_CODEC_SRC) $(HEADERS) | build
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ fuzz/fuzz_ws_frame.c $(WS_CODEC_SRC) -lz

build/fuzz_cursor: fuzz/fuzz_cursor.c fuzz/fuzz_input.h $(ID_SRC) $(HEADERS) | build
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ fuzz/fuzz_cursor.c $(ID_SRC)

build/fuzz_handshake: fuzz/fuzz_handshake.c fuzz/fuzz_input.h $(WS_CODEC_SRC) $(HEADERS) | build
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ fuzz/fuzz_handshake.c $(WS_CODEC_SRC) -lz

build/fuzz_conf_value: fuzz/fuzz_conf_value.c fuzz/fuzz_input.h lib/push_conf_value.c $(HEADERS) | build
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ fuzz/fuzz_conf_value.c lib/push_conf_value.c

build/fuzz_redis: fuzz/fuzz_redis.c fuzz/fuzz_input.h $(REDIS_LIB_SRC) $(HEADERS) | build
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ fuzz/fuzz_redis.c $(REDIS_LIB_SRC) $(REDIS_LIBS)

build/fuzz_sse: fuzz/fuzz_sse.c lib/push_sse.c $(HEADERS) | build
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ fuzz/fuzz_sse.c lib/push_sse.c

# Each target briefly in make test, for longer in make fuzz.  New inputs
# go to build/, the seeds in fuzz/corpus stay put.
fuzz-smoke: $(addprefix build/fuzz_,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p build/corpus-$$t; \
	    echo "== fuzz_$$t for $(FUZZ_SMOKE_SECONDS)s"; \
	    build/fuzz_$$t -max_total_time=$(FUZZ_SMOKE_SECONDS) \
	        build/corpus-$$t fuzz/corpus/$$t > build/fuzz-$$t.log 2>&1 \
	        || { tail -40 build/fuzz-$$t.log; exit 1; }; \
	    grep -E "^Done [0-9]+ runs" build/fuzz-$$t.log; \
	done

unit: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do echo "== $$t"; ./$$t || exit 1; done

# The Apache::Test suite under each MPM in turn.  As root, it re-runs
# itself as an unprivileged user on a copy of the tree (Apache::Test
# refuses to run as root).
test:
	@tools/ensure-deps.sh test
	@tools/run-tests.sh $(MPMS)

test-suite: all unit fuzz-smoke bench/pushbench
	@tools/run-suite.sh $(MPMS)
	@$(MAKE) --no-print-directory test-asan

# The suite again under every MPM with the module under AddressSanitizer
# and UBSan (httpd runs with the ASan runtime preloaded); any report
# fails the run.
test-asan: build/asan-module/.libs/mod_push.so
	@PUSH_ASAN=1 tools/run-suite.sh $(MPMS)

# The churn and crash tests for longer and with more clients than in
# make test (t/push/23_churn.t, 24_crash.t), under every MPM.
SOAK_SECONDS  ?= 120
SOAK_CLIENTS  ?= 2000
SOAK_RESTARTS ?= 100
SOAK_FILES     = t/push/23_churn.t t/push/24_crash.t

soak:
	@tools/ensure-deps.sh test
	@PUSH_SUITE_TARGET=soak-suite SOAK_SECONDS=$(SOAK_SECONDS) \
	    SOAK_CLIENTS=$(SOAK_CLIENTS) SOAK_RESTARTS=$(SOAK_RESTARTS) \
	    tools/run-tests.sh $(MPMS)

soak-suite: all
	@TEST_FILES="$(SOAK_FILES)" tools/run-suite.sh $(MPMS)

fuzz:
	@tools/ensure-deps.sh fuzz
	$(MAKE) fuzz-smoke FUZZ_SMOKE_SECONDS=$(FUZZ_SECONDS)

include bench/bench.mk

OBJ_DIRS = . lib store core

clean:
	rm -rf build t/logs t/htdocs/index.html bench/pushbench
	for d in $(OBJ_DIRS); do rm -rf $$d/.libs $$d/*.la $$d/*.lo $$d/*.slo $$d/*.o; done
	-@[ -f t/TEST ] && cd t && perl TEST -clean >/dev/null 2>&1 || true
	rm -f t/TEST
