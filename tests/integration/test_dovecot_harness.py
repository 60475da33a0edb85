# SPDX-License-Identifier: ISC
"""The private Dovecot of tests/integration/dovecot.py, tested on its own:
logins of every kind the pop3hook tests rely on, the PROXY-protocol and
XCLIENT listeners logging the forwarded rip=, the auth socket Postfix uses,
and a stop() that leaves nothing behind.  Ports 21290-21299."""
import base64
import hashlib
import hmac
import os
import socket
import subprocess
import time

import dovecot
import mwtest
from mwtest import ROOT, Line, check, eq, run, scenario

PORT = 21290
HAPORT = 21291
XPORT = 21292
MSG = (b"From: a@example.org\r\nTo: alice@example.org\r\n"
       b"Subject: harness\r\n\r\nfirst line\r\n.dot-started line\r\n"
       b"last line\r\n")
dc = None


def setup():
    global dc
    dc = dovecot.Dovecot(PORT, HAPORT, {"alice": "secret", "bob": "b0b pw"})
    dc.add_message("alice", MSG)
    dc.start()


def teardown():
    dc.stop()


def b64(s):
    return base64.b64encode(s.encode()).decode()


def login_ok(c, user):
    """After a successful login the mailbox is there."""
    st = c.cmd("STAT")
    check(st.startswith("+OK "), "STAT after login: %r" % st)
    eq(c.cmd("QUIT")[:3], "+OK", "QUIT")
    dc.wait_log(r"Login: user=<%s>" % user)


@scenario
def user_pass_retr():
    c = Line(PORT)
    check(c.line().startswith("+OK"), "greeting")
    eq(c.cmd("USER alice"), "+OK", "USER")
    eq(c.cmd("PASS secret"), "+OK Logged in.", "PASS")
    eq(c.cmd("STAT"), "+OK 1 %d" % len(MSG), "STAT")
    check(c.cmd("RETR 1").startswith("+OK"), "RETR")
    body = c.multiline()
    eq(("\r\n".join(body) + "\r\n").encode(), MSG, "message")
    eq(c.cmd("QUIT"), "+OK Logging out.", "QUIT")
    check(c.eof(), "closed after QUIT")


@scenario
def wrong_password_refused():
    c = Line(PORT)
    c.line()
    c.cmd("USER alice")
    r = c.cmd("PASS wrong")
    check(r.startswith("-ERR"), "bad password accepted: %r" % r)


@scenario
def capa_lists_mechanisms():
    c = Line(PORT)
    c.line()
    eq(c.cmd("CAPA"), "+OK", "CAPA")
    capa = c.multiline()
    check("SASL PLAIN LOGIN CRAM-MD5" in capa, "CAPA: %r" % capa)
    check("USER" in capa, "USER not offered: %r" % capa)


@scenario
def auth_plain():
    c = Line(PORT)
    c.line()
    eq(c.cmd("AUTH PLAIN " + b64("\0bob\0b0b pw")), "+OK Logged in.",
       "AUTH PLAIN with initial response")
    login_ok(c, "bob")
    c = Line(PORT)
    c.line()
    eq(c.cmd("AUTH PLAIN"), "+ ", "AUTH PLAIN continuation")
    eq(c.cmd(b64("\0alice\0secret")), "+OK Logged in.", "PLAIN response")
    login_ok(c, "alice")


@scenario
def auth_login():
    c = Line(PORT)
    c.line()
    eq(c.cmd("AUTH LOGIN"), "+ " + b64("Username:"), "LOGIN challenge 1")
    eq(c.cmd(b64("alice")), "+ " + b64("Password:"), "LOGIN challenge 2")
    eq(c.cmd(b64("secret")), "+OK Logged in.", "LOGIN")
    login_ok(c, "alice")


@scenario
def auth_cram_md5():
    c = Line(PORT)
    c.line()
    ch = c.cmd("AUTH CRAM-MD5")
    check(ch.startswith("+ "), "CRAM-MD5 challenge: %r" % ch)
    chal = base64.b64decode(ch[2:])
    dig = hmac.new(b"secret", chal, hashlib.md5).hexdigest()
    eq(c.cmd(b64("alice " + dig)), "+OK Logged in.", "CRAM-MD5")
    login_ok(c, "alice")


@scenario
def auth_cancel():
    c = Line(PORT)
    c.line()
    eq(c.cmd("AUTH PLAIN"), "+ ", "continuation")
    r = c.cmd("*")
    check(r.startswith("-ERR"), "cancel: %r" % r)


@scenario
def proxy_v1_rip_logged():
    c = Line(HAPORT)
    c.send("PROXY TCP4 192.0.2.7 127.0.0.1 40001 %d\r\n" % HAPORT)
    check(c.line().startswith("+OK"), "greeting after PROXY header")
    eq(c.cmd("USER alice"), "+OK", "USER")
    eq(c.cmd("PASS secret"), "+OK Logged in.", "PASS")
    c.cmd("QUIT")
    dc.wait_log(r"Login: user=<alice>, method=PLAIN, rip=192\.0\.2\.7, ")


@scenario
def proxy_v2_rip_logged():
    hdr = (b"\r\n\r\n\x00\r\nQUIT\n" + b"\x21\x11" + (12).to_bytes(2, "big")
           + socket.inet_aton("198.51.100.8") + socket.inet_aton("127.0.0.1")
           + (40002).to_bytes(2, "big") + HAPORT.to_bytes(2, "big"))
    c = Line(HAPORT)
    c.send(hdr)
    check(c.line().startswith("+OK"), "greeting after PROXY v2 header")
    eq(c.cmd("AUTH PLAIN " + b64("\0alice\0secret")), "+OK Logged in.",
       "AUTH")
    c.cmd("QUIT")
    dc.wait_log(r"Login: user=<alice>, method=PLAIN, rip=198\.51\.100\.8, ")


@scenario
def haproxy_port_requires_header():
    c = Line(HAPORT)
    c.send("USER alice\r\n")
    check(c.eof(), "haproxy listener accepted a connection with no header")


@scenario
def auth_socket_for_postfix():
    eq(oct(os.stat(dc.auth_socket).st_mode & 0o777), "0o666", "socket mode")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(dc.auth_socket)
    s.sendall(b"VERSION\t1\t2\nCPID\t%d\n" % os.getpid())
    buf = b""
    while b"\nDONE\n" not in buf:
        d = s.recv(4096)
        check(d, "auth socket closed during handshake")
        buf += d
    check(b"MECH\tPLAIN" in buf and b"MECH\tCRAM-MD5" in buf,
          "mechanisms: %r" % buf)
    s.sendall(b"AUTH\t1\tPLAIN\tservice=smtp\tnologin\tresp=%s\n"
              % b64("\0bob\0b0b pw").encode())
    buf = buf.split(b"\nDONE\n", 1)[1]
    while b"\n" not in buf:
        d = s.recv(4096)
        check(d, "auth socket closed after AUTH")
        buf += d
    check(buf.startswith(b"OK\t1\tuser=bob"), "auth reply: %r" % buf)
    s.close()


@scenario
def xclient_trusted_and_stop_clean():
    x = dovecot.Dovecot(XPORT, users={"carol": "c"},
                        trusted_networks="127.0.0.0/8")
    x.start()
    try:
        c = Line(XPORT)
        g = c.line()
        check(g.startswith("+OK [XCLIENT]"), "trusted greeting: %r" % g)
        eq(c.cmd("XCLIENT ADDR=203.0.113.5 PORT=51234"), "+OK Updated",
           "XCLIENT")
        c.cmd("USER carol")
        eq(c.cmd("PASS c"), "+OK Logged in.", "PASS")
        c.cmd("QUIT")
        x.wait_log(r"Login: user=<carol>, method=PLAIN, rip=203\.0\.113\.5, ")
        check(not dc.log().count("[XCLIENT]"), "untrusted instance")
        c = Line(PORT)
        g = c.line()
        check(not g.startswith("+OK [XCLIENT]"), "untrusted greeting: %r" % g)
        check(len(x.pids()) >= 3, "dovecot processes: %r" % x.pids())
        master = x.proc.pid
    finally:
        x.stop()
    eq(dovecot.group_pids(master), [], "processes left after stop")
    check(not mwtest.tcp_listening(XPORT), "port still listening")
    t = time.time()
    x.start()
    x.stop()
    check(time.time() - t < 5, "restart took %.1fs" % (time.time() - t))



def p3load(*args):
    """Run the benchmark's load generator; (exit status, stdout, stderr)."""
    exe = os.path.join(ROOT, os.environ.get("B", "build"), "bench", "p3load")
    check(os.access(exe, os.X_OK), "%s not built" % exe)
    p = subprocess.run([exe, "-p", str(PORT)] + list(args), timeout=30,
                       capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


@scenario
def bench_load_generator():
    # bench/p3load, the tool of `make bench`, against the real server:
    # full sessions, RETR loop and idle mode succeed; a refused login and
    # an unknown message are counted as failures.
    rc, out, err = p3load("-c", "3", "-d", "0.5", "-w", "0", "-u", "alice",
                          "-P", "secret")
    eq(rc, 0, "sessions: " + out + err)
    check(" errors=0 " in out and " sessions=0 " not in out, out)
    rc, out, err = p3load("-m", "retr", "-d", "0.3", "-w", "0", "-u", "bob",
                          "-P", "b0b pw")
    check(rc != 0 and "RETR: -ERR" in err, "RETR of no message: " + err)
    rc, out, err = p3load("-m", "retr", "-d", "0.3", "-w", "0", "-u",
                          "alice", "-P", "secret")
    eq(rc, 0, "retr: " + out + err)
    check(" retrs=0 " not in out, out)
    rc, out, err = p3load("-c", "2", "-d", "1.5", "-w", "0", "-u", "alice",
                          "-P", "wrong")
    check(rc != 0 and "PASS: -ERR" in err, "bad password: " + out + err)
    rc, out, err = p3load("-m", "idle", "-c", "50", "-d", "0.2")
    eq(rc, 0, "idle: " + out + err)
    check(out.startswith("ready connected=50 errors=0"), out)


run(setup, teardown)
