#!/usr/bin/env bash
# `make run`: private Redis + PostgreSQL under ./var, a simulated prefecture
# writing its queue_log live, and reachd reading it. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
var=$(realpath -m var)
pgport=${PGPORT_REACHD:-54329}
speed=${SPEED:-60}   # simulated seconds per real second
mkdir -p "$var"
tools/servers.sh start "$var"

mkdir -p "$var/asterisk"

pids=()
cleanup() {
	trap - INT TERM EXIT
	echo
	echo "stopping..."
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	tools/servers.sh stop "$var"
	echo "stopped. Data stays in $var (rm -rf var to start afresh)."
}
trap cleanup INT TERM EXIT

# A week of history first, then traffic written live into the same file, as
# Asterisk would. The office-hours profile is anchored on a busy weekday
# morning so that there is something to see whatever the day.
seed=$RANDOM
rm -rf "$var/history" "$var/live"
/usr/bin/python3 tests/sim/simulate.py --out "$var/history" --days 7 --queues 4 \
	--seed "$seed" --end now --profile-anchor busy >"$var/simulator.log" 2>&1
[ -s "$var/asterisk/queue_log" ] || cp "$var/history/queue_log" "$var/asterisk/queue_log"
/usr/bin/python3 tests/sim/simulate.py --out "$var/live" --queues 4 --seed "$((seed + 1))" \
	--profile-anchor busy --live "$speed" >>"$var/simulator.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -e "$var/live/queue_log" ] && break; sleep 0.1; done
tail -c +1 -F "$var/live/queue_log" >>"$var/asterisk/queue_log" 2>/dev/null &
pids+=($!)

# The functional mailboxes the same way: a week of Postfix + Dovecot history
# in mail.log (as rsyslog writes it), then live mail appended.
mkdir -p "$var/mail"
rm -rf "$var/mail-history" "$var/mail-live"
/usr/bin/python3 tests/sim/simulate_mail.py --out "$var/mail-history" --days 7 --mailboxes 4 \
	--seed "$seed" --end now --profile-anchor busy >>"$var/simulator.log" 2>&1
[ -s "$var/mail/mail.log" ] || cp "$var/mail-history/mail.log" "$var/mail/mail.log"
/usr/bin/python3 tests/sim/simulate_mail.py --out "$var/mail-live" --mailboxes 4 \
	--seed "$((seed + 1))" --profile-anchor busy --live "$speed" >>"$var/simulator.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -e "$var/mail-live/meta_mail.json" ] && break; sleep 0.1; done
for _ in $(seq 50); do [ -e "$var/mail-live/mail.log" ] && break; sleep 0.1; done
tail -c +1 -F "$var/mail-live/mail.log" >>"$var/mail/mail.log" 2>/dev/null &
pids+=($!)

cat >"$var/reachd.conf" <<CONF
[daemon]
site = prefecture
commit_interval = 1s
refresh_interval = 2s
timezone = Europe/Paris
[postgres]
conninfo = host=$var/pg port=$pgport dbname=reachd user=postgres
[redis]
address = unix:$var/redis.sock
[collector "accueil"]
type = queuelog
path = $var/asterisk/queue_log
site = prefecture
service_level = 20s
short_abandon = 5s
[collector "courriels"]
type = maillog
path = $var/mail/mail.log
site = prefecture
timezone = Europe/Paris
$(/usr/bin/python3 tests/sim/mail_config.py "$var/mail-history" \
	$([ -e "$var/mail-live/meta_mail.json" ] && echo "$var/mail-live"))
CONF
build/reachd -c "$var/reachd.conf" -v 2>"$var/reachd.log" &
pids+=($!)

cat <<TXT

reachd is running on a simulated prefecture: a week of history, then live traffic at
${speed}x real time, for its phone queues ($var/asterisk/queue_log) and its functional
mailboxes ($var/mail/mail.log, Postfix + Dovecot). Where to look:

  build/reachctl -c $var/reachd.conf status
  build/reachctl -c $var/reachd.conf indicators            # last 24 h: queues and mailboxes
  build/reachctl -c $var/reachd.conf indicators --json --from "$(date -u +%F) 00:00"
  redis-cli -s $var/redis.sock --scan --pattern 'reach:*'
  redis-cli -s $var/redis.sock hgetall 'reach:{prefecture}:calls:<queue>:1h'
  redis-cli -s $var/redis.sock hgetall 'reach:{prefecture}:mail-live:contact@example.gouv.fr'
  psql -h $var/pg -p $pgport -U postgres reachd -c 'SELECT * FROM reach.call_indicators_daily'
  psql -h $var/pg -p $pgport -U postgres reachd -c 'SELECT * FROM reach.mail_indicators_daily'
  tail -f $var/reachd.log

Ctrl-C stops everything.
TXT
wait "${pids[@]}"
