#!/bin/bash
# Developer shortcut (not used by make test): copy the tree to a scratch
# directory, build, and run chosen test files under one MPM as the
# unprivileged test user.  Usage: tools/dev-test.sh MPM [t/push/NN_x.t ...]
# PUSH_TEST_PORT=N runs the test server on port N (and the ones after
# it), beside another suite that selected its own.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
mpm=${1:-event}; shift || true
W=${PUSH_DEV_DIR:-/tmp/mod_push-dev}
rm -rf "$W"; mkdir -p "$W"
tar -C "$here" --exclude=.git --exclude=.libs --exclude=build -cf - . | tar -C "$W" -xf -
user=${PUSH_TEST_USER:-pushtest}
[ "$(id -u)" -eq 0 ] && chown -R "$user:" "$W"
run() { if [ "$(id -u)" -eq 0 ]; then runuser -u "$user" -- "$@"; else "$@"; fi; }
cd "$W"
run make all >/dev/null
run env TEST_FILES="$*" PUSH_TEST_PORT="${PUSH_TEST_PORT:-select}" \
    tools/run-suite.sh "$mpm"
