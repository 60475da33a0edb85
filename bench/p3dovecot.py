# SPDX-License-Identifier: ISC
"""p3dovecot: the Dovecot of the POP3 benchmark, on the test harness.

    python3 bench/p3dovecot.py --port P [--dir DIR] [--users N]

Users u0..u<N-1> (password "pw") each hold one 4 KB message; user "big"
(password "pw") holds one 10 MB message.  Dovecot runs in the harness's
perf mode (login processes in high-performance mode, limits raised for
2,000+ connections).  Prints "ready <master-pid>" once it accepts, then
runs until SIGTERM or SIGINT and stops Dovecot.
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import dovecot  # noqa: E402
import mwtest  # noqa: E402


def message(size, tag):
    """A plain RFC 5322 message of about size octets, CRLF lines."""
    head = ("From: bench@example.org\r\nTo: %s@example.org\r\n"
            "Subject: benchmark message\r\n"
            "Message-ID: <%s@bench.example.org>\r\n\r\n" % (tag, tag))
    line = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n"
    n = max(1, (size - len(head)) // len(line))
    return (head + line * n).encode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir")
    ap.add_argument("--users", type=int, default=256)
    a = ap.parse_args()
    users = {"u%d" % i: "pw" for i in range(a.users)}
    users["big"] = "pw"
    if a.dir:
        os.makedirs(a.dir, exist_ok=True)
    dc = dovecot.Dovecot(a.port, users=users, perf=True, dir=a.dir)
    small = message(4096, "small")
    for u in users:
        if u != "big":
            dc.add_message(u, small)
    dc.add_message("big", message(10 * 1024 * 1024, "big"))
    return mwtest.serve(dc)


if __name__ == "__main__":
    sys.exit(main())
