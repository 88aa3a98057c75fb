"""maillab.py - a private, real Postfix + Dovecot mail lab on loopback.

Starts Debian's own Postfix (3.7) and Dovecot (2.3, with Pigeonhole Sieve) as
private instances in a temporary directory, configured as docs/mail-setup.md
recommends, drives them with real SMTP and IMAP clients (smtplib, imaplib)
and keeps the scenario's ground truth on the lab's clock. It never touches a
system Postfix or Dovecot: own config directories, own queue, own base_dir and
state_dir, own Maildir tree, unprivileged ports on 127.0.0.1 (2525 SMTP, 2587
submission, 2143 IMAP, 2526 sink; any free port when one is taken).

    import maillab
    maillab.ensure_packages()                 # raises maillab.Skip if impossible
    with maillab.Lab() as lab:                # start() ... stop(), even on failure
        m = lab.send("Alice <alice@example.org>", "contact@example.gouv.fr", "Bonjour", "...")
        lab.wait_delivered(m)                 # polls the logs, never sleeps blindly
        lab.wait_ack(m)                       # the Sieve acknowledgement reached Alice
        lab.reply("agent1", m, "Bonjour Madame, ...")   # submission + Sent + \Answered
        lab.move(m, "Traités", "agent1")      # or lab.close_by_delete(m, "agent1")
        print(lab.postfix_log, lab.dovecot_log, lab.truth())
    # or: ids = maillab.standard_scenario(lab); lab.truth() vs SCENARIO_EXPECTED

What runs:
  - Postfix: smtpd on the SMTP port (the Internet side, port 25 in real life),
    a submission smtpd with SASL through Dovecot auth (agents' replies),
    virtual mailbox domain example.gouv.fr delivered over LMTP to Dovecot
    (private/dovecot-lmtp in the queue directory, as on Debian),
    header_checks INFO lines, everything else relayed to a sink SMTP server
    (class Sink) that plays the rest of the world and keeps what it receives
    (acknowledgements, replies) for checks. Log: maillog_file (postlogd).
  - Dovecot: LMTP + IMAP, passwd-file users (the functional mailboxes and the
    agents), master users for agents (IMAP login
    "contact@example.gouv.fr*agent1@example.gouv.fr"), mail_log plugin,
    auth_user in the login line, Sieve vacation acknowledgements
    (contact@: `:days 1`; titres@: `:seconds 0`), log_path file. Sieve's
    outgoing mail goes back into Postfix by SMTP (submission_host).

The servers run as root (Postfix drops to `postfix`, mail is stored as
`nobody`). Time stamps in both logs are local time in the lab's TZ (default
Europe/Paris, as on a prefecture server); scenario() records it and the year.
truth(now) gives the figures reachd should find, per mailbox.

Environment: MAILLAB_KEEP=1 keeps the temporary directory; MAILLAB_TZ overrides
the time zone; MAILLAB_NO_INSTALL=1 forbids ensure_packages() to apt-get.
Only the Python standard library is used. Run with /usr/bin/python3.
"""

import sys

sys.dont_write_bytecode = True

import atexit
import base64
import datetime as _dt
import email.message
import email.policy
import email.utils
import fcntl
import imaplib
import json
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import socketserver
import subprocess
import tempfile
import threading
import time

DOMAIN = "example.gouv.fr"
HOSTNAME = "mail." + DOMAIN
OUTSIDE = "example.org"
PACKAGES = ["postfix", "dovecot-core", "dovecot-imapd", "dovecot-lmtpd", "dovecot-sieve"]
POSTFIX = "/usr/sbin/postfix"
POSTCONF = "/usr/sbin/postconf"
DOVECOT = "/usr/sbin/dovecot"
CLOSE_FOLDERS = ["Traités"]
REFUSED_SENDER = "spammer@spam.example"  # smtpd rejects it (lab-only sender_access)  # folders that mean "closed" when a message is moved there

# Functional mailboxes: IMAP/LMTP user = the address itself. `ack` is the Sieve
# acknowledgement policy: "days1" = `vacation :days 1` (one acknowledgement per
# sender per day: the recommended setting), "every" = vacation-seconds
# `:seconds 0` (every message, even from a repeat sender).
MAILBOXES = {
    "contact@" + DOMAIN: {"password": "contact-pw", "ack": "days1"},
    "titres@" + DOMAIN: {"password": "titres-pw", "ack": "every"},
}
# Agents: their own SASL login for submission, and master users for IMAP
# (they open the functional mailboxes as "mailbox*agent").
AGENTS = {
    "agent1": ("agent1@" + DOMAIN, "agent1-pw"),
    "agent2": ("agent2@" + DOMAIN, "agent2-pw"),
}

HEADER_CHECKS = "/^(In-Reply-To|References|Auto-Submitted|Precedence|X-Autoreply):/ INFO\n"
MAIL_LOG_EVENTS = "save copy expunge delete undelete flag_change"
MAIL_LOG_FIELDS = "uid box msgid size flags from"
AUTO_PRECEDENCE = ("bulk", "junk", "list", "auto_reply")
DAEMON_LOCALPARTS = ("mailer-daemon", "postmaster")

_T0 = time.time()


def log(msg):
    sys.stdout.write("[%6.2fs] %s\n" % (time.time() - _T0, msg))
    sys.stdout.flush()


class LabError(Exception):
    pass


class Skip(Exception):
    """The packages are missing and cannot be installed: the caller exits 77."""


# ---------------------------------------------------------------- packages


def missing_packages():
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${db:Status-Status}\n"] + PACKAGES,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    ok = {l.split()[0] for l in out.splitlines() if l.endswith(" installed")}
    return [p for p in PACKAGES if p not in ok]


def ensure_packages():
    """Install the lab's Debian packages if they are missing (root, apt-get,
    Debian's archive); raise Skip only when that is impossible. The packaged
    services are not started (policy-rc.d) and never used."""
    miss = missing_packages()
    if not miss:
        return
    if os.environ.get("MAILLAB_NO_INSTALL") or os.geteuid() != 0 or not shutil.which("apt-get"):
        raise Skip("missing packages %s and not allowed to install them" % " ".join(miss))
    log("installing %s" % " ".join(miss))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["debconf-set-selections"], input="postfix postfix/main_mailer_type select No configuration\n",
                   text=True, env=env, check=False)
    r = subprocess.run(["apt-get", "install", "-y", "-qq"] + miss, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        r = subprocess.run(["apt-get", "install", "-y", "-qq"] + miss, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if missing_packages():
        raise Skip("cannot install %s: %s" % (" ".join(miss), r.stdout[-500:]))


# ---------------------------------------------------------------- helpers


def port_free(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def pick_port(preferred, taken):
    if preferred not in taken and port_free(preferred):
        return preferred
    while True:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        p = s.getsockname()[1]
        s.close()
        if p not in taken:
            return p


def wait_until(pred, timeout, what, interval=0.02):
    """Poll pred() until truthy (returned) or raise LabError after timeout s."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            v = pred()
            if v:
                return v
            last = v
        except (OSError, LabError, imaplib.IMAP4.error, smtplib.SMTPException) as e:
            last = "%s: %s" % (type(e).__name__, e)
        if time.monotonic() >= deadline:
            raise LabError("timed out after %.0fs waiting for %s (last: %r)" % (timeout, what, last))
        time.sleep(interval)


def imap_utf7(name):
    """Mailbox name -> IMAP modified UTF-7 (RFC 3501 5.1.3)."""
    out, buf = [], []

    def flush():
        if buf:
            b = base64.b64encode("".join(buf).encode("utf-16-be")).decode().rstrip("=")
            out.append("&" + b.replace("/", ",") + "-")
            buf.clear()
    for ch in name:
        if 0x20 <= ord(ch) <= 0x7e:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            buf.append(ch)
    flush()
    return "".join(out)


def iso(t):
    return _dt.datetime.fromtimestamp(t, _dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def addr_of(a):
    return email.utils.parseaddr(a)[1].lower()


def automatic_reasons(envelope_from, headers):
    """The reasons INDICATORS.md excludes a message from `received`, computed
    from what the lab itself put in the message (not from the logs)."""
    h = {k.lower(): str(v) for k, v in (headers or {}).items()}
    r = []
    if h.get("auto-submitted", "no").strip().lower() != "no":
        r.append("auto_submitted")
    if "x-autoreply" in h:
        r.append("x_autoreply")
    if h.get("precedence", "").strip().lower() in AUTO_PRECEDENCE:
        r.append("precedence")
    if envelope_from == "":
        r.append("null_sender")
    else:
        lp = envelope_from.split("@")[0].lower()
        if lp in DAEMON_LOCALPARTS or lp.startswith("owner-") or lp.endswith("-request"):
            r.append("daemon")
    return r


# ---------------------------------------------------------------- the outside world


class _SinkHandler(socketserver.StreamRequestHandler):
    def _w(self, s):
        self.wfile.write(s.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        try:
            self._session()
        except OSError:  # the client went away: nothing to keep
            pass

    def _session(self):
        sink = self.server.sink
        self._w("220 mx.%s ESMTP maillab sink" % OUTSIDE)
        mail_from, rcpts = None, []
        while True:
            raw = self.rfile.readline(65536)
            if not raw:
                return
            line = raw.decode("latin-1").rstrip("\r\n")
            verb = line.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self._w("250-mx.%s" % OUTSIDE)
                self._w("250-8BITMIME")
                self._w("250 SIZE 52428800")
            elif verb == "HELO":
                self._w("250 mx.%s" % OUTSIDE)
            elif verb == "MAIL":
                m = re.match(r"(?i)MAIL FROM:\s*<([^>]*)>", line)
                mail_from, rcpts = (m.group(1) if m else ""), []
                self._w("250 2.1.0 Ok")
            elif verb == "RCPT":
                m = re.match(r"(?i)RCPT TO:\s*<([^>]*)>", line)
                rcpts.append(m.group(1) if m else "")
                self._w("250 2.1.5 Ok")
            elif verb == "DATA":
                self._w("354 End data with <CR><LF>.<CR><LF>")
                lines = []
                while True:
                    d = self.rfile.readline(1 << 20)
                    if not d or d in (b".\r\n", b".\n"):
                        break
                    lines.append(d[1:] if d.startswith(b".") else d)
                qid = sink.store(mail_from, rcpts, b"".join(lines))
                self._w("250 2.0.0 Ok: queued as %s" % qid)
                mail_from, rcpts = None, []
            elif verb == "RSET":
                mail_from, rcpts = None, []
                self._w("250 2.0.0 Ok")
            elif verb == "NOOP":
                self._w("250 2.0.0 Ok")
            elif verb == "QUIT":
                self._w("221 2.0.0 Bye")
                return
            else:
                self._w("502 5.5.2 Error: command not recognized")


class _SinkServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


class Sink:
    """A tiny SMTP server standing for every other domain: keeps messages."""

    def __init__(self, port):
        self.port = port
        self.messages = []
        self.lock = threading.Lock()
        self.server = None
        self.thread = None

    def store(self, mail_from, rcpts, data):
        msg = email.message_from_bytes(data, policy=email.policy.default)
        with self.lock:
            qid = "SINK%04d" % (len(self.messages) + 1)
            self.messages.append({"at": time.time(), "qid": qid, "mail_from": mail_from,
                                  "rcpts": [r.lower() for r in rcpts], "msg": msg})
        return qid

    def find(self, pred):
        with self.lock:
            return [m for m in self.messages if pred(m)]

    def start(self):
        self.server = _SinkServer(("127.0.0.1", self.port), _SinkHandler)
        self.server.sink = self
        self.thread = threading.Thread(target=self.server.serve_forever, name="sink", daemon=True)
        self.thread.start()

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


# ---------------------------------------------------------------- configuration text

MAIN_CF = """\
# Private reachd mail lab instance (tests/integration/maillab.py).
compatibility_level = 3.6
queue_directory = {q}
data_directory = {data}
mail_owner = postfix
setgid_group = postdrop
myhostname = {host}
mydomain = {domain}
myorigin = $mydomain
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
biff = no
append_dot_mydomain = no
smtputf8_enable = no
relayhost = [127.0.0.1]:{sink}
smtp_tls_security_level = none
smtpd_tls_security_level = none
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
# Lab only (not a reachd requirement): one refused sender, to log a rejection
# of mail meant for a functional mailbox.
smtpd_sender_restrictions = check_sender_access texthash:{cfg}/sender_access

# reachd: functional mailboxes are virtual mailboxes delivered by LMTP to Dovecot.
virtual_mailbox_domains = {domain}
virtual_mailbox_maps = texthash:{cfg}/vmailbox
virtual_transport = lmtp:unix:private/dovecot-lmtp

# reachd: log the threading and auto-reply headers (cleanup "info: header" lines).
header_checks = regexp:{cfg}/header_checks

# No syslog daemon here: Postfix >= 3.4 writes its own log through postlogd.
maillog_file = {log}
maillog_file_prefixes = /var, /dev/stdout, {base}
"""

MASTER_CF = """\
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:{smtp} inet n       -       n       -       -       smtpd
127.0.0.1:{submission} inet n  -       n       -       -       smtpd
  -o syslog_name=postfix/submission
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_sasl_type=dovecot
  -o smtpd_sasl_path=private/auth
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

DOVECOT_CONF = """\
# Private reachd mail lab instance (tests/integration/maillab.py). Dovecot 2.3 syntax.
instance_name = {instance}
base_dir = {run}
state_dir = {state}
protocols = imap lmtp
listen = 127.0.0.1
hostname = {host}
postmaster_address = postmaster@{domain}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_master_user_separator = *
log_path = {log}
# reachd (optional): name the agent behind a master-user login; the session
# id joins this line to the mail_log lines of the same IMAP session.
login_log_format_elements = user=<%u> auth_user=<%{{auth_user}}> method=%m rip=%r lip=%l mpid=%e %c session=<%{{session}}>
mail_location = maildir:~/Maildir
mail_privileged_group =
first_valid_uid = 1
# Sieve's outgoing mail (vacation acknowledgements) goes back into Postfix.
submission_host = 127.0.0.1:{smtp}

namespace inbox {{
  inbox = yes
  separator = /
  mailbox Drafts {{
    special_use = \\Drafts
    auto = subscribe
  }}
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
  mailbox Trash {{
    special_use = \\Trash
    auto = subscribe
  }}
  mailbox Junk {{
    special_use = \\Junk
    auto = subscribe
  }}
}}

passdb {{
  driver = passwd-file
  master = yes
  args = scheme=PLAIN {etc}/masters
  pass = yes
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%Lu {etc}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%Lu {etc}/users
}}

service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
# Sockets inside Postfix's queue directory, as on a Debian server.
service lmtp {{
  unix_listener {spool}/private/dovecot-lmtp {{
    mode = 0600
    user = postfix
    group = postfix
  }}
}}
service auth {{
  unix_listener {spool}/private/auth {{
    mode = 0660
    user = postfix
    group = postfix
  }}
}}

# reachd: log every save, copy, expunge, delete and flag change (\\Answered).
mail_plugins = $mail_plugins notify mail_log
protocol lmtp {{
  mail_plugins = $mail_plugins sieve
}}
plugin {{
  mail_log_events = {events}
  mail_log_fields = {fields}
  sieve = file:~/sieve;active=~/.dovecot.sieve
  # Only needed for `vacation :seconds 0` (an acknowledgement for every message).
  sieve_extensions = +vacation-seconds
  sieve_vacation_min_period = 0
}}
"""

SIEVE_DAYS1 = """\
require ["vacation", "variables"];
# reachd: acknowledge every new correspondent (once a day per sender).
set "subject" "";
if header :matches "subject" "*" {{ set "subject" "${{1}}"; }}
vacation :days 1 :from "{addr}" :subject "Accusé de réception : ${{subject}}"
"Bonjour,

Nous avons bien reçu votre message. Il sera traité dans les meilleurs délais.

La préfecture";
"""

SIEVE_EVERY = """\
require ["vacation-seconds", "variables"];
# reachd: acknowledge every message, even from a repeat sender.
set "subject" "";
if header :matches "subject" "*" {{ set "subject" "${{1}}"; }}
vacation :seconds 0 :from "{addr}" :subject "Accusé de réception : ${{subject}}"
"Bonjour,

Nous avons bien reçu votre message. Il sera traité dans les meilleurs délais.

La préfecture";
"""


# ---------------------------------------------------------------- the lab

_LIVE = set()


def _cleanup_all():
    for lab in list(_LIVE):
        try:
            lab.stop()
        except Exception as e:  # noqa: BLE001 - best effort at exit
            sys.stderr.write("maillab: cleanup: %s\n" % e)


atexit.register(_cleanup_all)


def _on_signal(signum, frame):
    raise SystemExit(128 + signum)


class Lab:
    """One private Postfix + Dovecot + sink. See the module docstring."""

    def __init__(self, tz=None, ports=None, keep=None):
        self.tz = tz or os.environ.get("MAILLAB_TZ") or "Europe/Paris"
        self.keep = bool(os.environ.get("MAILLAB_KEEP")) if keep is None else keep
        want = dict(smtp=2525, submission=2587, imap=2143, sink=2526)
        want.update(ports or {})
        self.want_ports = want
        self.ports = {}
        self.base = None
        self.sink = None
        self.running = False
        self.messages = {}   # incoming msgid -> record (see send())
        self.order = []      # incoming msgids in send order (rejected ones too)
        self.replies = {}    # reply msgid -> {"in_reply_to", "mailbox"}
        self.events = []     # every action, lab clock
        self.started_at = None
        self.stopped_at = None
        self._seq = 0
        self._pf_started = self._dc_started = False
        self._pf_pid = self._dc_pid = None
        self.env = dict(os.environ, TZ=self.tz, LANG="C")
        self.env.pop("MAIL_CONFIG", None)

    # ------------------------------------------------------------ paths

    @property
    def postfix_log(self):
        return os.path.join(self.base, "log", "postfix.log")

    @property
    def dovecot_log(self):
        return os.path.join(self.base, "log", "dovecot.log")

    def _p(self, *a):
        return os.path.join(self.base, *a)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # ------------------------------------------------------------ start / stop

    def start(self):
        for b in (POSTFIX, DOVECOT):
            if not os.path.exists(b):
                raise Skip("%s missing (install %s)" % (b, " ".join(PACKAGES)))
        if os.geteuid() != 0:
            raise Skip("the mail lab runs Postfix and Dovecot as root")
        if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
            signal.signal(signal.SIGTERM, _on_signal)
        self.base = tempfile.mkdtemp(prefix="maillab.")
        os.chmod(self.base, 0o755)
        _LIVE.add(self)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self):
        # Labs on one machine choose their ports one at a time: the lock is
        # held from the choice until every server listens.
        with open(os.path.join(tempfile.gettempdir(), "maillab.ports.lock"), "a") as lk:
            fcntl.flock(lk, fcntl.LOCK_EX)
            try:
                return self._start_locked()
            finally:
                fcntl.flock(lk, fcntl.LOCK_UN)

    def _start_locked(self):
        t0 = time.monotonic()
        taken = set()
        for k in ("smtp", "submission", "imap", "sink"):
            self.ports[k] = pick_port(self.want_ports[k], taken)
            taken.add(self.ports[k])
        nobody = pwd.getpwnam("nobody")
        self.mail_uid, self.mail_gid = nobody.pw_uid, nobody.pw_gid
        for d in ("log", "postfix/etc", "postfix/spool", "postfix/data", "dovecot/etc", "dovecot/run",
                  "dovecot/state", "mail"):
            os.makedirs(self._p(d), mode=0o755, exist_ok=True)
        pfu = pwd.getpwnam("postfix")
        for d in ("postfix/data", "postfix/spool/private"):
            os.makedirs(self._p(d), exist_ok=True)
            os.chown(self._p(d), pfu.pw_uid, pfu.pw_gid)
            os.chmod(self._p(d), 0o700)
        os.chown(self._p("mail"), self.mail_uid, self.mail_gid)

        # --- Dovecot
        etc = self._p("dovecot/etc")
        users, masters = [], []
        for addr, mb in MAILBOXES.items():
            local, dom = addr.split("@")
            home = self._p("mail", dom, local)
            os.makedirs(home, exist_ok=True)
            tpl = SIEVE_EVERY if mb["ack"] == "every" else SIEVE_DAYS1
            with open(os.path.join(home, ".dovecot.sieve"), "w", encoding="utf-8") as f:
                f.write(tpl.format(addr=addr))
            users.append("%s:{PLAIN}%s:%d:%d::%s::" % (addr, mb["password"], self.mail_uid, self.mail_gid, home))
        for name, (addr, pw) in AGENTS.items():
            local, dom = addr.split("@")
            home = self._p("mail", dom, local)
            os.makedirs(home, exist_ok=True)
            users.append("%s:{PLAIN}%s:%d:%d::%s::" % (addr, pw, self.mail_uid, self.mail_gid, home))
            masters.append("%s:{PLAIN}%s" % (addr, pw))
        for root, dirs, files in os.walk(self._p("mail")):
            for n in dirs + files:
                os.chown(os.path.join(root, n), self.mail_uid, self.mail_gid)
        with open(os.path.join(etc, "users"), "w") as f:
            f.write("\n".join(users) + "\n")
        with open(os.path.join(etc, "masters"), "w") as f:
            f.write("\n".join(masters) + "\n")
        self.dovecot_conf = os.path.join(etc, "dovecot.conf")
        with open(self.dovecot_conf, "w", encoding="utf-8") as f:
            f.write(DOVECOT_CONF.format(
                instance="maillab-%d" % os.getpid(), run=self._p("dovecot/run"), state=self._p("dovecot/state"),
                host=HOSTNAME, domain=DOMAIN, log=self.dovecot_log, smtp=self.ports["smtp"], etc=etc,
                imap=self.ports["imap"], events=MAIL_LOG_EVENTS, fields=MAIL_LOG_FIELDS,
                spool=self._p("postfix/spool")))
        self._run([DOVECOT, "-c", self.dovecot_conf])
        self._dc_started = True
        self._dc_pid = wait_until(lambda: self._read_pid(self._p("dovecot/run/master.pid")), 30,
                                  "Dovecot master.pid")
        lmtp = self._p("postfix/spool/private/dovecot-lmtp")
        auth = self._p("postfix/spool/private/auth")

        # --- Postfix
        cfg = self._p("postfix/etc")
        self.postfix_cfg = cfg
        with open(os.path.join(cfg, "main.cf"), "w") as f:
            f.write(MAIN_CF.format(q=self._p("postfix/spool"), data=self._p("postfix/data"), host=HOSTNAME,
                                   domain=DOMAIN, sink=self.ports["sink"], cfg=cfg,
                                   log=self.postfix_log, base=self.base))
        with open(os.path.join(cfg, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(smtp=self.ports["smtp"], submission=self.ports["submission"]))
        with open(os.path.join(cfg, "vmailbox"), "w") as f:
            for addr in list(MAILBOXES) + [a for a, _ in AGENTS.values()]:
                f.write("%s %s/%s/\n" % (addr, DOMAIN, addr.split("@")[0]))
        with open(os.path.join(cfg, "sender_access"), "w") as f:
            f.write("%s REJECT Sender refused by the prefecture's policy\n" % REFUSED_SENDER)
        with open(os.path.join(cfg, "header_checks"), "w") as f:
            f.write(HEADER_CHECKS)

        self.sink = Sink(self.ports["sink"])
        self.sink.start()

        self._run([POSTFIX, "-c", cfg, "start"])
        self._pf_started = True
        self._pf_pid = wait_until(lambda: self._read_pid(self._p("postfix/spool/pid/master.pid")), 30,
                                  "Postfix master.pid")

        # Ready when every port listens and the sockets exist (no probe
        # connection: it would add connect/disconnect noise to the logs).
        wait_until(lambda: self._listening() >= {self.ports[k] for k in ("smtp", "submission", "imap", "sink")},
                   30, "Postfix, Dovecot and the sink to listen")
        wait_until(lambda: os.path.exists(lmtp) and os.path.exists(auth), 30, "Dovecot LMTP/auth sockets")
        self.running = True
        self.started_at = time.time()
        self.versions = {
            "postfix": self._run([POSTCONF, "-c", cfg, "-h", "mail_version"]).strip(),
            "dovecot": self._run([DOVECOT, "--version"]).strip(),
        }
        log("lab up in %.2fs in %s (postfix %s, dovecot %s, ports %s, TZ=%s)" % (
            time.monotonic() - t0, self.base, self.versions["postfix"], self.versions["dovecot"],
            self.ports, self.tz))
        return self

    def _run(self, cmd, check=True, timeout=60):
        # Output goes through a file, not a pipe: daemons keep inherited pipes open.
        with tempfile.TemporaryFile(mode="w+") as out:
            r = subprocess.run(cmd, env=self.env, stdin=subprocess.DEVNULL, stdout=out,
                               stderr=subprocess.STDOUT, timeout=timeout)
            out.seek(0)
            text = out.read()
        if check and r.returncode != 0:
            raise LabError("%s failed (%d): %s\n--- postfix log tail:\n%s--- dovecot log tail:\n%s" % (
                " ".join(cmd), r.returncode, text.strip(), self.tail("postfix"), self.tail("dovecot")))
        return text

    @staticmethod
    def _listening():
        """TCP ports in LISTEN state on 127.0.0.1 or 0.0.0.0 (/proc/net/tcp)."""
        ports = set()
        with open("/proc/net/tcp") as f:
            for line in f.readlines()[1:]:
                local, st = line.split()[1], line.split()[3]
                ip, port = local.split(":")
                if st == "0A" and ip in ("0100007F", "00000000"):
                    ports.add(int(port, 16))
        return ports

    @staticmethod
    def _pid_alive(pid):
        """True while pid exists and is not a zombie (an orphan's zombie may
        linger when PID 1 is slow to reap it)."""
        try:
            with open("/proc/%d/stat" % pid) as f:
                return f.read().rsplit(")", 1)[1].split()[0] != "Z"
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return False

    def _read_pid(self, path):
        try:
            with open(path) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self):
        """Stop Postfix, Dovecot and the sink; remove the temporary directory
        (unless keep). Safe to call twice, after a failed start, and even if
        the directory vanished (the masters' pids are remembered)."""
        if self.base is None:
            return
        self.running = False
        errors = []
        pids = []
        # Ask both to stop, then wait for both (Dovecot's master takes ~3 s).
        if self._pf_started:
            pid = self._pf_pid or self._read_pid(self._p("postfix/spool/pid/master.pid"))
            try:
                self._run([POSTFIX, "-c", self.postfix_cfg, "stop"])
            except (LabError, OSError, subprocess.TimeoutExpired) as e:
                errors.append("postfix stop: %s" % e)
                self._signal(pid, signal.SIGTERM)
            pids.append(("Postfix", pid))
            self._pf_started = False
        if self._dc_started:
            pid = self._dc_pid or self._read_pid(self._p("dovecot/run/master.pid"))
            if not self._signal(pid, signal.SIGTERM):  # what `doveadm stop` does
                errors.append("dovecot: no master pid")
            pids.append(("Dovecot", pid))
            self._dc_started = False
        for name, pid in pids:
            if not pid:
                continue
            try:
                wait_until(lambda: not self._pid_alive(pid), 20, "%s master %d to exit" % (name, pid), 0.05)
            except LabError as e:
                errors.append(str(e))
                self._signal(pid, signal.SIGKILL)
        if self.sink is not None:
            self.sink.stop()
            self.sink = None
        self.stopped_at = self.stopped_at or time.time()
        _LIVE.discard(self)
        if self.keep:
            log("kept %s" % self.base)
        else:
            shutil.rmtree(self.base, ignore_errors=True)
        if errors:
            raise LabError("; ".join(errors))

    @staticmethod
    def _signal(pid, sig):
        if not pid:
            return False
        try:
            os.kill(pid, sig)
            return True
        except ProcessLookupError:
            return False

    # ------------------------------------------------------------ logs

    def read_log(self, which):
        path = self.postfix_log if which == "postfix" else self.dovecot_log
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def tail(self, which, n=15):
        if self.base is None:
            return ""
        lines = self.read_log(which).splitlines()[-n:]
        return "".join(l + "\n" for l in lines)

    def wait_log(self, which, regex, timeout=15, count=1):
        """Wait until `regex` matches at least `count` lines of the postfix or
        dovecot log; return the matching lines."""
        rx = re.compile(regex)

        def found():
            hits = [l for l in self.read_log(which).splitlines() if rx.search(l)]
            return hits if len(hits) >= count else None
        try:
            return wait_until(found, timeout, "%s log line /%s/" % (which, regex))
        except LabError as e:
            raise LabError("%s\n--- %s log tail:\n%s" % (e, which, self.tail(which, 30)))

    # ------------------------------------------------------------ actions

    def _new_msgid(self, domain):
        self._seq += 1
        return "<%s.%d.%d@%s>" % (time.strftime("%Y%m%d%H%M%S"), os.getpid(), self._seq, domain)

    def _event(self, what, **kw):
        kw.update(what=what, at=time.time())
        self.events.append(kw)
        return kw["at"]

    def send(self, mail_from, to, subject, body, headers=None, envelope_from=None, label=None,
             msgid=None, helo=None, cc=None, note=None):
        """Send one message from "the Internet" on the SMTP port, in one SMTP
        transaction to `to` (and `cc`, address or list). mail_from is the
        From: header ("Name <addr>" or addr); envelope_from defaults to its
        address ("" = the null sender). Returns the Message-ID. A refused
        recipient is recorded as rejected (no exception)."""
        tos = [to] if isinstance(to, str) else list(to)
        ccs = [cc] if isinstance(cc, str) else list(cc or [])
        rcpts = [a.lower() for a in tos + ccs]
        env_from = addr_of(mail_from) if envelope_from is None else envelope_from
        sender_dom = (addr_of(mail_from).split("@") + [OUTSIDE])[1] or OUTSIDE
        msgid = msgid or self._new_msgid(sender_dom)
        m = email.message.EmailMessage()
        m["From"] = mail_from
        m["To"] = ", ".join(tos)
        if ccs:
            m["Cc"] = ", ".join(ccs)
        m["Subject"] = subject
        m["Date"] = email.utils.formatdate(localtime=True)
        m["Message-ID"] = msgid
        for k, v in (headers or {}).items():
            m[k] = v
        m.set_content(body)
        rec = {"label": label or msgid, "note": note, "msgid": msgid, "rcpts": rcpts, "from": mail_from,
               "envelope_from": env_from, "subject": subject, "headers": dict(headers or {}),
               "automatic": automatic_reasons(env_from, headers), "sent_at": time.time(),
               "accepted_at": None, "delivered_at": None, "queue_id": None, "rejected": {},
               "boxes": {}}
        refused = {}
        try:
            with smtplib.SMTP("127.0.0.1", self.ports["smtp"], local_hostname=helo or ("mx." + sender_dom),
                              timeout=30) as s:
                refused = s.send_message(m, from_addr=env_from, to_addrs=rcpts)
            rec["accepted_at"] = time.time()
        except smtplib.SMTPRecipientsRefused as e:
            refused = e.recipients
        for a, (code, text) in refused.items():
            rec["rejected"][a.lower()] = {"code": code, "text": text.decode(errors="replace"), "at": time.time()}
        for a in rcpts:
            if a not in rec["rejected"]:
                rec["boxes"][a] = {"ack": None, "no_ack": None, "replies": [], "closed": None,
                                   "seen_at": None, "moves": [], "delivered_at": None}
        self.messages[msgid] = rec
        self.order.append(msgid)
        self._event("send", msgid=msgid, label=rec["label"], rcpts=rcpts, rejected=sorted(rec["rejected"]))
        return msgid

    def _box(self, msgid, mailbox):
        rec = self.messages[msgid]
        if mailbox is None:
            if len(rec["boxes"]) != 1:
                raise LabError("%s went to %s: say which mailbox" % (msgid, sorted(rec["boxes"])))
            mailbox = next(iter(rec["boxes"]))
        return rec, mailbox.lower(), rec["boxes"][mailbox.lower()]

    def wait_delivered(self, msgid, timeout=20):
        """Wait for Dovecot's delivery line for msgid in every mailbox it was
        accepted for (Sieve `stored mail into mailbox` or LMTP `saved mail
        to`) and Postfix's `status=sent` for each recipient of its queue id.
        Returns the Dovecot lines."""
        rec = self.messages[msgid]
        esc = re.escape(msgid)
        n = len(rec["boxes"])
        lines = self.wait_log("dovecot", r"msgid=%s: (stored mail into mailbox|saved mail to)" % esc,
                              timeout, count=n)
        qline = self.wait_log("postfix", r"cleanup\[\d+\]: [0-9A-F]+: message-id=%s" % esc, timeout)[0]
        qid = re.search(r": ([0-9A-F]+): message-id=", qline).group(1)
        self.wait_log("postfix", r": %s: to=<[^>]*>, relay=.*status=sent" % qid, timeout, count=n)
        now = time.time()
        rec["queue_id"] = qid
        rec["delivered_at"] = rec["delivered_at"] or now
        for b in rec["boxes"].values():
            b["delivered_at"] = b["delivered_at"] or now
        return lines

    def _acks(self, msgid, mailbox):
        return self.sink.find(lambda m: m["msg"].get("In-Reply-To", "").strip() == msgid
                              and addr_of(str(m["msg"].get("From", ""))) == mailbox)

    def wait_ack(self, msgid, mailbox=None, timeout=20):
        """Wait for mailbox's Sieve acknowledgement of msgid to reach the sender
        (the sink: In-Reply-To = msgid, From = the mailbox); record it."""
        rec, mailbox, box = self._box(msgid, mailbox)
        hit = wait_until(lambda: self._acks(msgid, mailbox), timeout,
                         "acknowledgement of %s from %s at the sink" % (msgid, mailbox))[0]
        box["ack"] = {"at": hit["at"], "msgid": str(hit["msg"]["Message-ID"]).strip(),
                      "mail_from": hit["mail_from"], "to": hit["rcpts"],
                      "subject": str(hit["msg"].get("Subject", "")),
                      "auto_submitted": str(hit["msg"].get("Auto-Submitted", "")),
                      "precedence": str(hit["msg"].get("Precedence", ""))}
        self._event("ack", msgid=msgid, mailbox=mailbox, ack_msgid=box["ack"]["msgid"])
        return hit

    def wait_no_ack(self, msgid, mailbox=None, timeout=20):
        """Wait for Sieve's line saying mailbox did not acknowledge msgid
        (duplicate, auto-submitted, null sender...), check that the sink got
        nothing, and return the line."""
        rec, mailbox, box = self._box(msgid, mailbox)
        line = self.wait_log("dovecot", r"lmtp\(%s\).*msgid=%s: vacation action: (discard|not sending)" % (
            re.escape(mailbox), re.escape(msgid)), timeout)[0]
        if self._acks(msgid, mailbox):
            raise LabError("an acknowledgement was sent for %s by %s" % (msgid, mailbox))
        box["no_ack"] = line.split("vacation action: ", 1)[1]
        return line

    def wait_outbound(self, msgid, timeout=20):
        """Wait until a message with this Message-ID reached the sink (the
        outside world): an agent's reply, typically. Returns the sink record."""
        return wait_until(lambda: self.sink.find(lambda m: str(m["msg"].get("Message-ID", "")).strip() == msgid),
                          timeout, "%s at the sink" % msgid)[0]

    # --- IMAP, as a mail client does it

    def _imap(self, mailbox, agent=None):
        mailbox = mailbox.lower()
        if agent is None:
            user, pw = mailbox, MAILBOXES[mailbox]["password"]
        else:
            aaddr, pw = AGENTS[agent]
            user = "%s*%s" % (mailbox, aaddr)
        c = imaplib.IMAP4("127.0.0.1", self.ports["imap"], timeout=30)
        c.login(user, pw)
        return c

    @staticmethod
    def _ok(resp, what):
        typ, data = resp
        if typ != "OK":
            raise LabError("IMAP %s: %s %r" % (what, typ, data))
        return data

    def _find_uid(self, c, msgid, box="INBOX"):
        self._ok(c.select('"%s"' % imap_utf7(box)), "SELECT " + box)
        data = self._ok(c.uid("SEARCH", None, "HEADER", "Message-ID", '"%s"' % msgid), "SEARCH")
        uids = data[0].split()
        if len(uids) != 1:
            raise LabError("%s in %s: %d matches" % (msgid, box, len(uids)))
        return uids[0].decode()

    def read(self, msgid, agent=None, mailbox=None):
        """Open the message in a client: FETCH BODY[] (sets \\Seen)."""
        rec, mailbox, box = self._box(msgid, mailbox)
        c = self._imap(mailbox, agent)
        try:
            uid = self._find_uid(c, msgid)
            self._ok(c.uid("FETCH", uid, "(BODY[])"), "FETCH")
        finally:
            c.logout()
        at = self._event("read", msgid=msgid, mailbox=mailbox, agent=agent)
        box["seen_at"] = box["seen_at"] or at

    def reply(self, agent, msgid, body, mailbox=None, via_smtp=True, in_reply_to=True, references=True,
              save_sent=True, set_answered=True, read_first=True):
        """Reply to msgid from `mailbox` as a mail client does: (read it,) send
        the reply by SMTP submission (SASL as the agent, From: the functional
        address, In-Reply-To/References), APPEND a copy to Sent, STORE +FLAGS
        (\\Answered) on the original in INBOX. Keyword arguments switch parts
        off to mimic clients that skip them; via_smtp=False is a reply sent
        from another system (only the flag, if any, is visible).
        agent None = the mailbox's own login (no master user)."""
        rec, mailbox, box = self._box(msgid, mailbox)
        if read_first and box["seen_at"] is None:
            self.read(msgid, agent, mailbox)
        aaddr, apw = AGENTS[agent] if agent else (mailbox, MAILBOXES[mailbox]["password"])
        r = email.message.EmailMessage()
        r["From"] = mailbox
        r["To"] = rec["from"]
        subj = rec["subject"]
        r["Subject"] = subj if subj.lower().startswith("re:") else "RE: " + subj
        r["Date"] = email.utils.formatdate(localtime=True)
        reply_id = self._new_msgid(DOMAIN)
        r["Message-ID"] = reply_id
        if in_reply_to:
            r["In-Reply-To"] = msgid
        if references:
            r["References"] = (rec["headers"].get("References", "") + " " + msgid).strip()
        r["User-Agent"] = "maillab (imaplib/smtplib)"
        r.set_content(body)
        t_sent = t_flag = None
        if via_smtp:
            with smtplib.SMTP("127.0.0.1", self.ports["submission"], local_hostname="poste-%s.%s" % (
                    agent or "accueil", DOMAIN), timeout=30) as s:
                s.login(aaddr, apw)
                s.send_message(r, from_addr=mailbox, to_addrs=[addr_of(rec["from"])])
            t_sent = time.time()
        c = self._imap(mailbox, agent)
        try:
            if save_sent:
                self._ok(c.append("Sent", "(\\Seen)", imaplib.Time2Internaldate(time.time()), r.as_bytes()),
                         "APPEND Sent")
            if set_answered:
                uid = self._find_uid(c, msgid)
                self._ok(c.uid("STORE", uid, "+FLAGS", "(\\Answered)"), "STORE")
                t_flag = time.time()
        finally:
            c.logout()
        rep = {"msgid": reply_id, "agent": agent, "sasl_user": aaddr if via_smtp else None,
               "at": t_sent if t_sent is not None else t_flag, "smtp_at": t_sent, "flag_at": t_flag,
               "routes": {"in_reply_to": bool(via_smtp and in_reply_to),
                          "references": bool(via_smtp and references),
                          "answered_flag": bool(set_answered), "sent_copy": bool(save_sent)}}
        box["replies"].append(rep)
        self._event("reply", msgid=msgid, mailbox=mailbox, reply_msgid=reply_id, agent=agent)
        self.replies[reply_id] = {"in_reply_to": msgid, "mailbox": mailbox}
        return reply_id

    def close_by_delete(self, msgid, agent=None, mailbox=None):
        """Delete without reply: STORE +FLAGS (\\Deleted), then EXPUNGE."""
        rec, mailbox, box = self._box(msgid, mailbox)
        c = self._imap(mailbox, agent)
        try:
            uid = self._find_uid(c, msgid)
            self._ok(c.uid("STORE", uid, "+FLAGS", "(\\Deleted)"), "STORE \\Deleted")
            self._ok(c.expunge(), "EXPUNGE")
        finally:
            c.logout()
        at = self._event("delete", msgid=msgid, mailbox=mailbox, agent=agent)
        box["closed"] = box["closed"] or {"how": "expunge", "folder": None, "agent": agent, "at": at}

    def move(self, msgid, folder, agent=None, mailbox=None, src="INBOX"):
        """Move the message to a folder (IMAP MOVE, RFC 6851), creating the
        folder if needed. Counts as "closed" only for a CLOSE_FOLDERS folder
        (and only if nothing closed or answered it before)."""
        rec, mailbox, box = self._box(msgid, mailbox)
        c = self._imap(mailbox, agent)
        try:
            enc = '"%s"' % imap_utf7(folder)
            c.create(enc)  # NO when it exists: fine
            uid = self._find_uid(c, msgid, src)
            self._ok(c.uid("MOVE", uid, enc), "MOVE")
        finally:
            c.logout()
        at = self._event("move", msgid=msgid, mailbox=mailbox, folder=folder, agent=agent)
        box["moves"].append({"folder": folder, "at": at})
        if folder in CLOSE_FOLDERS and box["closed"] is None:
            box["closed"] = {"how": "move", "folder": folder, "agent": agent, "at": at}

    def pace(self, until):
        """Scenario pacing (not synchronisation): let the lab clock reach
        `until` so that reply delays differ by whole seconds in the logs."""
        d = until - time.time()
        if d > 0:
            time.sleep(d)

    # ------------------------------------------------------------ truth

    def truth(self, now=None, ack_window_s=900):
        """Expected reachd figures per mailbox, on the lab's clock:
        received, acknowledged (within ack_window_s), replied (+ delay from the
        SMTP acceptance of the incoming message to its first reply: the reply's
        SMTP submission, or the \\Answered STORE of a reply sent elsewhere),
        closed without reply, backlog and oldest unanswered age at `now`
        (default: the stop time, else now). Excluded from `received`:
        automatic messages and rejected recipients (counted apart). Log time
        stamps have 1-second resolution: compare delays with +-2 s. A reply
        or a close after a message is closed/replied does not change it."""
        now = now or self.stopped_at or time.time()
        out = {}
        for mb in MAILBOXES:
            out[mb] = {"received": 0, "acknowledged": 0, "replied": 0, "closed": 0, "backlog": 0,
                       "rejected": 0, "automatic": 0, "reply_delays_s": {}, "oldest_unanswered_s": None,
                       "received_msgids": [], "acknowledged_msgids": [], "unacknowledged_msgids": [],
                       "replied_msgids": [], "closed_msgids": [], "backlog_msgids": [],
                       "automatic_msgids": [], "rejected_msgids": []}
        for mid in self.order:
            r = self.messages[mid]
            for mb in r["rcpts"]:
                t = out.get(mb)
                if t is None:
                    continue
                if mb in r["rejected"]:
                    if r["rejected"][mb]["at"] <= now:
                        t["rejected"] += 1
                        t["rejected_msgids"].append(mid)
                    continue
                if r["accepted_at"] is None or r["accepted_at"] > now:
                    continue
                if r["automatic"]:
                    t["automatic"] += 1
                    t["automatic_msgids"].append(mid)
                    continue
                b = r["boxes"][mb]
                t["received"] += 1
                t["received_msgids"].append(mid)
                ack = b["ack"]
                if ack and ack["at"] - r["accepted_at"] <= ack_window_s and ack["at"] <= now:
                    t["acknowledged"] += 1
                    t["acknowledged_msgids"].append(mid)
                else:
                    t["unacknowledged_msgids"].append(mid)
                first = min((p for p in b["replies"] if p["at"] is not None and p["at"] <= now),
                            key=lambda p: p["at"], default=None)
                closed = b["closed"] if b["closed"] and b["closed"]["at"] <= now else None
                if first is not None and (closed is None or first["at"] <= closed["at"]):
                    t["replied"] += 1
                    t["replied_msgids"].append(mid)
                    t["reply_delays_s"][mid] = round(first["at"] - r["accepted_at"], 3)
                elif closed is not None:
                    t["closed"] += 1
                    t["closed_msgids"].append(mid)
                else:
                    t["backlog"] += 1
                    t["backlog_msgids"].append(mid)
                    age = round(now - r["accepted_at"], 3)
                    if t["oldest_unanswered_s"] is None or age > t["oldest_unanswered_s"]:
                        t["oldest_unanswered_s"] = age
        for t in out.values():
            d = list(t["reply_delays_s"].values())
            t["ack_rate"] = round(t["acknowledged"] / t["received"], 6) if t["received"] else None
            t["reply_delay_avg_s"] = round(sum(d) / len(d), 3) if d else None
            t["reply_delay_max_s"] = max(d) if d else None
        return out

    def scenario(self, now=None):
        """Everything a parser test or a reachd-vs-lab test needs: which
        Message-ID is what, lab-clock times (epoch and ISO UTC), the
        configuration in force, and the truth at `now`."""
        now = now or self.stopped_at or time.time()

        def stamp(d):
            for k in list(d):
                if (k == "at" or k.endswith("_at")) and isinstance(d[k], float):
                    d[k + "_iso"] = iso(d[k])
                elif isinstance(d[k], dict):
                    stamp(d[k])
                elif isinstance(d[k], list):
                    for x in d[k]:
                        if isinstance(x, dict):
                            stamp(x)
            return d
        msgs = [stamp(json.loads(json.dumps(self.messages[mid]))) for mid in self.order]
        return {
            "generated_by": "tests/integration/maillab.py (tests/integration/test_j_maillab.py scenario)",
            "versions": getattr(self, "versions", {}),
            "tz": self.tz,
            "hostname": HOSTNAME,
            "log_year": time.localtime(self.started_at or now).tm_year,
            "started_at": self.started_at, "started_at_iso": iso(self.started_at) if self.started_at else None,
            "truth_at": now, "truth_at_iso": iso(now),
            "mailboxes": {k: {"ack": v["ack"]} for k, v in MAILBOXES.items()},
            "agents": {k: v[0] for k, v in AGENTS.items()},
            "close_folders": CLOSE_FOLDERS,
            "refused_sender": REFUSED_SENDER,
            "config": {"header_checks": HEADER_CHECKS.strip(), "mail_log_events": MAIL_LOG_EVENTS,
                       "mail_log_fields": MAIL_LOG_FIELDS},
            "labels": {self.messages[mid]["label"]: mid for mid in self.order},
            "messages": msgs,
            "replies": self.replies,
            "events": [stamp(dict(e)) for e in self.events],
            "truth": self.truth(now),
        }

    def snapshot(self, dest, now=None):
        """Copy postfix.log and dovecot.log into dest and write scenario.json
        there (truth at `now`, default now). Works while the lab runs."""
        now = now or time.time()
        os.makedirs(dest, exist_ok=True)
        shutil.copyfile(self.postfix_log, os.path.join(dest, "postfix.log"))
        shutil.copyfile(self.dovecot_log, os.path.join(dest, "dovecot.log"))
        with open(os.path.join(dest, "scenario.json"), "w", encoding="utf-8") as f:
            json.dump(self.scenario(now), f, indent=1, ensure_ascii=False, sort_keys=True)
            f.write("\n")
        return dest


# ---------------------------------------------------------------- the standard scenario
# Used by test_j_maillab.py (log lines) and meant for a later reachd-vs-lab
# test: run it, point reachd at lab.postfix_log / lab.dovecot_log, compare
# reachd's figures with lab.truth(now).

SC_C = "contact@" + DOMAIN
SC_T = "titres@" + DOMAIN
SC_ALICE = "Alice Martin <alice@example.org>"
SC_HELENE = '"Durand, Hélène" <helene.durand@example.org>'

# What the scenario means, per mailbox (checked against lab.truth()).
SCENARIO_EXPECTED = {
    SC_C: {"received": ["c1", "c2", "c3", "c5", "b1", "c6"], "acknowledged": ["c1", "c2", "c5", "b1"],
        "replied": ["c1", "c3"], "closed": ["c5", "b1"], "backlog": ["c2", "c6"],
        "automatic": ["c4"], "rejected": ["x1"]},
    SC_T: {"received": ["t1", "t3", "t6", "t7", "b1"], "acknowledged": ["t1", "t3", "t6", "t7", "b1"],
        "replied": ["t1", "t6", "b1"], "closed": ["t3"], "backlog": ["t7"],
        "automatic": ["t2", "t4", "t5"], "rejected": []},
}


SCENARIO_GAP = 1.6  # s between any two reply delays


def standard_scenario(lab):
    """Returns {label: msgid}. Phase 1: every incoming message, each waited
    for (delivery, then acknowledgement or Sieve's refusal). Phase 2: agents
    act, paced so that any two reply delays differ by >= SCENARIO_GAP s (the
    logs stamp whole seconds). The meaning of each message is in its `note`
    and in SCENARIO_EXPECTED."""
    ids = {}

    def incoming(label, frm, to, subject, body, ack, **kw):
        m = lab.send(frm, to, subject, body, label=label, **kw)
        ids[label] = m
        rec = lab.messages[m]
        if rec["boxes"]:
            lab.wait_delivered(m)
        for mb in rec["boxes"]:
            if ack.get(mb, True):
                lab.wait_ack(m, mb)
            else:
                lab.wait_no_ack(m, mb)
        return m

    # --- phase 1: the mail comes in
    incoming("c1", SC_ALICE, SC_C, "Demande de rendez-vous", "Bonjour,\nje souhaite un rendez-vous pour ma carte "
             "d'identité.\nAlice Martin\n", {},
             note="human; acknowledged; agent1 replies (submission + Sent + \\Answered), then moves it to Traités")
    incoming("t1", SC_HELENE, SC_T, "Carte grise : changement d'adresse", "Bonjour,\nj'ai déménagé, comment faire ?\n"
             "H. Durand\n", {},
             note="human, From display name with a comma and an accent; acknowledged; agent2 replies fully")
    incoming("c2", "carol@example.org", SC_C, "Horaires d'ouverture", "Bonjour,\nquels sont vos horaires ?\n", {},
             note="human; acknowledged; read by agent1 (\\Seen) but never answered: backlog")
    incoming("c3", SC_ALICE, SC_C, "Complément à ma demande", "Bonjour,\nje joins une précision.\n",
             {SC_C: False},  # same sender, same day: `vacation :days 1` does not acknowledge again
             note="human, repeat sender: not acknowledged (vacation :days 1 duplicate); replied by a client "
                  "logged in as the mailbox that sets References only and no \\Answered")
    incoming("c4", "Lettre d'information <noreply@example.org>", SC_C, "Lettre d'information n° 12",
             "Actualités du mois.\n", {SC_C: False}, headers={"Auto-Submitted": "auto-generated"},
             note="automatic (Auto-Submitted: auto-generated); Sieve refuses to acknowledge; left in INBOX")
    incoming("t2", "Mail Delivery System <MAILER-DAEMON@example.org>", SC_T, "Undelivered Mail Returned to Sender",
             "This is the mail system at host mx.example.org.\n\nI'm sorry to have to inform you that your "
             "message could not be delivered.\n", {SC_T: False}, envelope_from="",
             headers={"Auto-Submitted": "auto-replied"},
             note="bounce: null envelope sender, From MAILER-DAEMON; automatic; Sieve: no reply to <>")
    incoming("t3", "bob@example.org", SC_T, "Permis de conduire", "Bonjour,\nmon permis est-il prêt ?\n", {},
             note="human; acknowledged; moved to Traités without reply (IMAP MOVE): closed")
    incoming("c5", "erin@example.org", SC_C, "Erreur de destinataire", "Pardon, ce message ne vous était pas "
             "destiné.\n", {},
             note="human; acknowledged; deleted without reply (\\Deleted + EXPUNGE): closed")
    incoming("t4", "Offres pro <news@example.org>", SC_T, "Offre spéciale", "Promotions.\n", {SC_T: False},
             headers={"Precedence": "bulk"},
             note="automatic (Precedence: bulk); Sieve refuses to acknowledge")
    # Pigeonhole ignores X-Autoreply: it does acknowledge this automatic message.
    incoming("t5", "frank@example.org", SC_T, "Absence du bureau", "Je suis absent jusqu'au 3.\n", {},
             headers={"X-Autoreply": "yes"},
             note="automatic for reachd (X-Autoreply: yes) but Pigeonhole does acknowledge it")
    incoming("t6", SC_HELENE, SC_T, "Carte grise : pièce manquante", "Bonjour,\nvoici le justificatif.\n", {},
             note="human, repeat sender: acknowledged again (vacation :seconds 0); answered from another "
                  "system: only the \\Answered flag is visible")
    incoming("t7", "grace@example.org", SC_T, "Titre de séjour", "Bonjour,\nou en est mon dossier ?\n", {},
             note="human; acknowledged; never touched: backlog")
    incoming("b1", "ivan@example.org", SC_C, "Passeport perdu", "Bonjour,\nj'ai perdu mon passeport.\n", {},
             cc=SC_T, note="human, To contact@ and Cc titres@ in one SMTP/LMTP transaction (session id :R2 for "
                         "the second); both acknowledge; titres@ (agent2) replies, contact@ deletes its copy")
    x1 = lab.send("spammer@spam.example", SC_C, "Gagnez un iPhone", "Cliquez ici.\n", label="x1",
                  note="rejected at RCPT by the (lab-only) sender policy: NOQUEUE reject, no message-id")
    x2 = lab.send("mallory@example.org", "inconnu@" + DOMAIN, "Bonjour", "Test.\n", label="x2",
                  note="rejected at RCPT: unknown recipient (not a functional mailbox)")
    ids["x1"], ids["x2"] = x1, x2
    for x in (x1, x2):
        if not lab.messages[x]["rejected"]:
            raise LabError("%s was not rejected" % x)

    # --- phase 2: the agents work
    delays = []

    def pace_reply(label):
        """Wait until this reply's delay differs by >= GAP s from every earlier
        one (pacing, not synchronisation): 1-s log stamps then tell them apart."""
        acc = lab.messages[ids[label]]["accepted_at"]
        at = time.time() + 0.3
        while any(abs((at - acc) - d) < SCENARIO_GAP for d in delays):
            at += 0.1
        lab.pace(at)
        delays.append(at - acc)

    lab.read(ids["c2"], "agent1")                       # read, never answered
    pace_reply("c1")
    r_c1 = lab.reply("agent1", ids["c1"], "Bonjour Madame,\nrendez-vous mardi 10 h.\n")
    lab.move(ids["c1"], "Traités", "agent1")            # archived after the reply: still "replied"
    pace_reply("b1")
    lab.reply("agent2", ids["b1"], "Bonjour,\nvoici la marche à suivre.\n", mailbox=SC_T)
    lab.close_by_delete(ids["b1"], "agent1", mailbox=SC_C)  # contact@ leaves it to titres@
    pace_reply("t1")
    lab.reply("agent2", ids["t1"], "Bonjour,\nfaites la démarche en ligne.\n")
    pace_reply("c3")
    # A client that only sets References and never \Answered, logged in as the mailbox itself.
    lab.reply(None, ids["c3"], "Bien reçu, merci.\n", in_reply_to=False, set_answered=False)
    pace_reply("t6")
    # Answered by telephone or from another system: only the \Answered flag is visible.
    lab.reply("agent2", ids["t6"], "(réponse envoyée d'un autre système)\n", via_smtp=False, save_sent=False)
    lab.move(ids["t3"], "Traités", "agent2")            # closed without reply
    lab.close_by_delete(ids["c5"], "agent1")            # closed without reply
    # Alice answers agent1's reply: a new incoming message whose In-Reply-To is ours.
    incoming("c6", SC_ALICE, SC_C, "RE: Demande de rendez-vous", "Merci, mardi me convient.\n", {SC_C: False},
             headers={"In-Reply-To": r_c1, "References": "%s %s" % (ids["c1"], r_c1)},
             note="human follow-up by Alice to agent1's reply (In-Reply-To = our reply, folded References "
                  "logged as 'References:? <..> <..>'); not acknowledged (duplicate); backlog")
    for m in lab.messages.values():          # the replies reached their readers
        for b in m["boxes"].values():
            for p in b["replies"]:
                if p["smtp_at"]:
                    lab.wait_outbound(p["msgid"])
    return ids
