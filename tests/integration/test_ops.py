#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""test_ops: what an operator relies on.  The man pages lint clean and
document every option and key; the fail2ban filter catches the attack lines
the events module writes and nothing else; the systemd units verify, carry
the required directives and score an exposure of 2.0 or lower; `make
install` and the .deb put every file in place without overwriting a
configuration; the daemons keep the sd_notify contract of the units.
Started as root they drop privileges.  Ports 25110-25141.
"""
import glob
import gzip
import os
import re
import shutil
import signal
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mwtest import (ROOT, BIN, Fail, check, eq, run, scenario,  # noqa: E402
                    spawn, stop, tmpdir, wait_port)

MAN = os.path.join(ROOT, "man")
UNITS = os.path.join(ROOT, "systemd")
F2B = os.path.join(ROOT, "etc", "fail2ban")
PAGES = ["mailwarden-milter.8", "mailwarden-pop3hook.8",
         "mailwarden-mcp.1", "mailwarden.conf.5"]
DAEMONS = ["mailwarden-milter", "mailwarden-pop3hook"]
MAX_EXPOSURE = 2.0

# What each page must document (SPEC sections 1, 2, 5).
PAGE_WORDS = {
    "mailwarden-milter.8": ["-c file", "-f", "-t", "-V", "-h", "-P",
                            "SIGUSR1", "smtpd_milters",
                            "milter_default_action", "smtpd_command_filter",
                            "/var/spool/postfix", "INPUT_MAIL_FILTER",
                            "550 5.7.1", "421 4.7.0", "CVE-2007-4440"],
    "mailwarden-pop3hook.8": ["-c file", "-f", "-t", "-V", "-h", "SIGHUP",
                              "SIGUSR1", "SIGTERM", "haproxy = yes",
                              "login_trusted_networks", "proxy-v2",
                              "-ERR [SYS/TEMP] Service unavailable",
                              "Non protocol-compliant connection"],
    "mailwarden-mcp.1": ["-0", "-s low | medium | high", "clean",
                         "malicious"],
    "mailwarden.conf.5": [
        "exempt_networks", "shutdown_timeout", "user", "group", "syslog",
        "syslog_facility", "json_file", "max_events_per_second", "listen",
        "backend", "backend_client_address", "tls", "tls_listen", "tls_cert",
        "tls_key", "disable_plaintext_auth", "max_connections",
        "max_connections_per_ip", "preauth_timeout", "session_timeout",
        "backend_timeout", "inspect_after_auth", "socket", "local_domains",
        "internal_networks", "detect_header", "action", "limit",
        "sasl_limit", "preauth_limit", "strict_crlf", "sensitivity",
        "allow_networks", "deny_mechanisms", "require_tls",
        "block_commands", "empty_username", "empty_password",
        "non_compliant", "starttls", "malicious_code", "max_bad_commands",
        "max_line_length", "max_commands", "unknown_command", "auth",
        "auth_overflow", "external_mail", "inet:8890@127.0.0.1",
        "127.0.0.1:1110", "127.0.0.1:110"],
}


def sh(argv, timeout=60, **kw):
    """Run argv to completion (bounded); stdout and stderr as text."""
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    return subprocess.run(argv, timeout=timeout, text=True, **kw)


def mandoc_lint(files, cwd):
    """mandoc -T lint -W style over files; {file: [messages]}, rc."""
    r = sh(["mandoc", "-T", "lint", "-W", "style"] + files, cwd=cwd)
    out = {}
    for ln in (r.stdout + r.stderr).splitlines():
        m = re.match(r"mandoc: ([^:]+):\d+:\d+: (.*)", ln)
        if m:
            out.setdefault(os.path.basename(m.group(1)), []).append(ln)
    return out, r.returncode


def render(path):
    r = sh(["mandoc", "-T", "utf8", path])
    eq(r.returncode, 0, "mandoc -T utf8 %s" % path)
    # Undo overstrike bold/underline.
    return re.sub(r".\x08", "", r.stdout)


def words(text):
    """text with every run of blanks made one space (lines rewrapped)."""
    return " ".join(text.split())


def man_lint_scenario(page):
    def fn():
        check(os.path.isfile(os.path.join(MAN, page)), "no man/" + page)
        # All pages at once, so that their cross-references resolve.
        msgs, rc = mandoc_lint(PAGES, MAN)
        eq(msgs.get(page, []), [], "mandoc -T lint " + page)
        eq(rc, 0, "mandoc -T lint exit status")
        text = render(os.path.join(MAN, page))
        name = page.rsplit(".", 1)[0]
        check(re.search(r"^NAME\n\s+%s " % re.escape(name), text, re.M),
              "%s: NAME section does not name %s" % (page, name))
        missing = [w for w in PAGE_WORDS[page] if w not in words(text)]
        eq(missing, [], page + ": not documented")
    fn.__name__ = "man_lint_" + page.replace("-", "_").replace(".", "_")
    return scenario(fn)


for _p in PAGES:
    man_lint_scenario(_p)


@scenario
def man_lint_reports_a_broken_page():
    """The lint check can fail: a damaged copy of a page is reported."""
    d = tmpdir()
    for p in PAGES:
        shutil.copy(os.path.join(MAN, p), d)
    bad = os.path.join(d, "mailwarden-mcp.1")
    with open(bad) as f:
        text = f.read()
    text = text.replace(".Sh DESCRIPTION\n", ".Sh DESCRIPTION\n.Bl -tag\n"
                        ".Xx not-a-macro\n", 1)
    with open(bad, "w") as f:
        f.write(text)
    msgs, rc = mandoc_lint(PAGES, d)
    check(len(msgs.get("mailwarden-mcp.1", [])) >= 2,
          "mandoc missed the damage: %r" % msgs)
    check(rc != 0, "mandoc exit status 0 on a broken page")
    eq(sorted(msgs), ["mailwarden-mcp.1"], "pages with messages")


# ---------------------------------------------------------------- fail2ban

def f2b_confdir():
    """A fail2ban configuration directory with the system's common.conf
    and paths, and our filter and jail."""
    d = tmpdir()
    for f in ["fail2ban.conf", "jail.conf", "paths-common.conf",
              "paths-debian.conf"]:
        shutil.copy(os.path.join("/etc/fail2ban", f), d)
    shutil.copytree("/etc/fail2ban/action.d", os.path.join(d, "action.d"))
    os.makedirs(os.path.join(d, "filter.d"))
    os.makedirs(os.path.join(d, "jail.d"))
    shutil.copy("/etc/fail2ban/filter.d/common.conf",
                os.path.join(d, "filter.d"))
    shutil.copy(os.path.join(F2B, "filter.d", "mailwarden.conf"),
                os.path.join(d, "filter.d"))
    shutil.copy(os.path.join(F2B, "jail.d", "mailwarden.conf"),
                os.path.join(d, "jail.d"))
    return d


def f2b_hosts(lines, filt="mailwarden"):
    """The hosts fail2ban-regex finds in lines, in order."""
    conf = f2b_confdir()
    log = os.path.join(conf, "sample.log")
    with open(log, "w") as f:
        f.write("\n".join(lines) + "\n")
    r = sh(["fail2ban-regex", "-c", conf, "-o", "ip", log, filt])
    eq(r.returncode, 0, "fail2ban-regex exit status (%s)" % r.stderr[-500:])
    return [ln.strip() for ln in r.stdout.splitlines() if ln.strip()]


PFX = "Nov 23 14:35:%02d mail mailwarden-%s[%d]: "
ATTACKS = [
    # (the line after the prefix, the host fail2ban must take from it)
    ('attack service=pop3 protection=pop3.empty_username action=prevent '
     'attack_name="POP3 Policy Violation" attack_info="No username supplied '
     'in USER command" client=203.0.113.5 client_port=51234 '
     'session=0f3a9c1b2d4e5f60 user=- detail="USER"', "203.0.113.5"),
    ('attack service=pop3 protection=pop3.malicious_code action=detect '
     'attack_name="POP3 Security Violation" attack_info="Malicious Code '
     'Protector" client=2001:db8::7 client_port=40000 '
     'session=0f3a9c1b2d4e5f61 user="bob" detail="x86 NOP sled 48 bytes"',
     "2001:db8::7"),
    ('attack service=smtp protection=smtp.auth_overflow action=prevent '
     'attack_name="SMTP AUTH CRAM-MD5 Buffer Overflow" '
     'attack_info="CVE-2007-4440" client=198.51.100.20 client_port=25000 '
     'session=0f3a9c1b2d4e5f62 user=- detail="AUTH CRAM-MD5 QUFBQQ=="',
     "198.51.100.20"),
    # Peer bytes that imitate fields must not move the host.
    ('attack service=smtp protection=smtp.unknown_command action=detect '
     'attack_name="Received an unknown command (CLIENT=10.0.0.1)" '
     'attack_info="mail server" client=198.51.100.21 client_port=1 '
     'session=0f3a9c1b2d4e5f63 user="client=10.0.0.2" '
     'detail="client=10.0.0.3 \\" client=10.0.0.4"', "198.51.100.21"),
]
BENIGN = [
    # action=off is never logged by the daemons; if it were, no ban.
    PFX % (10, "pop3hook", 7) + 'attack service=pop3 '
    'protection=pop3.max_commands action=off attack_name="POP3 Policy '
    'Violation" attack_info="Too many commands" client=203.0.113.6 '
    'client_port=5 session=0f3a9c1b2d4e5f64 user=- detail="NOOP"',
    # An event without a client address.
    PFX % (11, "milter", 8) + 'attack service=smtp '
    'protection=smtp.auth action=prevent attack_name="SMTP Security '
    'Violation" attack_info="Command was blocked by Security Policy" '
    'client=- client_port=0 session=0f3a9c1b2d4e5f65 user="carol" '
    'detail="MAIL FROM"',
    # Operational messages of the daemons.
    PFX % (12, "pop3hook", 7) + "listening on 127.0.0.1:1110",
    PFX % (13, "pop3hook", 7) + "configuration reloaded from "
    "/etc/mailwarden/mailwarden.conf client=203.0.113.7 client_port=1",
    # The once-a-second summary of rate-limited events.
    PFX % (14, "pop3hook", 7) + "suppressed service=pop3 "
    "protection=pop3.max_line_length count=12",
    # Another program's line with the same text is not mailwarden's.
    "Nov 23 14:35:15 mail logger[9]: " + ATTACKS[0][0].replace(
        "203.0.113.5", "203.0.113.8"),
    # Normal mail traffic.
    "Nov 23 14:35:16 mail dovecot: pop3-login: Login: user=<bob>, "
    "method=PLAIN, rip=203.0.113.9, lip=127.0.0.1, session=<x>",
    "Nov 23 14:35:17 mail postfix/smtpd[11]: connect from "
    "unknown[203.0.113.10]",
]


@scenario
def fail2ban_filter_sample_lines():
    lines = []
    for i, (text, _) in enumerate(ATTACKS):
        prog = "pop3hook" if "service=pop3" in text else "milter"
        lines.append(PFX % (i, prog, 100 + i) + text)
    eq(f2b_hosts(lines + BENIGN), [h for _, h in ATTACKS],
       "hosts matched in %d attack + %d benign lines"
       % (len(ATTACKS), len(BENIGN)))
    eq(f2b_hosts(BENIGN), [], "hosts matched in benign lines only")


@scenario
def fail2ban_filter_parameters():
    lines = [PFX % (i, "pop3hook", 1) + t for i, (t, _) in
             enumerate(ATTACKS)]
    eq(f2b_hosts(lines, 'mailwarden[mw_actions="prevent"]'),
       ["203.0.113.5", "198.51.100.20"], "prevent only")
    eq(f2b_hosts(lines, 'mailwarden[mw_protections="smtp\\.auth_overflow"]'),
       ["198.51.100.20"], "one protection")


EVT_HELPER = r"""
#include <string.h>
#include <stdio.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "evt.h"

/* Print the syslog line of every protection in every action, from
 * clients v4, v4-mapped v6, v6 and none. */
int
main(void)
{
	struct sockaddr_in	 s4 = { .sin_family = AF_INET };
	struct sockaddr_in6	 s6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in6	 sm = { .sin6_family = AF_INET6 };
	const struct sockaddr	*sa[] = { (void *)&s4, (void *)&sm,
				    (void *)&s6, NULL };
	const char		*det = "client=10.0.0.9 \" user=x";
	char			 buf[EVT_LINE_MAX];
	struct evt_session	 s;
	int			 p, a, c;

	s4.sin_port = htons(51234);
	inet_pton(AF_INET, "203.0.113.5", &s4.sin_addr);
	sm.sin6_port = htons(51235);
	inet_pton(AF_INET6, "::ffff:203.0.113.6", &sm.sin6_addr);
	s6.sin6_port = htons(51236);
	inet_pton(AF_INET6, "2001:db8::7", &s6.sin6_addr);
	for (p = 0; p < PROT_COUNT; p++)
		for (a = ACT_OFF; a <= ACT_PREVENT; a++)
			for (c = 0; c < 4; c++) {
				evt_session_init(&s, reg_get(p)->service,
				    sa[c]);
				if (c == 2)
					evt_session_user(&s, "client=10.0.0.8",
					    15);
				if (evt_format_syslog(buf, sizeof(buf), &s, p,
				    a, "CLIENT=10.0.0.7", det,
				    strlen(det)) < 0)
					return 1;
				printf("%s %s\n", reg_service_name(
				    reg_get(p)->service), buf);
			}
	return 0;
}
"""


@scenario
def fail2ban_filter_matches_core_event_lines():
    """The lines the events module really writes (evt_format_syslog)."""
    r = sh(["make", "-s", "build/libcore.a"], cwd=ROOT, timeout=120)
    eq(r.returncode, 0, "make build/libcore.a: " + r.stderr[-800:])
    d = tmpdir()
    src = os.path.join(d, "evtlines.c")
    with open(src, "w") as f:
        f.write(EVT_HELPER)
    libs = sh(["pkg-config", "--libs", "libconfuse", "capstone",
               "libsystemd"]).stdout.split()
    exe = os.path.join(d, "evtlines")
    r = sh(["cc", "-std=c11", "-D_GNU_SOURCE", "-I", os.path.join(ROOT,
            "core"), "-o", exe, src, os.path.join(ROOT, "build",
                                                  "libcore.a")]
           + libs + ["-pthread"], timeout=120)
    eq(r.returncode, 0, "compiling the helper: " + r.stderr[-800:])
    r = sh([exe])
    eq(r.returncode, 0, "helper")
    lines, want = [], []
    hosts = ["203.0.113.5", "203.0.113.6", "2001:db8::7", None]
    for i, ln in enumerate(r.stdout.splitlines()):
        svc, text = ln.split(" ", 1)
        prog = "pop3hook" if svc == "pop3" else "milter"
        lines.append(PFX % (i % 60, prog, 4242) + text)
        act = re.search(r" action=(\w+) ", text).group(1)
        host = hosts[i % 4]
        if act in ("prevent", "detect") and host:
            want.append(host)
    eq(len(lines), 15 * 3 * 4, "lines from the helper")
    got = f2b_hosts(lines)
    eq(len(got), len(want), "matched lines")
    eq(got, want, "hosts")


@scenario
def fail2ban_jail():
    conf = f2b_confdir()
    r = sh(["fail2ban-client", "-c", conf, "-d"])
    eq(r.returncode, 0, "fail2ban-client -d: " + r.stderr[-500:])
    check("'mailwarden'" not in r.stdout, "jail on before it is enabled")
    log = os.path.join(conf, "mail.log")
    open(log, "w").close()
    with open(os.path.join(conf, "jail.d", "mailwarden.local"), "w") as f:
        f.write("[mailwarden]\nenabled = true\nlogpath = %s\n" % log)
    r = sh(["fail2ban-client", "-c", conf, "-d"])
    eq(r.returncode, 0, "fail2ban-client -d: " + r.stderr[-500:])
    out = r.stdout
    for want in ["['add', 'mailwarden', 'auto']",
                 "['set', 'mailwarden', 'maxretry', 3]",
                 "['set', 'mailwarden', 'addlogpath', '%s', 'head']" % log,
                 "mailwarden-(?:milter|pop3hook)",
                 "smtp,submission,submissions,pop3,pop3s",
                 "['start', 'mailwarden']"]:
        check(want in out, "jail dump lacks %s" % want)


# ----------------------------------------------------------------- systemd

def unit_directives(path):
    """{key: [values]} of a unit file's [Service] section."""
    out, sect = {}, None
    with open(path) as f:
        for ln in f:
            ln = ln.strip()
            if not ln or ln.startswith("#"):
                continue
            if ln.startswith("["):
                sect = ln
                continue
            k, v = ln.split("=", 1)
            out.setdefault((sect, k), []).append(v)
    return out


def exposure(unit_path):
    r = sh(["systemd-analyze", "security", "--offline=true", "--no-pager",
            unit_path], cwd=os.path.dirname(unit_path))
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", r.stdout)
    check(m, "no exposure level in: %s %s" % (r.stdout[-300:], r.stderr))
    return float(m.group(1))


def unit_scenarios(name):
    unit = os.path.join(UNITS, name + ".service")
    sig = "USR1" if name == "mailwarden-milter" else "HUP"

    def directives():
        d = unit_directives(unit)
        s = "[Service]"

        def one(k):
            v = d.get((s, k), [])
            eq(len(v), 1, "%s= in %s" % (k, name))
            return v[0]
        eq(one("Type"), "notify", "Type")
        eq(one("ExecStart"), "/usr/sbin/%s -f -c "
           "/etc/mailwarden/mailwarden.conf" % name, "ExecStart")
        eq(one("ExecStartPre"), "/usr/sbin/%s -t -c "
           "/etc/mailwarden/mailwarden.conf" % name, "ExecStartPre")
        eq(one("ExecReload"), "/bin/kill -%s $MAINPID" % sig, "ExecReload")
        check(one("Restart") in ("on-failure", "always"), "Restart")
        eq(one("CapabilityBoundingSet"), "CAP_NET_BIND_SERVICE", "caps")
        eq(one("AmbientCapabilities"), "CAP_NET_BIND_SERVICE", "ambient")
        eq(one("ProtectSystem"), "strict", "ProtectSystem")
        for k in ["PrivateTmp", "NoNewPrivileges", "DynamicUser",
                  "ProtectHome", "PrivateDevices", "RestrictNamespaces"]:
            eq(one(k), "yes", k)
        eq(one("User"), "mailwarden", "User")
        eq(one("RestrictAddressFamilies"), "AF_UNIX AF_INET AF_INET6",
           "RestrictAddressFamilies")
        check(d.get((s, "SystemCallFilter")), "no SystemCallFilter")
        check(("[Install]", "WantedBy") in d, "no WantedBy")
    directives.__name__ = "systemd_directives_" + name.split("-")[1]
    scenario(directives)

    def verify():
        # The unit as shipped, with its binaries taken from bin/ and its
        # Documentation= pages from man/.
        check(os.access(os.path.join(BIN, name), os.X_OK),
              "bin/%s not built" % name)
        d = tmpdir()
        mp = os.path.join(d, "man")
        for p in PAGES:
            sec = os.path.join(mp, "man" + p.rsplit(".", 1)[1])
            os.makedirs(sec, exist_ok=True)
            shutil.copy(os.path.join(MAN, p), sec)
        with open(unit) as f:
            text = f.read().replace("/usr/sbin/", BIN + "/")
        path = os.path.join(d, name + ".service")
        with open(path, "w") as f:
            f.write(text)
        env = dict(os.environ, MANPATH=mp + ":")
        r = sh(["systemd-analyze", "verify", path], env=env, cwd=d)
        eq((r.returncode, r.stdout + r.stderr), (0, ""),
           "systemd-analyze verify")
    verify.__name__ = "systemd_verify_" + name.split("-")[1]
    scenario(verify)

    def security():
        e = exposure(unit)
        print("# %s exposure %.1f" % (name, e))
        check(e <= MAX_EXPOSURE, "%s exposure %.1f > %.1f"
              % (name, e, MAX_EXPOSURE))
    security.__name__ = "systemd_security_" + name.split("-")[1]
    scenario(security)


for _u in DAEMONS:
    unit_scenarios(_u)


NOTIFY_CONF = """log { syslog = false }
pop3 {
  listen = {"127.0.0.1:%d"}
  backend = "127.0.0.1:%d"
}
smtp { socket = "inet:%d@127.0.0.1" }
"""
NOTIFY_PORTS = {"mailwarden-pop3hook": 25110, "mailwarden-milter": 25120}


def notify_scenario(name):
    """What Type=notify, ExecStartPre and ExecReload rely on: -t, READY=1
    once listening, RELOADING=1/READY=1 around the reload signal,
    STOPPING=1 and exit 0 on SIGTERM."""
    sig = signal.SIGUSR1 if name == "mailwarden-milter" else signal.SIGHUP
    port = NOTIFY_PORTS[name]

    def fn():
        exe = os.path.join(BIN, name)
        check(os.access(exe, os.X_OK), "bin/%s not built" % name)
        d = tmpdir()
        conf = os.path.join(d, "mailwarden.conf")
        with open(conf, "w") as f:
            f.write(NOTIFY_CONF % (25110, 25111, 25120))
        r = sh([exe, "-t", "-c", conf])
        eq((r.returncode, r.stdout.strip()), (0, "configuration OK"),
           "-t on a good file")
        bad = os.path.join(d, "bad.conf")
        with open(bad, "w") as f:
            f.write("log {\n  sylog = true\n}\n")
        r = sh([exe, "-t", "-c", bad])
        eq(r.returncode, 1, "-t on a bad file")
        check(bad + ":2" in r.stdout + r.stderr, "no file:line in %r"
              % (r.stdout + r.stderr))
        path = os.path.join(d, "notify")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(path)
        s.settimeout(10)
        got = []

        def expect(state):
            while True:
                try:
                    msg = s.recv(4096).decode()
                except socket.timeout:
                    raise Fail("no %s from %s (got %r)" % (state, name, got))
                got.append(msg)
                if state in msg.split("\n"):
                    return
        p = spawn([exe, "-f", "-c", conf],
                  env=dict(os.environ, NOTIFY_SOCKET=path))
        try:
            expect("READY=1")
            c = socket.create_connection(("127.0.0.1", port), 2)
            c.close()
            os.kill(p.pid, sig)
            expect("RELOADING=1")
            expect("READY=1")
            check(p.poll() is None, "%s exited on %s" % (name, sig.name))
            os.kill(p.pid, signal.SIGTERM)
            expect("STOPPING=1")
            eq(p.wait(15), 0, "exit status after SIGTERM")
        finally:
            stop(p)
            s.close()
    fn.__name__ = "systemd_notify_" + name.split("-")[1]
    return scenario(fn)


for _u in DAEMONS:
    notify_scenario(_u)


def ids_of(pid):
    """{(real, effective, saved, fs) uid and gid} of every thread."""
    out = set()
    for t in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/status" % (pid, t)) as f:
            st = dict(ln.split(":", 1) for ln in f if ":" in ln)
        out.add((tuple(st["Uid"].split()), tuple(st["Gid"].split())))
    return out


def drop_scenarios(name, port):
    """Started as root outside systemd: drop to user/group after binding;
    refuse to run at all when the user does not exist."""
    import pwd
    import grp

    def fn():
        exe = os.path.join(BIN, name)
        check(os.access(exe, os.X_OK), "bin/%s not built" % name)
        check(os.geteuid() == 0, "needs root")
        nobody = pwd.getpwnam("nobody")
        nogroup = grp.getgrnam("nogroup")
        d = tmpdir()
        conf = os.path.join(d, "mailwarden.conf")
        body = NOTIFY_CONF % (port, port + 1, port)
        with open(conf, "w") as f:
            f.write('user = "nobody"\ngroup = "nogroup"\n' + body)
        p = spawn([exe, "-f", "-c", conf])
        try:
            wait_port(port, timeout=10)
            u, g = str(nobody.pw_uid), str(nogroup.gr_gid)
            eq(ids_of(p.pid), {((u,) * 4, (g,) * 4)}, "ids of every thread")
            with open("/proc/%d/status" % p.pid) as f:
                groups = [ln.split()[1:] for ln in f
                          if ln.startswith("Groups:")][0]
            eq(groups, [g], "supplementary groups")
        finally:
            eq(stop(p), 0, "exit status after SIGTERM")
        with open(conf, "w") as f:
            f.write('user = "mw-no-such-user"\n' + body)
        p = spawn([exe, "-f", "-c", conf], stderr=subprocess.PIPE)
        try:
            rc = p.wait(10)
        except subprocess.TimeoutExpired:
            raise Fail("%s kept running with an unknown user" % name)
        err = p.stderr.read().decode(errors="replace").strip().splitlines()
        eq(rc, 1, "exit status with an unknown user")
        check(len(err) >= 1 and "mw-no-such-user" in err[-1],
              "no clear message: %r" % err)
    fn.__name__ = "privilege_drop_" + name.split("-")[1]
    return scenario(fn)


drop_scenarios("mailwarden-pop3hook", 25130)
drop_scenarios("mailwarden-milter", 25140)


@scenario
def systemd_security_scores_a_bare_unit_high():
    """The exposure check can fail: an unhardened unit scores high."""
    d = tmpdir()
    path = os.path.join(d, "bare.service")
    with open(path, "w") as f:
        f.write("[Service]\nExecStart=/bin/true\n")
    e = exposure(path)
    check(e > 9.0, "bare unit exposure %.1f" % e)


# ----------------------------------------------------------------- install

INSTALLED = {
    # path: mode
    "{sbin}/mailwarden-milter": 0o755,
    "{sbin}/mailwarden-pop3hook": 0o755,
    "{bin}/mailwarden-mcp": 0o755,
    "etc/mailwarden/mailwarden.conf": 0o644,
    "lib/systemd/system/mailwarden-milter.service": 0o644,
    "lib/systemd/system/mailwarden-pop3hook.service": 0o644,
    "{man}/man8/mailwarden-milter.8": 0o644,
    "{man}/man8/mailwarden-pop3hook.8": 0o644,
    "{man}/man1/mailwarden-mcp.1": 0o644,
    "{man}/man5/mailwarden.conf.5": 0o644,
    "etc/fail2ban/filter.d/mailwarden.conf": 0o644,
    "etc/fail2ban/jail.d/mailwarden.conf": 0o644,
}


def expected_files(prefix, man_suffix=""):
    p = prefix.strip("/")
    out = {}
    for k, mode in INSTALLED.items():
        k = k.format(sbin=p + "/sbin", bin=p + "/bin",
                     man=p + "/share/man")
        if "/man/man" in k:
            k += man_suffix
        out[k] = mode
    return out


def check_tree(root, files):
    for rel, mode in sorted(files.items()):
        path = os.path.join(root, rel)
        check(os.path.isfile(path), "missing %s" % rel)
        eq(oct(os.stat(path).st_mode & 0o7777), oct(mode), "mode of " + rel)
        if mode == 0o755:
            with open(path, "rb") as f:
                eq(f.read(4), b"\x7fELF", rel + " is not an ELF binary")


def check_units_point_inside(root):
    """Each installed unit runs a binary that is installed."""
    for u in DAEMONS:
        path = os.path.join(root, "lib/systemd/system", u + ".service")
        d = unit_directives(path)
        for k in ["ExecStart", "ExecStartPre"]:
            exe = d[("[Service]", k)][0].split()[0]
            check(os.access(root + exe, os.X_OK),
                  "%s %s= runs %s, which is not installed" % (u, k, exe))


def make_install(dest, *extra):
    r = sh(["make", "--no-print-directory", "install", "DESTDIR=" + dest]
           + list(extra), cwd=ROOT, timeout=150)
    eq(r.returncode, 0, "make install: " + (r.stdout + r.stderr)[-1500:])
    return r.stdout + r.stderr


@scenario
def install_prefix_usr_keeps_config():
    dest = tmpdir()
    make_install(dest, "PREFIX=/usr")
    files = expected_files("/usr")
    check_tree(dest, files)
    check_units_point_inside(dest)
    with open(os.path.join(ROOT, "etc/mailwarden.conf")) as f:
        shipped = f.read()
    conf = os.path.join(dest, "etc/mailwarden/mailwarden.conf")
    with open(conf) as f:
        eq(f.read(), shipped, "installed configuration")
    # The administrator's edits survive a second install.
    mine = "# local edit\npop3 { listen = {\"*:110\"} }\n"
    with open(conf, "w") as f:
        f.write(mine)
    out = make_install(dest, "PREFIX=/usr")
    with open(conf) as f:
        eq(f.read(), mine, "configuration after a second make install")
    check("keeping existing" in out, "no word about the kept file: " + out)
    check_tree(dest, files)


@scenario
def install_default_prefix():
    dest = tmpdir()
    make_install(dest)
    check_tree(dest, expected_files("/usr/local"))
    check(not os.path.exists(os.path.join(dest, "usr/sbin")),
          "installed into /usr/sbin with the default PREFIX")
    check_units_point_inside(dest)


# -------------------------------------------------------------------- .deb

def copy_tree(dst):
    """The source tree without build products or git metadata."""
    skip = {".git", "build", "build-asan", "build-fuzz", "bin"}

    def ignore(d, names):
        if os.path.abspath(d) == ROOT:
            return [n for n in names if n in skip]
        return [n for n in names if n == "__pycache__"]
    shutil.copytree(ROOT, dst, ignore=ignore, symlinks=True)


@scenario
def deb_build_and_extract():
    d = tmpdir()
    src = os.path.join(d, "mailwarden")
    copy_tree(src)
    env = dict(os.environ, DEB_BUILD_OPTIONS="nocheck noddebs parallel=2")
    r = sh(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, env=env,
           timeout=150)
    eq(r.returncode, 0, "dpkg-buildpackage: " +
       (r.stdout + r.stderr)[-2000:])
    debs = glob.glob(os.path.join(d, "mailwarden_*.deb"))
    eq(len(debs), 1, "packages built")
    deb = debs[0]
    f = sh(["dpkg-deb", "-f", deb, "Package", "Architecture",
            "Depends"]).stdout
    check("Package: mailwarden" in f, f)
    for lib in ["libmilter", "libev", "libconfuse", "adduser"]:
        check(re.search(r"Depends:.*\b%s" % lib, f), "Depends lacks " + lib)
    # Control files: conffiles and the user creation.
    ctl = os.path.join(d, "control")
    os.makedirs(ctl)
    eq(sh(["dpkg-deb", "-e", deb, ctl]).returncode, 0, "dpkg-deb -e")
    with open(os.path.join(ctl, "conffiles")) as fh:
        conffiles = fh.read().split()
    for c in ["/etc/mailwarden/mailwarden.conf",
              "/etc/fail2ban/filter.d/mailwarden.conf",
              "/etc/fail2ban/jail.d/mailwarden.conf"]:
        check(c in conffiles, "not a conffile: " + c)
    with open(os.path.join(ctl, "postinst")) as fh:
        check("adduser --system" in fh.read(), "postinst makes no user")
    # The files, extracted into a scratch root.
    root = os.path.join(d, "root")
    r = sh(["dpkg", "-x", deb, root])
    eq(r.returncode, 0, "dpkg -x: " + r.stderr)
    check_tree(root, expected_files("/usr", ".gz"))
    check_units_point_inside(root)
    for p in PAGES:
        sec = p.rsplit(".", 1)[1]
        gz = os.path.join(root, "usr/share/man/man" + sec, p + ".gz")
        with gzip.open(gz, "rt") as fh, open(os.path.join(MAN, p)) as orig:
            eq(fh.read(), orig.read(), "packaged " + p)
    check(os.path.isfile(os.path.join(
        root, "usr/share/doc/mailwarden/copyright")), "no copyright file")


if __name__ == "__main__":
    run()
