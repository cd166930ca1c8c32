#!/bin/sh
# Makes sure the Debian packages a target needs are installed.  As root
# they are installed with apt-get; otherwise we stop and print the exact
# command to run.  Usage: ensure-deps.sh build|test|run|fuzz|bench
set -eu

case "${1:-build}" in
    build) pkgs="apache2-dev apache2 zlib1g-dev libhiredis-dev" ;;
    run)   pkgs="apache2-dev apache2 zlib1g-dev libhiredis-dev curl"
           [ -n "${REDIS:-}" ] && pkgs="$pkgs redis-server" ;;
    test)  pkgs="apache2-dev apache2 zlib1g-dev libapache2-mod-perl2 \
                 libwww-perl libio-socket-ssl-perl openssl curl \
                 clang libclang-rt-14-dev chromium redis-server \
                 libhiredis-dev libssl-dev" ;;
    fuzz)  pkgs="clang libclang-rt-14-dev zlib1g-dev libhiredis-dev" ;;
    *) echo "ensure-deps.sh: unknown target '$1'" >&2; exit 2 ;;
esac

# t/push/13_browser.t needs Node.js >= 18 and npm; any on PATH will do
# (a NodeSource nodejs bundles npm and conflicts with Debian's npm).
if [ "${1:-build}" = test ]; then
    command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs"
    command -v npm  >/dev/null 2>&1 || pkgs="$pkgs npm"
fi

missing=""
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "mod_push needs these Debian packages:$missing" >&2
    echo "Install them with:" >&2
    echo "    sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
