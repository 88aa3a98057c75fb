#!/usr/bin/python3
"""(f) Bad input between calls: garbage text, too few fields, a bad timestamp,
invalid UTF-8, NUL bytes, a block of NULs, a 5 MB line, and a custom verb.
Each rejected line is in reach.source_lines (kind 'rejected', offset = its
byte offset, its first bytes kept), the custom verb is kept as 'unknown', the
cursor's counters say so, and every valid call is counted exactly.
"""

import sys

sys.dont_write_bytecode = True

import os
import random

import lib


def main():
    seed = int(os.environ.get("REACHD_TEST_SEED") or random.randrange(1, 10 ** 6))
    lib.log("seed %d" % seed)
    rnd = random.Random(seed)
    with lib.Env("f") as env:
        tr_ = env.simulate(days=2, queues=4, flavour="16", seed=seed)
        site = tr_.site
        path = env.path("queue_log_injected")
        inj = lib.inject.inject(tr_.log, path, seed=seed, big_mb=5)
        for it in inj:
            lib.log("injected %-22s at offset %9d (%d bytes)" % (it.kind, it.offset, it.length))
        cfg = env.config(path, site=site)
        env.reachd_once(cfg)
        tr = tr_.truth()
        ck = lib.Checker("(f) bad input")
        lib.check_everything(ck, env, cfg, tr, site, rnd=rnd, redis_timeout=5)

        conn = env.db()
        st = os.stat(path)
        rows = lib.q(conn, 'SELECT "offset", kind, reason, line, dev, ino FROM reach.source_lines '
                           'WHERE site = %s AND collector = %s ORDER BY "offset"', (site, "pbx"))
        got = {r[0]: r for r in rows}
        with open(path, "rb") as f:
            data = f.read()
        for it in inj:
            r = got.get(it.offset)
            if not ck.ok(r is not None, "source_lines: no row at offset %d for the %s line" % (it.offset, it.kind)):
                continue
            ck.eq("source_lines kind of the %s line at %d" % (it.kind, it.offset), it.expect, r[1])
            ck.ok(r[2] and r[2].strip(), "source_lines: empty reason for the %s line" % it.kind)
            kept = bytes(r[3])
            body = data[it.offset:it.offset + it.length - 1]
            ck.ok(0 < len(kept) <= 4096 and body.startswith(kept) and len(kept) == min(len(body), len(kept)),
                  "source_lines: the %s line's kept bytes (%d) are not its first bytes" % (it.kind, len(kept)))
            ck.ok(len(kept) == min(len(body), 4096),
                  "source_lines: %s line: kept %d bytes, expected the first %d" % (it.kind, len(kept), min(len(body), 4096)))
            ck.ok(r[4] == st.st_dev and r[5] == st.st_ino, "source_lines: dev/ino of the %s line" % it.kind)
        want_offsets = {it.offset for it in inj}
        extra = [(r[0], r[1], r[2], bytes(r[3])[:80]) for r in rows if r[0] not in want_offsets]
        ck.ok(not extra, "source_lines: %d valid lines were kept as bad, e.g. %s" % (len(extra), extra[:5]))

        n_rej = sum(1 for it in inj if it.expect == "rejected")
        n_unk = sum(1 for it in inj if it.expect == "unknown")
        cur = lib.cursor_row(conn, site)
        if ck.ok(cur is not None, "no cursor row"):
            ck.eq("cursor offset", st.st_size, cur["offset"])
            ck.eq("cursor lines_rejected", n_rej, cur["lines_rejected"])
            ck.eq("cursor lines_unknown", n_unk, cur["lines_unknown"])
            ck.ok(cur["lines_accepted"] in (tr_.meta["lines"], tr_.meta["lines"] + n_unk),
                  "cursor lines_accepted %d, expected %d valid lines (+%d unknown)" % (
                      cur["lines_accepted"], tr_.meta["lines"], n_unk))
        conn.close()
        ck.done()


if __name__ == "__main__":
    lib.run(main)
