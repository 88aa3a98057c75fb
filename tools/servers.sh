#!/usr/bin/env bash
# Start or stop a private Redis and PostgreSQL 15 under a folder (default ./var),
# for `make run` and `make bench`. PostgreSQL refuses to run as root, so as
# root it runs as the postgres user in a folder that user owns. `smtp` starts
# a private SMTP relay (tests/integration/smtpd.py: aiosmtpd on 127.0.0.1, a
# free port, no AUTH needed) that keeps every mail as DIR/mail/NNNN.eml, for
# `make run`; it prints the relay's port. `stop` stops all three.
#   tools/servers.sh start|smtp|stop [DIR]
set -euo pipefail
cmd=${1:?start|stop}
dir=$(realpath -m "${2:-var}")
pgbin=/usr/lib/postgresql/15/bin
pgport=${PGPORT_REACHD:-54329}

as_pg() {
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
	mkdir -p "$dir"
	if [ ! -S "$dir/redis.sock" ] || ! redis-cli -s "$dir/redis.sock" ping >/dev/null 2>&1; then
		redis-server --port 0 --unixsocket "$dir/redis.sock" --unixsocketperm 700 \
			--save '' --appendonly no --daemonize yes --pidfile "$dir/redis.pid" \
			--logfile "$dir/redis.log"
	fi
	mkdir -p "$dir/pg"
	[ "$(id -u)" -eq 0 ] && chown postgres "$dir/pg" && chmod o+x "$dir"
	if [ ! -f "$dir/pg/data/PG_VERSION" ]; then
		as_pg "$pgbin/initdb" -A trust -U postgres -D "$dir/pg/data" >"$dir/pg/initdb.log"
	fi
	if ! as_pg "$pgbin/pg_ctl" -D "$dir/pg/data" status >/dev/null 2>&1; then
		as_pg "$pgbin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/log" -w \
			-o "-k $dir/pg -p $pgport -c listen_addresses=''" start >/dev/null
	fi
	for _ in $(seq 100); do
		redis-cli -s "$dir/redis.sock" ping >/dev/null 2>&1 && break
		sleep 0.1
	done
	psql -h "$dir/pg" -p "$pgport" -U postgres -Atqc \
		"SELECT 1 FROM pg_database WHERE datname = 'reachd'" postgres | grep -q 1 ||
		psql -h "$dir/pg" -p "$pgport" -U postgres -qc "CREATE DATABASE reachd" postgres
	echo "redis: unix:$dir/redis.sock   postgres: host=$dir/pg port=$pgport dbname=reachd user=postgres"
}

# The relay runs in the background until `stop`; a running one is kept.
smtp() {
	local port=""
	mkdir -p "$dir/mail"
	if [ -f "$dir/smtpd.pid" ] && kill -0 "$(cat "$dir/smtpd.pid")" 2>/dev/null; then
		port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\),.*/\1/p' "$dir/smtpd.log" 2>/dev/null || true)
	fi
	if [ -z "$port" ]; then
		# the log exists before the relay starts: the loop below reads it at once
		: >"$dir/smtpd.log"
		SMTPD_AUTH_REQUIRED=0 setsid /usr/bin/python3 "$(realpath "$(dirname "$0")/..")/tests/integration/smtpd.py" \
			"$dir/mail" </dev/null >"$dir/smtpd.log" 2>&1 &
		echo $! >"$dir/smtpd.pid"
		for _ in $(seq 300); do
			port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\),.*/\1/p' "$dir/smtpd.log" 2>/dev/null || true)
			[ -n "$port" ] && break
			kill -0 "$(cat "$dir/smtpd.pid")" 2>/dev/null || break
			sleep 0.1
		done
	fi
	if [ -z "$port" ]; then
		echo "servers.sh: the SMTP relay did not start; see $dir/smtpd.log" >&2
		exit 1
	fi
	echo "$port"
}

stop() {
	if [ -f "$dir/smtpd.pid" ]; then
		local pid
		pid=$(cat "$dir/smtpd.pid")
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		rm -f "$dir/smtpd.pid"
	fi
	[ -f "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
	[ -f "$dir/pg/data/PG_VERSION" ] &&
		as_pg "$pgbin/pg_ctl" -D "$dir/pg/data" -m fast -w stop >/dev/null 2>&1 || true
}

"$cmd"
