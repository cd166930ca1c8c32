# mod_push — build, run and test.  See README.md.
#
#   make            build mod_push.so with apxs
#   make install    apxs -i -a -n push (and the Debian a2enmod files)
#   make run        throwaway httpd on 127.0.0.1:$(PORT) with conf/example.conf
#   make test       unit tests, then the Apache::Test suite under every MPM
#   make fuzz       longer libFuzzer runs

APXS     ?= $(shell command -v apxs 2>/dev/null || echo /usr/bin/apxs)
PORT     ?= 8080
MPMS     ?= event worker prefork
CC       ?= cc
WARN      = -Wall -Wextra
FUZZ_SECONDS ?= 300

# Pure parts: no httpd types, unit-tested and fuzzed alone.
PURE_SRC  = push_id.c push_store.c push_notify.c push_sse.c
GLUE_SRC  = mod_push.c mod_push_sse.c
MODULE_SRC = $(GLUE_SRC) $(PURE_SRC)
HEADERS   = $(wildcard *.h)

UNIT_CFLAGS = -std=gnu11 $(WARN) -Werror -O1 -g -fno-omit-frame-pointer \
              -fsanitize=address,undefined -I.
UNIT_TESTS  = build/test_id build/test_store build/test_sse

.PHONY: all deps install run test unit test-suite fuzz clean

all: .libs/mod_push.so

deps:
	@tools/ensure-deps.sh build

.libs/mod_push.so: $(MODULE_SRC) $(HEADERS) Makefile
	@tools/ensure-deps.sh build
	$(APXS) -c -n push -Wc,-std=gnu11 -Wc,-Wall -Wc,-Wextra -Wc,-Werror \
	    -Wc,-O2 -o mod_push.la $(MODULE_SRC) -lpthread

install: .libs/mod_push.so
	$(APXS) -i -a -n push mod_push.la
	@if [ -d /etc/apache2/mods-available ]; then \
	    install -m 644 conf/push.load conf/push.conf /etc/apache2/mods-available/; \
	    echo "Debian: enable with 'a2enmod push' (then reload apache2)"; \
	fi

run: .libs/mod_push.so
	@tools/ensure-deps.sh run
	@tools/run-httpd.sh $(PORT)

build:
	mkdir -p build

build/test_id: t/unit/test_id.c push_id.c push_id.h | build
	$(CC) $(UNIT_CFLAGS) -o $@ t/unit/test_id.c push_id.c

build/test_store: t/unit/test_store.c push_store.c push_id.c $(HEADERS) | build
	$(CC) $(UNIT_CFLAGS) -DPUSH_STORE_TESTING -o $@ t/unit/test_store.c \
	    push_store.c push_id.c -lpthread

build/test_sse: t/unit/test_sse.c push_sse.c push_sse.h | build
	$(CC) $(UNIT_CFLAGS) -o $@ t/unit/test_sse.c push_sse.c

unit: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do echo "== $$t"; ./$$t || exit 1; done

# The Apache::Test suite under each MPM in turn.  As root, it re-runs
# itself as an unprivileged user on a copy of the tree (Apache::Test
# refuses to run as root).
test:
	@tools/ensure-deps.sh test
	@tools/run-tests.sh $(MPMS)

test-suite: all unit
	@tools/run-suite.sh $(MPMS)

fuzz:
	@tools/ensure-deps.sh fuzz
	@echo "no fuzz targets yet"

clean:
	rm -rf .libs build *.la *.lo *.slo *.o t/logs t/htdocs/index.html
	-@[ -f t/TEST ] && cd t && perl TEST -clean >/dev/null 2>&1 || true
	rm -f t/TEST
