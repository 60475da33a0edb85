# SPDX-License-Identifier: ISC
"""pop3hook's eight POP3 protections in front of a real Dovecot: for each,
prevent (one -ERR <attack_info>, both connections closed, the exact JSON
event), detect (the exact event, Dovecot's own answer passed on) and off
(no event).  A recording backend shows that a prevented line never reaches
the server, and that a bad server line is judged."""
import base64
import os
import socket
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dovecot  # noqa: E402
import mwtest  # noqa: E402
from mwtest import scenario, check, eq  # noqa: E402

DC_PORT = 21150
HOOK = os.path.join(mwtest.BIN, "mailwarden-pop3hook")
MCP = os.path.join(mwtest.BIN, "mailwarden-mcp")
SC = (b"\x90" * 40 + b"\x31\xc0\x50\x68\x2f\x2f\x73\x68\x68\x2f\x62\x69"
      b"\x6e\x89\xe3\x50\x53\x89\xe1\xb0\x0b\xcd\x80")
NC_OFF = "protection non_compliant { action = off }"
INFO = {
    "empty_username": ("POP3 Policy Violation",
                       "No username supplied in USER command"),
    "empty_password": ("POP3 Policy Violation",
                       "No password supplied in PASS command"),
    "non_compliant": ("POP3 Policy Violation",
                      "Non protocol-compliant connection"),
    "starttls": ("POP3 Policy Violation", "Illegal POP3 TLS session"),
    "malicious_code": ("POP3 Security Violation",
                       "Malicious Code Protector"),
    "max_bad_commands": ("POP3 Policy Violation", "Too many bad commands"),
    "max_line_length": ("POP3 Format Violation", "Command line is too long"),
    "max_commands": ("POP3 Policy Violation", "Too many commands"),
}
dc = None
_port = [21160]


def next_port():
    _port[0] += 1
    return _port[0]


class Hook:
    """A running pop3hook with its own configuration and JSON event log."""

    def __init__(self, port, backend, pop3="", top=""):
        self.port = port
        self.dir = mwtest.tmpdir("mwp3-")
        self.events_path = os.path.join(self.dir, "events.json")
        self.conf = os.path.join(self.dir, "mailwarden.conf")
        with open(self.conf, "w") as f:
            f.write('%s\nlog {\n  json_file = "%s"\n  syslog = false\n}\n'
                    'pop3 {\n  listen = {"127.0.0.1:%d"}\n'
                    '  backend = "%s"\n%s\n}\n' %
                    (top, self.events_path, port, backend, pop3))
        self.proc = mwtest.spawn([HOOK, "-f", "-c", self.conf])
        mwtest.wait_port(port)

    def events(self, n=0):
        if n:
            mwtest.wait_for(lambda: len(self.events()) >= n, 5,
                            "%d events" % n)
        return mwtest.read_events(self.events_path)

    def stop(self):
        return mwtest.stop(self.proc)


def mcp_reason(arg):
    r = subprocess.run([MCP, "-0"], input=arg, capture_output=True,
                       timeout=10)
    out = r.stdout.decode().strip()
    check(out.startswith("malicious "), "mcp says %r" % out)
    return out[len("malicious "):]


def want_event(e, prot, action, detail, port, user=None):
    """Compare an event with the SPEC section 4 form, key order included."""
    want = {"ts": e.get("ts"), "event": "attack", "service": "pop3",
            "protection": "pop3." + prot, "action": action,
            "attack_name": INFO[prot][0], "attack_info": INFO[prot][1],
            "client": "127.0.0.1", "client_port": port,
            "session": e.get("session"), "user": user, "detail": detail}
    eq(list(e.items()), list(want.items()), "event")
    check(isinstance(e["ts"], str) and len(e["ts"]) == 24 and
          e["ts"].endswith("Z"), "ts %r" % e["ts"])
    check(len(e["session"]) == 16 and
          all(c in "0123456789abcdef" for c in e["session"]), "session")


def cases():
    """(protection, pop3 settings, lines before, trigger, detail, user,
    Dovecot's answer to the trigger when it passes)."""
    plain_sc = base64.b64encode(b"\0alice\0" + SC)
    return [
        ("empty_username", NC_OFF, [], b"USER", "USER", None, "+OK"),
        ("empty_password", NC_OFF, ["USER alice"], b"PASS", "PASS",
         "alice", "-ERR [AUTH] Authentication failed."),
        ("non_compliant", "", [], b"FOO", "FOO", None,
         "-ERR Unknown command."),
        # SASL data sent out of turn: logged without a byte of it
        ("non_compliant", "", [], base64.b64encode(b"\0alice\0secret"),
         "(unknown command, 20 octets)", None, "-ERR Unknown command."),
        ("starttls", "", [], b"STLS", "STLS", None,
         "-ERR TLS support isn't enabled."),
        ("malicious_code", NC_OFF, [], b"USER " + SC,
         "USER: " + mcp_reason(SC), None, "+OK"),
        ("malicious_code", "", [], b"AUTH PLAIN " + plain_sc,
         "AUTH PLAIN: " + mcp_reason(plain_sc), "alice",
         "-ERR [AUTH] Authentication failed."),
        ("max_line_length", "", [], b"USER " + b"a" * 300,
         ("USER " + "a" * 300)[:200], None, "+OK"),
        ("max_commands",
         "protection max_commands { action = %s preauth_limit = 2 }",
         ["USER a", "USER b"], b"USER c", "USER c", "b", "+OK"),
        ("max_bad_commands", NC_OFF +
         "\nprotection max_bad_commands { action = %s limit = 1 }",
         ["FOO"], b"FOO", "-ERR Unknown command.", None,
         "-ERR Unknown command."),
        ("empty_username", NC_OFF, [],
         b"AUTH PLAIN " + base64.b64encode(b"\0\0secret"), "AUTH PLAIN",
         None, "-ERR [AUTH] Authentication failed."),
        ("empty_password", NC_OFF, [],
         b"AUTH PLAIN " + base64.b64encode(b"\0alice\0"), "AUTH PLAIN",
         "alice", "-ERR [AUTH] Authentication failed."),
    ]


def run_case(case, action):
    prot, extra, before, trigger, detail, user, answer = case
    if "%s" in extra:
        conf = extra % action
    else:
        conf = extra + "\nprotection %s { action = %s }" % (prot, action)
    port = next_port()
    h = Hook(port, "127.0.0.1:%d" % DC_PORT, conf)
    try:
        c = mwtest.Line(port)
        cport = c.s.getsockname()[1]
        check(c.line().startswith("+OK"), "greeting")
        for ln in before:
            check(c.cmd(ln).startswith(("+OK", "-ERR")), "before " + ln)
        c.send(trigger + b"\r\n")
        got = c.line()
        where = "%s %s" % (prot, action)
        if action == "prevent":
            eq(got, "-ERR " + INFO[prot][1], where + ": reply")
            check(c.eof(), where + ": connection closed")
            ev = h.events(1)
            eq(len(ev), 1, where + ": one event")
            want_event(ev[0], prot, "prevent", detail, cport, user)
        elif action == "detect":
            eq(got, answer, where + ": Dovecot's answer passed on")
            check(c.cmd("QUIT").startswith("+OK"), where + ": QUIT")
            # Over max_commands, QUIT is one command too many as well.
            n = 2 if prot == "max_commands" else 1
            ev = h.events(n)
            eq(len(ev), n, where + ": events")
            want_event(ev[0], prot, "detect", detail, cport, user)
            if n == 2:
                want_event(ev[1], prot, "detect", "QUIT", cport, "c")
        else:
            eq(got, answer, where + ": Dovecot's answer passed on")
            check(c.cmd("QUIT").startswith("+OK"), where + ": QUIT")
            eq(h.events(), [], where + ": no event")
        c.close()
    finally:
        h.stop()


def make_scenario(case, action):
    def fn():
        run_case(case, action)
    fn.__name__ = "%s_%s_%s" % (case[0], action, case[3][:4].decode(
        "latin-1").strip().lower() or "x")
    return fn


def setup():
    global dc
    dc = dovecot.Dovecot(DC_PORT, users={"alice": "secret"})
    dc.start()


for _c in cases():
    for _a in ("prevent", "detect", "off"):
        scenario(make_scenario(_c, _a))


@scenario
def shellcode_with_control_bytes_is_malicious_code():
    port = next_port()
    h = Hook(port, "127.0.0.1:%d" % DC_PORT)
    try:
        c = mwtest.Line(port)
        c.line()
        c.send(b"USER " + SC + b"\r\n")
        eq(c.line(), "-ERR Malicious Code Protector", "reply")
        check(c.eof(), "closed")
        eq([e["protection"] for e in h.events(1)], ["pop3.malicious_code"],
           "one event under the defaults")
    finally:
        h.stop()


@scenario
def longest_escaped_event_is_written():
    """A user name and a detail that are all escaped bytes make the longest
    event line there is; the proxy writes it and stays up."""
    port = next_port()
    h = Hook(port, "127.0.0.1:%d" % DC_PORT,
             "protection max_line_length { limit = 4096 }\n"
             "protection non_compliant { action = detect }")
    try:
        c = mwtest.Line(port)
        c.line()
        c.send(b"USER " + b"\xff" * 1000 + b"\r\n")
        c.line()
        c.send(b"PASS " + b"\x01" * 1000 + b"\r\n")
        c.line()
        c.close()
        ev = h.events(2)
        check(all(e["protection"] == "pop3.non_compliant" for e in ev),
              "events %r" % [e["protection"] for e in ev])
        check(len(ev[0]["detail"]) <= 200, "detail cut to 200")
        check(h.proc.poll() is None, "pop3hook still running")
        c = mwtest.Line(port)
        check(c.line().startswith("+OK"), "still serving")
        c.close()
    finally:
        h.stop()


@scenario
def exempt_networks():
    port = next_port()
    h = Hook(port, "127.0.0.1:%d" % DC_PORT,
             'protection empty_username { exempt_networks = {"127.0.0.0/8"} }'
             '\nprotection non_compliant { exempt_networks = {"127.0.0.1"} }')
    try:
        c = mwtest.Line(port)
        c.line()
        eq(c.cmd("USER"), "+OK", "exempt client passes")
        c.close()
        eq(h.events(), [], "no events")
    finally:
        h.stop()
    port = next_port()
    h = Hook(port, "127.0.0.1:%d" % DC_PORT, "",
             'exempt_networks = {"127.0.0.0/8"}')
    try:
        c = mwtest.Line(port)
        c.line()
        eq(c.cmd("STLS"), "-ERR TLS support isn't enabled.", "global")
        c.close()
        eq(h.events(), [], "no events")
    finally:
        h.stop()


class Recorder:
    """A POP3 backend that records what it gets and answers from a script."""

    def __init__(self, port, answers):
        self.got = b""
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", port))
        self.ls.listen(8)
        self.answers = answers
        self.t = threading.Thread(target=self.serve, daemon=True)
        self.t.start()

    def serve(self):
        self.ls.settimeout(10)
        while True:     # the probe of wait_port comes first: skip it
            try:
                s, _ = self.ls.accept()
            except OSError:
                return
            try:
                if self.session(s):
                    return
            except OSError:
                pass
            finally:
                s.close()

    def session(self, s):
        """Serve one connection; False if it ended before any line."""
        s.settimeout(10)
        s.sendall(b"+OK ready\r\n")
        i = 0
        for ln in mwtest.recv_lines(s):
            self.got += ln + b"\n"
            if i < len(self.answers):
                s.sendall(self.answers[i])
                i += 1
        return i > 0 or self.got != b""

    def close(self):
        self.ls.close()
        self.t.join(5)


@scenario
def prevented_line_never_reaches_backend():
    bport, port = 21190, next_port()
    rec = Recorder(bport, [b"+OK\r\n", b"+OK\r\n"])
    h = Hook(port, "127.0.0.1:%d" % bport)
    try:
        c = mwtest.Line(port)
        eq(c.line(), "+OK ready", "greeting")
        c.send("USER alice\r\nNOOP\r\nPASS\r\nNOOP\r\n")
        eq(c.line(), "+OK", "USER answered")
        eq(c.line(), "+OK", "NOOP answered")
        eq(c.line(), "-ERR No password supplied in PASS command", "blocked")
        check(c.eof(), "closed")
        rec.close()
        eq(rec.got, b"USER alice\r\nNOOP\r\n", "what the backend got")
    finally:
        h.stop()


@scenario
def bad_server_line_is_judged():
    bport, port = 21191, next_port()
    rec = Recorder(bport, [b"+OK\r\n", b"* BYE not POP3\r\n"])
    h = Hook(port, "127.0.0.1:%d" % bport)
    try:
        c = mwtest.Line(port)
        cport = c.s.getsockname()[1]
        c.line()
        eq(c.cmd("USER alice"), "+OK", "USER")
        eq(c.cmd("NOOP"), "-ERR Non protocol-compliant connection", "NOOP")
        check(c.eof(), "closed")
        ev = h.events(1)
        want_event(ev[0], "non_compliant", "prevent", "* BYE not POP3",
                   cport, "alice")
        rec.close()
    finally:
        h.stop()


if __name__ == "__main__":
    mwtest.run(setup=setup, teardown=lambda: dc and dc.stop())
