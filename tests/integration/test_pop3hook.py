# SPDX-License-Identifier: ISC
"""pop3hook in front of a real Dovecot: benign sessions of every kind,
RETR byte for byte against a direct fetch, CAPA rewriting, the four
backend_client_address modes with Dovecot logging the real client address,
and a session through curl."""
import base64
import hashlib
import hmac
import os
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dovecot  # noqa: E402
import mwtest  # noqa: E402
from mwtest import scenario, check, eq  # noqa: E402

DC_PORT = 21100
DC_HAPROXY = 21101
HOOK = os.path.join(mwtest.BIN, "mailwarden-pop3hook")
USERS = {"alice": "secret", "unone": "pw1", "uv1": "pw2", "uv2": "pw3",
         "uxc": "pw4", "bulk": "pw5"}
dc = None
BIG = None


class Hook:
    """A running pop3hook with its own configuration and JSON event log."""

    def __init__(self, port, backend, pop3="", top="", cpus=None):
        self.port = port
        self.dir = mwtest.tmpdir("mwp3-")
        self.events_path = os.path.join(self.dir, "events.json")
        self.conf = os.path.join(self.dir, "mailwarden.conf")
        self.write(backend, pop3, top)
        self.errf = open(os.path.join(self.dir, "stderr"), "wb")
        pin = ["taskset", "-c", cpus] if cpus else []
        self.proc = mwtest.spawn(pin + [HOOK, "-f", "-c", self.conf],
                                 stderr=self.errf)
        mwtest.wait_port(port)

    def write(self, backend, pop3="", top=""):
        with open(self.conf, "w") as f:
            f.write('%s\nlog {\n  json_file = "%s"\n  syslog = false\n}\n'
                    'pop3 {\n  listen = {"127.0.0.1:%d"}\n'
                    '  backend = "%s"\n%s\n}\n' %
                    (top, self.events_path, self.port, backend, pop3))

    def events(self):
        return mwtest.read_events(self.events_path)

    def stop(self):
        rc = mwtest.stop(self.proc)
        self.errf.close()
        return rc


def client(port, src="127.0.0.1"):
    """A Line client from a chosen loopback source address."""
    c = mwtest.Line.__new__(mwtest.Line)
    c.s = socket.create_connection(("127.0.0.1", port), 10, (src, 0))
    c.s.settimeout(10)
    c.buf = b""
    return c


def read_until(c, term, limit=64 << 20):
    """Raw bytes up to and including term."""
    while term not in c.buf:
        d = c.s.recv(1 << 20)
        if not d:
            raise mwtest.Fail("EOF before %r" % term)
        c.buf += d
        check(len(c.buf) < limit, "response too large")
    i = c.buf.index(term) + len(term)
    out, c.buf = c.buf[:i], c.buf[i:]
    return out


def login(c, user="alice", pw="secret"):
    check(c.line().startswith("+OK "), "greeting")
    eq(c.cmd("USER " + user), "+OK", "USER")
    eq(c.cmd("PASS " + pw), "+OK Logged in.", "PASS")


def setup():
    global dc, BIG
    dc = dovecot.Dovecot(DC_PORT, haproxy_port=DC_HAPROXY, users=USERS,
                         trusted_networks="127.0.0.1", unix_listener=True)
    lines = []
    for i in range(40000):
        if i % 7 == 0:
            lines.append(".line %d starts with a dot" % i)
        elif i % 11 == 0:
            lines.append("+OK not a status line %d" % i)
        elif i % 13 == 0:
            lines.append(".")
        else:
            lines.append("line %d of a large message %s" % (i, "x" * 20))
    BIG = ("Subject: big\r\n\r\n" + "\r\n".join(lines) + "\r\n").encode()
    dc.add_message("alice", b"Subject: small\r\n\r\nhello\r\n")
    dc.add_message("alice", BIG)
    # 4 MB: more than the kernel's socket buffers hold for a slow client.
    dc.add_message("bulk", b"Subject: bulk\r\n\r\n" +
                   b"".join(b"bulk line %07d %s\r\n" % (i, b"y" * 40)
                            for i in range(70000)))
    for u in USERS:
        if u not in ("alice", "bulk"):
            dc.add_message(u, b"Subject: x\r\n\r\nx\r\n")
    dc.start()


@scenario
def user_pass_session():
    h = Hook(21110, "127.0.0.1:%d" % DC_PORT)
    try:
        c = mwtest.Line(21110)
        g = c.line()
        eq(g, "+OK Dovecot (Debian) ready.", "greeting without [XCLIENT]")
        eq(c.cmd("USER alice"), "+OK", "USER")
        eq(c.cmd("PASS secret"), "+OK Logged in.", "PASS")
        check(re.match(r"^\+OK 2 \d+$", c.cmd("STAT")), "STAT")
        eq(c.cmd("LIST")[:3], "+OK", "LIST")
        eq(len(c.multiline()), 2, "LIST lines")
        eq(c.cmd("UIDL 1")[:5], "+OK 1", "UIDL 1")
        eq(c.cmd("TOP 1 0")[:3], "+OK", "TOP")
        eq(c.multiline(), ["Subject: small", ""], "TOP body")
        eq(c.cmd("NOOP"), "+OK", "NOOP")
        eq(c.cmd("RSET")[:3], "+OK", "RSET")
        eq(c.cmd("QUIT")[:3], "+OK", "QUIT")
        check(c.eof(), "closed after QUIT")
        c.close()
        eq(h.events(), [], "no events")
    finally:
        h.stop()


@scenario
def capa_rewritten():
    h = Hook(21111, "127.0.0.1:%d" % DC_PORT)
    try:
        c = mwtest.Line(21111)
        c.line()
        eq(c.cmd("CAPA"), "+OK", "CAPA")
        capa = c.multiline()
        check("USER" in capa and "PIPELINING" in capa, "CAPA %r" % capa)
        check(not any(x.startswith(("STLS", "XCLIENT")) for x in capa),
              "STLS/XCLIENT hidden: %r" % capa)
        eq(c.cmd("AUTH"), "+OK", "AUTH list")
        eq(c.multiline(), ["PLAIN", "LOGIN", "CRAM-MD5"], "mechanisms")
        c.close()
        eq(h.events(), [], "no events")
    finally:
        h.stop()


def sasl_login(port, mech, ir):
    c = mwtest.Line(port)
    c.line()
    if mech == "PLAIN":
        data = base64.b64encode(b"\0alice\0secret").decode()
        if ir:
            r = c.cmd("AUTH PLAIN " + data)
        else:
            eq(c.cmd("AUTH PLAIN"), "+ ", "PLAIN challenge")
            r = c.cmd(data)
    elif mech == "LOGIN":
        u = base64.b64encode(b"alice").decode()
        p = base64.b64encode(b"secret").decode()
        if ir:
            eq(c.cmd("AUTH LOGIN " + u), "+ UGFzc3dvcmQ6", "Password:")
        else:
            eq(c.cmd("AUTH LOGIN"), "+ VXNlcm5hbWU6", "Username:")
            eq(c.cmd(u), "+ UGFzc3dvcmQ6", "Password:")
        r = c.cmd(p)
    else:
        ch = c.cmd("AUTH CRAM-MD5")
        check(ch.startswith("+ "), "CRAM challenge %r" % ch)
        chal = base64.b64decode(ch[2:])
        dig = hmac.new(b"secret", chal, hashlib.md5).hexdigest()
        r = c.cmd(base64.b64encode(b"alice " + dig.encode()).decode())
    eq(r, "+OK Logged in.", "%s ir=%s" % (mech, ir))
    check(c.cmd("STAT").startswith("+OK 2 "), "STAT after SASL")
    eq(c.cmd("QUIT")[:3], "+OK", "QUIT")
    c.close()


@scenario
def sasl_sessions():
    h = Hook(21112, "127.0.0.1:%d" % DC_PORT)
    try:
        for mech, ir in (("PLAIN", True), ("PLAIN", False), ("LOGIN", True),
                         ("LOGIN", False), ("CRAM-MD5", False)):
            sasl_login(21112, mech, ir)
        c = mwtest.Line(21112)
        c.line()
        eq(c.cmd("AUTH PLAIN"), "+ ", "challenge")
        r = c.cmd("*")
        check(r.startswith("-ERR"), "cancel answered %r" % r)
        eq(c.cmd("USER alice"), "+OK", "USER after cancel")
        c.close()
        eq(h.events(), [], "no events")
    finally:
        h.stop()


def pipelined(port):
    c = mwtest.Line(port)
    c.line()
    c.send("CAPA\r\nUSER alice\r\nPASS secret\r\nSTAT\r\nLIST\r\nUIDL\r\n"
           "RETR 1\r\nTOP 2 3\r\nNOOP\r\nQUIT\r\n")
    out = b""
    c.s.settimeout(10)
    while True:
        d = c.buf or c.s.recv(65536)
        c.buf = b""
        if not d:
            break
        out += d
    c.close()
    return out


@scenario
def pipelined_session():
    h = Hook(21113, "127.0.0.1:%d" % DC_PORT)
    try:
        via = pipelined(21113)
        direct = pipelined(DC_PORT)
        # The direct CAPA of a trusted client differs only in lines that
        # pop3hook never shows (there are none in Dovecot's POP3 CAPA).
        eq(via, direct, "pipelined answers, byte for byte")
        check(via.count(b"\r\n.\r\n") == 5, "five multi-line answers")
    finally:
        h.stop()


def retr(port, cmd="RETR 2"):
    c = mwtest.Line(port)
    login(c)
    c.send(cmd + "\r\n")
    data = read_until(c, b"\r\n.\r\n")
    eq(c.cmd("QUIT")[:3], "+OK", "QUIT")
    c.close()
    return data


@scenario
def retr_large_byte_for_byte():
    h = Hook(21114, "127.0.0.1:%d" % DC_PORT)
    try:
        via = retr(21114)
        direct = retr(DC_PORT)
        check(len(direct) > len(BIG), "direct RETR holds the message")
        eq(via == direct, True, "RETR through pop3hook equals direct")
        body = via.split(b"\r\n", 1)[1][:-3]
        unstuffed = b"\r\n".join(ln[1:] if ln.startswith(b".") else ln
                                 for ln in body.split(b"\r\n"))
        eq(unstuffed, BIG, "message after undoing dot-stuffing")
        # TOP announces no size: the body buffer grows once a small
        # one comes back full.
        via = retr(21114, "TOP 2 100000")
        eq(via == retr(DC_PORT, "TOP 2 100000"), True,
           "TOP through pop3hook equals direct")
        check(len(via) > len(BIG), "TOP holds the whole message")
    finally:
        h.stop()


@scenario
def unix_backend():
    """backend = "unix:/path": Dovecot's pop3-login on a UNIX socket;
    login, RETR byte for byte, and Dovecot logging the login without a
    client address (none is what a UNIX socket can carry to it)."""
    h = Hook(21122, "unix:" + dc.pop3_socket)
    try:
        pat = r"Login: user=<alice>, method=PLAIN, mpid=[0-9]+, secured,"
        nlogins = len(re.findall(pat, dc.log()))
        via = retr(21122)
        eq(via == retr(DC_PORT), True,
           "RETR over the UNIX socket equals direct")
        dc.wait_log(pat)
        m = re.findall(pat, dc.log())
        eq(len(m), nlogins + 1, "one login without rip= over the socket")
        eq(h.events(), [], "no events")
    finally:
        h.stop()
    # Down: the client is told, nothing waits.
    h = Hook(21122, "unix:" + dc.pop3_socket + ".missing")
    try:
        c = mwtest.Line(21122)
        eq(c.line(), "-ERR [SYS/TEMP] Service unavailable", "backend down")
        c.close()
    finally:
        h.stop()


def retr_into(c, size, send=True):
    """RETR 1 of a size-octet message, raw, read into one buffer."""
    if send:
        c.s.sendall(b"RETR 1\r\n")
    buf = bytearray(size + 4096)
    n = 0
    view = memoryview(buf)
    while not buf[:n].endswith(b"\r\n.\r\n"):
        check(n < len(buf), "response larger than the message")
        k = c.s.recv_into(view[n:])
        if k == 0:
            raise mwtest.Fail("EOF inside RETR")
        n += k
    return bytes(buf[:n])


@scenario
def retr_large_past_body_buffers():
    """More slow large RETRs at once than a worker lends body buffers
    (32): the rest go through small buffers, logged once, and every
    client still gets the message byte for byte."""
    h = Hook(21121, "127.0.0.1:%d" % DC_PORT, cpus="0")
    cs = []
    try:
        c = mwtest.Line(DC_PORT)
        login(c, "bulk", USERS["bulk"])
        direct = retr_into(c, 5 << 20)
        c.close()
        for _ in range(40):
            c = mwtest.Line.__new__(mwtest.Line)
            c.s = socket.socket()
            # A small window keeps each body waiting in pop3hook.
            c.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
            c.s.settimeout(10)
            c.s.connect(("127.0.0.1", 21121))
            c.buf = b""
            login(c, "bulk", USERS["bulk"])
            cs.append(c)
        for c in cs:
            c.s.sendall(b"RETR 1\r\n")
        errf = os.path.join(h.dir, "stderr")
        mwtest.wait_for(lambda: b"32 body buffers in use" in
                        open(errf, "rb").read(), 10, "the log of the limit")
        for i, c in enumerate(cs):
            c.s.setblocking(True)
            c.s.settimeout(10)
            got = retr_into(c, 5 << 20, send=False)
            eq(len(got), len(direct), "client %d's RETR length" % i)
            eq(got == direct, True, "client %d's RETR equals direct" % i)
            eq(c.cmd("QUIT")[:3], "+OK", "QUIT")
        log = open(errf, "rb").read()
        eq(log.count(b"body buffers in use"), 1, "logged once")
    finally:
        for c in cs:
            c.close()
        h.stop()


def mode_login(port, user):
    c = client(port, "127.0.0.7")
    g = c.line()
    check(g.startswith("+OK ") and "[XCLIENT]" not in g, "greeting %r" % g)
    eq(c.cmd("USER " + user), "+OK", "USER")
    eq(c.cmd("PASS " + USERS[user]), "+OK Logged in.", "PASS")
    eq(c.cmd("QUIT")[:3], "+OK", "QUIT")
    c.close()


@scenario
def client_address_modes():
    for port, mode, be, user, rip in (
            (21115, "none", DC_PORT, "unone", "127.0.0.1"),
            (21116, "proxy-v1", DC_HAPROXY, "uv1", "127.0.0.7"),
            (21117, "proxy-v2", DC_HAPROXY, "uv2", "127.0.0.7"),
            (21118, "xclient", DC_PORT, "uxc", "127.0.0.7")):
        h = Hook(port, "127.0.0.1:%d" % be,
                 'backend_client_address = "%s"' % mode)
        try:
            mode_login(port, user)
            dc.wait_log(r"Login: user=<%s>, method=PLAIN, rip=%s, " %
                        (user, re.escape(rip)))
        finally:
            h.stop()
        m = re.findall(r"Login: user=<%s>.*rip=([0-9.]+)" % user, dc.log())
        eq(m, [rip], "Dovecot's rip for %s" % mode)


@scenario
def curl_client():
    h = Hook(21119, "127.0.0.1:%d" % DC_PORT)
    try:
        r = subprocess.run(["curl", "-sS", "--max-time", "20",
                            "pop3://127.0.0.1:21119/1", "-u",
                            "alice:secret"], capture_output=True, timeout=30)
        eq(r.returncode, 0, "curl exit status (%r)" % r.stderr)
        eq(r.stdout.replace(b"\r\n", b"\n"), b"Subject: small\n\nhello\n",
           "message through curl")
        r = subprocess.run(["curl", "-sS", "--max-time", "20",
                            "pop3://127.0.0.1:21119/", "-u",
                            "alice:secret"], capture_output=True, timeout=30)
        eq(r.returncode, 0, "curl LIST")
        eq(len(r.stdout.splitlines()), 2, "two messages listed")
        eq(h.events(), [], "no events")
    finally:
        h.stop()


@scenario
def terminate_refused():
    d = mwtest.tmpdir("mwp3-")
    conf = os.path.join(d, "c.conf")
    with open(conf, "w") as f:
        f.write('pop3 {\n  listen = {"127.0.0.1:21120"}\n'
                '  tls = "terminate"\n}\nlog { syslog = false }\n')
    r = subprocess.run([HOOK, "-f", "-c", conf], capture_output=True,
                       timeout=10)
    eq(r.returncode, 1, "exit status")
    eq(r.stderr.decode().strip(),
       "mailwarden-pop3hook: tls = terminate is not supported yet", "stderr")


if __name__ == "__main__":
    mwtest.run(setup=setup, teardown=lambda: dc and dc.stop())
