# SPDX-License-Identifier: ISC
"""postfix: a private Postfix 3.7 for tests, demos and benches.

It runs as root from a temporary directory with its own config_directory,
queue_directory and data_directory (the system's /etc/postfix/main.cf is
never read), smtpd listeners on 127.0.0.1 only, chroot off, every message
delivered to discard:, and its log in a file.  Python 3 stdlib, on top of
mwtest.

    import postfix
    pf = postfix.Postfix({22180: {},
                          22181: {"smtpd_milters": "inet:127.0.0.1:22190"}},
                         main={"milter_default_action": "accept"},
                         tls=True, sasl_path=dc.auth_socket)
    pf.start()                  # returns once every listener accepts
    ...                         # speak SMTP to 127.0.0.1:22180
    pf.wait_log(r"status=sent")
    pf.stop()                   # nothing of it left running

Postfix(listeners, main=None, tls=False, sasl_path=None, dir=None)
    listeners   {port: {parameter: value}}: one smtpd per port, each with
                its own -o overrides (e.g. smtpd_milters, smtpd_command_filter).
    main        extra main.cf parameters (later ones win over the defaults).
    tls         generate a self-signed certificate with openssl and offer
                STARTTLS (smtpd_tls_security_level = may).
    sasl_path   a Dovecot auth client socket: smtpd_sasl_type = dovecot,
                smtpd_sasl_auth_enable = yes.
    dir         directory to use instead of a new mwtest.tmpdir().

Attributes: dir, conf_dir, queue_dir, log_path, cert, key, proc (the Popen of
`master -d`, None when stopped).

Methods:
    start(timeout=20)   write main.cf/master.cf, create the queue, start
                 master in the foreground, wait until every port accepts.
    stop()       SIGTERM master, wait, SIGKILL anything left in its group.
    log() -> str     the whole mail log so far.
    log_since(mark) -> str  the log after mark = len(log()) taken earlier.
    wait_log(regex, timeout=5, since=0) -> re.Match
    write_file(name, text) -> path   a file in the config directory
                 (e.g. a smtpd_command_filter table).
    postconf(*args) -> str   run postconf -c <conf_dir> with args.

Launcher (used by bench/milter.sh and the demo):
    python3 postfix.py --port P[:param=value,...] ... [--main k=v ...]
        [--dir DIR] [--tls] [--sasl-path PATH]
It starts Postfix, prints "ready <master-pid>" and runs until SIGTERM or
SIGINT, then stops it.
"""
import os
import pwd
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mwtest  # noqa: E402

MASTER = "/usr/lib/postfix/sbin/master"
POSTFIX = "/usr/sbin/postfix"
POSTCONF = "/usr/sbin/postconf"

# The services a discarding, chroot-less instance needs.
_SERVICES = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


group_pids = mwtest.group_pids


class Postfix:
    """One private Postfix instance (see the module docstring)."""

    def __init__(self, listeners, main=None, tls=False, sasl_path=None,
                 dir=None):
        self.listeners = {int(p): dict(o or {}) for p, o in
                          listeners.items()}
        self.main = dict(main or {})
        self.tls = tls
        self.sasl_path = sasl_path
        self.dir = dir or mwtest.tmpdir("mwpostfix-")
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.conf_dir = os.path.join(self.dir, "conf")
        self.queue_dir = os.path.join(self.dir, "queue")
        self.data_dir = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "maillog")
        self.cert = os.path.join(self.conf_dir, "cert.pem")
        self.key = os.path.join(self.conf_dir, "key.pem")
        self.proc = None
        self._errf = None
        for d in (self.conf_dir, self.queue_dir, self.data_dir):
            os.makedirs(d, mode=0o755, exist_ok=True)
        pw = pwd.getpwnam("postfix")
        os.chown(self.data_dir, pw.pw_uid, pw.pw_gid)

    # -- configuration ---------------------------------------------------

    def write_file(self, name, text):
        """Write a file into the config directory; return its path."""
        path = os.path.join(self.conf_dir, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o644)
        return path

    def _make_cert(self):
        if os.path.exists(self.cert):
            return
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-days", "2", "-subj",
                        "/CN=mx.test.example", "-keyout", self.key,
                        "-out", self.cert], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=30)
        os.chmod(self.key, 0o600)

    def _main_cf(self):
        params = [
            ("compatibility_level", "3.6"),
            ("config_directory", self.conf_dir),
            ("queue_directory", self.queue_dir),
            ("data_directory", self.data_dir),
            ("mail_owner", "postfix"),
            ("setgid_group", "postdrop"),
            ("myhostname", "mx.test.example"),
            ("mydomain", "test.example"),
            ("myorigin", "$myhostname"),
            ("mydestination", ""),
            ("inet_interfaces", "127.0.0.1"),
            ("inet_protocols", "ipv4"),
            ("mynetworks", "127.0.0.0/8"),
            ("maillog_file", self.log_path),
            ("maillog_file_prefixes", self.dir),
            ("alias_maps", ""),
            ("alias_database", ""),
            ("local_recipient_maps", ""),
            ("default_transport", "discard:"),
            ("local_transport", "discard:"),
            ("relay_transport", "discard:"),
            ("virtual_transport", "discard:"),
            ("smtpd_relay_restrictions",
             "permit_mynetworks, permit_sasl_authenticated, "
             "reject_unauth_destination"),
            ("smtpd_banner", "$myhostname ESMTP"),
            ("biff", "no"),
            ("smtputf8_enable", "yes"),
            ("smtpd_error_sleep_time", "0"),
            # "connect from localhost[127.0.0.1]:PORT": tests match the
            # port with the event's client_port.
            ("smtpd_client_port_logging", "yes"),
            ("milter_default_action", "tempfail"),
            ("disable_dns_lookups", "yes"),
            ("smtp_dns_support_level", "disabled"),
        ]
        if self.tls:
            self._make_cert()
            params += [("smtpd_tls_cert_file", self.cert),
                       ("smtpd_tls_key_file", self.key),
                       ("smtpd_tls_security_level", "may"),
                       ("smtpd_tls_session_cache_database", "")]
        if self.sasl_path:
            params += [("smtpd_sasl_type", "dovecot"),
                       ("smtpd_sasl_path", self.sasl_path),
                       ("smtpd_sasl_auth_enable", "yes"),
                       ("smtpd_sasl_security_options", "noanonymous"),
                       ("smtpd_sasl_tls_security_options", "noanonymous"),
                       ("broken_sasl_auth_clients", "no")]
        params += list(self.main.items())
        seen = {}
        for k, v in params:
            seen[k] = v
        return "".join("%s = %s\n" % (k, v) for k, v in seen.items())

    def _master_cf(self):
        out = []
        for port, opts in sorted(self.listeners.items()):
            out.append("127.0.0.1:%d inet n - n - - smtpd\n" % port)
            for k, v in opts.items():
                if " " in str(v) or "," in str(v):
                    v = "{%s}" % v
                out.append("  -o %s=%s\n" % (k, v))
        return "".join(out) + _SERVICES

    # -- life cycle ------------------------------------------------------

    def start(self, timeout=20):
        """Start Postfix; return once every listener accepts."""
        if self.proc is not None:
            raise RuntimeError("postfix already started")
        self.write_file("main.cf", self._main_cf())
        self.write_file("master.cf", self._master_cf())
        open(self.log_path, "a").close()
        # postfix check creates the queue directories with their owners.
        r = subprocess.run([POSTFIX, "-c", self.conf_dir, "check"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=60)
        if r.returncode != 0:
            raise mwtest.Fail("postfix check failed: %s\n%s" %
                              (r.stdout.decode(errors="replace"),
                               self._tail()))
        self._errf = open(os.path.join(self.dir, "master.stderr"), "ab")
        self.proc = mwtest.spawn([MASTER, "-c", self.conf_dir, "-d"],
                                 stdout=self._errf, stderr=self._errf)
        try:
            end = time.time() + timeout
            for port in self.listeners:
                self._wait(lambda p=port: mwtest.tcp_listening(p), end,
                           "port %d" % port)
        except mwtest.Fail as e:
            tail = self._tail()
            self.stop()
            raise mwtest.Fail("postfix did not start: %s\n%s" % (e, tail))
        return self

    def _wait(self, pred, end, what):
        mwtest.wait_alive(self.proc, pred, end, what, "postfix master")

    def pids(self):
        """Every live process of this instance (its process group)."""
        if self.proc is None:
            return []
        return group_pids(self.proc.pid)

    def stop(self):
        """Stop master and every child; leave nothing running."""
        if self.proc is None:
            return
        p = self.proc
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                pass
        end = time.time() + 5
        while True:
            left = [x for x in group_pids(p.pid)
                    if x != p.pid or p.poll() is None]
            if not left or time.time() > end:
                break
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            time.sleep(0.05)
        mwtest.stop(p, timeout=5)
        self.proc = None
        if self._errf:
            self._errf.close()
            self._errf = None

    # -- log and tools ---------------------------------------------------

    def log(self):
        """The whole mail log so far."""
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def log_since(self, mark):
        return self.log()[mark:]

    def wait_log(self, regex, timeout=5, since=0):
        """First match of regex in the log (after offset since)."""
        rx = re.compile(regex)
        end = time.time() + timeout
        while True:
            m = rx.search(self.log()[since:])
            if m:
                return m
            if time.time() > end:
                raise mwtest.Fail("mail log has no %r; tail:\n%s" %
                                  (regex, self._tail(15)))
            time.sleep(0.05)

    def _tail(self, n=30):
        out = []
        for path in (os.path.join(self.dir, "master.stderr"),
                     self.log_path):
            try:
                with open(path, errors="replace") as f:
                    out += f.read().splitlines()[-n:]
            except OSError:
                pass
        return "\n".join(out)

    def client_ports(self, since=0):
        """Client ports of the sessions Postfix accepted after since."""
        return [int(p) for p in re.findall(
            r": connect from [^\[]*\[127\.0\.0\.1\]:(\d+)",
            self.log()[since:])]

    def postconf(self, *args):
        r = subprocess.run([POSTCONF, "-c", self.conf_dir] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=30)
        return r.stdout.decode(errors="replace")


# -- mailwarden-milter and SMTP clients ---------------------------------

MILTER = os.path.join(mwtest.BIN, "mailwarden-milter")
EVENT_KEYS = ["ts", "event", "service", "protection", "action",
              "attack_name", "attack_info", "client", "client_port",
              "session", "user", "detail"]


class Milter:
    """A mailwarden-milter on 127.0.0.1:port, or on the UNIX socket path
    unix, with its own configuration.

    smtp is the text inside the smtp { } section (the socket is added),
    top is top-level text, log more text inside log { }; events go to
    <dir>/events.json; syslog is off unless a mwtest.SyslogSink is given.
    """

    def __init__(self, port, smtp="", top="", dir=None, log="", unix=None,
                 syslog=None):
        self.port = port
        self.unix = unix
        self.syslog = syslog
        self.dir = dir or mwtest.tmpdir("mwmilter-")
        self.conf = os.path.join(self.dir, "mailwarden.conf")
        self.json = os.path.join(self.dir, "events.json")
        self.spec = ("unix:" + unix if unix else
                     "inet:127.0.0.1:%d" % port)
        self.proc = None
        self.log = log
        self.write_conf(smtp, top)

    def write_conf(self, smtp="", top=""):
        sock = ("unix:" + self.unix if self.unix else
                "inet:%d@127.0.0.1" % self.port)
        with open(self.conf, "w") as f:
            f.write('%s\nlog { syslog = %s json_file = "%s" %s }\n'
                    'smtp {\n  socket = "%s"\n%s\n}\n' %
                    (top, "true" if self.syslog else "false", self.json,
                     self.log, sock, smtp))

    def listening(self):
        if self.unix:
            return os.path.exists(self.unix)
        return mwtest.tcp_listening(self.port)

    def table(self):
        """The -P smtpd_command_filter table of this configuration."""
        r = subprocess.run([MILTER, "-c", self.conf, "-P"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=10)
        if r.returncode != 0:
            raise mwtest.Fail("-P failed: %s" % r.stderr.decode())
        return r.stdout.decode()

    def start(self, timeout=10):
        self._errf = open(os.path.join(self.dir, "milter.stderr"), "ab")
        argv = [MILTER, "-f", "-c", self.conf]
        self.proc = mwtest.spawn(self.syslog.wrap(argv) if self.syslog
                                 else argv,
                                 stdout=self._errf, stderr=self._errf)
        end = time.time() + timeout
        while not self.listening():
            if self.proc.poll() is not None or time.time() > end:
                raise mwtest.Fail("milter on %s did not start: %s" %
                                  (self.spec, self.stderr()))
            time.sleep(0.02)
        return self

    def stderr(self):
        try:
            with open(os.path.join(self.dir, "milter.stderr"),
                      errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        """SIGTERM; the exit status."""
        if self.proc is None:
            return None
        # libmilter notices a stop request within about 5 s; then open
        # sessions get shutdown_timeout (30 s by default).
        rc = mwtest.stop(self.proc, timeout=40)
        self.proc = None
        self._errf.close()
        return rc

    def events(self):
        return mwtest.read_events(self.json)

    def wait_events(self, n, timeout=5):
        """Wait until there are at least n events; return them all."""
        return mwtest.wait_for(lambda: len(self.events()) >= n and
                               self.events(), timeout,
                               "%d events in %s" % (n, self.json))


def event_check(e, protection, action, attack_name, attack_info, detail,
                user=None, client_port=None):
    """Assert one attack event field by field, keys in SPEC order."""
    mwtest.eq(list(e.keys()), EVENT_KEYS, "event keys")
    mwtest.check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",
                              e["ts"]), "ts %r" % e["ts"])
    mwtest.check(re.fullmatch(r"[0-9a-f]{16}", e["session"]),
                 "session %r" % e["session"])
    want = {"event": "attack", "service": "smtp", "protection": protection,
            "action": action, "attack_name": attack_name,
            "attack_info": attack_info, "client": "127.0.0.1",
            "user": user, "detail": detail}
    got = {k: e[k] for k in want}
    mwtest.eq(got, want, "event")
    if client_port is not None:
        mwtest.eq(e["client_port"], client_port, "client_port")
    else:
        mwtest.check(isinstance(e["client_port"], int) and
                     e["client_port"] > 0, "client_port %r" %
                     e["client_port"])


def swaks(port, *args, timeout=30):
    """Run swaks against 127.0.0.1:port; (exit status, [server replies]).

    Each reply is the text of one (last) reply line, e.g.
    "550 5.7.1 Command was blocked by Security Policy"."""
    argv = ["swaks", "--server", "127.0.0.1:%d" % port, "--helo",
            "client.test.example", "--timeout", "20"]
    argv += list(args)
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout)
    out = r.stdout.decode("utf-8", errors="replace")
    replies = []
    for ln in out.splitlines():
        m = re.match(r"^(<-|<~|<\*\*|<~\*) +(\d{3} .*)$", ln)
        if m:
            replies.append(m.group(2))
    return r.returncode, replies, out


def _main(argv):
    import argparse
    ap = argparse.ArgumentParser(description="run a private Postfix")
    ap.add_argument("--port", action="append", required=True,
                    help="PORT[:param=value,param=value...]")
    ap.add_argument("--main", action="append", default=[], help="k=v")
    ap.add_argument("--dir")
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--sasl-path")
    a = ap.parse_args(argv)
    listeners = {}
    for spec in a.port:
        port, _, opts = spec.partition(":")
        o = {}
        for kv in filter(None, opts.split(",")):
            k, _, v = kv.partition("=")
            o[k] = v
        listeners[int(port)] = o
    main = dict(kv.split("=", 1) for kv in a.main)
    if a.dir:
        os.makedirs(a.dir, exist_ok=True)
    pf = Postfix(listeners, main, a.tls, a.sasl_path, dir=a.dir)
    return mwtest.serve(pf)


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
