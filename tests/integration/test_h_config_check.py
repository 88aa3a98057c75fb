#!/usr/bin/python3
"""(h) `reachd -t -c FILE`: a bad configuration prints `FILE:LINE: message`
for each of its errors (all of them, not only the first) and exits non-zero;
a missing required section and a missing file fail too; a good configuration
exits 0. Needs no server.
"""

import sys

sys.dont_write_bytecode = True

import os
import re
import subprocess

import lib

BAD = """\
[daemon]
site = prefecture
commit_interval = soon
refresh_interval = 1s
colour = blue
[postgres]
conninfo = host=/nonexistent dbname=reachd
[redis]
address = unix:/nonexistent/redis.sock
[collector "pbx"]
type = queuelog
path = /var/log/asterisk/queue_log
site = prefecture
service_level = twenty
short_abandon = 5s
[collector "other"]
type = nosuchtype
path = /var/log/other.log
[bogus]
x = 1
[collector "postfix"]
type = maillog
path = /var/log/mail.log
site = prefecture
mailboxes = contact@example.gouv.fr
[collector "dovecot"]
type = maillog
path = /var/log/dovecot.log
site = prefecture
mailboxes = contact@example.gouv.fr
ack_window = 30m
"""
# line -> what is wrong (alternatives allowed for the unknown section: header or key)
EXPECTED = {3: "bad duration", 5: "unknown key", 14: "bad service_level", 17: "unknown collector type",
            19: "unknown section", 26: "ack_window differing within a site"}
ALTERNATIVE = {19: {19, 20}, 17: {16, 17}}

GOOD = """\
[daemon]
site = prefecture
commit_interval = 200ms
refresh_interval = 1s
[postgres]
conninfo = host=/nonexistent port=5432 dbname=reachd user=postgres
[redis]
address = unix:/nonexistent/redis.sock
[collector "pbx"]
type = queuelog
path = /var/log/asterisk/queue_log
site = prefecture
service_level = 20s
short_abandon = 5s
"""

NO_PG = """\
[daemon]
site = prefecture
[redis]
address = unix:/nonexistent/redis.sock
[collector "pbx"]
type = queuelog
path = /var/log/asterisk/queue_log
"""


def run_t(path):
    r = subprocess.run([lib.REACHD, "-t", "-c", path], stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=30)
    return r.returncode, (r.stdout + r.stderr).decode("utf-8", "replace")


def main():
    if not os.access(lib.REACHD, os.X_OK):
        raise lib.TestFailure("no reachd binary at %s" % lib.REACHD)
    with lib.Env("h", pg=False, redis=False) as env:
        ck = lib.Checker("(h) config check")
        bad = env.path("bad.conf")
        with open(bad, "w") as f:
            f.write(BAD)
        rc, out = run_t(bad)
        lib.log("reachd -t bad.conf -> %d:\n%s" % (rc, "\n".join("    | " + x for x in out.splitlines())))
        ck.ok(rc != 0, "reachd -t exited 0 on a bad file")
        pat = re.compile(r"^%s:(\d+): \S.*" % re.escape(bad))
        lines = set()
        for ln in out.splitlines():
            m = pat.match(ln.strip())
            if m:
                lines.add(int(m.group(1)))
        ck.ok(re.search(r"^%s:26: collector \"dovecot\": ack_window differs from collector"
                        r" \"postfix\" of site prefecture" % re.escape(bad), out, re.M) is not None,
              "no exact message for the ack_window differing within a site")
        for n, what in EXPECTED.items():
            ok = bool(lines & ALTERNATIVE.get(n, {n}))
            ck.ok(ok, "no '%s:%d: ...' line for the %s on line %d" % (bad, n, what, n))
        allowed = set()
        for n in EXPECTED:
            allowed |= ALTERNATIVE.get(n, {n})
        ck.ok(lines <= allowed, "errors reported on lines that are fine: %s" % sorted(lines - allowed))

        good = env.path("good.conf")
        with open(good, "w") as f:
            f.write(GOOD)
        rc, out = run_t(good)
        ck.eq("reachd -t on a good file (output %r)" % out[-500:], 0, rc)

        nopg = env.path("nopg.conf")
        with open(nopg, "w") as f:
            f.write(NO_PG)
        rc, out = run_t(nopg)
        ck.ok(rc != 0, "reachd -t exited 0 without a [postgres] section")
        ck.ok(re.search(r"^%s:\d+: \S" % re.escape(nopg), out, re.M) is not None,
              "missing [postgres]: no 'file:line: message' in %r" % out[-500:])

        # the example shipped with the package (every section, rules included)
        example = os.path.join(lib.REPO, "systemd", "reachd.conf.example")
        rc, out = run_t(example)
        ck.eq("reachd -t on systemd/reachd.conf.example (output %r)" % out[-500:], 0, rc)

        rc, out = run_t(env.path("does-not-exist.conf"))
        ck.ok(rc != 0, "reachd -t exited 0 on a missing file")
        ck.ok("does-not-exist.conf" in out, "missing file not named in %r" % out[-300:])
        ck.done()


if __name__ == "__main__":
    lib.run(main)
