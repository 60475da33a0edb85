# SPDX-License-Identifier: ISC
"""mailwarden-milter under a storm of hostile SMTP through real Postfix 3.7
with real Dovecot SASL.

Client threads open sessions one after another and send random mixes of
EHLO/HELO (long, 8-bit, shellcode), AUTH (PLAIN, LOGIN, CRAM-MD5, good and
bad passwords, overlong, CRAM-MD5 with an initial response), MAIL and RCPT
with odd parameters, local and external recipients, DATA, unknown verbs,
SASL data out of turn, marker verbs, junk, NUL and bare LF, pipelined and
cut anywhere, then leave with QUIT, a reset or nothing.  Afterwards the
milter must still run with no sanitizer report, hold the same descriptors
as before, stay idle, have written only well-formed events (SPEC sections 3
and 4) that never hold the password, and pass an authenticated message.
The seed picks one of four policies (the default with external_mail and
an auth rule, all detect, HELO and RCPT skipped, AUTH blocked).  The seed
is printed (MW_STORM_SEED replays it, MW_STORM_POLICY names a policy);
MW_STORM_SECONDS sets the length (default 8).  Ports 22210-22212.
"""
import base64
import json
import os
import random
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dovecot  # noqa: E402
import mwtest  # noqa: E402
import postfix  # noqa: E402
from mwtest import scenario, check, eq  # noqa: E402

SMTP_PORT = 22210
MILTER_PORT = 22211
DOVECOT_PORT = 22212
SEED = int(os.environ.get("MW_STORM_SEED", "0")) or random.randrange(1 << 30)
SECONDS = float(os.environ.get("MW_STORM_SECONDS", "8"))
CLIENTS = 16
USER = "alice"
SECRET = b"storm-Secret-9c2e"
SHELLCODE = (b"\x90" * 48 + b"\x31\xc0\x50\x68//sh\x68/bin\x89\xe3\x50\x53"
             b"\x89\xe1\xb0\x0b\xcd\x80")
NAMES = {
    "smtp.auth": ("SMTP Security Violation",
                  "Command was blocked by Security Policy"),
    "smtp.auth_overflow": ("SMTP AUTH CRAM-MD5 Buffer Overflow",
                           "CVE-2007-4440"),
    "smtp.malicious_code": ("SMTP Security Violation",
                            "Malicious Code Protector"),
    "smtp.max_line_length": ("SMTP Format Violation",
                             "Command line is too long"),
    "smtp.max_bad_commands": ("SMTP Policy Violation",
                              "Too many bad commands"),
    "smtp.external_mail": ("Mail",
                           "A connection attempt to an external mail server"),
}
NETS = ('internal_networks = {"127.0.0.0/8"}\n'
        'local_domains = {"test.example"}\n'
        "detect_header = true\n")
# name -> (policy, protections that must fire, AUTH allowed); the seed
# picks one (MW_STORM_POLICY names one).  "detect" asks Postfix for no
# reply at any stage, "skip" has Postfix skip HELO and RCPT.
POLICIES = {
    "default": (NETS + 'protection auth { deny_mechanisms = {"PLAIN"} }\n'
                "protection external_mail { action = detect }\n", 5, True),
    "detect": (NETS + "protection auth { action = detect "
               'deny_mechanisms = {"PLAIN"} }\n' +
               "".join("protection %s { action = detect }\n" % p for p in
                       ("unknown_command", "auth_overflow",
                        "malicious_code", "max_line_length",
                        "max_bad_commands", "external_mail")), 5, True),
    "skip": ("protection malicious_code { action = off }\n"
             "protection max_line_length { action = off }\n", 2, True),
    "block": ("protection unknown_command { action = prevent "
              'block_commands = {"AUTH", "VRFY"} }\n', 2, False),
}
POLICY_NAME = os.environ.get("MW_STORM_POLICY") or \
    random.Random(SEED).choice(sorted(POLICIES))
POLICY, MIN_FIRED, AUTH_OK = POLICIES[POLICY_NAME]
dc = pf = m = None


def b64(b):
    return base64.b64encode(b)


def cmd(r):
    """One random client line (or junk), CRLF mostly included."""
    plain = b64(b"\0" + USER.encode() + b"\0" + SECRET)
    k = r.random()
    if k < 0.12:
        return r.choice([b"EHLO client.test.example", b"HELO x",
                         b"EHLO " + b"h" * r.randrange(200, 3000),
                         b"EHLO " + SHELLCODE, b"EHLO \xc3\xa9.example",
                         b"EHLO", b"HELO " + b"\x90" * 60]) + b"\r\n"
    if k < 0.30:
        return r.choice([
            b"AUTH PLAIN " + plain, b"AUTH PLAIN " + b64(b"\0alice\0bad"),
            b"AUTH PLAIN\r\n" + plain, b"AUTH LOGIN\r\n" + b64(b"alice") +
            b"\r\n" + b64(SECRET), b"AUTH CRAM-MD5\r\n" +
            b64(b"alice " + b"0" * 32), b"AUTH CRAM-MD5 " + b64(b"x" * 40),
            b"AUTH PLAIN " + b64(b"x" * 600), b"AUTH PLAIN\r\n*",
            b"AUTH XOAUTH2 " + b64(b"y" * 50)]) + b"\r\n"
    if k < 0.50:
        return r.choice([
            b"MAIL FROM:<a@test.example>", b"MAIL FROM:<>",
            b"MAIL FROM:<a@test.example> SIZE=100 BODY=8BITMIME",
            b"MAIL FROM:<" + b"l" * 1500 + b"@test.example>",
            b"MAIL FROM:<a@test.example> X=" + SHELLCODE,
            b"RCPT TO:<b@test.example>", b"RCPT TO:<x@example.com>",
            b"RCPT TO:<" + b"r" * 1200 + b"@example.com>",
            b"RCPT TO:<\x90\x90\x90\x90@test.example>"]) + b"\r\n"
    if k < 0.58:
        return (b"DATA\r\nSubject: storm\r\n\r\n" +
                r.randbytes(r.randrange(0, 300)).replace(b"\n.", b"\n..") +
                b"\r\n.\r\n")
    if k < 0.75:
        return r.choice([
            b"FOO bar", b"BOGUS", plain, b64(SECRET), b"X-MAILWARDEN-BLOCK-AUTH",
            b"x-mailwarden-long-auth", b"XYZZY " + SHELLCODE, b"GET / HTTP/1.0",
            b"a1 LOGIN alice " + SECRET, b"STARTTLS", b"VRFY alice",
            b"ETRN x", b"BDAT 10 LAST"]) + b"\r\n"
    if k < 0.85:
        return r.randbytes(r.randrange(0, 200)) + r.choice(
            [b"\r\n", b"\n", b""])
    return r.choice([b"RSET", b"NOOP", b"HELP", b"EHLO client.test.example",
                     b"NOOP\0x", b"RSET\n"]) + b"\r\n"


def session(r, stats):
    s = socket.create_connection(("127.0.0.1", SMTP_PORT), 5)
    s.settimeout(5)
    try:
        mwtest.send_cut(r, s, b"".join(cmd(r)
                                       for _ in range(r.randrange(1, 25))))
        end = r.random()
        if end < 0.6:
            s.sendall(b"QUIT\r\n")
            mwtest.drain_to_eof(s)
        elif end < 0.8:
            mwtest.set_reset(s)
    except OSError:
        pass
    finally:
        s.close()
    stats["sessions"] += 1


def check_event(e):
    eq(list(e.keys()), postfix.EVENT_KEYS, "key order")
    eq((e["event"], e["service"]), ("attack", "smtp"), "event")
    # A client gone before Postfix asked its address: "unknown[unknown]".
    check(e["client"] in ("127.0.0.1", None), "client %r" % e["client"])
    check(e["action"] in ("prevent", "detect"), "action %r" % e)
    p = e["protection"]
    if p == "smtp.unknown_command":
        verb = e["attack_name"][len("Received an unknown command ("):-1]
        check(e["attack_name"].startswith("Received an unknown command (")
              and e["attack_name"].endswith(")"), "name %r" % e)
        check(verb == "?" or len(verb) <= 12 or
              verb.startswith("X-MAILWARDEN-"), "verb %r" % verb)
        eq(e["attack_info"], "mail server", "attack_info")
    else:
        check(p in NAMES, "protection %r" % p)
        eq((e["attack_name"], e["attack_info"]), NAMES[p], "names")
    check(e["user"] in (None, USER), "user %r" % e["user"])
    check(len(e["detail"]) <= 200, "detail longer than 200")
    text = json.dumps(e)
    for sec in (SECRET, b64(SECRET), b64(b"\0alice\0" + SECRET)):
        check(sec.decode() not in text and
              sec.decode().upper() not in text.upper(),
              "a password in %s" % text)


def setup():
    global dc, pf, m
    print("seed %d, %gs, policy %s" % (SEED, SECONDS, POLICY_NAME),
          flush=True)
    dc = dovecot.Dovecot(DOVECOT_PORT, users={USER: SECRET.decode()})
    dc.start()
    m = postfix.Milter(MILTER_PORT, POLICY)
    # smtputf8_enable = no: 8-bit bytes reach the milter instead of being
    # refused by Postfix as bad UTF-8.
    pf = postfix.Postfix({SMTP_PORT: {"smtpd_milters": m.spec,
                                      "smtputf8_enable": "no"}},
                         sasl_path=dc.auth_socket,
                         main={"smtpd_hard_error_limit": "100",
                               "smtpd_soft_error_limit": "100"})
    path = pf.write_file("filter", m.table())
    pf.listeners[SMTP_PORT]["smtpd_command_filter"] = "regexp:" + path
    m.start()
    pf.start()


def teardown():
    pf.stop()
    if m.proc is not None:
        m.stop()
    dc.stop()


@scenario
def hostile_smtp_storm():
    pid = m.proc.pid
    time.sleep(0.3)
    base = mwtest.fd_count(pid)
    stats = mwtest.run_clients(CLIENTS, SEED, SECONDS, session)
    check(m.proc.poll() is None, "the milter died")
    mwtest.wait_for(lambda: mwtest.fd_count(pid) == base, 20,
                    "descriptors back to %d (%d when the wait began)" %
                    (base, mwtest.fd_count(pid)))
    c0 = mwtest.cpu_ticks(pid)
    time.sleep(1)
    check(mwtest.cpu_ticks(pid) - c0 <= 2, "milter busy while idle")
    ev = m.events()
    seen = {}
    for e in ev:
        check_event(e)
        seen[e["protection"]] = seen.get(e["protection"], 0) + 1
    print("  %d sessions, %d refused, events %s" %
          (stats["sessions"], stats["refused"], sorted(seen.items())),
          flush=True)
    check(stats["sessions"] >= 100, "only %d sessions" % stats["sessions"])
    check(len(seen) >= MIN_FIRED, "events of %s only" % sorted(seen))

    # An authenticated message still goes through (LOGIN: PLAIN may be
    # denied), or its AUTH is refused where the policy blocks AUTH.
    rc, replies, out = postfix.swaks(
        SMTP_PORT, "--from", "alice@test.example", "--to",
        "bob@test.example", "--auth", "LOGIN", "--auth-user", USER,
        "--auth-password", SECRET.decode())
    if AUTH_OK:
        check(any(r.startswith("250 2.0.0 Ok: queued") for r in replies),
              "not queued after the storm:\n" + out)
    else:
        check("550 5.7.1 mail server" in replies,
              "AUTH not refused after the storm:\n" + out)
    eq(m.stop(), 0, "milter exit status")
    err = m.stderr()
    for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error"):
        check(bad not in err, "sanitizer report: " + err[-2000:])


if __name__ == "__main__":
    mwtest.run(setup, teardown)
