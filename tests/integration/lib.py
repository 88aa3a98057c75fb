"""lib.py - integration-test harness for reachd.

Starts private servers and the daemon, waits on real conditions (never blind
sleeps), reads the figures back from every reader (PostgreSQL rows,
aggregates and views, Redis windows, `reachctl indicators --json`) and
compares them with the simulator's ground truth, printing a readable diff.

    with lib.Env("name") as env:          # temp dir, Redis, PostgreSQL 15
        trace = env.simulate(days=7, queues=5, flavour="mixed")
        cfg = env.config(path=trace.log)
        env.reachd_once(cfg)
        ck = lib.Checker("a")
        lib.check_everything(ck, env, cfg, trace.truth())
        ck.done()                          # raises TestFailure on any mismatch

Everything is cleaned up on exit, failure, SIGINT or SIGTERM (servers stopped,
daemons killed, temp dir removed; REACHD_TEST_KEEP=1 keeps the temp dir).
Environment: REACHD, REACHCTL (binaries, default build/reachd, build/reachctl
relative to the repository), PG_BIN (default /usr/lib/postgresql/15/bin),
REDIS_SERVER (default redis-server), REACHD_TEST_KEEP.
Run with /usr/bin/python3 (needs Debian's python3-psycopg2 and python3-redis).
"""

import sys
sys.dont_write_bytecode = True

import atexit
import datetime as _dt
import json
import os
import pwd
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "sim"))

import inject  # noqa: E402,F401  (re-exported for tests)
import truth as truthmod  # noqa: E402
from simulate import iso, parse_time  # noqa: E402,F401

try:
    import psycopg2
    import psycopg2.extras
except ImportError:  # pragma: no cover
    sys.exit("lib.py needs python3-psycopg2: run with /usr/bin/python3")
try:
    import redis as redismod
except ImportError:  # pragma: no cover
    sys.exit("lib.py needs python3-redis: run with /usr/bin/python3")

PY = "/usr/bin/python3"
SIM = os.path.join(REPO, "tests", "sim", "simulate.py")
PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
REDIS_SERVER = os.environ.get("REDIS_SERVER", "redis-server")
WINDOWS = truthmod.WINDOWS
FIGURES = truthmod.FIGURES
COUNT_FIELDS = truthmod.COUNT_FIELDS
RATE_FIELDS = truthmod.RATE_FIELDS
QUANTILE_FIELDS = truthmod.QUANTILE_FIELDS
RATE_TOL = 1e-6


def _bin(env, default):
    p = os.environ.get(env, default)
    return p if os.path.isabs(p) else os.path.join(REPO, p)


REACHD = _bin("REACHD", "build/reachd")
REACHCTL = _bin("REACHCTL", "build/reachctl")
_T0 = time.time()


def log(msg):
    sys.stdout.write("[%7.2fs] %s\n" % (time.time() - _T0, msg))
    sys.stdout.flush()


class TestFailure(Exception):
    pass


class Skip(Exception):
    pass


# ---------------------------------------------------------------- waiting


def wait_until(pred, timeout, what, interval=0.05, alive=None):
    """Poll pred() until it returns a truthy value (returned) or timeout seconds
    pass (TestFailure naming `what` and the last value or error). alive(), when
    given, is checked at each round and may raise (e.g. the daemon died)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        if alive is not None:
            alive()
        try:
            v = pred()
            if v:
                return v
            last = v
        except Exception as e:  # noqa: BLE001 - polling tolerates transient errors
            last = "%s: %s" % (type(e).__name__, str(e).strip().splitlines()[0] if str(e).strip() else "")
        if time.monotonic() >= deadline:
            raise TestFailure("timed out after %.0fs waiting for %s (last: %s)" % (timeout, what, last))
        time.sleep(interval)


def _die_with_parent():
    """preexec_fn: the child gets SIGKILL if the test process dies (Linux)."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort
        pass


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


# ---------------------------------------------------------------- servers


class Redis:
    def __init__(self, d):
        self.dir = d
        self.sock = os.path.join(d, "redis.sock")
        self.logfile = os.path.join(d, "redis.log")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", "0", "--unixsocket", self.sock, "--unixsocketperm", "777",
             "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", self.dir,
             "--logfile", self.logfile, "--databases", "16"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent)

        def up():
            if self.proc.poll() is not None:
                raise TestFailure("redis-server exited: %s" % self.tail())
            return self.client().ping()
        wait_until(up, 20, "redis-server to answer PING")
        return self

    def client(self, db=0):
        return redismod.Redis(unix_socket_path=self.sock, db=db, socket_timeout=10)

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.client().shutdown(nosave=True)
            except Exception:  # noqa: BLE001 - shutdown closes the connection
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def tail(self, n=20):
        try:
            with open(self.logfile, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


class Postgres:
    """A private PostgreSQL 15 cluster, run as `postgres` when we are root."""

    def __init__(self, d):
        self.dir = d
        self.data = os.path.join(d, "pgdata")
        self.sockdir = os.path.join(d, "pgsock")
        self.logfile = os.path.join(d, "postgres.log")
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        self.running = False

    def _run(self, args, timeout=120):
        cmd = [os.path.join(PG_BIN, args[0])] + args[1:]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise TestFailure("%s failed (%d): %s%s\n%s" % (args[0], r.returncode, r.stdout[-2000:],
                                                           r.stderr[-2000:], self.tail()))
        return r

    def init(self):
        os.makedirs(self.sockdir)
        os.makedirs(self.data, mode=0o700)
        if self.as_root:
            pw = pwd.getpwnam("postgres")
            for p in (self.data, self.sockdir):
                os.chown(p, pw.pw_uid, pw.pw_gid)
            # the log file is written by pg_ctl as postgres
            open(self.logfile, "a").close()
            os.chown(self.logfile, pw.pw_uid, pw.pw_gid)
        self._run(["initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
                   "--locale=C", "--no-sync"])
        return self

    def start(self):
        opts = "-k %s -p %d -c listen_addresses='' -c fsync=off -c full_page_writes=off" % (
            self.sockdir, self.port)
        self._run(["pg_ctl", "-D", self.data, "-l", self.logfile, "-w", "-t", "60", "-o", opts, "start"])
        self.running = True
        wait_until(lambda: self.connect("postgres").close() or True, 30, "PostgreSQL to accept connections")
        return self

    def stop(self, mode="fast"):
        if not self.running:
            return
        self._run(["pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop"])
        self.running = False

    def connect(self, db="reachd"):
        c = psycopg2.connect(host=self.sockdir, port=self.port, user="postgres", dbname=db,
                             connect_timeout=10)
        c.autocommit = True
        return c

    def create_db(self, name="reachd"):
        c = self.connect("postgres")
        try:
            c.cursor().execute('CREATE DATABASE "%s"' % name)
        finally:
            c.close()

    def conninfo(self, db="reachd"):
        return "host=%s port=%d dbname=%s user=postgres" % (self.sockdir, self.port, db)

    def tail(self, n=30):
        try:
            with open(self.logfile, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


# ---------------------------------------------------------------- daemon


class Daemon:
    """A reachd process running in the foreground, stderr to a log file."""

    def __init__(self, env, cfg, name, args=(), extra_env=None):
        self.env = env
        self.cfg = cfg
        self.name = name
        self.logfile = os.path.join(env.dir, "%s.%d.log" % (name, len(env.daemons)))
        self.logf = open(self.logfile, "wb")
        penv = dict(os.environ, **extra_env) if extra_env else None
        self.proc = subprocess.Popen([REACHD, "-c", cfg] + list(args), stdin=subprocess.DEVNULL,
                                     stdout=self.logf, stderr=subprocess.STDOUT,
                                     preexec_fn=_die_with_parent, env=penv)
        env.daemons.append(self)
        log("reachd %s started (pid %d)" % (name, self.proc.pid))

    def alive(self):
        """Raise TestFailure if the daemon has exited."""
        rc = self.proc.poll()
        if rc is not None:
            raise TestFailure("reachd %s exited with %d unexpectedly:\n%s" % (self.name, rc, self.tail()))

    def running(self):
        return self.proc.poll() is None

    def kill9(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self.logf.close()
        log("reachd %s killed with SIGKILL" % self.name)

    def term(self, sig=signal.SIGTERM, timeout=60):
        """Send sig, wait for exit, return the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise TestFailure("reachd %s did not exit within %ds of %s:\n%s" % (
                self.name, timeout, signal.Signals(sig).name, self.tail()))
        self.logf.close()
        return rc

    def tail(self, n=40):
        try:
            with open(self.logfile, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            return "\n".join("    | " + x for x in lines[-n:])
        except OSError:
            return ""


# ---------------------------------------------------------------- traces


class Trace:
    """A simulated trace: dir with queue_log, truth.csv, truth_open.csv, meta.json."""

    def __init__(self, d):
        self.dir = d
        self.log = os.path.join(d, "queue_log")
        self.meta = truthmod.load_meta(d)
        self.site = self.meta["site"]

    def truth(self, short_abandon_s=5, service_level_s=20):
        return truthmod.Truth.load(self.dir, short_abandon_s, service_level_s)

    def data(self):
        with open(self.log, "rb") as f:
            return f.read()

    def pieces(self, n, rnd=None, whole_seconds=False):
        """Split the log into n byte ranges at line boundaries (random cut points
        when rnd is given, even otherwise; with whole_seconds, never between two
        lines of the same second). Returns a list of bytes."""
        data = self.data()
        cuts = []
        for k in range(1, n):
            x = int(len(data) * (rnd.uniform(k - 0.4, k + 0.4) if rnd else k) / n)
            x = data.index(b"\n", x) + 1 if data.find(b"\n", x) >= 0 else len(data)
            if whole_seconds:
                while x < len(data):
                    prev_start = data.rfind(b"\n", 0, x - 1) + 1
                    if data[prev_start:data.index(b"|", prev_start)] != data[x:data.index(b"|", x)]:
                        break
                    x = data.index(b"\n", x) + 1
            cuts.append(x)
        cuts = sorted(set(c for c in cuts if 0 < c < len(data)))
        out, prev = [], 0
        for c in cuts + [len(data)]:
            out.append(data[prev:c])
            prev = c
        return out


def subset(tr, out, site, keep):
    """A new trace in out derived from tr: the same log without the calls whose
    callid fails keep(callid) (every stint of a kept callid is kept whole,
    member and system lines stay), for site. Truth files are filtered alike,
    so the new trace's callids are a subset of tr's, with different figures."""
    os.makedirs(out, exist_ok=True)
    t = tr.truth()
    callers = {c.callid for c in t.calls} | {o.callid for o in t.open}
    with open(tr.log, "rb") as f, open(os.path.join(out, "queue_log"), "wb") as g:
        n = 0
        for line in f:
            cid = line.split(b"|", 2)[1].decode("utf-8")
            if cid in callers and not keep(cid):
                continue
            g.write(line)
            n += 1
    import csv
    for name in ("truth.csv", "truth_open.csv"):
        with open(os.path.join(tr.dir, name), newline="", encoding="utf-8") as f, \
                open(os.path.join(out, name), "w", newline="", encoding="utf-8") as g:
            r = csv.reader(f)
            w = csv.writer(g, lineterminator="\n")
            hdr = next(r)
            w.writerow(hdr)
            for row in r:
                if keep(row[hdr.index("callid")]):
                    row[hdr.index("site")] = site
                    w.writerow(row)
    meta = dict(tr.meta)
    meta["site"] = site
    meta["lines"] = n
    meta["derived_from"] = tr.dir
    with open(os.path.join(out, "meta.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, ensure_ascii=False, indent=1)
    nt = Trace(out)
    meta["finished_calls"] = len(nt.truth().calls)
    log("trace %s: subset of %s for site %s, %d lines, %d finished calls" % (
        os.path.basename(out), os.path.basename(tr.dir), site, n, meta["finished_calls"]))
    return nt


def simulate(out, **kw):
    """Run simulate.py with keyword options (days=7 -> --days 7). Returns Trace."""
    cmd = [PY, SIM, "--out", out]
    for k, v in kw.items():
        if v is None or v is False:
            continue
        cmd.append("--" + k.replace("_", "-"))
        if v is not True:
            cmd.append(str(v))
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise TestFailure("simulate.py failed: %s" % r.stderr[-3000:])
    t = Trace(out)
    log("trace %s: %s" % (os.path.basename(out), r.stderr.strip()))
    return t


def append(path, data):
    with open(path, "ab") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


# ---------------------------------------------------------------- environment

_LIVE_ENVS = []


def _cleanup_all():
    for e in list(_LIVE_ENVS):
        e.close()


atexit.register(_cleanup_all)


def _on_signal(signum, frame):
    raise KeyboardInterrupt("signal %d" % signum)


signal.signal(signal.SIGTERM, _on_signal)


class Env:
    """Temp dir + private Redis + private PostgreSQL (database reachd)."""

    def __init__(self, name, pg=True, redis=True):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="reachd-it-%s-" % name)
        os.chmod(self.dir, 0o755)   # postgres must traverse it
        self.daemons = []
        self.redis = None
        self.pg = None
        self.closed = False
        self.want_pg, self.want_redis = pg, redis
        _LIVE_ENVS.append(self)

    def __enter__(self):
        try:
            if self.want_redis:
                self.redis = Redis(self.dir).start()
            if self.want_pg:
                self.pg = Postgres(self.dir).init().start()
                self.pg.create_db("reachd")
            log("env %s ready in %s (redis %s, postgres port %s)" % (
                self.name, self.dir, self.redis and self.redis.sock, self.pg and self.pg.port))
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, et, ev, tb):
        if et is not None and not issubclass(et, Skip):
            self.dump_logs()
        self.close()
        return False

    def dump_logs(self):
        for d in self.daemons:
            print("---- reachd %s log (%s):\n%s" % (d.name, d.logfile, d.tail(60)))
        if self.pg:
            print("---- postgres log:\n" + self.pg.tail(15))

    def close(self):
        if self.closed:
            return
        self.closed = True
        for d in self.daemons:
            try:
                if d.proc.poll() is None:
                    d.proc.kill()
                    d.proc.wait(10)
            except Exception:  # noqa: BLE001
                pass
        for srv in (self.pg, self.redis):
            try:
                if srv:
                    srv.stop(*(("immediate",) if srv is self.pg else ()))
            except Exception as e:  # noqa: BLE001
                print("cleanup: %s" % e)
        if os.environ.get("REACHD_TEST_KEEP"):
            print("kept %s" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        if self in _LIVE_ENVS:
            _LIVE_ENVS.remove(self)

    # -- helpers bound to this environment
    def path(self, *p):
        return os.path.join(self.dir, *p)

    def simulate(self, name="trace", **kw):
        kw.setdefault("end", "now")
        kw.setdefault("profile_anchor", "busy")
        return simulate(self.path(name), **kw)

    def config(self, path, site="prefecture", name=None, collector="pbx", extra_daemon="",
               commit_interval="200ms", refresh_interval="1s", service_level="20s",
               short_abandon="5s", redis_db=None, http=True):
        """Write a configuration for one queuelog collector; returns its path."""
        name = name or "reachd-%s.conf" % re.sub(r"[^A-Za-z0-9]", "_", site)
        lines = ["[daemon]", "site = %s" % site, "commit_interval = %s" % commit_interval,
                 "refresh_interval = %s" % refresh_interval]
        if extra_daemon:
            lines.append(extra_daemon)
        lines += ["[postgres]", "conninfo = %s" % self.pg.conninfo(),
                  "[redis]", "address = unix:%s" % self.redis.sock]
        if redis_db is not None:
            lines.append("db = %d" % redis_db)
        if http:
            lines += ["[http]", "listen = 127.0.0.1:%d" % free_port()]
        lines += ['[collector "%s"]' % collector, "type = queuelog", "path = %s" % path,
                  "site = %s" % site, "service_level = %s" % service_level,
                  "short_abandon = %s" % short_abandon]
        p = self.path(name)
        with open(p, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        return p

    def reachd_once(self, cfg, timeout=600, name="once"):
        """reachd --once; must exit 0. Returns its output."""
        if not os.access(REACHD, os.X_OK):
            raise TestFailure("no reachd binary at %s (set REACHD)" % REACHD)
        logfile = self.path("%s.%d.log" % (name, len(self.daemons)))
        t0 = time.time()
        with open(logfile, "wb") as lf:
            try:
                r = subprocess.run([REACHD, "--once", "-c", cfg], stdin=subprocess.DEVNULL, stdout=lf,
                                   stderr=subprocess.STDOUT, timeout=timeout)
            except subprocess.TimeoutExpired:
                raise TestFailure("reachd --once did not finish within %ds:\n%s" % (timeout, _tail(logfile)))
        out = _tail(logfile, 60)
        if r.returncode != 0:
            raise TestFailure("reachd --once -c %s exited with %d:\n%s" % (cfg, r.returncode, out))
        log("reachd --once (%s) done in %.1fs" % (os.path.basename(cfg), time.time() - t0))
        return out

    def start_reachd(self, cfg, name="reachd", extra_env=None):
        if not os.access(REACHD, os.X_OK):
            raise TestFailure("no reachd binary at %s (set REACHD)" % REACHD)
        return Daemon(self, cfg, name, extra_env=extra_env)

    def reachctl(self, cfg, *args, timeout=120):
        if not os.access(REACHCTL, os.X_OK):
            raise TestFailure("no reachctl binary at %s (set REACHCTL)" % REACHCTL)
        r = subprocess.run([REACHCTL, "-c", cfg] + list(args), stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=timeout)
        if r.returncode != 0:
            raise TestFailure("reachctl %s exited with %d: %s %s" % (
                " ".join(args), r.returncode, r.stdout.decode("utf-8", "replace")[-2000:],
                r.stderr.decode("utf-8", "replace")[-2000:]))
        return r.stdout.decode("utf-8")

    def db(self):
        return self.pg.connect("reachd")

    def rcli(self, db=0):
        return self.redis.client(db)


def _tail(path, n=40):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        return "\n".join("    | " + x for x in lines[-n:])
    except OSError:
        return ""


# ---------------------------------------------------------------- PostgreSQL readers


def q(conn, sql, args=()):
    with conn.cursor() as c:
        c.execute(sql, args)
        return c.fetchall() if c.description else None


def ts_of(d):
    return None if d is None else int(d.timestamp())


def cursor_row(conn, site, collector="pbx"):
    """The collector's committed cursor, or None (none yet, or no schema yet)."""
    try:
        r = q(conn, 'SELECT dev, ino, "offset", source_size, lines_accepted, lines_rejected, lines_unknown '
                    'FROM reach.cursors WHERE site = %s AND collector = %s', (site, collector))
    except (psycopg2.errors.UndefinedTable, psycopg2.errors.InvalidSchemaName):
        if not conn.autocommit:
            conn.rollback()
        return None
    if not r:
        return None
    keys = ("dev", "ino", "offset", "source_size", "lines_accepted", "lines_rejected", "lines_unknown")
    return dict(zip(keys, r[0]))


def wait_consumed(env, site, path, collector="pbx", timeout=120, daemon=None, conn=None):
    """Poll reach.cursors until the collector's cursor is at the end of path
    (same device and inode, offset = file size)."""
    own = conn is None
    conn = conn or env.db()
    status = ["no cursor row yet"]
    try:
        def done():
            st = os.stat(path)
            c = cursor_row(conn, site, collector)
            if c is None:
                return False
            status[0] = "cursor dev %s ino %s offset %s; file dev %s ino %s size %s" % (
                c["dev"], c["ino"], c["offset"], st.st_dev, st.st_ino, st.st_size)
            return c["dev"] == st.st_dev and c["ino"] == st.st_ino and c["offset"] == st.st_size
        try:
            wait_until(done, timeout, "reachd (%s/%s) to consume %s" % (site, collector, path),
                       interval=0.05, alive=daemon.alive if daemon else None)
        except TestFailure as e:
            raise TestFailure("%s; %s" % (e, status[0]))
    finally:
        if own:
            conn.close()


def pg_calls(conn, site=None):
    """{(site, queue, callid, entered): row dict} from reach.calls."""
    sql = ("SELECT site, queue, callid, entered_at, ended_at, outcome, end_reason, agent, wait_s, talk_s, "
           "transferred, short_abandoned, within_sl, collector FROM reach.calls")
    args = ()
    if site is not None:
        sql += " WHERE site = %s"
        args = (site,)
    out = {}
    dup = 0
    for r in q(conn, sql, args):
        k = (r[0], r[1], r[2], ts_of(r[3]))
        if k in out:
            dup += 1
        out[k] = {"ended": ts_of(r[4]), "outcome": r[5], "end_reason": r[6], "agent": r[7],
                  "wait_s": r[8], "talk_s": r[9], "transferred": r[10], "short_abandoned": r[11],
                  "within_sl": r[12], "collector": r[13]}
    if dup:
        out["__duplicates__"] = dup
    return out


_SUM_COLS = ("offered", "answered", "abandoned", "short_abandoned", "timed_out", "transferred",
             "ivr_handled", "sl_answered", "wait_answered_sum", "wait_answered_n", "talk_sum", "talk_n")


def pg_agg_range(conn, frm, to, grain="minute", site=None):
    """Figures from summed reach.call_agg rows of one grain with bucket in [frm, to),
    computed by reach.call_figures: {(site, queue): figures}."""
    sums = ", ".join("sum(%s)::bigint AS %s" % (c, c) for c in _SUM_COLS)
    sql = ("WITH s AS (SELECT site, queue, " + sums + ", reach.hist_sum(wait_hist) AS wait_hist "
           "FROM reach.call_agg WHERE grain = %s AND bucket >= to_timestamp(%s) "
           "AND bucket < to_timestamp(%s)" + (" AND site = %s" if site else "") +
           " GROUP BY site, queue) "
           "SELECT s.*, f.* FROM s, LATERAL reach.call_figures(" +
           ", ".join("s." + c for c in _SUM_COLS) + ", s.wait_hist) f")
    args = [grain, frm, to] + ([site] if site else [])
    out = {}
    with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as c:
        c.execute(sql, args)
        for r in c.fetchall():
            f = {k: r[k] for k in FIGURES}
            for k in COUNT_FIELDS:
                f[k] = int(f[k])
            out[(r["site"], r["queue"])] = f
    return out


def pg_view(conn, view, site=None):
    """{(site, queue, period_start): figures} from reach.call_indicators_hourly/_daily.
    period_start: epoch (hourly) or datetime.date (daily)."""
    sql = "SELECT * FROM reach.%s" % view + (" WHERE site = %s" if site else "")
    out = {}
    with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as c:
        c.execute(sql, (site,) if site else ())
        for r in c.fetchall():
            p = r["period_start"]
            p = ts_of(p) if isinstance(p, _dt.datetime) else p
            f = {k: r[k] for k in FIGURES}
            for k in COUNT_FIELDS:
                f[k] = int(f[k])
            out[(r["site"], r["queue"], p)] = f
    return out


# ---------------------------------------------------------------- Redis readers


def esc(s):
    """Key-part escaping of reachd: bytes outside [A-Za-z0-9._@+-] -> %XX."""
    out = []
    for b in s.encode("utf-8"):
        c = chr(b)
        if c.isascii() and (c.isalnum() or c in "._@+-"):
            out.append(c)
        else:
            out.append("%%%02X" % b)
    return "".join(out)


def window_key(site, queue, window):
    return "reach:{%s}:calls:%s:%s" % (esc(site), esc(queue), window)


def live_key(site, queue):
    return "reach:{%s}:live:%s" % (esc(site), esc(queue))


def queues_key(site):
    return "reach:{%s}:queues" % esc(site)


_DEC = re.compile(r"^-?\d+\.\d{6}$")
_INT = re.compile(r"^-?\d+$")
_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def parse_redis_hash(h):
    """Decode a window hash: returns (meta, figures, format_errors)."""
    d = {k.decode("utf-8"): v.decode("utf-8") for k, v in h.items()}
    errs = []
    meta = {k: d.get(k) for k in ("site", "queue", "window", "from", "to", "updated_at")}
    for k in ("from", "to", "updated_at"):
        if meta[k] is None or not _ISO.match(meta[k]):
            errs.append("%s=%r is not ISO 8601 UTC (YYYY-MM-DDTHH:MM:SSZ)" % (k, meta[k]))
    figs = {}
    for k in FIGURES:
        v = d.get(k)
        if v is None:
            figs[k] = None
        elif k in RATE_FIELDS:
            if not _DEC.match(v):
                errs.append("%s=%r is not a decimal with 6 decimals" % (k, v))
            figs[k] = float(v)
        else:
            if not _INT.match(v):
                errs.append("%s=%r is not an integer" % (k, v))
                figs[k] = v
            else:
                figs[k] = int(v)
    return meta, figs, errs


def redis_window(r, site, queue, window):
    h = r.hgetall(window_key(site, queue, window))
    if not h:
        return None
    return parse_redis_hash(h)


# ---------------------------------------------------------------- reachctl


def reachctl_indicators(env, cfg, frm, to, site=None, queue=None, fmt="iso"):
    """{(site, queue): figures} from `reachctl indicators --json` for [frm, to)."""
    def t(x):
        if fmt == "iso":
            return iso(x)
        return _dt.datetime.fromtimestamp(x, _dt.timezone.utc).strftime("%Y-%m-%d %H:%M")
    args = ["indicators", "--from", t(frm), "--to", t(to), "--json"]
    if site is not None:
        args += ["--site", site]
    if queue is not None:
        args += ["--queue", queue]
    out = env.reachctl(cfg, *args)
    try:
        doc = json.loads(out)
    except ValueError as e:
        raise TestFailure("reachctl indicators --json printed invalid JSON (%s): %r" % (e, out[:500]))
    res = {}
    errs = []
    for el in doc.get("calls", []):
        k = (el.get("site"), el.get("queue"))
        if el.get("from") is not None and parse_time(el["from"]) != frm:
            errs.append("%s: from %s, asked %s" % (k, el.get("from"), iso(frm)))
        if el.get("to") is not None and parse_time(el["to"]) != to:
            errs.append("%s: to %s, asked %s" % (k, el.get("to"), iso(to)))
        missing = [f for f in FIGURES if f not in el]
        if missing:
            errs.append("%s: missing figures %s (nulls must be present as null)" % (k, missing))
        res[k] = {f: el.get(f) for f in FIGURES}
    return res, errs


# ---------------------------------------------------------------- comparison


def fmt_v(v):
    if isinstance(v, float):
        return "%.6f" % v
    return repr(v)


def diff_figures(exp, got):
    """[(figure, expected, got)] where they differ (counts and quantiles exact,
    rates within 1e-6, None = null)."""
    out = []
    for k in FIGURES:
        e, g = exp.get(k), got.get(k)
        if e is None or g is None:
            if not (e is None and g is None):
                out.append((k, e, g))
            continue
        if k in RATE_FIELDS:
            if not isinstance(g, (int, float)) or abs(float(g) - float(e)) > RATE_TOL:
                out.append((k, e, g))
        elif not isinstance(g, int) or isinstance(g, bool) or g != e:
            out.append((k, e, g))
    return out


class Checker:
    """Collects mismatches and prints them readably; done() raises if any."""

    def __init__(self, name, max_print=25, quiet=False):
        self.name = name
        self.errors = []
        self.checks = 0
        self.max_print = max_print
        self.quiet = quiet

    def fail(self, msg):
        self.errors.append(msg)
        if self.quiet:
            return
        if len(self.errors) <= self.max_print:
            print("  MISMATCH: " + msg)
        elif len(self.errors) == self.max_print + 1:
            print("  ... (more mismatches not printed)")

    def ok(self, cond, msg):
        self.checks += 1
        if not cond:
            self.fail(msg)
        return cond

    def eq(self, label, exp, got):
        self.checks += 1
        if exp != got:
            self.fail("%s: expected %r, got %r" % (label, exp, got))
            return False
        return True

    def figures(self, label, exp, got, missing_ok_if_empty=False):
        """Compare {key: figures} maps; every expected key must be there and no extra one."""
        self.checks += 1
        bad = 0
        for k in sorted(set(exp) | set(got), key=repr):
            e, g = exp.get(k), got.get(k)
            if g is None:
                bad += 1
                self.fail("%s %s: missing (expected offered=%s)" % (label, _kstr(k), e["offered"]))
                continue
            if e is None:
                if missing_ok_if_empty and g.get("offered") in (0, None):
                    continue
                bad += 1
                self.fail("%s %s: unexpected row (offered=%s)" % (label, _kstr(k), g.get("offered")))
                continue
            d = diff_figures(e, g)
            if d:
                bad += 1
                self.fail("%s %s:\n%s" % (label, _kstr(k), "\n".join(
                    "        %-16s expected %-14s got %s" % (f, fmt_v(x), fmt_v(y)) for f, x, y in d)))
        return bad == 0

    def done(self):
        if self.errors:
            raise TestFailure("%s: %d mismatch(es) in %d checks" % (self.name, len(self.errors), self.checks))
        log("%s: %d checks passed" % (self.name, self.checks))


def _kstr(k):
    if isinstance(k, tuple):
        return "[" + " ".join(iso(x) if isinstance(x, int) and x > 10 ** 9 else str(x) for x in k) + "]"
    return str(k)


# ---------------------------------------------------------------- high-level checks


def check_calls(ck, conn, tr, site=None, collector="pbx", label="reach.calls"):
    """reach.calls rows equal truth.csv (key set and every field)."""
    got = pg_calls(conn, site)
    dup = got.pop("__duplicates__", 0)
    ck.eq("%s duplicate keys" % label, 0, dup)
    exp = {c.key(): c for c in tr.calls if site is None or c.site == site}
    missing = sorted(set(exp) - set(got))
    extra = sorted(set(got) - set(exp))
    ck.ok(not missing, "%s: %d of %d truth calls missing, e.g. %s" % (label, len(missing), len(exp), missing[:5]))
    ck.ok(not extra, "%s: %d rows not in the truth, e.g. %s" % (label, len(extra), extra[:5]))
    bad = 0
    sa, sl = tr.short_abandon_s, tr.service_level_s
    for k in set(exp) & set(got):
        c, r = exp[k], got[k]
        want = {
            "ended": c.ended, "outcome": c.outcome, "end_reason": c.end_reason,
            "transferred": c.transferred,
            "short_abandoned": c.outcome == "abandoned" and c.wait < sa,
            "within_sl": c.outcome == "answered" and c.wait <= sl,
            "collector": collector,
        }
        diffs = [(f, v, r[f]) for f, v in want.items() if r[f] != v]
        # waits: exact for answered and abandoned; timed_out may be NULL (not always in the source)
        if c.outcome in ("answered", "abandoned") or r["wait_s"] is not None:
            if r["wait_s"] != c.wait:
                diffs.append(("wait_s", c.wait, r["wait_s"]))
        if c.outcome == "answered":
            if c.end_reason.startswith("COMPLETE") or r["talk_s"] is not None:
                if r["talk_s"] != c.talk:
                    diffs.append(("talk_s", c.talk, r["talk_s"]))
            if r["agent"] != c.agent:
                diffs.append(("agent", c.agent, r["agent"]))
        elif r["talk_s"] not in (None, 0):
            diffs.append(("talk_s", None, r["talk_s"]))
        if diffs:
            bad += 1
            if bad <= 10:
                ck.fail("%s %s: %s" % (label, _kstr(k), ", ".join("%s expected %r got %r" % d for d in diffs)))
    ck.ok(bad == 0, "%s: %d rows differ from the truth" % (label, bad))
    log("%s: %d rows compared, %d missing, %d extra, %d different" % (label, len(exp), len(missing), len(extra), bad))


def full_range(tr):
    rng = tr.range()
    if rng is None:
        return 0, 60
    lo = rng[0] - rng[0] % 60
    hi = rng[1] - rng[1] % 60 + 60
    return lo, hi


def check_aggregates(ck, conn, tr, site=None, rnd=None, nranges=12):
    """call_agg minute sums over the whole trace and random ranges, hour grain
    sums, day grain totals, the hourly and daily views."""
    lo, hi = full_range(tr)
    ck.figures("call_agg minute [all]", tr.figures(lo, hi, site=site), pg_agg_range(conn, lo, hi, "minute", site))
    rnd = rnd or random.Random(1)
    for _ in range(nranges):
        a = rnd.randrange(lo, hi)
        a -= a % 60
        b = a + 60 * rnd.choice([1, 15, 60, 61, 24 * 60, 3 * 24 * 60])
        ck.figures("call_agg minute [%s,%s)" % (iso(a), iso(b)), tr.figures(a, b, site=site),
                   pg_agg_range(conn, a, b, "minute", site))
    hlo, hhi = lo - lo % 3600, hi - hi % 3600 + 3600
    ck.figures("call_agg hour [all]", tr.figures(hlo, hhi, site=site), pg_agg_range(conn, hlo, hhi, "hour", site))
    # day rows: whatever their day boundary, they must add up to the whole
    day = pg_agg_range(conn, hlo - 2 * 86400, hhi + 2 * 86400, "day", site)
    exp = tr.figures(hlo - 2 * 86400, hhi + 2 * 86400, site=site)
    for k, e in exp.items():
        g = day.get(k)
        ck.ok(g is not None and all(g[c] == e[c] for c in COUNT_FIELDS),
              "call_agg day rows for %s: counts %s, expected %s" % (
                  _kstr(k), g and {c: g[c] for c in COUNT_FIELDS}, {c: e[c] for c in COUNT_FIELDS}))
    hv = {k: v for k, v in tr.hourly().items() if site is None or k[0] == site}
    ck.figures("call_indicators_hourly", hv, pg_view(conn, "call_indicators_hourly", site))
    dv = {k: v for k, v in tr.daily().items() if site is None or k[0] == site}
    ck.figures("call_indicators_daily", dv, pg_view(conn, "call_indicators_daily", site))


def redis_windows_diff(r, tr, site, queues):
    """Compare every window hash of site with the truth over its own [from, to).
    Returns a list of readable mismatches (empty = exact)."""
    errs = []
    for qn in queues:
        for w, secs in WINDOWS.items():
            got = redis_window(r, site, qn, w)
            key = window_key(site, qn, w)
            if got is None:
                exp_any = tr.figures(int(time.time()) - secs, int(time.time()) + 60, site=site, queue=qn)
                if exp_any:
                    errs.append("%s: missing (truth has %d calls in the last %s)" % (
                        key, exp_any[(site, qn)]["offered"], w))
                continue
            meta, figs, ferr = got
            errs += ["%s: %s" % (key, e) for e in ferr]
            if ferr and any("from" in e or "to=" in e for e in ferr):
                continue
            frm, to = parse_time(meta["from"]), parse_time(meta["to"])
            if to - frm != secs:
                errs.append("%s: from %s to %s is not %s" % (key, meta["from"], meta["to"], w))
            if to % 60:
                errs.append("%s: to %s is not the end of a minute" % (key, meta["to"]))
            if meta["site"] != site or meta["queue"] != qn or meta["window"] != w:
                errs.append("%s: site/queue/window fields %r/%r/%r" % (key, meta["site"], meta["queue"], meta["window"]))
            exp = tr.figures(frm, to, site=site, queue=qn).get((site, qn))
            if exp is None:
                exp = truthmod.figures_from_counters(truthmod.new_counters())
            for f, e, g in diff_figures(exp, figs):
                errs.append("%s [%s, %s) %s: expected %s got %s" % (key, meta["from"], meta["to"], f, fmt_v(e), fmt_v(g)))
    return errs


def check_redis(ck, env, tr, site, timeout=30, daemon=None, label="redis windows", all_queues=None):
    """Poll until every window of every queue equals the truth (the daemon
    refreshes on its own period), then record the result in ck. all_queues:
    every queue name the daemon may know (default: those of tr's calls and
    open calls)."""
    r = env.rcli()
    queues = sorted({c.queue for c in tr.calls if c.site == site})
    last = []

    def exact():
        last[:] = redis_windows_diff(r, tr, site, queues)
        return not last
    try:
        wait_until(exact, timeout, label, interval=0.25, alive=daemon.alive if daemon else None)
    except TestFailure as e:
        ck.fail("%s: not exact after %ds (%d mismatches):" % (label, timeout, len(last)))
        for m in last[:20]:
            ck.fail("  " + m)
        if not last:
            ck.fail(str(e))
        return False
    ck.ok(True, label)
    # the set of queues
    members = {m.decode("utf-8") for m in r.smembers(queues_key(site))}
    allq = set(all_queues) if all_queues is not None else (
        {c.queue for c in tr.calls if c.site == site} | {o.queue for o in tr.open if o.site == site})
    ck.ok({esc(x) for x in queues} <= members <= {esc(x) for x in allq},
          "%s: %s holds %s, expected the escaped names of %s" % (label, queues_key(site), sorted(members), sorted(allq)))
    log("%s: %d queues x %d windows exact" % (label, len(queues), len(WINDOWS)))
    return True


def check_live(ck, env, tr, site, label="redis live"):
    """calls_waiting exact; longest_wait_s = updated_at - oldest waiting entry (+-2 s)."""
    r = env.rcli()
    for (s, qn), g in tr.live().items():
        if s != site:
            continue
        h = r.hgetall(live_key(site, qn))
        d = {k.decode(): v.decode() for k, v in h.items()}
        if not d:
            ck.ok(g["calls_waiting"] == 0, "%s %s: missing, expected calls_waiting=%d" % (
                label, live_key(site, qn), g["calls_waiting"]))
            continue
        ck.eq("%s %s calls_waiting" % (label, live_key(site, qn)), str(g["calls_waiting"]), d.get("calls_waiting"))
        if g["calls_waiting"]:
            try:
                at = parse_time(d["updated_at"])
                lw = int(d["longest_wait_s"])
            except (KeyError, ValueError):
                ck.fail("%s %s: bad longest_wait_s/updated_at %r" % (label, live_key(site, qn), d))
                continue
            want = at - g["oldest"]
            ck.ok(abs(lw - want) <= 2, "%s %s: longest_wait_s %d, expected %d (updated_at %s - oldest entry %s)" % (
                label, live_key(site, qn), lw, want, d["updated_at"], iso(g["oldest"])))
        else:
            ck.ok(d.get("longest_wait_s") in (None, "0"), "%s %s: longest_wait_s %r with nobody waiting" % (
                label, live_key(site, qn), d.get("longest_wait_s")))


def check_reachctl(ck, env, cfg, tr, site=None, rnd=None, nranges=4):
    lo, hi = full_range(tr)
    ranges = [(lo, hi)]
    rnd = rnd or random.Random(2)
    for _ in range(nranges):
        a = rnd.randrange(lo, hi)
        a -= a % 60
        ranges.append((a, a + 60 * rnd.choice([15, 60, 24 * 60])))
    for i, (a, b) in enumerate(ranges):
        fmt = "iso" if i % 2 == 0 else "space"
        got, errs = reachctl_indicators(env, cfg, a, b, site=site, fmt=fmt)
        for e in errs:
            ck.fail("reachctl: " + e)
        ck.figures("reachctl indicators [%s,%s)" % (iso(a), iso(b)), tr.figures(a, b, site=site), got)
    # one queue alone
    qs = sorted({c.queue for c in tr.calls if site is None or c.site == site})
    if qs:
        qn = qs[len(qs) // 2]
        got, errs = reachctl_indicators(env, cfg, lo, hi, site=site, queue=qn)
        ck.figures("reachctl indicators --queue %s" % qn, tr.figures(lo, hi, site=site, queue=qn), got)


def check_everything(ck, env, cfg, tr, site, daemon=None, rnd=None, redis_timeout=30):
    conn = env.db()
    try:
        check_calls(ck, conn, tr, site)
        check_aggregates(ck, conn, tr, site, rnd)
    finally:
        conn.close()
    check_redis(ck, env, tr, site, timeout=redis_timeout, daemon=daemon)
    check_reachctl(ck, env, cfg, tr, site, rnd)


# ---------------------------------------------------------------- running a test


def run(fn, name=None):
    """Run a test function; print PASS/FAIL; exit 0/1 (77 = skipped)."""
    name = name or os.path.basename(sys.argv[0])
    t0 = time.time()
    try:
        fn()
    except Skip as e:
        print("SKIP %s: %s" % (name, e))
        sys.exit(77)
    except TestFailure as e:
        print("FAIL %s (%.1fs): %s" % (name, time.time() - t0, e))
        sys.exit(1)
    except KeyboardInterrupt as e:
        print("FAIL %s: interrupted (%s)" % (name, e))
        sys.exit(1)
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        print("FAIL %s (%.1fs): unexpected error" % (name, time.time() - t0))
        sys.exit(1)
    print("PASS %s (%.1fs)" % (name, time.time() - t0))
    sys.exit(0)
