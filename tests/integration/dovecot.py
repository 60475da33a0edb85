# SPDX-License-Identifier: ISC
"""dovecot: a private Dovecot 2.3 POP3 server for tests, demos and benches.

It runs as root from a temporary directory with its own dovecot.conf (the
system's /etc/dovecot is never read), its own base_dir, state_dir and log,
and listens on 127.0.0.1 only.  Python 3 stdlib, on top of mwtest.

    import dovecot
    dc = dovecot.Dovecot(port=21110, haproxy_port=21111,
                         users={"alice": "secret", "bob": "pw"},
                         trusted_networks="127.0.0.1")
    dc.add_message("alice", b"Subject: hi\\r\\n\\r\\nbody\\r\\n")
    dc.start()                  # returns once both ports accept
    ...                         # speak POP3 to 127.0.0.1:21110
    dc.wait_log(r"Login: user=<alice>.*rip=192\\.0\\.2\\.7")
    dc.stop()                   # nothing of it left running

Dovecot(port, haproxy_port=None, users=None, trusted_networks="",
        perf=False, extra_conf="", dir=None, unix_listener=False)
    port             plain POP3 listener (USER/PASS allowed on loopback).
    haproxy_port     second POP3 listener with `haproxy = yes` (PROXY
                     protocol v1/v2 mandatory there); haproxy_trusted_networks
                     is 127.0.0.1.  None: no such listener.
    users            {name: password}; passdb passwd-file with {PLAIN}
                     passwords, so PLAIN, LOGIN and CRAM-MD5 all work.
                     Default {"alice": "secret"}.
    trusted_networks login_trusted_networks (space separated CIDRs).  When
                     it holds 127.0.0.1 the plain port greets with
                     "+OK [XCLIENT] Dovecot (Debian) ready." and accepts
                     XCLIENT (otherwise: "+OK Dovecot (Debian) ready.").
    perf             settings for load tests: raised process/client limits
                     (8,192 connections), reused pop3 processes, auth
                     cache, mail_fsync = never, login lines only.  Without
                     it: 2,048 pre-login connections, 512 logged-in.
    extra_conf       text appended to dovecot.conf (later settings win).
    dir              directory to use instead of a new mwtest.tmpdir().
    unix_listener    also accept POP3 on the UNIX socket pop3_socket
                     (Dovecot logs such logins without rip=).

Attributes (valid after construction):
    dir          the temporary directory
    conf         path of the generated dovecot.conf
    log_path     the log file: every login, failure and disconnect, with
                 rip= (the client address Dovecot believes) and lip=
    pop3_socket  POP3 UNIX socket of pop3-login (unix_listener), or None
    auth_socket  Dovecot auth client socket, mode 0666, for Postfix
                 (smtpd_sasl_type = dovecot, smtpd_sasl_path = auth_socket)
    mail_uid, mail_gid   the unprivileged owner of the mailboxes
    proc         the Popen of the master (`dovecot -F`), None when stopped

Methods:
    add_user(name, password)     before start(); start() writes passwd.
    add_message(user, data, name=None) -> path
                 drop a message (bytes or str; LF turned into CRLF only if
                 the data holds no CR) into the user's Maildir/new.  Works
                 before and after start().
    maildir(user) -> path of the user's Maildir.
    start(timeout=15)   start (about 0.05 s) and return once every port
                 listens and the auth socket answers a handshake; raises
                 mwtest.Fail with the log tail on failure.  start() again
                 after stop() reuses the directory and its mailboxes.
    stop()       SIGTERM the process group, wait, SIGKILL whatever is left.
                 Idempotent; also run at interpreter exit (mwtest).
    log() -> str               the whole log so far.
    wait_log(regex, timeout=5) -> re.Match   first match in the log, waiting
                 for the log process to write it; raises mwtest.Fail.
    pids() -> [int]   every process of this instance (master and children).

group_pids(pgid) -> [int]   live processes of a process group (the master's
    pid is its group: after stop(), group_pids(old_master_pid) == []).

Behaviour worth knowing:
    - Mailboxes are Maildirs under dir/home/<user>, owned by the system user
      "mail" (a system user "mwtest" is created if "mail" is missing).
    - A failed login is answered within 0.5 s (auth_failure_delay = 0) and
      Dovecot's per-IP auth penalty is off, so tests may fail logins from
      127.0.0.1 freely.  mail_max_userip_connections is 10000.
    - Log lines: "pop3-login: Info: Login: user=<alice>, method=PLAIN,
      rip=192.0.2.7, lip=127.0.0.1, ..." and "Disconnected ...: user=<>,
      rip=..." for sessions without a login.  start() makes no connection
      of its own, so every rip= in the log comes from the test.
    - Passwords may not hold ":" or a newline (passwd-file format).

The module can also be run as a launcher (used by bench/run):
    python3 dovecot.py --port P [--haproxy-port H] [--perf]
        [--user NAME:PASS ...] [--message USER:FILE ...] [--trusted CIDRS]
        [--dir DIR]
It starts Dovecot, prints "ready <master-pid>" and runs until SIGTERM or
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

DOVECOT = "/usr/sbin/dovecot"
_seq = 0


def _mail_owner():
    """An unprivileged uid/gid for the mailboxes: mail, else a test user."""
    for name in ("mail", "mwtest"):
        try:
            pw = pwd.getpwnam(name)
            return pw.pw_uid, pw.pw_gid
        except KeyError:
            pass
    subprocess.run(["useradd", "--system", "--no-create-home",
                    "--shell", "/usr/sbin/nologin", "mwtest"],
                   check=True, stdout=subprocess.DEVNULL)
    pw = pwd.getpwnam("mwtest")
    return pw.pw_uid, pw.pw_gid


def _system_user(names):
    """The first existing user among names (for Dovecot's own processes)."""
    for n in names:
        try:
            pwd.getpwnam(n)
            return n
        except KeyError:
            pass
    return "nobody"


group_pids = mwtest.group_pids


class Dovecot:
    """One private Dovecot instance (see the module docstring)."""

    def __init__(self, port, haproxy_port=None, users=None,
                 trusted_networks="", perf=False, extra_conf="", dir=None,
                 unix_listener=False):
        self.port = port
        self.haproxy_port = haproxy_port
        self.users = dict(users if users is not None else {"alice": "secret"})
        self.trusted_networks = trusted_networks
        self.perf = perf
        self.extra_conf = extra_conf
        self.dir = dir or mwtest.tmpdir("mwdovecot-")
        os.chmod(self.dir, 0o755)
        self.conf = os.path.join(self.dir, "dovecot.conf")
        self.log_path = os.path.join(self.dir, "dovecot.log")
        self.base_dir = os.path.join(self.dir, "run")
        self.auth_socket = os.path.join(self.base_dir, "auth-client")
        self.passwd = os.path.join(self.dir, "passwd")
        self.pop3_socket = (os.path.join(self.dir, "pop3.sock")
                            if unix_listener else None)
        self.home = os.path.join(self.dir, "home")
        self.mail_uid, self.mail_gid = _mail_owner()
        self.proc = None
        self._logf = None
        for d in (self.base_dir, self.home, os.path.join(self.dir, "state")):
            os.makedirs(d, mode=0o755, exist_ok=True)
        for u in self.users:
            self._make_maildir(u)

    # -- mailboxes -------------------------------------------------------

    def maildir(self, user):
        """Path of a user's Maildir."""
        return os.path.join(self.home, user, "Maildir")

    def _chown(self, path):
        os.chown(path, self.mail_uid, self.mail_gid)

    def _make_maildir(self, user):
        h = os.path.join(self.home, user)
        for d in (h, self.maildir(user)) + tuple(
                os.path.join(self.maildir(user), s)
                for s in ("new", "cur", "tmp")):
            if not os.path.isdir(d):
                os.mkdir(d, 0o700)
            self._chown(d)

    def add_user(self, name, password):
        """Add a user (before start)."""
        self.users[name] = password
        self._make_maildir(name)

    def add_message(self, user, data, name=None):
        """Deliver one message into user's Maildir/new; return its path."""
        global _seq
        if isinstance(data, str):
            data = data.encode("utf-8")
        if b"\r" not in data:
            data = data.replace(b"\n", b"\r\n")
        if user not in self.users:
            raise ValueError("unknown user %r" % user)
        self._make_maildir(user)
        _seq += 1
        if name is None:
            name = "%d.M%dP%dQ%d.mwtest" % (int(time.time()),
                                           int(time.time() * 1e6) % 1000000,
                                           os.getpid(), _seq)
        md = self.maildir(user)
        tmp = os.path.join(md, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(data)
        self._chown(tmp)
        dst = os.path.join(md, "new", name)
        os.rename(tmp, dst)
        return dst

    # -- configuration ---------------------------------------------------

    def _write_passwd(self):
        with open(self.passwd, "w") as f:
            for u, p in self.users.items():
                if ":" in u or "\n" in u or ":" in p or "\n" in p:
                    raise ValueError("bad user or password for passwd-file")
                f.write("%s:{PLAIN}%s::::::\n" % (u, p))
        os.chmod(self.passwd, 0o644)

    def _config(self):
        internal = _system_user(("dovecot", "nobody"))
        login = _system_user(("dovenull", "nobody"))
        uid = self.mail_uid
        gid = self.mail_gid
        listeners = ["  inet_listener pop3 {\n"
                     "    address = 127.0.0.1\n"
                     "    port = %d\n  }\n" % self.port,
                     "  inet_listener pop3s {\n    port = 0\n  }\n"]
        if self.haproxy_port:
            listeners.append("  inet_listener pop3_haproxy {\n"
                             "    address = 127.0.0.1\n"
                             "    port = %d\n"
                             "    haproxy = yes\n  }\n" % self.haproxy_port)
        if self.pop3_socket:
            listeners.append("  unix_listener %s {\n"
                             "    mode = 0666\n  }\n" % self.pop3_socket)
        if self.perf:
            login_tuning = ("  service_count = 0\n"
                            "  process_min_avail = 1\n"
                            "  process_limit = 4\n"
                            "  client_limit = 8192\n"
                            "  vsz_limit = 1G\n")
            pop3_tuning = ("service pop3 {\n"
                           "  service_count = 0\n"
                           "  process_min_avail = 4\n"
                           "  process_limit = 2048\n"
                           "  client_limit = 1\n"
                           "}\n")
            perf = ("default_client_limit = 8192\n"
                    "default_process_limit = 2048\n"
                    "default_vsz_limit = 1G\n"
                    "mail_fsync = never\n"
                    "maildir_very_dirty_syncs = yes\n"
                    "auth_cache_size = 10M\n"
                    "auth_cache_ttl = 1 hour\n"
                    "auth_cache_negative_ttl = 1 hour\n"
                    "service anvil {\n  client_limit = 16384\n}\n"
                    "service auth {\n  client_limit = 16384\n}\n"
                    "service stats {\n  client_limit = 16384\n}\n")
            verbose = "auth_verbose = no\n"
        else:
            # One login process for every pre-login connection (Dovecot's
            # high-performance mode): hundreds of connections are fine.
            login_tuning = ("  service_count = 0\n"
                            "  process_min_avail = 1\n"
                            "  client_limit = 2048\n")
            pop3_tuning = ("service pop3 {\n"
                           "  process_limit = 512\n"
                           "}\n")
            perf = ""
            verbose = ("auth_verbose = yes\n"
                       "auth_verbose_passwords = no\n"
                       "verbose_proctitle = yes\n")
        return """# Generated by tests/integration/dovecot.py; private instance.
instance_name = mwdovecot-%(port)d
base_dir = %(base)s
state_dir = %(state)s
log_path = %(log)s
info_log_path = %(log)s
debug_log_path = %(log)s
protocols = pop3
listen = 127.0.0.1
ssl = no
default_internal_user = %(internal)s
default_internal_group = %(internal)s
default_login_user = %(login)s
first_valid_uid = 1
first_valid_gid = 1
disable_plaintext_auth = no
auth_mechanisms = plain login cram-md5
%(verbose)slogin_trusted_networks = %(trusted)s
haproxy_trusted_networks = 127.0.0.1
haproxy_timeout = 3 secs
# Failed logins answer within 0.5 s (Dovecot's failure timer) and the
# per-IP auth penalty is off (its anvil socket is moved where auth does not
# look): tests fail logins from 127.0.0.1 on purpose.
auth_failure_delay = 0
mail_location = maildir:~/Maildir
mail_max_userip_connections = 10000
pop3_uidl_format = %%08Xu%%08Xv
shutdown_clients = yes
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %(passwd)s
}
userdb {
  driver = static
  args = uid=%(uid)d gid=%(gid)d home=%(home)s/%%u
}
service pop3-login {
%(listeners)s%(login_tuning)s}
%(pop3_tuning)sservice anvil {
  unix_listener anvil-auth-penalty {
    path = anvil-auth-penalty-off
  }
}
service auth {
  unix_listener auth-client {
    mode = 0666
  }
  unix_listener auth-userdb {
    mode = 0600
  }
}
protocol pop3 {
  mail_max_userip_connections = 10000
}
%(perf)s%(extra)s
""" % {"port": self.port, "base": self.base_dir,
       "state": os.path.join(self.dir, "state"), "log": self.log_path,
       "internal": internal, "login": login, "verbose": verbose,
       "trusted": self.trusted_networks, "passwd": self.passwd,
       "uid": uid, "gid": gid, "home": self.home,
       "listeners": "".join(listeners), "login_tuning": login_tuning,
       "pop3_tuning": pop3_tuning, "perf": perf, "extra": self.extra_conf}

    # -- life cycle ------------------------------------------------------

    def start(self, timeout=15):
        """Start Dovecot; return once the ports and auth socket accept."""
        if self.proc is not None:
            raise RuntimeError("dovecot already started")
        self._write_passwd()
        with open(self.conf, "w") as f:
            f.write(self._config())
        open(self.log_path, "a").close()
        self._logf = open(os.path.join(self.dir, "dovecot.stderr"), "ab")
        self.proc = mwtest.spawn([DOVECOT, "-F", "-c", self.conf],
                                 stdout=self._logf, stderr=self._logf,
                                 preexec_fn=self._raise_nofile)
        try:
            end = time.time() + timeout
            ports = [self.port] + ([self.haproxy_port]
                                   if self.haproxy_port else [])
            for p in ports:
                self._wait(lambda p=p: mwtest.tcp_listening(p), end, "port %d" % p)
            self._wait(self._unix_ok, end, "auth socket")
        except mwtest.Fail as e:
            tail = self._tail()
            self.stop()
            raise mwtest.Fail("dovecot did not start: %s\n%s" % (e, tail))
        return self

    @staticmethod
    def _raise_nofile():
        # As many descriptors as allowed (2,000+ connections in perf mode).
        import resource
        try:
            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            want = 65536 if hard == resource.RLIM_INFINITY else hard
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        except (ValueError, OSError):
            pass

    def _wait(self, pred, end, what):
        mwtest.wait_alive(self.proc, pred, end, what, "dovecot")

    def _unix_ok(self):
        # The auth handshake (VERSION .. DONE) proves auth is up, and by
        # then Dovecot's start-up is over: a SIGTERM during start-up makes
        # children wait 5 s for a stats handshake that never comes.
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.settimeout(2)
            s.connect(self.auth_socket)
            s.sendall(b"VERSION\t1\t2\nCPID\t%d\n" % os.getpid())
            buf = b""
            while b"\nDONE\n" not in buf:
                d = s.recv(4096)
                if not d:
                    return False
                buf += d
            return True
        except OSError:
            return False
        finally:
            s.close()

    def _tail(self, n=30):
        out = []
        for path in (os.path.join(self.dir, "dovecot.stderr"),
                     self.log_path):
            try:
                with open(path, errors="replace") as f:
                    out += f.read().splitlines()[-n:]
            except OSError:
                pass
        return "\n".join(out)

    def pids(self):
        """Every live process of this instance (its process group)."""
        if self.proc is None:
            return []
        return group_pids(self.proc.pid)

    def stop(self):
        """Stop the master and every child; leave nothing running."""
        if self.proc is None:
            return
        p = self.proc
        # SIGTERM to the whole group: the master alone waits for its
        # children at a one-second tick.
        for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                pass
            end = time.time() + wait
            while time.time() < end:
                p.poll()
                if not group_pids(p.pid):
                    break
                time.sleep(0.02)
            if not group_pids(p.pid):
                break
        mwtest.stop(p, timeout=5)
        self.proc = None
        if self._logf:
            self._logf.close()
            self._logf = None

    # -- log -------------------------------------------------------------

    def log(self):
        """The whole Dovecot log so far."""
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, regex, timeout=5):
        """First match of regex in the log, waiting for it to appear."""
        rx = re.compile(regex)
        end = time.time() + timeout
        while True:
            m = rx.search(self.log())
            if m:
                return m
            if time.time() > end:
                raise mwtest.Fail("dovecot log has no %r; tail:\n%s" %
                                  (regex, self._tail(15)))
            time.sleep(0.05)


def _main(argv):
    import argparse
    ap = argparse.ArgumentParser(description="run a private Dovecot")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--haproxy-port", type=int)
    ap.add_argument("--perf", action="store_true")
    ap.add_argument("--trusted", default="")
    ap.add_argument("--dir")
    ap.add_argument("--user", action="append", default=[],
                    help="NAME:PASSWORD")
    ap.add_argument("--message", action="append", default=[],
                    help="USER:FILE")
    a = ap.parse_args(argv)
    users = dict(u.split(":", 1) for u in a.user) or None
    if a.dir:
        os.makedirs(a.dir, exist_ok=True)
    dc = Dovecot(a.port, a.haproxy_port, users, a.trusted, a.perf, dir=a.dir)
    for m in a.message:
        u, path = m.split(":", 1)
        with open(path, "rb") as f:
            dc.add_message(u, f.read())
    return mwtest.serve(dc)


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
