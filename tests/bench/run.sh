#!/usr/bin/env bash
# make bench: ingestion rate and peak memory of `reachd --once` on a simulated
# trace of CALLS calls (default 1,000,000), against private Redis and
# PostgreSQL servers. Prints figures; asserts nothing (targets are read, not
# timed in tests).
set -euo pipefail
cd "$(dirname "$0")/../.."
calls=${CALLS:-1000000}
dir=$(mktemp -d /tmp/reachd-bench.XXXXXX)
chmod 755 "$dir" # the postgres user must reach its data folder
pgport=${PGPORT_REACHD:-54339}
trap 'PGPORT_REACHD=$pgport tools/servers.sh stop "$dir/srv"; rm -rf "$dir"' EXIT
PGPORT_REACHD=$pgport tools/servers.sh start "$dir/srv" >/dev/null
echo "simulating $calls calls..."
/usr/bin/python3 tests/sim/simulate.py --out "$dir/trace" --calls "$calls" --queues 8 \
	--seed 42 --flavour mixed --end now >/dev/null
lines=$(wc -l <"$dir/trace/queue_log")
bytes=$(stat -c %s "$dir/trace/queue_log")
cat >"$dir/reachd.conf" <<CONF
[postgres]
conninfo = host=$dir/srv/pg port=$pgport dbname=reachd user=postgres
[redis]
address = unix:$dir/srv/redis.sock
[collector "bench"]
type = queuelog
path = $dir/trace/queue_log
site = bench
CONF
start=$(date +%s.%N)
/usr/bin/time -f '%M' -o "$dir/rss" build/reachd --once -c "$dir/reachd.conf" 2>"$dir/log" ||
	{ tail "$dir/log"; exit 1; }
end=$(date +%s.%N)
stored=$(psql -h "$dir/srv/pg" -p "$pgport" -U postgres -Atc "SELECT count(*) FROM reach.calls" reachd)
awk -v c="$stored" -v l="$lines" -v b="$bytes" -v s="$start" -v e="$end" -v rss="$(cat "$dir/rss")" 'BEGIN {
	t = e - s
	printf "reachd --once: %d calls (%d lines, %.1f MB) in %.2f s\n", c, l, b / 1048576, t
	printf "  %.0f calls/s, %.0f lines/s, peak RSS %.1f MB\n", c / t, l / t, rss / 1024
}'
