#!/usr/bin/python3
"""smtpd.py - a real SMTP relay on loopback for the alert mail tests.

Debian's aiosmtpd (python3-aiosmtpd) on 127.0.0.1, with STARTTLS (a
self-signed certificate made with the `openssl` command at start, for
"localhost" and 127.0.0.1, in the lab's directory) and AUTH PLAIN/LOGIN for
one test user, offered only after STARTTLS. Every accepted message is kept
as NNNN.eml (the bytes received) and one JSON line in messages.jsonl:
{"id", "mail_from", "rcpts", "auth_user", "tls", "eml"}.

The relay's behaviour can be switched at run time:
    accept               every message is accepted (250)
    tempfail             MAIL FROM gets 451 4.3.0 (the relay is in trouble)
    tempfail-rcpt ADDR   RCPT TO ADDR gets 450 4.2.0, the others are accepted
    reject-rcpt ADDR     RCPT TO ADDR gets 550 5.1.1, the others are accepted
    hang                 connections are accepted and never greeted
    down                 nothing listens on the port (connection refused)

    import smtpd
    with smtpd.Lab(auth_required=False) as lab:   # start() ... stop()
        lab.port, lab.cert, lab.user, lab.password, lab.messages()
        lab.set_mode("reject-rcpt", "nobody@example.gouv.fr")

Run alone (`/usr/bin/python3 tests/integration/smtpd.py DIR`), it serves
until interrupted and takes its mode from the file DIR/mode ("hang",
"reject-rcpt a@b", ...), read again whenever it changes.

Run with /usr/bin/python3 (Debian's python3-aiosmtpd); no other module.
"""

import sys

sys.dont_write_bytecode = True

import asyncio
import json
import logging
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time

try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
except ImportError:  # pragma: no cover
    sys.exit("smtpd.py needs Debian's python3-aiosmtpd: apt-get install python3-aiosmtpd, "
             "and run it with /usr/bin/python3")

USER = "reachd"
PASSWORD = "s3cret-lab-password"
MODES = ("accept", "tempfail", "tempfail-rcpt", "reject-rcpt", "hang", "down")
BANNER_HOST = "relay.lab.test"

logging.getLogger("mail.log").setLevel(logging.ERROR)  # aiosmtpd's deprecation chatter


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def make_cert(directory):
    """A self-signed EC certificate for localhost and 127.0.0.1."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    return cert, key


class _Handler:
    def __init__(self, lab):
        self.lab = lab

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.lab.mode == "tempfail":
            return "451 4.3.0 Temporary lab failure, try again later"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() == (self.lab.arg or "").lower():
            if self.lab.mode == "reject-rcpt":
                return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
            if self.lab.mode == "tempfail-rcpt":
                return "450 4.2.0 <%s>: Recipient address rejected: Mailbox busy" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        qid = self.lab.store(envelope, session)
        return "250 2.0.0 Ok: queued as %s" % qid


class _LabSMTP(SMTP):
    lab = None

    async def _handle_client(self):
        # "hang": the TCP connection is accepted, the greeting never comes
        if self.lab.mode == "hang" and not self.lab.starting:
            self.lab.hung += 1
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                pass
            return
        await super()._handle_client()


class _Controller(Controller):
    def __init__(self, lab, **kw):
        self.lab = lab
        super().__init__(_Handler(lab), **kw)

    def factory(self):
        smtp = _LabSMTP(self.handler, **self.SMTP_kwargs)
        smtp.lab = self.lab
        return smtp


class Lab:
    def __init__(self, directory=None, port=None, auth_required=True):
        self.own_dir = directory is None
        self.dir = directory or tempfile.mkdtemp(prefix="reachd-smtp-")
        self.port = port or free_port()
        self.auth_required = auth_required
        self.user, self.password = USER, PASSWORD
        self.mode, self.arg = "accept", None
        self.controller = None
        self.starting = False
        self.hung = 0
        self.lock = threading.Lock()
        self.count = 0
        self.spool = os.path.join(self.dir, "messages.jsonl")
        self.cert = self.key = None

    # ------------------------------------------------------------ life cycle
    def start(self):
        self.cert, self.key = make_cert(self.dir)
        open(self.spool, "a").close()
        # a directory used before (make run, again): number on, never overwrite
        self.count = len(self.messages())
        self._listen()
        return self

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == self.user.encode()
              and auth_data.password == self.password.encode())
        # handled=False: aiosmtpd itself answers 535 to a failure
        return AuthResult(success=ok, handled=False, auth_data=self.user if ok else None)

    def _listen(self):
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(self.cert, self.key)
        self.controller = _Controller(
            self, hostname="127.0.0.1", port=self.port, server_hostname=BANNER_HOST,
            tls_context=tls, require_starttls=False, auth_required=self.auth_required,
            auth_require_tls=True, authenticator=self._authenticate, timeout=60)
        self.starting = True  # the controller's own start-up connection is greeted
        try:
            self.controller.start()
        finally:
            self.starting = False

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def set_mode(self, mode, arg=None):
        """Switch the relay's behaviour; "down" closes the port, any other
        mode opens it again."""
        if mode not in MODES:
            raise ValueError("unknown mode %r (one of %s)" % (mode, ", ".join(MODES)))
        if mode == "down" and self.controller is not None:
            self.controller.stop()
            self.controller = None
        elif mode != "down" and self.controller is None:
            self._listen()
        self.mode, self.arg = mode, arg

    # ------------------------------------------------------------ messages
    def store(self, envelope, session):
        with self.lock:
            self.count += 1
            qid = "LAB%04d" % self.count
            eml = os.path.join(self.dir, "%04d.eml" % self.count)
            with open(eml, "wb") as f:
                f.write(envelope.original_content)
            rec = {"id": qid, "mail_from": envelope.mail_from, "rcpts": list(envelope.rcpt_tos),
                   "auth_user": session.auth_data if session.authenticated else None,
                   "tls": session.ssl is not None, "eml": eml}
            with open(self.spool, "a") as f:
                f.write(json.dumps(rec) + "\n")
        return qid

    def messages(self):
        """Every accepted message's JSON record, oldest first."""
        with open(self.spool) as f:
            return [json.loads(line) for line in f if line.strip()]


def main(argv):
    if len(argv) != 2:
        sys.exit("usage: smtpd.py DIR   (mode in DIR/mode)")
    os.makedirs(argv[1], exist_ok=True)
    lab = Lab(argv[1], port=int(os.environ.get("SMTPD_PORT", "0")) or None,
              auth_required=os.environ.get("SMTPD_AUTH_REQUIRED", "1") == "1")
    lab.start()
    print("listening on 127.0.0.1:%d, certificate %s, user %s, password %s"
          % (lab.port, lab.cert, lab.user, lab.password), flush=True)
    last = None
    try:
        while True:
            try:
                with open(os.path.join(argv[1], "mode")) as f:
                    text = f.read().split()
            except OSError:
                text = ["accept"]
            if text and text != last:
                lab.set_mode(text[0], text[1] if len(text) > 1 else None)
                print("mode %s" % " ".join(text), flush=True)
                last = text
            time.sleep(0.1)
    except KeyboardInterrupt:
        pass
    finally:
        lab.stop()


if __name__ == "__main__":
    main(sys.argv)
