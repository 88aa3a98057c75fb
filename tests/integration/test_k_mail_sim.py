#!/usr/bin/python3
"""(k) Mail indicators on a simulated multi-day mail.log (Postfix + Dovecot
lines as rsyslog writes them, tests/sim/simulate_mail.py): reachd --once, then
the figures of reachctl indicators --json over the whole trace and random
periods, and the backlog at their ends, equal the simulator's truth
(tests/sim/truth_mail.py, receipt dated at delivery, as reachd does).
"""

import json
import os
import random
import subprocess
import sys

import lib

sys.path.insert(0, os.path.join(lib.REPO, "tests", "sim"))
import mail_config  # noqa: E402
import truth_mail  # noqa: E402

FIELDS = ("received", "automatic", "rejected", "acknowledged", "replied", "closed")


def simulate(env, **kw):
    out = env.path("mail")
    cmd = [lib.PY, os.path.join(lib.REPO, "tests", "sim", "simulate_mail.py"), "--out", out]
    for k, v in kw.items():
        cmd += ["--" + k.replace("_", "-"), str(v)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise lib.TestFailure("simulate_mail.py failed: %s" % r.stderr[-2000:])
    lib.log(r.stderr.strip())
    return out


def write_config(env, out, meta, path):
    lines = ["[daemon]", "site = %s" % meta.get("site", "prefecture"),
             "timezone = %s" % meta.get("timezone", "Europe/Paris"),
             "[postgres]", "conninfo = %s" % env.pg.conninfo(),
             "[redis]", "address = unix:%s" % env.redis.sock, "[http]", "listen = 127.0.0.1:%d" % lib.free_port(),
             '[collector "mail"]', "type = maillog", "path = %s" % os.path.join(out, "mail.log"),
             "timezone = %s" % meta.get("timezone", "Europe/Paris")] + mail_config.keys([meta])
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def iso(t):
    import time
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def compare(ck, env, cfg, tr, frm, to, label):
    got = json.loads(env.reachctl(cfg, "indicators", "--json", "--from", iso(frm), "--to", iso(to)))
    mail = {(m["site"], m["mailbox"]): m for m in got["mail"]}
    exp = tr.figures(frm, to)
    gauges = tr.gauges(to)
    for key, e in exp.items():
        m = mail.get(key, {})
        for f in FIELDS:
            ck.eq("%s %s %s" % (label, key[1], f), e.get(f, 0), m.get(f, 0))
        ck.eq("%s %s backlog at the end" % (label, key[1]), gauges[key]["backlog"], m.get("backlog", 0))
        if e.get("replied"):
            for f in ("reply_delay_max_s",):
                ck.eq("%s %s %s" % (label, key[1], f), e.get(f), m.get(f))


def main():
    seed = int(os.environ.get("REACHD_TEST_SEED") or random.randrange(1, 10 ** 6))
    lib.log("seed %d" % seed)
    rnd = random.Random(seed)
    with lib.Env("k") as env:
        out = simulate(env, days=10, mailboxes=4, seed=seed, end="now", profile_anchor="busy")
        meta = truth_mail.load_meta(out)
        tr = truth_mail.MailTruth.load(out, received_time="delivered")
        cfg = env.path("mail.conf")
        write_config(env, out, meta, cfg)
        env.reachd_once(cfg)
        ck = lib.Checker("(k) simulated mail")
        lo, hi = tr.range()
        lo -= lo % 60
        hi = hi - hi % 60 + 60
        compare(ck, env, cfg, tr, lo, hi, "whole trace")
        for _ in range(4):
            a = rnd.randrange(lo, hi)
            b = rnd.randrange(a, hi + 1)
            compare(ck, env, cfg, tr, a - a % 60, b - b % 60 + 60, "[%s, %s)" % (iso(a), iso(b)))
        ck.done()


if __name__ == "__main__":
    lib.run(main)
