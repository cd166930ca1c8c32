# bench/bench.mk: the benchmark, included from the top Makefile.
#
#   make bench         mod_push vs Nchan, all transports (N=10000 M=20 by
#                      default; N=..., M=..., see bench/run-bench.sh)
#   make bench-smoke   N=200 M=3 against a server already running on
#                      127.0.0.1:$(PORT), every transport it offers
#   make bench REDIS=1 the same through Redis: two servers of each
#                      sharing a private redis-server
#   make bench TLS=1   the subscribers over TLS (mod_ssl, nginx ssl)
#   make bench-deps    nginx + nchan (+ wrk) from Debian, as root
#   make bench-selftest  pushbench's parsers against bench/fakepush.py

BENCH_CFLAGS ?= -std=gnu11 -Wall -Wextra -O2 -g

# Including this file must not change which target a bare `make` builds.
bench_saved_goal := $(.DEFAULT_GOAL)

.PHONY: bench bench-smoke bench-deps bench-selftest

bench/pushbench: bench/pushbench.c
	$(CC) $(BENCH_CFLAGS) -o $@ bench/pushbench.c -lssl -lcrypto

bench: all bench/pushbench
	PUSHBENCH=$(CURDIR)/bench/pushbench N='$(N)' M='$(M)' REDIS='$(REDIS)' \
	    TLS='$(TLS)' bench/run-bench.sh

bench-smoke: bench/pushbench
	PUSHBENCH=$(CURDIR)/bench/pushbench bench/run-bench.sh --smoke $(PORT)

bench-selftest: bench/pushbench
	PUSHBENCH=$(CURDIR)/bench/pushbench bench/run-bench.sh --selftest

bench-deps:
	@if [ "$$(id -u)" -eq 0 ]; then \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y \
	        nginx-light libnginx-mod-nchan wrk \
	    || { apt-get update && DEBIAN_FRONTEND=noninteractive \
	         apt-get install -y nginx-light libnginx-mod-nchan wrk; }; \
	else \
	    echo "as root, run: apt-get install -y nginx-light libnginx-mod-nchan wrk"; \
	fi

.DEFAULT_GOAL := $(bench_saved_goal)
