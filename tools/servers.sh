#!/usr/bin/env bash
# Start or stop a private Redis and PostgreSQL 15 under a folder (default ./var),
# for `make run` and `make bench`. PostgreSQL refuses to run as root, so as
# root it runs as the postgres user in a folder that user owns.
#   tools/servers.sh start|stop [DIR]
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

stop() {
	[ -f "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
	[ -f "$dir/pg/data/PG_VERSION" ] &&
		as_pg "$pgbin/pg_ctl" -D "$dir/pg/data" -m fast -w stop >/dev/null 2>&1 || true
}

"$cmd"
