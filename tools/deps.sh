#!/bin/sh
# Install the Debian packages reachd needs to build, test and run, if missing.
set -e
PKGS="build-essential pkg-config libevent-dev libhiredis-dev libpq-dev libinih-dev
libjansson-dev libcmocka-dev libesmtp-dev libssl-dev redis-server postgresql
postgresql-client python3 python3-psycopg2 python3-redis cppcheck clang-format procps
postfix dovecot-core dovecot-imapd dovecot-lmtpd dovecot-sieve python3-aiosmtpd openssl
chromium prometheus"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
# Postfix asks how to configure itself: the tests run their own instances.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
$SUDO apt-get update -qq || true
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq $missing
