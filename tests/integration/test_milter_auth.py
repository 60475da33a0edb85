# SPDX-License-Identifier: ISC
"""mailwarden-milter and SMTP AUTH against real Postfix 3.7 with real
Dovecot SASL (smtpd_sasl_type = dovecot) and swaks: each smtp.auth rule
allowing and refusing PLAIN, LOGIN and CRAM-MD5 with and without STARTTLS;
the -P table blocking AUTH entirely, catching an overlong AUTH line and an
AUTH CRAM-MD5 with an initial response; a milter on a UNIX socket,
running as nobody:postfix.  Every refusal is checked as the client saw it
and as the exact JSON event.  Ports 22170-22199."""
import base64
import grp
import itertools
import os
import pwd
import socket
import stat

import dovecot
import mwtest
import postfix
from mwtest import Line, check, eq, run, scenario, wait_for

DOVECOT_PORT = 22170
USER, PASSWORD = "alice", "s3cret"
SECPOL = "Command was blocked by Security Policy"

# milter port -> (name, smtp { } text); Postfix listens on milter port - 10.
MILTERS = {
    22190: ("open", ""),
    22191: ("nets", 'protection auth { allow_networks = {"10.0.0.0/8"} }'),
    22192: ("nets_ok", 'protection auth { allow_networks = '
            '{"10.0.0.0/8", "127.0.0.0/8"} }'),
    22193: ("deny", 'protection auth { deny_mechanisms = '
            '{"CRAM-MD5", "LOGIN"} }'),
    22194: ("tls", "protection auth { require_tls = true }"),
    22195: ("block", 'protection unknown_command { action = prevent '
            'block_commands = {"AUTH"} }'),
    # On a UNIX socket, run as nobody:postfix, as the README sets it up.
    22196: ("unix", 'protection auth { deny_mechanisms = {"LOGIN"} }'),
}
UNIX_TOP = 'user = "nobody"\ngroup = "postfix"'
sock_path = None
M = {}          # name -> postfix.Milter
PORT = {}       # name -> Postfix smtpd port
dc = pf = None


def unix_socket_dir():
    """The README's socket directory: owned by the milter's user and
    group, mode 750, so that Postfix (in group postfix) reaches the socket
    and the milter, no longer root, can remove it."""
    d = os.path.join(mwtest.tmpdir("mwsock-"), "mailwarden")
    os.mkdir(d, 0o750)
    os.chown(d, pwd.getpwnam("nobody").pw_uid, grp.getgrnam("postfix").gr_gid)
    return os.path.join(d, "milter.sock")


def setup():
    global dc, pf, sock_path
    dc = dovecot.Dovecot(DOVECOT_PORT, users={USER: PASSWORD})
    dc.start()
    sock_path = unix_socket_dir()
    listeners = {}
    for mport, (name, smtp) in MILTERS.items():
        if name == "unix":
            m = postfix.Milter(mport, smtp, UNIX_TOP, unix=sock_path)
        else:
            m = postfix.Milter(mport, smtp)
        M[name] = m
        PORT[name] = mport - 10
        listeners[mport - 10] = {"smtpd_milters": m.spec}
    pf = postfix.Postfix(listeners, tls=True, sasl_path=dc.auth_socket)
    for mport, (name, _) in MILTERS.items():
        path = pf.write_file("filter-%s" % name, M[name].table())
        pf.listeners[mport - 10]["smtpd_command_filter"] = "regexp:" + path
    for m in M.values():
        m.start()
    pf.start()


def teardown():
    pf.stop()
    for m in M.values():
        eq(m.stop(), 0, "milter exit status")
    check(not os.path.exists(sock_path), "the milter removed its socket")
    dc.stop()


def send(name, mech, tls):
    """One authenticated message through listener name; (replies, port)."""
    mark = len(pf.log())
    args = ["--from", "alice@test.example", "--to", "bob@test.example",
            "--auth", mech, "--auth-user", USER, "--auth-password",
            PASSWORD]
    if tls:
        args.append("--tls")
    rc, replies, out = postfix.swaks(PORT[name], *args)
    ports = wait_for(lambda: pf.client_ports(mark), 5, "the connect line")
    eq(len(ports), 1, "sessions")
    return rc, replies, out, ports[0]


def allowed(name, mech, tls):
    n = len(M[name].events())
    rc, replies, out, _ = send(name, mech, tls)
    check(any(r.startswith("235 2.7.0 Authentication successful")
              for r in replies), "%s %s login failed:\n%s" % (name, mech, out))
    check(any(r.startswith("250 2.0.0 Ok: queued") for r in replies),
          "%s %s tls=%s: message not accepted:\n%s" % (name, mech, tls, out))
    eq(rc, 0, "swaks exit status")
    eq(len(M[name].events()), n, "events after an allowed login")


def refused(name, mech, tls, detail):
    n = len(M[name].events())
    rc, replies, out, lport = send(name, mech, tls)
    check(any(r.startswith("235 2.7.0 Authentication successful")
              for r in replies), "%s %s login failed:\n%s" % (name, mech, out))
    check("550 5.7.1 " + SECPOL in replies,
          "%s %s tls=%s: MAIL FROM not refused:\n%s" % (name, mech, tls, out))
    check(not any(r.startswith("250 2.0.0 Ok: queued") for r in replies),
          "message accepted")
    ev = M[name].wait_events(n + 1)
    eq(len(ev), n + 1, "one event")
    postfix.event_check(ev[-1], "smtp.auth", "prevent",
                        "SMTP Security Violation", SECPOL, detail,
                        user=USER, client_port=lport)


MECHS = ("PLAIN", "LOGIN", "CRAM-MD5")


@scenario
def no_rule_allows_every_mechanism():
    for mech, tls in itertools.product(MECHS, (False, True)):
        allowed("open", mech, tls)


@scenario
def allow_networks_refuses_outside():
    for mech, tls in itertools.product(MECHS, (False, True)):
        refused("nets", mech, tls,
                "AUTH %s from outside allow_networks" % mech)


@scenario
def allow_networks_allows_inside():
    for mech, tls in itertools.product(MECHS, (False, True)):
        allowed("nets_ok", mech, tls)


@scenario
def deny_mechanisms():
    for tls in (False, True):
        allowed("deny", "PLAIN", tls)
        refused("deny", "LOGIN", tls, "AUTH LOGIN: mechanism denied")
        refused("deny", "CRAM-MD5", tls, "AUTH CRAM-MD5: mechanism denied")


@scenario
def unix_socket_owner_and_mode():
    """srw-rw----, nobody:postfix, and the milter runs as them."""
    st = os.stat(sock_path)
    check(stat.S_ISSOCK(st.st_mode), "a socket")
    eq(oct(st.st_mode & 0o7777), "0o660", "mode")
    eq((pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name),
       ("nobody", "postfix"), "owner")
    with open("/proc/%d/status" % M["unix"].proc.pid) as f:
        ids = dict(ln.split(":", 1) for ln in f if ":" in ln)
    eq(ids["Uid"].split()[0], str(pwd.getpwnam("nobody").pw_uid), "uid")
    eq(ids["Gid"].split()[0], str(grp.getgrnam("postfix").gr_gid), "gid")


@scenario
def unix_socket_rules_apply():
    """Postfix reaches the milter through the socket, with the macros."""
    for tls in (False, True):
        allowed("unix", "PLAIN", tls)
        refused("unix", "LOGIN", tls, "AUTH LOGIN: mechanism denied")


@scenario
def require_tls():
    for mech in MECHS:
        refused("tls", mech, False, "AUTH %s without TLS" % mech)
        allowed("tls", mech, True)


@scenario
def failed_login_is_postfix_business():
    # A failed AUTH never reaches a milter (Postfix answers it): no event.
    n = len(M["nets"].events())
    rc, replies, out = postfix.swaks(
        PORT["nets"], "--from", "a@test.example", "--to", "b@test.example",
        "--auth", "PLAIN", "--auth-user", USER, "--auth-password", "wrong")
    check(any(r.startswith("535 5.7.8") for r in replies),
          "no 535 for a bad password:\n%s" % out)
    eq(len(M["nets"].events()), n, "events")


def raw(port):
    c = Line(port)
    check(c.line().startswith("220 "), "greeting")
    c.send("EHLO client.test.example\r\n")
    caps = []
    while True:
        ln = c.line()
        caps.append(ln)
        if ln is None or ln[3:4] == " ":
            break
    return c, caps


@scenario
def table_blocks_auth_entirely():
    m = M["block"]
    n = len(m.events())
    mark = len(pf.log())
    rc, replies, out, lport = send("block", "PLAIN", False)
    check("550 5.7.1 mail server" in replies,
          "AUTH not refused by the milter:\n%s" % out)
    check(not any(r.startswith("235") for r in replies), "logged in")
    ev = m.wait_events(n + 1)
    postfix.event_check(ev[-1], "smtp.unknown_command", "prevent",
                        "Received an unknown command (AUTH)", "mail server",
                        "X-MAILWARDEN-BLOCK-AUTH", client_port=lport)
    pf.wait_log(r'replacing command "AUTH PLAIN [^"]*" with '
                r'"X-MAILWARDEN-BLOCK-AUTH"', since=mark)
    # every form of AUTH, and a client typing the marker itself
    c, caps = raw(PORT["block"])
    for line in ("AUTH LOGIN", "auth cram-md5", "AUTH",
                 "  AUTH PLAIN " + base64.b64encode(b"\0alice\0x").decode(),
                 "X-MAILWARDEN-BLOCK-AUTH"):
        eq(c.cmd(line), "550 5.7.1 mail server", line)
    eq(c.cmd("MAIL FROM:<a@test.example>"), "250 2.1.0 Ok", "MAIL after")
    c.cmd("QUIT")
    c.close()
    ev = m.wait_events(n + 6)
    for e in ev[n + 1:]:
        eq((e["protection"], e["action"], e["attack_name"], e["detail"]),
           ("smtp.unknown_command", "prevent",
            "Received an unknown command (AUTH)", "X-MAILWARDEN-BLOCK-AUTH"),
           "event")


@scenario
def overlong_auth_line_closes():
    m = M["open"]
    n = len(m.events())
    c, caps = raw(PORT["open"])
    check("250-AUTH PLAIN LOGIN CRAM-MD5" in caps, "AUTH offered: %r" % caps)
    lport = c.s.getsockname()[1]
    line = "AUTH PLAIN " + "QUFB" * 125          # 513 octets with CRLF
    check(len(line) + 2 == 513, "length")
    eq(c.cmd(line), "421 4.7.0 CVE-2007-4440", "reply")
    check(c.eof(), "connection not closed after 421")
    c.close()
    ev = m.wait_events(n + 1)
    eq(len(ev), n + 1, "one event")
    postfix.event_check(ev[-1], "smtp.auth_overflow", "prevent",
                        "SMTP AUTH CRAM-MD5 Buffer Overflow", "CVE-2007-4440",
                        "X-MAILWARDEN-LONG-AUTH", client_port=lport)
    # exactly at the limit: Postfix runs it (a bad login, not ours)
    c, caps = raw(PORT["open"])
    line = "AUTH PLAIN " + "QUFB" * 124 + "QQ="    # 512 octets with CRLF
    check(len(line) + 2 == 512, "length")
    r = c.cmd(line)
    check(r[:1] in "45" and not r.startswith("421"),
          "a line at the limit reached SASL: %r" % r)
    eq(c.cmd("NOOP"), "250 2.0.0 Ok", "session goes on")
    c.close()
    eq(len(m.events()), n + 1, "events")


@scenario
def cram_md5_initial_response_closes():
    m = M["open"]
    n = len(m.events())
    mark = len(dc.log())
    c, caps = raw(PORT["open"])
    lport = c.s.getsockname()[1]
    ir = base64.b64encode(b"A" * 204 + b"\x90" * 40).decode()
    eq(c.cmd("AUTH CRAM-MD5 " + ir), "421 4.7.0 CVE-2007-4440", "reply")
    check(c.eof(), "connection not closed after 421")
    c.close()
    ev = m.wait_events(n + 1)
    postfix.event_check(ev[-1], "smtp.auth_overflow", "prevent",
                        "SMTP AUTH CRAM-MD5 Buffer Overflow", "CVE-2007-4440",
                        "X-MAILWARDEN-CRAMIR-AUTH", client_port=lport)
    # Postfix never ran it: Dovecot saw no CRAM-MD5 attempt
    check("cram-md5" not in dc.log()[mark:].lower(),
          "Dovecot saw the AUTH: %s" % dc.log()[mark:])
    # the server-first exchange itself is untouched
    c, caps = raw(PORT["open"])
    r = c.cmd("AUTH CRAM-MD5")
    check(r.startswith("334 "), "challenge: %r" % r)
    c.close()


if __name__ == "__main__":
    run(setup, teardown)
