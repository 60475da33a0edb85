# SPDX-License-Identifier: ISC
"""pop3hook under a storm of hostile traffic from both sides.

Client threads open sessions one after another and send random mixes of
commands, SASL exchanges, junk, control and 8-bit bytes, overlong lines,
shellcode, XCLIENT and STLS, pipelined and cut anywhere, then leave with
QUIT, a half-close, a reset or nothing; some never read.  The backend is a
fake POP3 server that answers with random status lines, multi-line bodies
(dot-stuffed or not, bare LF, NUL, lines of 100 KB, bodies of 3 MB with a
wrong announced size), SASL continuations, junk, stalls, resets and
closes, every answer cut anywhere.

Phase one runs under the default policy (every protection prevent) and the
backend checks what the policy promises: no line it receives is longer than
the limit, holds a control byte, is an XCLIENT or STLS, or is not a POP3
command outside a SASL exchange.  Phase two reloads to detect and off under
load, with a client address mode, a TLS mode, inspect_after_auth and a
per-address connection limit chosen by the seed.  Then
pop3hook must still run with no sanitizer report, hold the same
descriptors as before the storm, stay idle, have written only well-formed
events that never hold a password, and serve a real Dovecot session after a
reload.  The seed is printed (MW_STORM_SEED replays it);
MW_STORM_SECONDS sets each phase's length (default 8).
"""
import base64
import json
import os
import random
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dovecot  # noqa: E402
import mwtest  # noqa: E402
from mwtest import scenario, check, eq  # noqa: E402

DC_PORT = 21300
FAKE_PORT = 21301
HOOK_PORT = 21302
HOOK = os.path.join(mwtest.BIN, "mailwarden-pop3hook")
SEED = int(os.environ.get("MW_STORM_SEED", "0")) or random.randrange(1 << 30)
PHASE = float(os.environ.get("MW_STORM_SECONDS", "8"))
CLIENTS = 24
SECRET = b"storm-Secret-7f3a"
LINE_LIMIT = 255            # max_line_length limit, CRLF included
SASL_LIMIT = 4096           # its sasl_limit
COMMANDS = {b"USER", b"PASS", b"APOP", b"AUTH", b"QUIT", b"STAT", b"LIST",
            b"RETR", b"DELE", b"NOOP", b"RSET", b"TOP", b"UIDL", b"CAPA",
            b"UTF8", b"LANG"}          # STLS is missing: always blocked here
# x86-32 execve("/bin//sh") after a NOP sled.
SHELLCODE = (b"\x90" * 24 + b"\x31\xc0\x50\x68//sh\x68/bin\x89\xe3\x50\x53"
             b"\x89\xe1\xb0\x0b\xcd\x80")
PROTECTIONS = {
    "pop3.empty_username": ("POP3 Policy Violation",
                            "No username supplied in USER command"),
    "pop3.empty_password": ("POP3 Policy Violation",
                            "No password supplied in PASS command"),
    "pop3.non_compliant": ("POP3 Policy Violation",
                           "Non protocol-compliant connection"),
    "pop3.starttls": ("POP3 Policy Violation", "Illegal POP3 TLS session"),
    "pop3.malicious_code": ("POP3 Security Violation",
                            "Malicious Code Protector"),
    "pop3.max_bad_commands": ("POP3 Policy Violation",
                              "Too many bad commands"),
    "pop3.max_line_length": ("POP3 Format Violation",
                             "Command line is too long"),
    "pop3.max_commands": ("POP3 Policy Violation", "Too many commands"),
}
KEYS = ["ts", "event", "service", "protection", "action", "attack_name",
        "attack_info", "client", "client_port", "session", "user", "detail"]
SETTINGS = ("  preauth_timeout = 2\n  session_timeout = 2\n"
            "  backend_timeout = 2\n")
dc = None


def b64(b):
    return base64.b64encode(b)


# --- the hostile client ---------------------------------------------------

PLAIN = b64(b"\0alice\0" + SECRET)
LOGINS = [
    [b"USER alice", b"PASS " + SECRET], [b"APOP alice " + b"c" * 32],
    [b"AUTH PLAIN " + PLAIN], [b"AUTH PLAIN", PLAIN],
    [b"AUTH LOGIN", b64(b"alice"), b64(SECRET)],
    [b"AUTH LOGIN " + b64(b"alice"), b64(SECRET)],
    [b"AUTH CRAM-MD5", b64(b"alice " + b"0" * 32)],
    [b"AUTH PLAIN", b"*", b"USER alice", b"PASS " + SECRET]]
TRANSACTION = [b"STAT", b"LIST", b"LIST 1", b"RETR 1", b"TOP 1 3", b"UIDL",
               b"UIDL 2", b"NOOP", b"RSET", b"DELE 2", b"CAPA", b"retr 1",
               b"list"]


def script(r):
    """The lines of an RFC-following session: CAPA, a login, commands."""
    lines = [b"CAPA"] if r.random() < 0.5 else []
    if r.random() < 0.3:
        lines.append(b"UTF8")
    lines += r.choice(LOGINS)
    lines += [r.choice(TRANSACTION) for _ in range(r.randrange(0, 30))]
    return [ln + b"\r\n" for ln in lines]


def client_line(r):
    """One random client line (or a piece of junk), CRLF mostly included."""
    k = r.random()
    if k < 0.34:
        cmd = r.choice(sorted(COMMANDS - {b"AUTH", b"PASS", b"APOP"}))
        arg = r.choice([b"", b" 1", b" 2", b" 1 5", b" alice", b" x y",
                        b" 999999999999", b" -1", b" " + b"9" * 40])
        if r.random() < 0.2:
            cmd = cmd.lower()
        return cmd + arg + b"\r\n"
    if k < 0.40:
        return r.choice([b"PASS " + SECRET, b"APOP alice " + b"a" * 32,
                         b"PASS", b"PASS  ", b"APOP alice"]) + b"\r\n"
    if k < 0.52:
        plain = b64(b"\0alice\0" + SECRET)
        return r.choice([
            b"AUTH PLAIN " + plain, b"AUTH PLAIN", plain,
            b"AUTH LOGIN", b64(b"alice"), b64(SECRET), b"AUTH CRAM-MD5",
            b64(b"alice " + b"0" * 32), b"*", b"AUTH PLAIN =",
            b"AUTH PLAIN " + b64(b"\0\0"), b"AUTH XOAUTH2 " + b64(b"x" * 40),
            b"AUTH PLAIN " + b64(b"\0alice\0" + SHELLCODE), b"=",
            b"AUTH PLAIN !!!!", b64(b"a\r\nb"),
            b"AUTH LOGIN " + b64(b"x" * 3000)]) + b"\r\n"
    if k < 0.60:
        junk = r.randbytes(r.randrange(0, 300))
        return junk + r.choice([b"\r\n", b"\n", b"", b"\r"])
    if k < 0.66:
        n = r.choice([LINE_LIMIT - 2, LINE_LIMIT - 1, LINE_LIMIT,
                      r.randrange(256, 5000), r.randrange(5000, 70000)])
        return b"USER " + b"a" * n + r.choice([b"\r\n", b"\n", b""])
    if k < 0.72:
        return r.choice([b"USER a\0b", b"US\tER x", b"NOOP\x7f", b"USER \x1b[2J",
                         b"LIST\r1", b"USER \xc3\xa9", b"UTF8",
                         b"USER \xff\xfe"]) + b"\r\n"
    if k < 0.77:
        return r.choice([b"XCLIENT ADDR=10.0.0.1 PORT=1", b"xclient",
                         b"STLS", b"stls", b"STLS x"]) + b"\r\n"
    if k < 0.82:
        return r.choice([b"USER " + SHELLCODE, b"RETR " + SHELLCODE,
                         b"USER " + b"\x90" * 200]) + b"\r\n"
    if k < 0.88:
        return r.choice([b"USER", b"USER ", b"USER  ", b"APOP", b"APOP  x",
                         b"LIST  1", b"TOP 1", b"RETR x", b"QUIT now",
                         b"", b" ", b"FOO bar", b"US", b"USERS x"]) + b"\r\n"
    return b"RETR 1\r\nTOP 1 3\r\nLIST\r\nUIDL\r\nCAPA\r\n"


def drain(s, stats):
    """Read what has come, without waiting; False at EOF."""
    s.settimeout(0)
    try:
        while True:
            d = s.recv(262144)
            if not d:
                return False
            stats["received"] += len(d)
    except BlockingIOError:
        return True
    finally:
        s.settimeout(5)


def client_session(r, stats):
    s = socket.create_connection(("127.0.0.1", HOOK_PORT), 5)
    s.settimeout(5)
    reader = r.random() < 0.9
    bad = r.choice([0.0, 0.02, 0.1, 0.5, 1.0])
    try:
        lines = []
        for ln in script(r):
            if r.random() < bad:
                lines.append(client_line(r))
            if r.random() >= bad / 2:
                lines.append(ln)
        while lines:
            n = 1 if r.random() < 0.7 else r.randrange(2, 8)
            data, lines = b"".join(lines[:n]), lines[n:]
            mwtest.send_cut(r, s, data)
            if reader:
                time.sleep(r.random() * 0.002)
                if not drain(s, stats):
                    break
        end = r.random()
        if end < 0.3:
            s.sendall(b"QUIT\r\n")
            mwtest.drain_to_eof(s)
        elif end < 0.5:
            s.shutdown(socket.SHUT_WR)
            mwtest.drain_to_eof(s)
        elif end < 0.75:
            mwtest.set_reset(s)
        elif end < 0.77:
            time.sleep(r.random() * 2.5)
    except OSError:
        pass                    # closed by a prevent, a reset, a timeout
    finally:
        s.close()
    stats["sessions"] += 1


# --- the hostile backend --------------------------------------------------

def body(r):
    """A multi-line body, usually dot-stuffed, and its terminator."""
    k = r.random()
    if k < 0.05:
        return (b"x" * 998 + b"\r\n") * r.randrange(1000, 3000) + b".\r\n"
    lines = []
    for _ in range(r.randrange(0, 40)):
        lines.append(r.choice([
            b"Subject: x", b"..stuffed", b". ", b"..", b"", b"+OK not status",
            b"-ERR not status", b"a\nb", b"x" * r.randrange(0, 2000),
            r.randbytes(r.randrange(0, 100)).replace(b"\n", b"")]))
    if r.random() < 0.05:
        lines.append(b"y" * 100000)
    text = b"\r\n".join(lines) + (b"\r\n" if lines else b"")
    if r.random() < 0.1:
        text = text.replace(b"\r\n", b"\n")
    if r.random() < 0.9:
        text = text.replace(b"\n.", b"\n..")
        if text.startswith(b"."):
            text = b"." + text
    return text + r.choice([b".\r\n"] * 9 + [b".\n", b""])


def login_answer(r):
    return r.choice([b"+OK Logged in.\r\n"] * 9 + [b"-ERR [AUTH] failed\r\n"])


def answer(r, kw, arg, st):
    """The backend's answer to one client line."""
    if r.random() < st["bad"]:
        return r.choice([b"junk line\r\n", b"OK\r\n", b"\r\n", b"+OKAY\r\n",
                         b"-ERR a\r\n+OK b\r\n", b"+OK\0nul\r\n",
                         b"+OK " + b"z" * 70000 + b"\r\n", b"-ERR\n",
                         b"+OK extra\r\n+OK extra\r\n", b"+ \r\n",
                         b"-ERR [IN-USE] x\r\n"])
    if st["sasl"]:
        st["steps"] -= 1
        if kw == b"*":
            st["steps"] = 0
            return b"-ERR [AUTH] cancelled\r\n"
    elif kw == b"AUTH":
        w = arg.split(b" ")
        st["steps"] = {b"LOGIN": 2, b"PLAIN": 1,
                       b"CRAM-MD5": 1}.get(w[0].upper(), 1) - (len(w) > 1)
    if st["sasl"] or kw == b"AUTH":
        st["sasl"] = st["steps"] > 0
        if st["sasl"]:
            return b"+ " + r.choice([b"", b64(b"<1.2@x>")]) + b"\r\n"
        return login_answer(r)
    if kw == b"CAPA":
        return (b"+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nSTLS\r\nXCLIENT\r\n"
                b"SASL PLAIN LOGIN CRAM-MD5\r\nUSER\r\nPIPELINING\r\n.\r\n")
    if kw in (b"RETR", b"TOP") or (kw in (b"LIST", b"UIDL") and not arg):
        b = body(r)
        size = len(b) + r.choice([0, 0, -100, 5000, 10 ** 9])
        return b"+OK %d octets\r\n" % max(size, 0) + b
    if kw in (b"PASS", b"APOP"):
        return login_answer(r)
    if kw == b"QUIT":
        return b"+OK Bye\r\n"
    return r.choice([b"+OK\r\n", b"+OK 1 2\r\n", b"-ERR no\r\n"])


class Backend(mwtest.FakeServer):
    """The fake server; checks what reaches it against the prevent policy
    on connections accepted while `strict` is set."""

    def __init__(self, port):
        self.strict = True
        self.lines = 0
        self.open = 0
        self.violations = []
        self.lock = threading.Lock()
        super().__init__(port, backlog=256)

    def violation(self, why, line):
        with self.lock:
            if len(self.violations) < 10:
                self.violations.append("%s: %r" % (why, line[:80]))

    def judge(self, line, st):
        """A complete line (LF included) that pop3hook let through."""
        self.lines += 1
        body = line[:-1]
        if body.endswith(b"\r"):
            body = body[:-1]
        limit = SASL_LIMIT if st["saw_plus"] else LINE_LIMIT
        if len(line) > limit:
            self.violation("longer than %d" % limit, line)
        if any(c < 0x20 or c == 0x7f for c in body):
            self.violation("control byte", line)
        if not st["saw_plus"] and \
                body.split(b" ", 1)[0].upper() not in COMMANDS:
            self.violation("not a POP3 command", line)

    def serve(self, s, n):
        r = random.Random(SEED * 7919 + n)
        strict = self.strict
        st = {"sasl": False, "saw_plus": False, "steps": 0,
              "bad": r.choice([0.0, 0.01, 0.05, 0.2])}
        with self.lock:
            self.open += 1
        try:
            s.settimeout(5)
            k = r.random()
            if k < 0.03:
                return
            if k < 0.05:
                mwtest.set_reset(s)
                return
            if k < 0.07:
                time.sleep(r.random() * 3)
            greet = r.choice([b"+OK ready.\r\n"] * 6 +
                             [b"+OK [XCLIENT] ready.\r\n", b"junk\r\n",
                              b"+OK <1.2@host>\r\n", b"-ERR go away\r\n"])
            mwtest.send_cut(r, s, greet)
            buf = b""
            while True:
                d = s.recv(65536)
                if not d:
                    break
                buf += d
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    line += b"\n"
                    if strict:
                        self.judge(line, st)
                    if r.random() < 0.02:
                        mwtest.set_reset(s)
                        return
                    if r.random() < 0.01:
                        return
                    if r.random() < 0.01:
                        time.sleep(r.random() * 2.5)
                    w = line.rstrip(b"\r\n").split(b" ", 1)
                    a = answer(r, w[0].upper(), w[1] if len(w) > 1 else b"",
                               st)
                    if a.startswith(b"+ ") or b"\r\n+ " in a:
                        st["saw_plus"] = True
                    mwtest.send_cut(r, s, a)
                if strict and len(buf) > SASL_LIMIT:
                    self.violation("unterminated line over %d" % SASL_LIMIT,
                                   buf)
                    buf = buf[-SASL_LIMIT:]
            if strict and buf and len(buf) + 1 > (
                    SASL_LIMIT if st["saw_plus"] else LINE_LIMIT):
                self.violation("unterminated line at close", buf)
        finally:
            with self.lock:
                self.open -= 1


# --- the run --------------------------------------------------------------

def write_conf(path, events, backend, policy, per_ip=1000):
    with open(path, "w") as f:
        f.write('log {\n  json_file = "%s"\n  syslog = false\n'
                '  max_events_per_second = 1000\n}\n'
                'pop3 {\n  listen = {"127.0.0.1:%d"}\n  backend = "%s"\n'
                '  max_connections_per_ip = %d\n%s%s}\n' %
                (events, HOOK_PORT, backend, per_ip, SETTINGS, policy))


def check_events(path, allowed_actions):
    """Every line a JSON object of a known kind; attack events exactly as
    SPEC section 4 orders them; no password in them."""
    import json
    seen = {}
    for ln in open(path, encoding="utf-8"):
        e = json.loads(ln)
        # "user" is the login name the client gave, whatever it is (a
        # client that sends its password as the LOGIN user name gets it
        # logged there, as in any server's log); nothing else may hold
        # the password, plain or base64.
        rest = json.dumps({k: v for k, v in e.items() if k != "user"})
        for sec in (SECRET, PLAIN, b64(SECRET)):
            check(sec.decode() not in rest, "a password in %s" % rest)
        if e["event"] != "attack":
            check(e["event"] in ("suppressed", "session"), "event %r" % e)
            continue
        eq(list(e.keys()), KEYS, "key order")
        check(e["protection"] in PROTECTIONS, "protection %r" % e)
        eq((e["attack_name"], e["attack_info"]),
           PROTECTIONS[e["protection"]], "attack name and info")
        check(e["action"] in allowed_actions, "action %r" % e)
        eq((e["service"], e["client"]), ("pop3", "127.0.0.1"), "service")
        check(isinstance(e["client_port"], int), "client_port")
        check(len(e["session"]) == 16, "session id")
        check(len(e["detail"]) <= 200, "detail longer than 200")
        seen[e["protection"]] = seen.get(e["protection"], 0) + 1
    return seen


def setup():
    global dc
    print("seed %d, %gs per phase" % (SEED, PHASE), flush=True)
    dc = dovecot.Dovecot(DC_PORT, users={"alice": "secret"})
    dc.add_message("alice", b"Subject: after the storm\r\n\r\nbody\r\n")
    dc.start()


@scenario
def hostile_storm_from_both_sides():
    d = mwtest.tmpdir("mwstorm-")
    conf = os.path.join(d, "mailwarden.conf")
    events = os.path.join(d, "events.json")
    events2 = os.path.join(d, "events2.json")
    backend = Backend(FAKE_PORT)
    write_conf(conf, events, "127.0.0.1:%d" % FAKE_PORT, "")
    errpath = os.path.join(d, "stderr")
    errf = open(errpath, "wb")
    h = mwtest.spawn([HOOK, "-f", "-c", conf], stderr=errf)
    try:
        mwtest.wait_port(HOOK_PORT)
        time.sleep(0.3)
        base_fds, base_rss = mwtest.fd_count(h.pid), mwtest.rss_kib(h.pid)
        stats = mwtest.run_clients(CLIENTS, SEED, PHASE, client_session)
        check(h.poll() is None, "pop3hook died in the prevent phase")
        check(not backend.violations, "let through under prevent: %s" %
              "; ".join(backend.violations))
        lines1 = backend.lines
        rss1 = mwtest.rss_kib(h.pid)

        # Phase two, under load: detect and off, a way of passing on the
        # client address and a TLS mode, chosen by the seed.
        r = random.Random(SEED)
        policy = "".join("  protection %s { action = %s }\n" %
                         (p.split(".")[1], r.choice(["detect", "detect",
                                                     "off"]))
                         for p in sorted(PROTECTIONS))
        policy += ('  backend_client_address = "%s"\n  tls = "%s"\n'
                   '  inspect_after_auth = %s\n' % (
                       r.choice(["none", "proxy-v1", "proxy-v2", "xclient"]),
                       r.choice(["block", "passthrough"]),
                       r.choice(["true", "false"])))
        per_ip = r.choice([1000, 12])
        print("  phase two:\n%s  max_connections_per_ip = %d" %
              (policy, per_ip), flush=True)
        backend.strict = False
        write_conf(conf, events2, "127.0.0.1:%d" % FAKE_PORT, policy, per_ip)
        stats2 = {}
        t = threading.Thread(target=lambda: stats2.update(
            mwtest.run_clients(CLIENTS, SEED + 1, PHASE, client_session)),
            daemon=True)
        t.start()
        time.sleep(PHASE / 4)
        os.kill(h.pid, signal.SIGHUP)
        t.join(PHASE + 40)
        check(not t.is_alive() and stats2, "phase two hung")
        for k in stats:
            stats[k] += stats2[k]
        check(h.poll() is None, "pop3hook died in the detect phase")
        err = open(errpath, errors="replace").read()
        check("configuration reloaded" in err, "reload under load: " +
              err[-300:])

        # Quiet again: every session ends (timeouts are 2 s).
        mwtest.wait_for(lambda: backend.open == 0, 15,
                        "backend connections to close")
        mwtest.wait_for(lambda: mwtest.fd_count(h.pid) == base_fds, 15,
                        "descriptors back to %d (%d when the wait began)" %
                        (base_fds, mwtest.fd_count(h.pid)))
        c0 = mwtest.cpu_ticks(h.pid)
        time.sleep(1)
        check(mwtest.cpu_ticks(h.pid) - c0 <= 2, "pop3hook busy while idle")
        rss2 = mwtest.rss_kib(h.pid)
        print("  %d sessions, %d lines reached the backend in phase one, "
              "%d MB to clients, %d refused; RSS %d -> %d -> %d KiB" %
              (stats["sessions"], lines1, stats["received"] >> 20,
               stats["refused"], base_rss, rss1, rss2), flush=True)
        # 2 workers x 32 body buffers of 512 KB, plus allocator slack.
        check(rss2 - base_rss < 64 << 10, "RSS grew by %d KiB" %
              (rss2 - base_rss))

        # The storm did reach every path it aims at.
        check(stats["sessions"] >= 200, "only %d sessions" %
              stats["sessions"])
        check(lines1 >= 500, "only %d lines reached the backend" % lines1)
        seen1 = check_events(events, ("prevent",))
        check(len(seen1) >= 6, "prevent events of %s" % sorted(seen1))
        check_events(events2, ("prevent", "detect"))

        # A real session through the same process after a reload.
        write_conf(conf, events, "127.0.0.1:%d" % DC_PORT, "")
        os.kill(h.pid, signal.SIGHUP)
        mwtest.wait_for(lambda: open(errpath, errors="replace").read()
                        .count("configuration reloaded") >= 2, 5, "reload")
        c = mwtest.Line(HOOK_PORT)
        check(c.line().startswith("+OK"), "greeting")
        eq(c.cmd("USER alice"), "+OK", "USER")
        eq(c.cmd("PASS secret"), "+OK Logged in.", "PASS")
        check(c.cmd("RETR 1").startswith("+OK"), "RETR")
        eq(c.multiline(), ["Subject: after the storm", "", "body"], "message")
        eq(c.cmd("QUIT"), "+OK Logging out.", "QUIT")
        c.close()
        eq(mwtest.stop(h), 0, "exit status after SIGTERM")
        err = open(errpath, errors="replace").read()
        for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error"):
            check(bad not in err, "sanitizer report: " + err[-2000:])
    finally:
        mwtest.stop(h)
        errf.close()
        backend.close()


def teardown():
    if dc:
        dc.stop()


if __name__ == "__main__":
    mwtest.run(setup, teardown)
