#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
# p3_seeds.py DIR: write a few whole POP3 sessions in fuzz_p3's input
# format (8 policy octets, then chunks: octet 0x80 for backend bytes, 0x40
# for a second length octet, 6 length bits) as a starting corpus.
import os
import sys


def chunk(server, data):
    out = b""
    while data:
        part, data = data[:16383], data[16383:]
        h = (0x80 if server else 0) | 0x40 | (len(part) >> 8)
        out += bytes([h, len(part) & 0xff]) + part
    return out


SESSIONS = {
    "userpass": [(1, b"+OK Dovecot ready.\r\n"), (0, b"USER alice\r\n"),
                 (1, b"+OK\r\n"), (0, b"PASS secret\r\n"),
                 (1, b"+OK Logged in.\r\n"), (0, b"RETR 1\r\n"),
                 (1, b"+OK 12 octets\r\nSubject: x\r\n..dot\r\n.\r\n"),
                 (0, b"QUIT\r\n"), (1, b"+OK Bye\r\n")],
    "capa": [(1, b"+OK [XCLIENT] ready\r\n"), (0, b"CAPA\r\n"),
             (1, b"+OK\r\nUSER\r\nSTLS\r\nXCLIENT\r\nSASL PLAIN\r\n.\r\n"),
             (0, b"STLS\r\n"), (1, b"+OK Begin TLS\r\n"),
             (0, b"\x16\x03\x01\x00")],
    "sasl": [(1, b"+OK ready\r\n"), (0, b"AUTH PLAIN\r\n"), (1, b"+ \r\n"),
             (0, b"AGFsaWNlAHNlY3JldA==\r\n"), (1, b"+OK Logged in.\r\n"),
             (0, b"AUTH LOGIN YWxpY2U=\r\n"), (1, b"-ERR no\r\n")],
    "pipeline": [(1, b"+OK ready\r\n"),
                 (0, b"USER a\r\nPASS b\r\nLIST\r\nUIDL\r\nTOP 1 0\r\n"),
                 (1, b"+OK\r\n+OK\r\n+OK\r\n1 2\r\n.\r\n+OK\r\n1 x\r\n"
                  b".\r\n+OK\r\nh: v\r\n\r\n.\r\n")],
    "bad": [(1, b"+OK ready\r\n"), (0, b"USER \x90\x90\x90\x90\r\n"),
            (0, b"APOP x 0123\r\nXCLIENT ADDR=1.2.3.4\r\n"),
            (1, b"-ERR\r\n-ERR\r\n")],
}

os.makedirs(sys.argv[1], exist_ok=True)
for name, steps in SESSIONS.items():
    for knobs in (bytes(8), bytes([0x55, 0x55, 0x03, 0x90, 0x90, 0x81,
                                   0x81, 0x81])):
        data = knobs + b"".join(chunk(s, d) for s, d in steps)
        with open(os.path.join(sys.argv[1], "%s-%s" % (name, knobs[0])),
                  "wb") as f:
            f.write(data)
