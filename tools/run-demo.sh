#!/usr/bin/env bash
# `make run`: private Redis + PostgreSQL under ./var, a simulated prefecture
# writing its queue_log live, and reachd reading it; its alert rules mail a
# private SMTP relay that keeps the mails in ./var/mail. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
var=$(realpath -m var)
pgport=${PGPORT_REACHD:-54329}
speed=${SPEED:-60}   # simulated seconds per real second
mkdir -p "$var"
tools/servers.sh start "$var"

mkdir -p "$var/asterisk" "$var/mail"

# What the relay received this run, and the outbox's rows by state.
eml_count() { find "$var/mail" -maxdepth 1 -name '[0-9]*.eml' | wc -l; }
eml_before=$(eml_count)
mail_summary() {
	local n states
	n=$(($(eml_count) - eml_before))
	states=$(psql -h "$var/pg" -p "$pgport" -U postgres -Atqc \
		"SELECT string_agg(state || ': ' || n, ', ') FROM (SELECT state, count(*) AS n
		 FROM reach.alert_outbox GROUP BY state ORDER BY state) s" reachd 2>/dev/null) || true
	echo "alert mails: $n received by the relay this run, in $var/mail/*.eml" \
		"(outbox, all runs: ${states:-empty})"
}

pids=()
cleanup() {
	trap - INT TERM EXIT
	echo
	echo "stopping..."
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	mail_summary
	tools/servers.sh stop "$var"
	echo "stopped. Data stays in $var (rm -rf var to start afresh)."
}
trap cleanup INT TERM EXIT

# The SMTP relay for the alert mails: aiosmtpd on 127.0.0.1 (a free port, no
# AUTH, no TLS needed), every mail kept as $var/mail/NNNN.eml.
smtpport=$(tools/servers.sh smtp "$var")

# The dashboard and the API: 127.0.0.1:8470 unless something else listens there.
httpport=$(/usr/bin/python3 -c '
import socket
s = socket.socket()
try:
    s.bind(("127.0.0.1", 8470))
except OSError:
    s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')

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
[http]
listen = 127.0.0.1:$httpport
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
[smtp]
server = 127.0.0.1:$smtpport
from = Indicateurs d'accueil <reachd@example.gouv.fr>
starttls = no
[recipients "qualite"]
to = referent.qualite@example.gouv.fr
; The rules watch every hour of every day (calendar = always): the simulated
; office is busy whenever the demo runs, but the default calendar (the site's
; opening hours, Monday to Friday) would hold them at night and at weekends.
; The traffic runs ${speed}x faster than the clock: \`for\` is a minute here (10m
; in production). A simulated night is ${speed}x shorter too, under pbx-silent's 30m.
[rule "answered-rate"]
figure = answered_rate
scope = queue:*
window = 1h
warning = < 85%
critical = < 75%
min_samples = 20
for = 1m
calendar = always
notify = qualite
[rule "mail-backlog"]
figure = backlog
scope = mailbox:*
warning = > 150
critical = > 300
for = 1m
calendar = always
notify = qualite
[rule "pbx-silent"]
figure = no_data
scope = source:accueil
warning = > 30m
calendar = always
notify = qualite
CONF
build/reachd -c "$var/reachd.conf" -v 2>"$var/reachd.log" &
pids+=($!)

cat <<TXT

reachd is running on a simulated prefecture: a week of history, then live traffic at
${speed}x real time, for its phone queues ($var/asterisk/queue_log) and its functional
mailboxes ($var/mail/mail.log, Postfix + Dovecot). Its alert rules ($var/reachd.conf)
mail the group "qualite" through a private SMTP relay on 127.0.0.1:$smtpport, which keeps
every mail it accepts as $var/mail/NNNN.eml. Where to look:

  http://127.0.0.1:$httpport/                              # the live dashboard (open it in a browser)
  curl -s http://127.0.0.1:$httpport/api/v1/indicators?window=1h
  curl -s http://127.0.0.1:$httpport/metrics               # for Prometheus

  build/reachctl -c $var/reachd.conf status
  build/reachctl -c $var/reachd.conf indicators            # last 24 h: queues and mailboxes
  build/reachctl -c $var/reachd.conf indicators --json --from "$(date -u +%F) 00:00"
  redis-cli -s $var/redis.sock --scan --pattern 'reach:*'
  redis-cli -s $var/redis.sock hgetall 'reach:{prefecture}:calls:<queue>:1h'
  redis-cli -s $var/redis.sock hgetall 'reach:{prefecture}:mail-live:contact@example.gouv.fr'
  psql -h $var/pg -p $pgport -U postgres reachd -c 'SELECT * FROM reach.call_indicators_daily'
  psql -h $var/pg -p $pgport -U postgres reachd -c 'SELECT * FROM reach.mail_indicators_daily'
  psql -h $var/pg -p $pgport -U postgres reachd -c 'SELECT * FROM reach.alerts'
  psql -h $var/pg -p $pgport -U postgres reachd -c 'SELECT at, rule, entity, action, level, value, threshold, quiet FROM reach.alert_events ORDER BY id'
  psql -h $var/pg -p $pgport -U postgres reachd -c 'SELECT created_at, rcpt, subject, state, sent_at FROM reach.alert_outbox ORDER BY id'
  ls $var/mail/*.eml                                     # the alert mails, as the relay got them
  tail -f $var/reachd.log

Ctrl-C stops everything.
TXT
wait "${pids[@]}"
