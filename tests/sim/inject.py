#!/usr/bin/python3
"""inject.py - insert bad lines into a queue_log without breaking any call.

Lines are inserted only at line boundaries, so every original line (and so
every call) stays intact and in order; each injected line carries the
timestamp of the line before it. Returns, for each injected line, its byte
offset in the new file, its kind, and what reachd must make of it:

  expect 'rejected': garbage text, too few fields, a bad timestamp, invalid
                     UTF-8, NUL bytes, a block of NULs (crash leftovers),
                     a 5 MB line
  expect 'unknown' : a well-formed line with a custom verb (QueueLog() app)

As a module:  inject(src, dst, seed=1, big_mb=5) -> [Injected, ...]
As a CLI:     inject.py SRC DST [--seed S] [--big-mb 5]   (prints JSON)
Use /usr/bin/python3.
"""

import argparse
import json
import random
import sys


class Injected:
    __slots__ = ("offset", "kind", "expect", "length", "head")

    def as_dict(self):
        return {"offset": self.offset, "kind": self.kind, "expect": self.expect,
                "length": self.length, "head": self.head.decode("latin-1")[:80]}


def bad_lines(ts, rnd, big_mb=5):
    """[(kind, expect, bytes without newline)] for timestamp ts (bytes)."""
    fake = b"%s.%d" % (ts, 900000 + int(rnd.random() * 99999))
    out = [
        ("garbage", "rejected", b"this is not a queue_log line, just some text"),
        ("few_fields", "rejected", ts + b"|" + fake + b"|accueil"),
        ("bad_timestamp", "rejected", b"17x" + ts[3:] + b"|" + fake + b"|accueil|NONE|ENTERQUEUE||0612345678|1"),
        ("invalid_utf8_queue", "rejected", ts + b"|" + fake + b"|accu\xff\xfeeil|NONE|ENTERQUEUE||0612345678|1"),
        ("invalid_utf8_truncated", "rejected", ts + b"|NONE|accueil|Ren\xc3|PAUSE|pause \xe9t\xe9"),
        ("nul_in_field", "rejected", ts + b"|" + fake + b"|accueil|NONE|ENTERQUEUE||06\x0012345678|1"),
        ("nul_block", "rejected", b"\x00" * 4096),
        ("big_line", "rejected", ts + b"|" + fake + b"|accueil|NONE|ENTERQUEUE||" +
         b"0123456789" * (big_mb * 1024 * 1024 // 10)),
        ("custom_verb", "unknown", ts + b"|NONE|accueil|NONE|XCUSTOMNOTE|note|free text|with pipes"),
    ]
    return out


def inject(src, dst, seed=1, big_mb=5, kinds=None):
    """Copy src to dst with bad lines inserted at distinct random line boundaries
    (never before the first line). Returns [Injected] in file order."""
    rnd = random.Random(seed)
    with open(src, "rb") as f:
        data = f.read()
    if data and not data.endswith(b"\n"):
        raise ValueError("source does not end with a newline")
    # line starts
    starts = []
    pos = 0
    n = len(data)
    while pos < n:
        starts.append(pos)
        nl = data.index(b"\n", pos)
        pos = nl + 1
    if len(starts) < 20:
        raise ValueError("source too short")
    first_ts = data[:data.index(b"|")]
    lines = bad_lines(first_ts, rnd, big_mb)
    if kinds is not None:
        lines = [x for x in lines if x[0] in kinds]
    # distinct insertion points, spread over the middle of the file
    lo, hi = len(starts) // 10, len(starts) - 2
    points = sorted(rnd.sample(range(max(1, lo), hi), len(lines)))
    rnd.shuffle(lines)
    out = []
    res = []
    prev = 0
    written = 0
    for (kind, expect, body), p in zip(lines, points):
        cut = starts[p]
        out.append(data[prev:cut])
        written += cut - prev
        # timestamp of the previous line
        pl = data.rfind(b"\n", 0, cut - 1) + 1
        ts = data[pl:data.index(b"|", pl)]
        if body.startswith(first_ts):
            body = ts + body[len(first_ts):]
        elif kind == "bad_timestamp":
            body = b"17x" + ts[3:] + body[len(first_ts):]
        it = Injected()
        it.offset = written
        it.kind = kind
        it.expect = expect
        it.length = len(body) + 1
        it.head = body[:200]
        res.append(it)
        out.append(body + b"\n")
        written += len(body) + 1
        prev = cut
    out.append(data[prev:])
    with open(dst, "wb") as f:
        for b in out:
            f.write(b)
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--big-mb", type=int, default=5)
    a = ap.parse_args(argv)
    res = inject(a.src, a.dst, a.seed, a.big_mb)
    print(json.dumps([r.as_dict() for r in res], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
