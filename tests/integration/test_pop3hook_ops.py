# SPDX-License-Identifier: ISC
"""pop3hook in operation: connection limits, timeouts, a backend that is
down or slow, reload (new policy for new sessions, a broken file keeps the
old, a file that cannot run is refused), graceful SIGTERM, half-closed and
reset connections, EMFILE, inspect_after_auth = false (and a client
flooding a backend that stops reading), tls = passthrough, event lines in
syslog, the event log rotated."""
import hashlib
import os
import resource
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dovecot  # noqa: E402
import mwtest  # noqa: E402
from mwtest import scenario, check, eq  # noqa: E402

DC_PORT = 21200
HOOK = os.path.join(mwtest.BIN, "mailwarden-pop3hook")
dc = None
_port = [21210]
BUSY = "-ERR [SYS/TEMP] Too many connections"
UNAVAIL = "-ERR [SYS/TEMP] Service unavailable"


def next_port():
    _port[0] += 1
    return _port[0]


class Hook:
    """A running pop3hook with its own configuration and JSON event log."""

    def __init__(self, port, backend, pop3="", top="", preexec=None,
                 syslog=None):
        self.port = port
        self.dir = mwtest.tmpdir("mwp3-")
        self.events_path = os.path.join(self.dir, "events.json")
        self.conf = os.path.join(self.dir, "mailwarden.conf")
        self.syslog = syslog
        self.write(backend, pop3, top)
        self.errpath = os.path.join(self.dir, "stderr")
        self.errf = open(self.errpath, "wb")
        argv = [HOOK, "-f", "-c", self.conf]
        self.proc = mwtest.spawn(syslog.wrap(argv) if syslog else argv,
                                 stderr=self.errf, preexec_fn=preexec)
        mwtest.wait_port(port)

    def write(self, backend, pop3="", top=""):
        """The file; syslog = true when a mwtest.SyslogSink listens."""
        with open(self.conf, "w") as f:
            f.write('%s\nlog {\n  json_file = "%s"\n  syslog = %s\n}\n'
                    'pop3 {\n  listen = {"127.0.0.1:%d"}\n'
                    '  backend = "%s"\n%s\n}\n' %
                    (top, self.events_path,
                     "true" if self.syslog else "false", self.port,
                     backend, pop3))

    def stderr(self):
        with open(self.errpath, errors="replace") as f:
            return f.read()

    def events(self, n=0):
        if n:
            mwtest.wait_for(lambda: len(self.events()) >= n, 5,
                            "%d events" % n)
        return mwtest.read_events(self.events_path)

    def stop(self):
        rc = mwtest.stop(self.proc)
        self.errf.close()
        return rc


def client(port, src="127.0.0.1"):
    c = mwtest.Line.__new__(mwtest.Line)
    c.s = socket.create_connection(("127.0.0.1", port), 10, (src, 0))
    c.s.settimeout(10)
    c.buf = b""
    return c


def echo_pop3(s, n):
    """Greet, answer +OK to each line, until EOF."""
    s.sendall(b"+OK fake\r\n")
    for _ in mwtest.recv_lines(s):
        s.sendall(b"+OK\r\n")


def setup():
    global dc
    dc = dovecot.Dovecot(DC_PORT, users={"alice": "secret"})
    dc.add_message("alice", b"Subject: x\r\n\r\nx\r\n")
    dc.start()


def login(c):
    check(c.line().startswith("+OK"), "greeting")
    eq(c.cmd("USER alice"), "+OK", "USER")
    eq(c.cmd("PASS secret"), "+OK Logged in.", "PASS")


@scenario
def per_ip_limit():
    port = next_port()
    h = Hook(port, "127.0.0.1:%d" % DC_PORT, "max_connections_per_ip = 2")
    try:
        time.sleep(0.3)         # the start-up probe's session has ended
        a, b = client(port), client(port)
        check(a.line().startswith("+OK") and b.line().startswith("+OK"),
              "two clients")
        c = client(port)
        eq(c.line(), BUSY, "third from the same address")
        check(c.eof(), "refused client closed")
        d = client(port, "127.0.0.2")
        check(d.line().startswith("+OK"), "another address is served")
        a.close()
        time.sleep(0.3)
        e = client(port)
        check(e.line().startswith("+OK"), "a slot freed by a close")
        for x in (b, d, e):
            x.close()
    finally:
        h.stop()


@scenario
def total_limit():
    port = next_port()
    h = Hook(port, "127.0.0.1:%d" % DC_PORT, "max_connections = 3")
    try:
        time.sleep(0.5)         # the start-up probe's session has ended
        cs = [client(port, "127.0.0.%d" % i) for i in (2, 3, 4)]
        for c in cs:
            check(c.line().startswith("+OK"), "under the limit")
        c = client(port, "127.0.0.5")
        eq(c.line(), BUSY, "over max_connections")
        for c in cs:
            c.close()
    finally:
        h.stop()


@scenario
def preauth_timeout():
    port = next_port()
    h = Hook(port, "127.0.0.1:%d" % DC_PORT, "preauth_timeout = 1")
    try:
        c = client(port)
        check(c.line().startswith("+OK"), "greeting")
        t0 = time.time()
        eq(c.line(), "-ERR Disconnected for inactivity", "idle client")
        check(c.eof(), "closed")
        check(0.8 < time.time() - t0 < 3, "after about 1 s")
        c.close()
    finally:
        h.stop()


@scenario
def session_timeout():
    port = next_port()
    h = Hook(port, "127.0.0.1:%d" % DC_PORT,
             "preauth_timeout = 1\nsession_timeout = 3")
    try:
        c = client(port)
        login(c)
        t0 = time.time()
        time.sleep(1.5)
        check(c.cmd("NOOP") == "+OK", "alive past preauth_timeout")
        eq(c.line(), "-ERR Disconnected for inactivity", "idle session")
        check(2.5 < time.time() - t0 < 6, "after session_timeout")
        c.close()
    finally:
        h.stop()


@scenario
def backend_down_then_reload():
    port = next_port()
    h = Hook(port, "127.0.0.1:21299")
    try:
        for _ in range(3):
            c = client(port)
            eq(c.line(), UNAVAIL, "backend down")
            check(c.eof(), "closed")
            c.close()
        check(h.proc.poll() is None, "still running")
        h.write("127.0.0.1:%d" % DC_PORT)
        os.kill(h.proc.pid, signal.SIGHUP)
        mwtest.wait_for(lambda: "configuration reloaded" in h.stderr(), 5,
                        "reload")
        c = client(port)
        login(c)
        c.close()
    finally:
        h.stop()


@scenario
def backend_slow_others_served():
    bport, port = 21290, next_port()

    def handler(s, n):
        if n == 2:             # the first client's backend: silent
            time.sleep(4)
            return
        echo_pop3(s, n)
    fk = mwtest.FakeServer(bport, handler)
    h = Hook(port, "127.0.0.1:%d" % bport, "backend_timeout = 2")
    try:
        mwtest.wait_for(lambda: fk.n >= 1, 5, "probe")
        a = client(port)
        mwtest.wait_for(lambda: fk.n >= 2, 5, "first backend connection")
        t0 = time.time()
        b = client(port)
        eq(b.line(), "+OK fake", "second client greeted at once")
        eq(b.cmd("NOOP"), "+OK", "and served")
        check(time.time() - t0 < 1, "while the first waits")
        eq(a.line(), UNAVAIL, "slow backend")
        check(1.5 < time.time() - t0 < 4, "after backend_timeout")
        a.close()
        b.close()
    finally:
        h.stop()
        fk.close()


@scenario
def reload_policy():
    port = next_port()
    h = Hook(port, "127.0.0.1:%d" % DC_PORT)
    try:
        old = client(port)
        old.line()
        h.write("127.0.0.1:%d" % DC_PORT,
                "protection empty_username { action = off }\n"
                "protection non_compliant { action = off }")
        os.kill(h.proc.pid, signal.SIGHUP)
        mwtest.wait_for(lambda: "configuration reloaded" in h.stderr(), 5,
                        "reload")
        new = client(port)
        new.line()
        eq(new.cmd("USER"), "+OK", "new session: new policy")
        eq(old.cmd("USER"), "-ERR No username supplied in USER command",
           "open session keeps its policy")
        new.close()
        old.close()
        with open(h.conf, "a") as f:
            f.write("pop3 { bogus_key = 1 }\n")
        os.kill(h.proc.pid, signal.SIGUSR1)
        mwtest.wait_for(lambda: "reload failed" in h.stderr(), 5,
                        "failed reload")
        check("mailwarden.conf:" in h.stderr(), "file:line in the log")
        check(h.proc.poll() is None, "still running")
        c = client(port)
        c.line()
        eq(c.cmd("USER"), "+OK", "the last good policy stays")
        c.close()
    finally:
        h.stop()


@scenario
def reload_refused_keeps_policy():
    """A file that parses but cannot run (tls = terminate, a backend that
    does not resolve) is refused on reload like a broken one: logged, the
    running policy kept, new sessions served by it."""
    port = next_port()
    h = Hook(port, "127.0.0.1:%d" % DC_PORT)
    try:
        for backend, pop3, why in (
                ("127.0.0.1:%d" % DC_PORT, 'tls = "terminate"',
                 "reload: tls = terminate is not supported yet: keeping "
                 "the running configuration"),
                ("mailwarden-no-such-host.invalid:110", "",
                 "reload: backend mailwarden-no-such-host.invalid:110: ")):
            h.write(backend, pop3 + "\nprotection empty_username "
                    "{ action = off }")
            os.kill(h.proc.pid, signal.SIGHUP)
            mwtest.wait_for(lambda: why in h.stderr(), 10, why)
            check(h.proc.poll() is None, "still running")
            c = client(port)
            check(c.line().startswith("+OK Dovecot"), "served by Dovecot")
            eq(c.cmd("USER"), "-ERR No username supplied in USER command",
               "the running policy stays")
            c.close()
        check("configuration reloaded" not in h.stderr(), "nothing reloaded")
    finally:
        h.stop()


@scenario
def event_log_rotation():
    """logrotate's way: rename the JSON event log, reload; the next event
    goes to a new file of the old name, nothing lost or written twice."""
    port = next_port()
    h = Hook(port, "127.0.0.1:%d" % DC_PORT)
    try:
        def empty_user():
            c = client(port)
            c.line()
            eq(c.cmd("USER"), "-ERR No username supplied in USER command",
               "refused")
            c.close()
        empty_user()
        h.events(1)
        os.rename(h.events_path, h.events_path + ".1")
        os.kill(h.proc.pid, signal.SIGHUP)
        mwtest.wait_for(lambda: "configuration reloaded" in h.stderr(), 5,
                        "reload")
        empty_user()
        new = h.events(1)
        old = mwtest.read_events(h.events_path + ".1")
        eq(len(old), 1, "one event in the rotated file")
        eq(len(new), 1, "one event in the new file")
        check(new[0]["session"] != old[0]["session"], "a later session")
    finally:
        h.stop()


@scenario
def reload_listen_changed():
    port = next_port()
    other = next_port()
    h = Hook(port, "127.0.0.1:%d" % DC_PORT)
    try:
        check("listen changed" not in h.stderr(), "no warning at start")
        h.port = other
        h.write("127.0.0.1:%d" % DC_PORT)
        os.kill(h.proc.pid, signal.SIGHUP)
        mwtest.wait_for(lambda: "configuration reloaded" in h.stderr(), 5,
                        "reload")
        check("listen changed: restart to apply" in h.stderr(),
              "the warning names the restart")
        c = client(port)
        check(c.line().startswith("+OK"), "the old address still serves")
        c.close()
        s = socket.socket()
        try:
            s.settimeout(2)
            refused = s.connect_ex(("127.0.0.1", other)) != 0
        finally:
            s.close()
        check(refused, "the new address is not bound by a reload")
        n = h.stderr().count("listen changed")
        os.kill(h.proc.pid, signal.SIGHUP)
        mwtest.wait_for(lambda: h.stderr().count("configuration reloaded")
                        >= 2, 5, "second reload")
        eq(h.stderr().count("listen changed"), n + 1,
           "compared with the running configuration's sockets")
    finally:
        h.stop()


@scenario
def retr_size_overstated():
    """A server that announces more octets than it sends: the body still
    arrives whole and at once (the wake-up threshold is dropped)."""
    bport, port = 21293, next_port()
    line = b"line of the message body\r\n"
    # Less than the wake-up threshold after the first read, then more.
    bodies = [line * 1500, line * 40000, line * 1500]
    announced = 64 * 1024 * 1024

    def handler(s, n):
        s.sendall(b"+OK fake\r\n")
        for ln in mwtest.recv_lines(s):
            if ln.startswith(b"RETR"):
                s.sendall(b"+OK %d octets\r\n" % announced +
                          bodies[int(ln.split()[1]) - 1] + b".\r\n")
            else:
                s.sendall(b"+OK\r\n")

    fk = mwtest.FakeServer(bport, handler)
    h = Hook(port, "127.0.0.1:%d" % bport)
    try:
        c = client(port)
        eq(c.line(), "+OK fake", "greeting")
        eq(c.cmd("USER a"), "+OK", "USER")
        eq(c.cmd("PASS b"), "+OK", "PASS")
        for i, body in enumerate(bodies):
            t0 = time.time()
            eq(c.cmd("RETR %d" % (i + 1)), "+OK %d octets" % announced,
               "RETR")
            got = b""
            while not got.endswith(b"\r\n.\r\n"):
                d = c.buf or c.s.recv(65536)
                c.buf = b""
                check(d, "body goes on")
                got += d
            eq(got, body + b".\r\n", "body byte for byte, round %d" % i)
            check(time.time() - t0 < 2, "no stall at the end of the body")
        eq(c.cmd("NOOP"), "+OK", "next command answered")
        c.close()
    finally:
        h.stop()
        fk.close()


@scenario
def graceful_sigterm():
    port = next_port()
    h = Hook(port, "127.0.0.1:%d" % DC_PORT, "", "shutdown_timeout = 10")
    try:
        c = client(port)
        login(c)
        os.kill(h.proc.pid, signal.SIGTERM)
        time.sleep(0.3)
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            refused = False
        except OSError:
            refused = True
        check(refused, "no new clients after SIGTERM")
        check(c.cmd("STAT").startswith("+OK 1 "), "open session goes on")
        eq(c.cmd("QUIT")[:3], "+OK", "QUIT")
        c.close()
        h.proc.wait(5)
        eq(h.proc.returncode, 0, "exit status")
    finally:
        h.stop()
    port = next_port()
    h = Hook(port, "127.0.0.1:%d" % DC_PORT, "", "shutdown_timeout = 1")
    try:
        c = client(port)
        login(c)
        t0 = time.time()
        os.kill(h.proc.pid, signal.SIGTERM)
        h.proc.wait(5)
        eq(h.proc.returncode, 0, "exit status at shutdown_timeout")
        check(0.8 < time.time() - t0 < 3, "after shutdown_timeout")
        c.close()
    finally:
        h.stop()


@scenario
def half_close_and_resets():
    port = next_port()
    h = Hook(port, "127.0.0.1:%d" % DC_PORT)
    try:
        c = client(port)
        c.line()
        c.send("USER alice\r\nPASS secret\r\nSTAT\r\nQUIT\r\n")
        c.s.shutdown(socket.SHUT_WR)
        eq(c.line(), "+OK", "USER")
        eq(c.line(), "+OK Logged in.", "PASS")
        check(c.line().startswith("+OK 1 "), "STAT")
        check(c.line().startswith("+OK Logging out"), "QUIT")
        check(c.eof(), "closed")
        c.close()
        for _ in range(5):      # client resets, mid-line and mid-session
            c = client(port)
            c.line()
            c.send("USER ali")
            mwtest.set_reset(c.s)
            c.close()
        c = client(port)
        login(c)
        c.close()
        check(h.proc.poll() is None, "alive")
    finally:
        h.stop()
    bport, port = 21291, next_port()

    def reset_after_greeting(s, n):
        s.sendall(b"+OK fake\r\n")
        s.recv(100)
        mwtest.set_reset(s)
    fk = mwtest.FakeServer(bport, reset_after_greeting)
    h = Hook(port, "127.0.0.1:%d" % bport)
    try:
        c = client(port)
        eq(c.line(), "+OK fake", "greeting")
        c.send("NOOP\r\n")
        check(c.eof(), "backend reset closes the client")
        c.close()
        check(h.proc.poll() is None, "alive")
    finally:
        h.stop()
        fk.close()


@scenario
def emfile_no_busy_loop():
    port = next_port()

    def low_nofile():
        resource.setrlimit(resource.RLIMIT_NOFILE, (24, 24))
    h = Hook(port, "127.0.0.1:%d" % DC_PORT, "", "", low_nofile)
    try:
        held = []
        for _ in range(30):     # more than the proxy has descriptors for
            try:
                held.append(socket.create_connection(("127.0.0.1", port),
                                                     2))
            except OSError:
                break
        time.sleep(0.5)
        t0 = mwtest.cpu_ticks(h.proc.pid)
        time.sleep(1.0)
        used = mwtest.cpu_ticks(h.proc.pid) - t0
        check(used < 30, "no busy loop at EMFILE (%d ticks/s)" % used)
        check("accept" in h.stderr(), "EMFILE logged")
        for s in held:
            s.close()
        time.sleep(0.5)
        c = client(port)
        login(c)
        c.close()
    finally:
        h.stop()


@scenario
def not_inspected_after_login():
    port = next_port()
    h = Hook(port, "127.0.0.1:%d" % DC_PORT, "inspect_after_auth = false")
    try:
        c = client(port)
        login(c)
        eq(c.cmd("XYZZ"), "-ERR Unknown command: XYZZ", "relayed unread")
        c.close()
        c = client(port)
        c.line()
        eq(c.cmd("XYZZ"), "-ERR Non protocol-compliant connection",
           "judged before login")
        c.close()
        eq([e["protection"] for e in h.events(1)], ["pop3.non_compliant"],
           "one event")
    finally:
        h.stop()


@scenario
def client_flood_backend_not_reading():
    """After login with inspect_after_auth = false the client's bytes are
    relayed unread: a client that floods a backend which stops reading is
    held back (pop3hook stops reading it, keeps its memory, does not spin),
    and every byte arrives, in order, once the backend reads again."""
    bport, port = 21294, next_port()
    data = os.urandom(32 * 1024 * 1024)
    stalled, resume = threading.Event(), threading.Event()
    got = {}

    def handler(s, n):
        s.sendall(b"+OK fake\r\n")
        buf = b""
        while buf.count(b"\n") < 2:            # USER, PASS
            d = s.recv(4096)
            if not d:
                return
            buf += d
        s.sendall(b"+OK\r\n+OK\r\n")
        rest = buf.split(b"\n", 2)[2]
        stalled.set()
        resume.wait(30)
        h = hashlib.sha256(rest)
        total = len(rest)
        while total < len(data):
            d = s.recv(1 << 20)
            if not d:
                break
            h.update(d)
            total += len(d)
        got["n"], got["sha"] = total, h.hexdigest()
        s.sendall(b"+OK done\r\n")

    fk = mwtest.FakeServer(bport, handler)
    h = Hook(port, "127.0.0.1:%d" % bport, "inspect_after_auth = false")
    try:
        c = client(port)
        eq(c.line(), "+OK fake", "greeting")
        c.s.sendall(b"USER a\r\nPASS b\r\n")
        eq(c.line(), "+OK", "USER")
        eq(c.line(), "+OK", "PASS")
        check(stalled.wait(10), "backend stopped reading")
        rss0 = mwtest.rss_kib(h.proc.pid)
        sent = [0]

        def sender():
            v = memoryview(data)
            try:
                while sent[0] < len(data):
                    sent[0] += c.s.send(v[sent[0]:sent[0] + 65536])
            except OSError:
                pass
        c.s.settimeout(60)
        t = threading.Thread(target=sender, daemon=True)
        t.start()
        time.sleep(1.5)
        held = sent[0]
        t0 = mwtest.cpu_ticks(h.proc.pid)
        time.sleep(1.0)
        used = mwtest.cpu_ticks(h.proc.pid) - t0
        grew = mwtest.rss_kib(h.proc.pid) - rss0
        check(held < len(data) // 2,
              "client held back (%d of %d octets taken)" % (held, len(data)))
        eq(sent[0], held, "nothing more taken while the backend waits")
        check(used <= 10, "no spinning while held back (%d ticks)" % used)
        check(grew < 8 * 1024, "memory kept (RSS +%d KiB)" % grew)
        resume.set()
        t.join(60)
        eq(sent[0], len(data), "the client sent everything")
        eq(c.line(), "+OK done", "backend read to the end")
        eq(got.get("n"), len(data), "every octet arrived")
        eq(got.get("sha"), hashlib.sha256(data).hexdigest(), "in order")
        c.close()
    finally:
        h.stop()
        fk.close()


@scenario
def syslog_lines():
    """syslog = true (the default): each event is one message, facility
    mail at warning, from mailwarden-pop3hook[pid], with the fields of the
    JSON event as key=value (SPEC section 4); the start-up line is there
    too, at info."""
    port = next_port()
    sink = mwtest.SyslogSink()
    h = None
    try:
        h = Hook(port, "127.0.0.1:%d" % DC_PORT, syslog=sink)
        c = client(port)
        check(c.line().startswith("+OK"), "greeting")
        eq(c.cmd("USER"), "-ERR No username supplied in USER command",
           "refused")
        c.close()
        ev = h.events(1)[-1]
        tag = "mailwarden-pop3hook[%d]: " % h.proc.pid
        want = ("<20>", tag + "attack service=pop3 "
                "protection=pop3.empty_username action=prevent "
                'attack_name="POP3 Policy Violation" '
                'attack_info="No username supplied in USER command" '
                "client=127.0.0.1 client_port=%d session=%s user=- "
                'detail="USER"' % (ev["client_port"], ev["session"]))
        got = mwtest.wait_for(
            lambda: [m for m in sink.read() if "attack " in m], 5,
            "the event in syslog")
        eq(len(got), 1, "one syslog message for one event")
        check(got[0].startswith(want[0]) and got[0].endswith(want[1]),
              "syslog message %r, want %r ... %r" % ((got[0],) + want))
        check(any(m.startswith("<22>") and tag + "listening with" in m
                  for m in sink.read()),
              "start-up line at mail.info: %r" % sink.read()[:3])
    finally:
        if h:
            h.stop()
        sink.close()


@scenario
def tls_passthrough():
    bport, port = 21292, next_port()

    def tls_backend(s, n):
        s.sendall(b"+OK fake\r\n")
        buf = b""
        while b"\n" not in buf:
            d = s.recv(100)
            if not d:
                return
            buf += d
        if not buf.startswith(b"STLS"):
            return
        s.sendall(b"+OK Begin TLS negotiation\r\n")
        while True:             # "encrypted": echo reversed
            d = s.recv(4096)
            if not d:
                return
            s.sendall(d[::-1])
    fk = mwtest.FakeServer(bport, tls_backend)
    h = Hook(port, "127.0.0.1:%d" % bport, 'tls = "passthrough"')
    try:
        c = client(port)
        cport = c.s.getsockname()[1]
        eq(c.line(), "+OK fake", "greeting")
        eq(c.cmd("STLS"), "+OK Begin TLS negotiation", "STLS forwarded")
        blob = bytes(range(256)) * 4
        c.send(blob)
        got = b""
        while len(got) < len(blob):
            d = c.s.recv(65536)
            check(d, "EOF in the raw relay")
            got += d
        eq(got, blob[::-1], "relayed unread both ways")
        c.close()
        ev = h.events(1)
        eq([(e["protection"], e["action"], e["detail"], e["client_port"])
            for e in ev], [("pop3.starttls", "detect", "STLS", cport)],
           "event")
    finally:
        h.stop()
        fk.close()


if __name__ == "__main__":
    mwtest.run(setup=setup, teardown=lambda: dc and dc.stop())
