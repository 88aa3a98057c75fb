#!/usr/bin/python3
"""(b) Live ingestion with rotation: reachd runs in the foreground while the
test writes the trace in pieces. Once the log is rotated by rename + create
right after a write (the old file must be drained first), once by
copytruncate (copy, then truncate in place). Totals, aggregates, Redis windows
and reachctl equal the truth; SIGTERM exits 0.
"""

import sys

sys.dont_write_bytecode = True

import os
import random
import shutil

import lib


def main():
    seed = int(os.environ.get("REACHD_TEST_SEED") or random.randrange(1, 10 ** 6))
    lib.log("seed %d" % seed)
    rnd = random.Random(seed)
    with lib.Env("b") as env:
        tr_ = env.simulate(days=2, queues=4, flavour="20", seed=seed)
        site = tr_.site
        logdir = env.path("asterisk")
        os.makedirs(logdir)
        path = os.path.join(logdir, "queue_log")
        pieces = tr_.pieces(7, rnd)
        cfg = env.config(path, site=site)

        lib.append(path, pieces[0])
        d = env.start_reachd(cfg)
        lib.wait_consumed(env, site, path, daemon=d)
        lib.log("piece 0 consumed")

        # rename + create, right after a write to the old file
        lib.append(path, pieces[1])
        os.rename(path, path + ".1")
        lib.append(path, pieces[2])
        lib.log("rotated by rename + create")
        lib.wait_consumed(env, site, path, daemon=d)
        lib.append(path, pieces[3])
        lib.wait_consumed(env, site, path, daemon=d)
        lib.log("pieces 1-3 consumed")

        # copytruncate (logrotate: shift .1 to .2, copy to .1, truncate)
        os.rename(path + ".1", path + ".2")
        shutil.copyfile(path, path + ".1")
        old_size = os.path.getsize(path)
        with open(path, "r+b") as f:
            f.truncate(0)
        # the writer goes on with a few lines (fewer bytes than before the truncation)
        p4 = pieces[4]
        cut = p4.index(b"\n", min(len(p4) - 1, old_size // 4)) + 1 if len(p4) > 1 else len(p4)
        cut = min(cut, len(p4))
        lib.append(path, p4[:cut])
        lib.log("rotated by copytruncate (%d bytes before, %d after)" % (old_size, cut))
        lib.wait_consumed(env, site, path, daemon=d)
        lib.append(path, p4[cut:])
        lib.wait_consumed(env, site, path, daemon=d)
        for p in pieces[5:]:
            lib.append(path, p)
            lib.wait_consumed(env, site, path, daemon=d)
        lib.log("all pieces consumed")

        tr = tr_.truth()
        ck = lib.Checker("(b) live + rotation")
        lib.check_everything(ck, env, cfg, tr, site, daemon=d, rnd=rnd)
        lib.check_live(ck, env, tr, site)
        d.alive()
        rc = d.term()
        ck.eq("exit status after SIGTERM", 0, rc)
        ck.done()


if __name__ == "__main__":
    lib.run(main)
