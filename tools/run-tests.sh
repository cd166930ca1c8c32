#!/bin/bash
# make test: unit tests and the Apache::Test suite under each MPM given
# (make soak: PUSH_SUITE_TARGET=soak-suite, the SOAK_* settings passed on).
# Apache::Test refuses to run as root, so as root we copy the tree to a
# scratch directory owned by an unprivileged user and run there as them.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
mpms=("$@")

if [ "$(id -u)" -eq 0 ]; then
    user=${PUSH_TEST_USER:-pushtest}
    if ! id "$user" >/dev/null 2>&1; then
        useradd --system --user-group --create-home --shell /bin/sh "$user"
    fi
    work=$(mktemp -d /tmp/mod_push-test.XXXXXX)
    trap 'rm -rf "$work"' EXIT
    # The working tree as it is (committed or not), without build output.
    tar -C "$here" --exclude=.git --exclude=.libs --exclude=build \
        --exclude='*.lo' --exclude='*.slo' --exclude='*.la' \
        --exclude=t/logs --exclude=node_modules -cf - . | tar -C "$work" -xf -
    chown -R "$user:" "$work"
    chmod 755 "$work"
    echo "running the tests as '$user' in $work"
    rc=0
    runuser -u "$user" -- env -i PATH="$PATH" HOME="$(getent passwd "$user" | cut -d: -f6)" \
        LANG=C.UTF-8 ${CI:+CI=$CI} ${SOAK_SECONDS:+SOAK_SECONDS=$SOAK_SECONDS} \
        ${SOAK_CLIENTS:+SOAK_CLIENTS=$SOAK_CLIENTS} \
        ${SOAK_RESTARTS:+SOAK_RESTARTS=$SOAK_RESTARTS} \
        make -C "$work" "${PUSH_SUITE_TARGET:-test-suite}" MPMS="${mpms[*]}" || rc=$?
    # Keep the logs of a failed run where the caller can read them.
    if [ "$rc" -ne 0 ]; then
        mkdir -p "$here/build"
        cp "$work"/build/*.log "$work"/build/error_log-* "$here/build/" 2>/dev/null || true
        echo "logs kept in $here/build/"
    fi
    exit "$rc"
fi
exec make -C "$here" "${PUSH_SUITE_TARGET:-test-suite}" MPMS="${mpms[*]}"
