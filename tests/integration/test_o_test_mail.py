#!/usr/bin/python3
"""(o) `reachctl test-mail` against a real SMTP relay (smtpd.py: aiosmtpd on
loopback, STARTTLS with a self-signed certificate, AUTH PLAIN/LOGIN):
  - accepted through STARTTLS + AUTH with ca_file: the stored message, header
    by header, decodes to the French test template; TLS and the user recorded;
  - a wrong password: a clear error, exit 1, nothing stored, although this relay
    would take unauthenticated mail (libESMTP would go on without AUTH);
  - a 5xx for the recipient, and a 4xx for one of two: the relay's code and
    text per recipient, exit 1, only the accepted recipient delivered;
  - a relay that accepts the connection and never greets: exit 1 after the
    configured timeout, not later, with a timeout error;
  - without ca_file the self-signed certificate is refused; a closed port is
    a connection error; username without STARTTLS is refused by the config.
Needs Debian's python3-aiosmtpd and the openssl command (skipped without).
"""

import sys

sys.dont_write_bytecode = True

import datetime as _dt
import email
import email.header
import email.policy
import email.utils
import os
import re
import shutil
import subprocess
import time

import lib

try:
    import smtpd  # tests/integration/smtpd.py (this directory comes first in sys.path)
    from zoneinfo import ZoneInfo
except ImportError as e:  # pragma: no cover
    smtpd = None
    IMPORT_ERROR = e

TO = "referent@example.gouv.fr"
OTHER = "chef@example.gouv.fr"
FROM = "reachd@example.gouv.fr"
DASHBOARD = "https://reach.example.gouv.fr/"
TIMEOUT_S = 2
SUBJECT = "[reachd] Message de test : envoi des alertes vérifié pour prefecture"
BODY = ("Bonjour,\n\n"
        "Ce message de test a été envoyé par reachd (site prefecture) le {date} à travers le "
        "relais localhost:{port}, pour vérifier que les alertes destinées aux référents qualité "
        "arrivent bien.\n\n"
        "Aucune action n'est nécessaire.\n\n"
        "Tableau de bord : " + DASHBOARD + "\n\n"
        "-- \n"
        "reachd, indicateurs d'accueil\n")

CONFIG = """\
[daemon]
site = prefecture
timezone = Europe/Paris
[postgres]
conninfo = host=/nonexistent dbname=reachd
[redis]
address = unix:/nonexistent/redis.sock
[collector "pbx"]
type = queuelog
path = /var/log/asterisk/queue_log
[smtp]
server = localhost:{port}
from = Indicateurs d'accueil <reachd@example.gouv.fr>
starttls = {starttls}
username = reachd
{password}
{ca}
timeout = {timeout}s
language = fr
dashboard_url = {dashboard}
"""


def write_config(env, lab, name, password_file=True, ca=True, starttls="required"):
    path = env.path(name + ".conf")
    pw = env.path("smtp-password")
    with open(pw, "w") as f:
        f.write(lab.password + "\n")
    os.chmod(pw, 0o600)
    with open(path, "w") as f:
        f.write(CONFIG.format(port=lab.port, starttls=starttls, timeout=TIMEOUT_S,
                              password="password_file = %s" % pw if password_file else "",
                              ca="ca_file = %s" % lab.cert if ca else "", dashboard=DASHBOARD))
    return path


def test_mail(cfg, rcpts, env_password=None, timeout=60):
    """Run reachctl test-mail; returns (rc, output, seconds)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("REACHD_SMTP_PASSWORD", "CREDENTIALS_DIRECTORY")}
    if env_password is not None:
        env["REACHD_SMTP_PASSWORD"] = env_password
    args = [lib.REACHCTL, "-c", cfg, "test-mail"]
    for r in rcpts:
        args += ["--to", r]
    t0 = time.monotonic()
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, env=env)
    # poll: the hang case must end by itself within its timeout
    lib.wait_until(lambda: p.poll() is not None, timeout, "reachctl test-mail to exit",
                   interval=0.02)
    out = p.stdout.read().decode("utf-8", "replace")
    p.stdout.close()
    took = time.monotonic() - t0
    lib.log("reachctl test-mail -> %d in %.2fs:\n%s" % (
        p.returncode, took, "\n".join("    | " + x for x in out.splitlines())))
    return p.returncode, out, took


def lines_of(out):
    return [x for x in out.splitlines() if x]


def check_message(ck, lab, rec, out):
    """The stored message, exactly."""
    with open(rec["eml"], "rb") as f:
        raw = f.read()
    ck.ok(b"\n" not in raw.replace(b"\r\n", b""), "bare LF in the stored message")
    for ln in raw.split(b"\r\n"):
        ck.ok(len(ln) <= 78, "line longer than 78 characters: %r" % ln)
    head, _, body = raw.partition(b"\r\n\r\n")
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    printed = re.search(r"^Message-ID: (<[^>]+>)$", out, re.M)
    ck.ok(printed is not None, "no Message-ID printed")
    msgid = printed.group(1) if printed else None
    ck.ok(msgid and re.fullmatch(r"<test-\d+-\d+@example\.gouv\.fr>", msgid),
          "Message-ID %r" % msgid)
    names = [k for k, _ in msg.items()]
    ck.eq("header names, in order",
          ["Date", "From", "To", "Subject", "Message-ID", "Auto-Submitted", "MIME-Version",
           "Content-Type", "Content-Transfer-Encoding"], names)
    ck.eq("From", "Indicateurs d'accueil <reachd@example.gouv.fr>", msg["From"])
    ck.eq("To", TO, msg["To"])
    ck.eq("Message-ID", msgid, msg["Message-ID"])
    ck.eq("Auto-Submitted", "auto-generated", msg["Auto-Submitted"])
    ck.eq("MIME-Version", "1.0", msg["MIME-Version"])
    ck.eq("Content-Type", "text/plain; charset=UTF-8", msg["Content-Type"])
    ck.eq("Content-Transfer-Encoding", "quoted-printable", msg["Content-Transfer-Encoding"])
    # Date: C-locale English names, UTC, now
    date = msg["Date"]
    ck.ok(re.fullmatch(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep"
                       r"|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d \+0000", date or ""), "Date %r" % date)
    when = email.utils.parsedate_to_datetime(date)
    ck.ok(abs((when - _dt.datetime.now(_dt.timezone.utc)).total_seconds()) < 300,
          "Date %r is not now" % date)
    # Subject: encoded words, each at most 75, decoding to the template's subject
    raw_subject = re.search(rb"\r\nSubject:(.*?)\r\n(?! )", head + b"\r\n", re.S).group(1)
    words = re.findall(rb"=\?UTF-8\?B\?[A-Za-z0-9+/=]*\?=", raw_subject)
    ck.ok(len(words) >= 2, "subject not split into encoded words: %r" % raw_subject)
    ck.ok(all(len(w) <= 75 for w in words), "encoded word longer than 75: %r" % raw_subject)
    decoded = str(email.header.make_header(email.header.decode_header(msg["Subject"])))
    ck.eq("Subject (decoded)", SUBJECT, decoded)
    # body: quoted-printable of the test template, with the Paris time of the sending
    text = msg.get_payload(decode=True).decode("utf-8").replace("\r\n", "\n")
    m = re.search(r" le (\d\d/\d\d/\d{4} \d\d:\d\d:\d\d) \(Europe/Paris\) ", text)
    ck.ok(m is not None, "no local date in the body: %r" % text[:300])
    if m:
        local = _dt.datetime.strptime(m.group(1), "%d/%m/%Y %H:%M:%S").replace(
            tzinfo=ZoneInfo("Europe/Paris"))
        ck.ok(abs((local - when).total_seconds()) <= 2, "body time %s vs Date %s" % (local, when))
        ck.eq("body (decoded)", BODY.format(date=m.group(1) + " (Europe/Paris)", port=lab.port),
              text)
    ck.ok(b"--=20\r\n" in body, "the signature's trailing space is not =20")
    ck.ok(all(len(ln) <= 76 for ln in body.split(b"\r\n")), "QP line longer than 76")
    return msgid


def case_accepted(ck, env, lab):
    cfg = write_config(env, lab, "ok")
    r = subprocess.run([lib.REACHD, "-t", "-c", cfg], capture_output=True, text=True, timeout=30)
    ck.eq("reachd -t on the [smtp] configuration (%r)" % (r.stdout + r.stderr), 0, r.returncode)
    rc, out, _ = test_mail(cfg, [TO])
    ck.eq("test-mail exit status", 0, rc)
    ck.eq("test-mail answers", ["%s: sent: 250 2.0.0 Ok: queued as LAB0001" % TO,
                                "result: sent: 250 2.0.0 Ok: queued as LAB0001"],
          lines_of(out)[2:])
    msgs = lab.messages()
    ck.eq("messages stored", 1, len(msgs))
    if msgs:
        rec = msgs[0]
        ck.eq("envelope", {"mail_from": FROM, "rcpts": [TO], "auth_user": "reachd", "tls": True},
              {k: rec[k] for k in ("mail_from", "rcpts", "auth_user", "tls")})
        check_message(ck, lab, rec, out)


def case_wrong_password(ck, env, lab):
    cfg = write_config(env, lab, "wrong", password_file=False)
    rc, out, _ = test_mail(cfg, [TO], env_password="not-the-password")
    ck.eq("wrong password: exit status", 1, rc)
    ck.eq("wrong password: answers",
          ["%s: failed: 535 authentication refused: 5.7.8 Authentication credentials invalid" % TO,
           "result: failed: 535 authentication refused: 5.7.8 Authentication credentials invalid"],
          lines_of(out)[2:])
    ck.eq("wrong password: messages stored", 1, len(lab.messages()))


def case_rejected(ck, env, lab):
    cfg = write_config(env, lab, "reject")
    lab.set_mode("reject-rcpt", TO)
    rc, out, _ = test_mail(cfg, [TO])
    want = "failed: 550 5.1.1 <%s>: Recipient address rejected: User unknown" % TO
    ck.eq("5xx: exit status", 1, rc)
    ck.eq("5xx: answers", ["%s: %s" % (TO, want), "result: " + want], lines_of(out)[2:])
    ck.eq("5xx: messages stored", 1, len(lab.messages()))
    # one of two recipients refused for now: the other one gets the mail
    lab.set_mode("tempfail-rcpt", OTHER)
    rc, out, _ = test_mail(cfg, [TO, OTHER])
    retry = "retry: 450 4.2.0 <%s>: Recipient address rejected: Mailbox busy" % OTHER
    ck.eq("4xx for one: exit status", 1, rc)
    ck.eq("4xx for one: answers", ["%s: sent: 250 2.0.0 Ok: queued as LAB0002" % TO,
                                   "%s: %s" % (OTHER, retry), "result: " + retry],
          lines_of(out)[2:])
    msgs = lab.messages()
    ck.eq("4xx for one: envelope recipients", [TO], msgs[-1]["rcpts"] if len(msgs) == 2 else None)
    lab.set_mode("accept")


def case_hang(ck, env, lab):
    cfg = write_config(env, lab, "hang")
    lab.set_mode("hang")
    rc, out, took = test_mail(cfg, [TO], timeout=TIMEOUT_S + 5)
    ck.eq("hang: exit status", 1, rc)
    ck.eq("hang: result", "result: retry: timed out: no greeting from the relay within %d ms"
          % (TIMEOUT_S * 1000), lines_of(out)[-1])
    ck.ok(TIMEOUT_S - 0.2 <= took <= TIMEOUT_S + 2, "hang: took %.2fs for a %ds timeout"
          % (took, TIMEOUT_S))
    ck.ok(lab.hung >= 1, "hang: the relay saw no connection")
    lab.set_mode("accept")


def case_tls_and_down(ck, env, lab):
    before = len(lab.messages())
    cfg = write_config(env, lab, "noca", ca=False)
    rc, out, _ = test_mail(cfg, [TO])
    ck.eq("no ca_file: exit status", 1, rc)
    ck.eq("no ca_file: result", "result: retry: TLS: the relay's certificate is not trusted: "
          "self-signed certificate (see ca_file)", lines_of(out)[-1])
    lab.set_mode("down")
    rc, out, _ = test_mail(write_config(env, lab, "down"), [TO])
    ck.eq("down: exit status", 1, rc)
    ck.eq("down: result", "result: retry: cannot connect to localhost:%d: Connection refused"
          % lab.port, lines_of(out)[-1])
    lab.set_mode("accept")
    ck.eq("no ca_file, down: messages stored", before, len(lab.messages()))
    cfg = write_config(env, lab, "plain", starttls="no")
    rc, out, _ = test_mail(cfg, [TO])
    ck.eq("username without STARTTLS: exit status", 1, rc)
    ck.ok(re.search(r"^%s:\d+: username needs starttls = required" % re.escape(cfg), out, re.M),
          "username without STARTTLS: no file:line error in %r" % out)


def main():
    if smtpd is None:
        raise lib.Skip("cannot import the SMTP lab: %s (apt-get install python3-aiosmtpd)"
                       % IMPORT_ERROR)
    if not shutil.which("openssl"):
        raise lib.Skip("no openssl command for the lab's certificate")
    if not os.access(lib.REACHCTL, os.X_OK):
        raise lib.TestFailure("no reachctl binary at %s" % lib.REACHCTL)
    with lib.Env("o", pg=False, redis=False) as env:
        ck = lib.Checker("(o) test-mail")
        # auth_required=False: the lab would take unauthenticated mail, so the
        # wrong-password case proves that reachd does not fall back to it
        lab = smtpd.Lab(directory=env.path("smtp"), auth_required=False)
        os.makedirs(lab.dir)
        with lab:
            case_accepted(ck, env, lab)
            case_wrong_password(ck, env, lab)
            case_rejected(ck, env, lab)
            case_hang(ck, env, lab)
            case_tls_and_down(ck, env, lab)
        ck.done()


if __name__ == "__main__":
    lib.run(main)
