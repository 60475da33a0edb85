#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""demo.py: the guided tour behind `make demo` (scripts/demo runs it with a
time limit).  It starts a private Dovecot, mailwarden-pop3hook in front of
it, mailwarden-milter, and a private Postfix with Dovecot SASL, the milter
and its -P command filter table, all on 127.0.0.1 ports 23100-23199; shows
a good POP3 login, two blocked POP3 attacks, a refused SMTP AUTH CRAM-MD5
overflow and a good mail, each as the client saw it with the events it
produced; then stops everything it started.
"""
import base64
import json
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import mwtest  # noqa: E402
import dovecot  # noqa: E402
import postfix  # noqa: E402

DOVECOT_PORT = 23110
POP3HOOK_PORT = 23111
SMTP_PORT = 23125
MILTER_PORT = 23126
USER, PASSWORD = "demo", "demo-pass-42"
# 32 NOPs and the classic 23-byte x86 execve("/bin//sh") shellcode.
SHELLCODE = (b"\x90" * 32 + b"\x31\xc0\x50\x68//sh\x68/bin\x89\xe3\x50\x53"
             b"\x89\xe1\x99\xb0\x0b\xcd\x80")
MESSAGE = ("From: friend@example.org\r\nTo: demo@example.org\r\n"
           "Subject: welcome to the mailwarden demo\r\n\r\n"
           "This message was fetched through mailwarden-pop3hook.\r\n")

BOLD = "\033[1m" if sys.stdout.isatty() else ""
DIM = "\033[2m" if sys.stdout.isatty() else ""
OFF = "\033[0m" if sys.stdout.isatty() else ""


def say(text=""):
    print(text, flush=True)


def step(n, title):
    say()
    say("%s%d. %s%s" % (BOLD, n, title, OFF))


def shown(data):
    """A client or server line as a person should see it: bytes that are
    not printable ASCII as \\xNN, a long line cut short."""
    if isinstance(data, str):
        data = data.encode("latin-1")
    text = "".join(chr(b) if 32 <= b < 127 else "\\x%02x" % b
                   for b in data)
    if len(text) > 240:
        text = "%s... (%d octets)" % (text[:180], len(data))
    return text


UNEXPECTED = []


def expect(got, want, what):
    """Note a step that did not go as the tour says."""
    if got is None or not got.startswith(want):
        say("   %s!! expected %r%s" % (BOLD, want, OFF))
        UNEXPECTED.append("%s: got %r, want %r" % (what, got, want))


class Client(mwtest.Line):
    """A line client that prints both sides of the dialogue."""

    def __init__(self, port, secret=None):
        super().__init__(port, timeout=10)
        self.secret = secret

    def show(self, who, text):
        if self.secret and self.secret in text:
            text = text.replace(self.secret, "*" * len(self.secret))
        say("   %s %s" % (who, shown(text)))

    def read(self):
        ln = self.line()
        self.show("S:", "(connection closed)" if ln is None else ln)
        return ln

    def send_line(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.show("C:", data.decode("latin-1"))
        self.send(data + b"\r\n")
        return self.read()

    def smtp_reply(self):
        """A whole (multi-line) SMTP reply; its last line."""
        while True:
            ln = self.read()
            if ln is None or ln[3:4] != "-":
                return ln

    def smtp(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.show("C:", data.decode("latin-1"))
        self.send(data + b"\r\n")
        return self.smtp_reply()

    def closed(self):
        if self.eof(5):
            say("   %s(the server closed the connection)%s" % (DIM, OFF))
            return True
        return False


class Events:
    """Prints the events a step added to one JSON log."""

    def __init__(self, path):
        self.path = path
        self.seen = 0

    def show(self, want=0, timeout=5):
        if want:
            try:
                mwtest.wait_for(lambda: len(mwtest.read_events(self.path))
                                >= self.seen + want, timeout, "events")
            except mwtest.Fail:
                pass
        else:
            time.sleep(0.3)
        evs = mwtest.read_events(self.path)
        new, self.seen = evs[self.seen:], len(evs)
        if not new:
            say("   event: %s(none)%s" % (DIM, OFF))
        for e in new:
            say("   event: " + json.dumps(e, separators=(",", ":")))
        return new


def start_all(d):
    # One configuration file and one event log for both daemons.
    milter = postfix.Milter(MILTER_PORT, dir=d, top="""pop3 {
  listen = {"127.0.0.1:%d"}
  backend = "127.0.0.1:%d"
}""" % (POP3HOOK_PORT, DOVECOT_PORT))
    say("%sstarting Dovecot on 127.0.0.1:%d (user %r)%s"
        % (DIM, DOVECOT_PORT, USER, OFF))
    dc = dovecot.Dovecot(DOVECOT_PORT, users={USER: PASSWORD})
    dc.add_message(USER, MESSAGE)
    dc.start()
    say("%sstarting mailwarden-pop3hook on 127.0.0.1:%d in front of it%s"
        % (DIM, POP3HOOK_PORT, OFF))
    errf = open(os.path.join(d, "pop3hook.stderr"), "ab")
    hook = mwtest.spawn([os.path.join(mwtest.BIN, "mailwarden-pop3hook"),
                         "-f", "-c", milter.conf], stdout=errf, stderr=errf)
    mwtest.wait_port(POP3HOOK_PORT, timeout=10)
    say("%sstarting mailwarden-milter on inet:%d@127.0.0.1%s"
        % (DIM, MILTER_PORT, OFF))
    table = milter.table()
    milter.start()
    say("%sstarting Postfix on 127.0.0.1:%d with Dovecot SASL, the milter"
        " and the -P command filter table%s" % (DIM, SMTP_PORT, OFF))
    pf = postfix.Postfix({SMTP_PORT: {"smtpd_milters": milter.spec}},
                         main={"milter_default_action": "tempfail"},
                         sasl_path=dc.auth_socket)
    path = pf.write_file("mailwarden_command_filter", table)
    pf.listeners[SMTP_PORT]["smtpd_command_filter"] = "regexp:" + path
    pf.start()
    say("%sconfiguration: %s; events: %s%s" % (DIM, milter.conf,
                                               milter.json, OFF))
    return dc, hook, milter, pf


def tour(ev):
    step(1, "A good POP3 login and RETR through mailwarden-pop3hook")
    c = Client(POP3HOOK_PORT, secret=PASSWORD)
    c.read()
    c.send_line("USER " + USER)
    expect(c.send_line("PASS " + PASSWORD), "+OK", "good login")
    c.send_line("STAT")
    r = c.send_line("RETR 1")
    expect(r, "+OK", "RETR")
    if r and r.startswith("+OK"):
        for ln in c.multiline():
            c.show("S:", ln)
        c.show("S:", ".")
    c.send_line("QUIT")
    c.close()
    expect_event(ev.show(), None)

    step(2, "An empty password: blocked before Dovecot sees it")
    c = Client(POP3HOOK_PORT)
    c.read()
    c.send_line("USER " + USER)
    expect(c.send_line("PASS"), "-ERR No password supplied in PASS command",
           "empty password")
    c.closed()
    c.close()
    expect_event(ev.show(1), "pop3.empty_password")

    step(3, "Shellcode in USER: the Malicious Code Protector blocks it")
    c = Client(POP3HOOK_PORT)
    c.read()
    expect(c.send_line(b"USER " + SHELLCODE),
           "-ERR Malicious Code Protector", "shellcode USER")
    c.closed()
    c.close()
    expect_event(ev.show(1), "pop3.malicious_code")

    step(4, "SMTP AUTH CRAM-MD5 overflow (CVE-2007-4440): the -P table "
         "turns it into a marker, Postfix never runs it, the milter "
         "refuses it")
    c = Client(SMTP_PORT)
    c.smtp_reply()
    c.smtp("EHLO attacker.example")
    ir = base64.b64encode(b"A" * 204 + b"\x90" * 40 + SHELLCODE).decode()
    expect(c.smtp("AUTH CRAM-MD5 " + ir), "421 4.7.0 CVE-2007-4440",
           "CRAM-MD5 overflow")
    c.closed()
    c.close()
    expect_event(ev.show(1), "smtp.auth_overflow")

    step(5, "A good mail: AUTH PLAIN against Dovecot SASL, then accepted")
    c = Client(SMTP_PORT, secret=base64.b64encode(
        b"\0" + USER.encode() + b"\0" + PASSWORD.encode()).decode())
    c.smtp_reply()
    c.smtp("EHLO client.example")
    expect(c.smtp("AUTH PLAIN " + c.secret), "235", "AUTH PLAIN")
    expect(c.smtp("MAIL FROM:<demo@example.org>"), "250", "MAIL FROM")
    expect(c.smtp("RCPT TO:<friend@example.org>"), "250", "RCPT TO")
    c.smtp("DATA")
    for ln in ["Subject: hello from the demo", "", "It went through."]:
        c.show("C:", ln)
        c.send(ln + "\r\n")
    expect(c.smtp("."), "250 2.0.0 Ok: queued", "message")
    c.smtp("QUIT")
    c.close()
    expect_event(ev.show(), None)


def expect_event(evs, protection):
    got = [e["protection"] for e in evs]
    want = [protection] if protection else []
    if got != want:
        say("   %s!! expected events %r%s" % (BOLD, want, OFF))
        UNEXPECTED.append("events: got %r, want %r" % (got, want))


def main():
    for b in ("mailwarden-pop3hook", "mailwarden-milter"):
        if not os.access(os.path.join(mwtest.BIN, b), os.X_OK):
            say("demo: bin/%s is not built (run make)" % b)
            return 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    d = mwtest.tmpdir("mwdemo-")
    dc = hook = milter = pf = None
    groups = []
    rc = 0
    try:
        dc, hook, milter, pf = start_all(d)
        groups = [p.pid for p in (dc.proc, hook, milter.proc, pf.proc)]
        tour(Events(milter.json))
    except Exception as e:      # show what went wrong, then clean up
        say("\ndemo: %s" % e)
        rc = 1
    finally:
        say()
        say("%sstopping Postfix, the milter, pop3hook and Dovecot%s"
            % (DIM, OFF))
        if pf:
            pf.stop()
        if milter and milter.proc:
            milter.stop()
        if hook:
            mwtest.stop(hook)
        if dc:
            dc.stop()
    left = [pid for g in groups for pid in dovecot.group_pids(g)]
    if left:
        say("demo: processes still running: %s" % left)
        rc = 1
    if UNEXPECTED:
        say("demo: %d step(s) did not go as expected:" % len(UNEXPECTED))
        for u in UNEXPECTED:
            say("  " + u)
        rc = 1
    if rc == 0:
        say("done: every step as expected, nothing left running")
    return rc


if __name__ == "__main__":
    sys.exit(main())
