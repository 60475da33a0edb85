# SPDX-License-Identifier: ISC
"""mailwarden-milter driven by miltertest (tests/milter/*.lua) through
callback sequences Postfix does not produce easily: a transaction aborted
half-way, a second transaction on one connection, macros and client address
missing.  Each script asserts the milter's replies; this file checks the
exact JSON events.  Ports 22140-22149."""
import os
import subprocess

import postfix
from mwtest import ROOT, check, eq, run, scenario

SCRIPTS = os.path.join(ROOT, "tests", "milter")


def miltertest(script, m):
    r = subprocess.run(["miltertest", "-s", os.path.join(SCRIPTS, script),
                        "-D", "port=%d" % m.port, "-D", "dir=" + SCRIPTS],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60)
    out = r.stdout.decode(errors="replace")
    eq(r.returncode, 0, "miltertest %s status (%s)" % (script, out.strip()))


def with_milter(port, smtp, fn):
    m = postfix.Milter(port, smtp)
    m.start()
    try:
        fn(m)
    finally:
        eq(m.stop(), 0, "milter exit status")


EXT = ('internal_networks = {"127.0.0.0/8"}\n'
       'local_domains = {"test.example"}\n')


@scenario
def abort_mid_transaction():
    def body(m):
        miltertest("abort.lua", m)
        ev = m.wait_events(1)
        eq(len(ev), 1, "events")
        postfix.event_check(ev[0], "smtp.external_mail", "prevent", "Mail",
                            "A connection attempt to an external mail "
                            "server", "RCPT TO:<x@example.com>")
    with_milter(22140, EXT + "protection external_mail { action = prevent }",
                body)


@scenario
def second_transaction():
    def body(m):
        miltertest("second_transaction.lua", m)
        ev = m.wait_events(13)
        eq(len(ev), 13, "events")
        postfix.event_check(ev[0], "smtp.external_mail", "detect", "Mail",
                            "A connection attempt to an external mail "
                            "server", "RCPT TO:<x@example.com>")
        for e in ev[1:12]:
            postfix.event_check(e, "smtp.unknown_command", "detect",
                                "Received an unknown command (FOO)",
                                "mail server", "FOO")
        postfix.event_check(ev[12], "smtp.max_bad_commands", "prevent",
                            "SMTP Policy Violation", "Too many bad commands",
                            "FOO")
        eq(len({e["session"] for e in ev}), 1, "one session")
    with_milter(22141, EXT + "detect_header = true\n"
                "protection external_mail { action = detect }", body)


@scenario
def missing_macros():
    def body(m):
        miltertest("missing_macros.lua", m)
        ev = m.wait_events(3)
        eq(len(ev), 3, "events")
        # no client address: client and client_port are null
        e = ev[0]
        eq((e["protection"], e["action"], e["attack_name"], e["client"],
            e["client_port"], e["user"], e["detail"]),
           ("smtp.unknown_command", "detect",
            "Received an unknown command ()", None, None, None, ""),
           "empty unknown command")
        e = ev[1]
        eq((e["protection"], e["action"], e["client"], e["client_port"],
            e["user"], e["detail"]),
           ("smtp.auth", "prevent", None, None, None,
            "AUTH PLAIN from outside allow_networks"), "no address")
        postfix.event_check(ev[2], "smtp.auth", "prevent",
                            "SMTP Security Violation",
                            "Command was blocked by Security Policy",
                            "AUTH LOGIN without TLS", user="bob")
        check(ev[1]["session"] != ev[2]["session"], "sessions differ")
    with_milter(22142, 'protection auth { allow_networks = {"127.0.0.0/8"} '
                "require_tls = true }", body)


if __name__ == "__main__":
    run()
