# SPDX-License-Identifier: ISC
"""mailwarden-milter against real Postfix 3.7 (no SASL): ordinary mail
untouched, eleven unknown commands, shellcode in EHLO with smtputf8_enable
both ways, overlong HELO/MAIL/RCPT, unknown_command prevent and marker
verbs typed by the client, external mail from an internal network, detect
mode (nothing changes, X-Mailwarden-Detect added), exempt networks, reload
with SIGUSR1.  Each checks the client's view and the exact JSON event.
Ports 22110-22139."""
import json
import os
import re
import signal
import time

import subprocess

import postfix
from mwtest import BIN, Line, check, eq, run, scenario, wait_for

SHELLCODE = (b"\x90" * 48 + b"\x31\xc0\x50\x68\x2f\x2f\x73\x68\x68\x2f\x62"
             b"\x69\x6e\x89\xe3\x50\x53\x89\xe1\x6a\x10\x58\x2c\x05\xcd"
             b"\x80")


def mcp_reason(data):
    """The detector's reason for data, from mailwarden-mcp."""
    out = subprocess.run([os.path.join(BIN, "mailwarden-mcp"), "-0"],
                         input=data, capture_output=True, timeout=30,
                         check=True).stdout.decode()
    check(out.startswith("malicious "), "mailwarden-mcp: %r" % out)
    return out.strip().split(" ", 1)[1]


NOTREC = "500 5.5.2 Error: command not recognized"

# name -> (milter port, Postfix port(s) with their -o overrides, smtp { },
# top-level text)
SETUP = {
    "def": (22120, {22110: {}, 22111: {"smtputf8_enable": "no"}}, "", ""),
    "strict": (22121, {22116: {}},
               "protection unknown_command { action = prevent }", ""),
    "ext": (22122, {22112: {}},
            'internal_networks = {"127.0.0.0/8"}\n'
            'local_domains = {"test.example"}\n'
            "protection external_mail { action = prevent }", ""),
    "detect": (22123, {22113: {"smtputf8_enable": "no"}},
               'internal_networks = {"127.0.0.0/8"}\n'
               'local_domains = {"test.example"}\n'
               "detect_header = true\n" +
               "".join("protection %s { action = detect }\n" % p for p in
                       ("unknown_command", "auth_overflow", "auth",
                        "malicious_code", "max_line_length",
                        "max_bad_commands", "external_mail")), ""),
    "exempt": (22124, {22114: {"smtputf8_enable": "no"}}, "",
               'exempt_networks = {"127.0.0.0/8"}'),
    "reload": (22125, {22115: {}}, "", ""),
}
M = {}
pf = None


def setup():
    global pf
    listeners = {}
    for name, (mport, ports, smtp, top) in SETUP.items():
        M[name] = postfix.Milter(mport, smtp, top)
        for p, o in ports.items():
            listeners[p] = dict(o, smtpd_milters=M[name].spec)
    pf = postfix.Postfix(listeners, main={
        "milter_header_checks": "regexp:${config_directory}/milter_hc"})
    # Postfix logs a header cut short: the whole value is matched here.
    pf.write_file("milter_hc",
                  "/^X-Mailwarden-Detect: smtp\\.unknown_command, "
                  "smtp\\.auth_overflow, smtp\\.malicious_code, "
                  "smtp\\.external_mail$/ WARN detect-header-exact\n"
                  "/^X-Mailwarden-Detect:/ WARN detect-header-other\n")
    for name, (mport, ports, smtp, top) in SETUP.items():
        path = pf.write_file("filter-%s" % name, M[name].table())
        for p in ports:
            pf.listeners[p]["smtpd_command_filter"] = "regexp:" + path
    for m in M.values():
        m.start()
    pf.start()


def teardown():
    pf.stop()
    for m in M.values():
        eq(m.stop(), 0, "milter exit status")


def ehlo(c, name="client.test.example"):
    """EHLO; the reply lines."""
    c.send(b"EHLO " + (name if isinstance(name, bytes) else name.encode())
           + b"\r\n")
    out = []
    while True:
        ln = c.line()
        out.append(ln)
        if ln is None or ln[3:4] != "-":
            return out


def connect(port):
    c = Line(port)
    check(c.line().startswith("220 "), "greeting")
    return c, c.s.getsockname()[1]


def session(name, port):
    """A session through listener port after a plain EHLO: (the milter
    name serves, its event count before, the client, the client's port)."""
    m = M[name]
    n = len(m.events())
    c, cport = connect(port)
    ehlo(c)
    return m, n, c, cport


def ev_since(m, n, count, timeout=5):
    ev = m.wait_events(n + count, timeout)
    time.sleep(0.2)           # nothing more may come
    ev = m.events()
    eq(len(ev), n + count, "number of events")
    return ev[n:]


@scenario
def ordinary_mail_untouched():
    m = M["def"]
    n = len(m.events())
    mark = len(pf.log())
    rc, replies, out = postfix.swaks(22110, "--from", "a@test.example",
                                     "--to", "b@example.com")
    eq(rc, 0, "swaks status")
    check(any(r.startswith("250 2.0.0 Ok: queued") for r in replies),
          "not queued:\n" + out)
    pf.wait_log(r"status=sent", since=mark)
    check("X-Mailwarden-Detect" not in pf.log_since(mark), "header added")
    check("milter" not in pf.log_since(mark), "milter in the log")
    time.sleep(0.2)
    eq(len(m.events()), n, "events")


@scenario
def eleven_unknown_commands():
    m, n, c, port = session("def", 22110)
    for i in range(10):
        eq(c.cmd("BOGUS%s arg" % "ABCDEFGHIJ"[i]), NOTREC,
           "command %d" % (i + 1))
    eq(c.cmd("bogusk"), "421 4.7.0 Too many bad commands", "11th")
    check(c.eof(), "connection not closed")
    c.close()
    ev = ev_since(m, n, 12)
    for i in range(10):
        v = "BOGUS" + "ABCDEFGHIJ"[i]
        postfix.event_check(ev[i], "smtp.unknown_command", "detect",
                            "Received an unknown command (%s)" % v,
                            "mail server", v, client_port=port)
    postfix.event_check(ev[10], "smtp.unknown_command", "detect",
                        "Received an unknown command (BOGUSK)",
                        "mail server", "bogusk", client_port=port)
    postfix.event_check(ev[11], "smtp.max_bad_commands", "prevent",
                        "SMTP Policy Violation", "Too many bad commands",
                        "bogusk", client_port=port)
    eq(len({e["session"] for e in ev}), 1, "one session id")


@scenario
def shellcode_ehlo_smtputf8_yes_postfix_refuses():
    m = M["def"]
    n = len(m.events())
    c, port = connect(22110)
    r = ehlo(c, SHELLCODE)
    eq(r, ["500 5.5.2 Error: bad UTF-8 syntax"], "EHLO reply")
    eq(c.cmd("NOOP"), "250 2.0.0 Ok", "session goes on")
    c.close()
    time.sleep(0.3)
    eq(len(m.events()), n, "events (Postfix refused it first)")


@scenario
def shellcode_ehlo_smtputf8_no_milter_closes():
    m = M["def"]
    n = len(m.events())
    c, port = connect(22111)
    r = ehlo(c, SHELLCODE)
    eq(r, ["421 4.7.0 Malicious Code Protector"], "EHLO reply")
    check(c.eof(), "connection not closed")
    c.close()
    ev = ev_since(m, n, 1)
    postfix.event_check(ev[0], "smtp.malicious_code", "prevent",
                        "SMTP Security Violation", "Malicious Code Protector",
                        "HELO: " + mcp_reason(SHELLCODE),
                        client_port=port)


@scenario
def overlong_helo_mail_rcpt():
    m = M["def"]
    n = len(m.events())
    # HELO: Postfix answers EHLO itself (ENHANCEDSTATUSCODES only) and
    # returns the milter's 550 from MAIL FROM on.
    c, port = connect(22110)
    name = "h" * 1001
    eq(ehlo(c, name), ["250-mx.test.example", "250 ENHANCEDSTATUSCODES"],
       "EHLO reply")
    eq(c.cmd("MAIL FROM:<a@test.example>"),
       "550 5.7.1 Command line is too long", "MAIL after it")
    c.close()
    ev = ev_since(m, n, 1)
    postfix.event_check(ev[0], "smtp.max_line_length", "prevent",
                        "SMTP Format Violation", "Command line is too long",
                        ("HELO " + name)[:200], client_port=port)
    # exactly 1000 octets passes
    c, port = connect(22110)
    check(ehlo(c, "h" * 1000)[-1].startswith("250 "), "EHLO 1000")
    eq(c.cmd("MAIL FROM:<%s@test.example>" % ("m" * 995)),
       "550 5.7.1 Command line is too long", "MAIL 1013")
    eq(c.cmd("MAIL FROM:<a@test.example>"), "250 2.1.0 Ok", "MAIL")
    eq(c.cmd("RCPT TO:<%s@test.example>" % ("r" * 995)),
       "550 5.7.1 Command line is too long", "RCPT 1013")
    eq(c.cmd("RCPT TO:<b@test.example>"), "250 2.1.5 Ok", "RCPT")
    c.close()
    ev = ev_since(m, n + 1, 2)
    postfix.event_check(ev[0], "smtp.max_line_length", "prevent",
                        "SMTP Format Violation", "Command line is too long",
                        ("MAIL FROM:<%s@test.example>" % ("m" * 995))[:200],
                        client_port=port)
    postfix.event_check(ev[1], "smtp.max_line_length", "prevent",
                        "SMTP Format Violation", "Command line is too long",
                        ("RCPT TO:<%s@test.example>" % ("r" * 995))[:200],
                        client_port=port)


@scenario
def unknown_command_prevent_and_markers():
    m, n, c, port = session("strict", 22116)
    eq(c.cmd("FOO bar"), "550 5.7.1 mail server", "FOO")
    # a client typing a marker is treated as if the table produced it
    eq(c.cmd("x-mailwarden-block-vrfy"), "550 5.7.1 mail server", "marker")
    eq(c.cmd("X-MAILWARDEN-LONG-AUTH"), "421 4.7.0 CVE-2007-4440",
       "auth_overflow marker")
    check(c.eof(), "connection not closed")
    c.close()
    ev = ev_since(m, n, 3)
    postfix.event_check(ev[0], "smtp.unknown_command", "prevent",
                        "Received an unknown command (FOO)", "mail server",
                        "FOO", client_port=port)
    postfix.event_check(ev[1], "smtp.unknown_command", "prevent",
                        "Received an unknown command (VRFY)", "mail server",
                        "x-mailwarden-block-vrfy", client_port=port)
    postfix.event_check(ev[2], "smtp.auth_overflow", "prevent",
                        "SMTP AUTH CRAM-MD5 Buffer Overflow", "CVE-2007-4440",
                        "X-MAILWARDEN-LONG-AUTH", client_port=port)
    # under the default (detect), a typed marker is logged and Postfix
    # answers it as the unknown command it is
    m, n, c, port = session("def", 22110)
    eq(c.cmd("X-MAILWARDEN-BLOCK-AUTH"), NOTREC, "marker under detect")
    c.close()
    ev = ev_since(m, n, 1)
    postfix.event_check(ev[0], "smtp.unknown_command", "detect",
                        "Received an unknown command (AUTH)", "mail server",
                        "X-MAILWARDEN-BLOCK-AUTH", client_port=port)


@scenario
def unknown_command_inside_a_transaction():
    """An unknown command between RCPT and DATA: the message is still
    answered at once (libmilter cannot go from an unknown command straight
    to the end of a message whose DATA it skipped, and would never reply)."""
    m, n, c, port = session("def", 22110)
    eq(c.cmd("MAIL FROM:<a@test.example>"), "250 2.1.0 Ok", "MAIL")
    eq(c.cmd("RCPT TO:<b@test.example>"), "250 2.1.5 Ok", "RCPT")
    eq(c.cmd("FOO"), NOTREC, "unknown")
    eq(c.cmd("DATA"), "354 End data with <CR><LF>.<CR><LF>", "DATA")
    c.s.settimeout(10)
    t0 = time.time()
    reply = c.cmd("Subject: x\r\n\r\nbody\r\n.")
    check(reply is not None and reply.startswith("250 2.0.0 Ok: queued"),
          "end of data answered %r after %.1fs" % (reply, time.time() - t0))
    eq(c.cmd("QUIT"), "221 2.0.0 Bye", "QUIT")
    c.close()
    ev = ev_since(m, n, 1)
    postfix.event_check(ev[0], "smtp.unknown_command", "detect",
                        "Received an unknown command (FOO)", "mail server",
                        "FOO", client_port=port)


@scenario
def sasl_data_out_of_turn_never_logged():
    """A base64 line sent as a command (SASL data out of turn) reaches the
    milter through Postfix as an unknown command: neither the attack name
    nor the detail shows it."""
    m, n, c, port = session("def", 22110)
    blob = "AGFsaWNlAHNlY3JldC1wdzE="       # "\0alice\0secret-pw1"
    eq(c.cmd(blob), NOTREC, "blob")
    eq(c.cmd("c2VjcmV0"), NOTREC, "LOGIN response")
    c.close()
    ev = ev_since(m, n, 2)
    postfix.event_check(ev[0], "smtp.unknown_command", "detect",
                        "Received an unknown command (?)", "mail server",
                        "(unknown command, %d octets)" % len(blob),
                        client_port=port)
    postfix.event_check(ev[1], "smtp.unknown_command", "detect",
                        "Received an unknown command (?)", "mail server",
                        "(unknown command, 8 octets)", client_port=port)
    for e in ev:
        check(blob.upper() not in json.dumps(e).upper() and
              "C2VJCMV0" not in json.dumps(e).upper(), "logged: %r" % e)


@scenario
def external_mail_from_internal_network():
    m = M["ext"]
    n = len(m.events())
    mark = len(pf.log())
    rc, replies, out = postfix.swaks(22112, "--from", "a@test.example",
                                     "--to", "bob@example.com")
    check("550 5.7.1 A connection attempt to an external mail server"
          in replies, "RCPT not refused:\n" + out)
    port = wait_for(lambda: pf.client_ports(mark), 5, "connect line")[0]
    ev = ev_since(m, n, 1)
    postfix.event_check(ev[0], "smtp.external_mail", "prevent", "Mail",
                        "A connection attempt to an external mail server",
                        "RCPT TO:<bob@example.com>", client_port=port)
    rc, replies, out = postfix.swaks(22112, "--from", "a@test.example",
                                     "--to", "bob@TEST.example")
    check(any(r.startswith("250 2.0.0 Ok: queued") for r in replies),
          "local recipient refused:\n" + out)
    time.sleep(0.2)
    eq(len(m.events()), n + 1, "events")


@scenario
def detect_changes_nothing():
    m = M["detect"]
    n = len(m.events())
    mark = len(pf.log())
    c, port = connect(22113)
    check(ehlo(c, SHELLCODE)[-1].startswith("250 "), "EHLO")
    eq(c.cmd("FOO"), NOTREC, "unknown")
    eq(c.cmd("X-MAILWARDEN-CRAMIR-AUTH"), NOTREC, "overflow marker")
    eq(c.cmd("MAIL FROM:<a@test.example>"), "250 2.1.0 Ok", "MAIL")
    eq(c.cmd("RCPT TO:<b@example.com>"), "250 2.1.5 Ok", "RCPT")
    eq(c.cmd("DATA")[:4], "354 ", "DATA")
    r = c.cmd("Subject: detect\r\n\r\nbody\r\n.")
    check(r.startswith("250 2.0.0 Ok: queued"), "queued: %r" % r)
    eq(c.cmd("QUIT")[:4], "221 ", "QUIT")
    c.close()
    ev = ev_since(m, n, 4)
    got = [(e["protection"], e["action"]) for e in ev]
    eq(got, [("smtp.malicious_code", "detect"),
             ("smtp.unknown_command", "detect"),
             ("smtp.auth_overflow", "detect"),
             ("smtp.external_mail", "detect")], "events")
    postfix.event_check(ev[3], "smtp.external_mail", "detect", "Mail",
                        "A connection attempt to an external mail server",
                        "RCPT TO:<b@example.com>", client_port=port)
    pf.wait_log(r"milter-header-warning: header X-Mailwarden-Detect: .*: "
                r"detect-header-exact", since=mark)
    check("detect-header-other" not in pf.log_since(mark), "other header")


@scenario
def exempt_network_is_never_checked():
    m = M["exempt"]
    n = len(m.events())
    c, port = connect(22114)
    check(ehlo(c, SHELLCODE)[-1].startswith("250 "), "EHLO")
    for i in range(12):
        eq(c.cmd("BOGUS"), NOTREC, "unknown %d" % i)
    eq(c.cmd("MAIL FROM:<a@test.example>"), "250 2.1.0 Ok", "MAIL")
    c.close()
    time.sleep(0.3)
    eq(len(m.events()), n, "events")


@scenario
def reload_with_sigusr1():
    m = M["reload"]
    n = len(m.events())
    old, _ = connect(22115)
    ehlo(old)
    eq(old.cmd("FOO"), NOTREC, "before reload")
    m.write_conf("protection unknown_command { action = prevent }")
    os.kill(m.proc.pid, signal.SIGUSR1)
    wait_for(lambda: "reloaded" in m.stderr(), 5, "reload log line")
    c, port = connect(22115)
    ehlo(c)
    eq(c.cmd("FOO"), "550 5.7.1 mail server", "new session")
    # a session keeps the policy it started with
    eq(old.cmd("FOO"), NOTREC, "old session")
    c.close()
    old.close()
    # a broken file is refused and the running policy kept
    with open(m.conf, "a") as f:
        f.write("smtp { bogus_key = 1 }\n")
    os.kill(m.proc.pid, signal.SIGUSR1)
    wait_for(lambda: "reload of" in m.stderr(), 5, "reload failure line")
    c, port = connect(22115)
    ehlo(c)
    eq(c.cmd("FOO"), "550 5.7.1 mail server", "after a broken reload")
    c.close()
    check(m.proc.poll() is None, "milter exited")
    ev = ev_since(m, n, 4)
    eq([e["action"] for e in ev], ["detect", "prevent", "detect", "prevent"],
       "actions")


if __name__ == "__main__":
    run(setup, teardown)
