#!/usr/bin/python3
"""mail_config.py - the maillog collector keys that match one or more
simulate_mail.py runs (their meta_mail.json): mailboxes, aliases, users and
closed folders, one key a line, long lists continued on indented lines.

    mail_config.py DIR [DIR...]      prints the keys
As a module: keys(metas) -> list of "key = value" lines.
"""

import json
import os
import sys


def wrap(key, value, width=150):
    """key = value, cut at spaces onto indented continuation lines (the INI
    parser joins them back with a space), so no line exceeds its limit."""
    lines, cur = [], key + " ="
    for word in value.split(" "):
        if len(cur) + 1 + len(word) > width and cur.strip():
            lines.append(cur)
            cur = "   "
        cur += " " + word
    lines.append(cur)
    return "\n".join(lines)


def keys(metas):
    boxes, aliases, users, folders = {}, {}, {}, set()
    for meta in metas:
        for mb in meta["mailboxes"]:
            a = mb["address"]
            boxes[a] = 1
            aliases.setdefault(a, set()).update(mb.get("aliases", []))
            names = {u["user"] for u in mb.get("imap", [])} | set(mb.get("submission_users", []))
            users.setdefault(a, set()).update(n for n in names if n != a)
            folders.update(mb.get("closed_folders", []))
    out = [wrap("mailboxes", ", ".join(sorted(boxes))),
           wrap("closed_folders", ", ".join(sorted(folders)))]
    al = ["%s=%s" % (a, " ".join(sorted(v))) for a, v in sorted(aliases.items()) if v]
    us = ["%s=%s" % (a, " ".join(sorted(v))) for a, v in sorted(users.items()) if v]
    if al:
        out.append(wrap("aliases", ", ".join(al)))
    if us:
        out.append(wrap("users", ", ".join(us)))
    return out


def load(d):
    with open(os.path.join(d, "meta_mail.json"), encoding="utf-8") as f:
        return json.load(f)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    print("\n".join(keys([load(d) for d in sys.argv[1:]])))
