# SPDX-License-Identifier: ISC
"""mailwarden-mcp, the detector on the command line (SPEC section 5): one
output line per record, in order, from lines or NUL-separated records, from
stdin or files; each sensitivity; base64 records judged decoded as well;
exit 0, or 1 for a usage or read error (the other files still judged)."""
import base64
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mwtest  # noqa: E402
from mwtest import scenario, check, eq  # noqa: E402

MCP = os.path.join(mwtest.BIN, "mailwarden-mcp")
# 40 NOPs and an execve stub; the detector reports a 41-byte sled.
SC = (b"\x90" * 40 + b"\x31\xc0\x50\x68\x2f\x2f\x73\x68\x68\x2f\x62\x69"
      b"\x6e\x89\xe3\x50\x53\x89\xe1\xb0\x0b\xcd\x80")


def mcp(*args, data=b""):
    """(exit status, output lines, stderr) of mailwarden-mcp args."""
    r = subprocess.run([MCP] + list(args), input=data, timeout=60,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return (r.returncode, r.stdout.decode().splitlines(),
            r.stderr.decode(errors="replace"))


def write(data):
    path = os.path.join(mwtest.tmpdir("mwmcp-"), "records")
    with open(path, "wb") as f:
        f.write(data)
    return path


@scenario
def lines_from_stdin_in_order():
    rc, out, err = mcp(data=b"alice\n" + SC + b"\nbob@example.org\n\n"
                       b"unterminated")
    eq(rc, 0, "exit status")
    eq(out, ["clean", "malicious x86 NOP sled 41 bytes", "clean", "clean",
             "clean"], "one line per record, in order")
    eq(err, "", "stderr")


@scenario
def nul_separated_records_keep_their_newlines():
    rc, out, _ = mcp("-0", data=b"a\n" + SC + b"\n\x00clean\nline\x00")
    eq(rc, 0, "exit status")
    eq(out, ["malicious x86 NOP sled 41 bytes", "clean"], "two records")


@scenario
def sensitivity_levels():
    sled = write(b"A" * 300 + b"\n" + SC + b"\n")
    for level, first in (("low", "clean"), ("medium", "clean"),
                         ("high", "malicious x86 printable sled 300 bytes")):
        rc, out, _ = mcp("-s", level, sled)
        eq(rc, 0, "exit status at %s" % level)
        eq(out, [first, "malicious x86 NOP sled 41 bytes"], level)
    eq(mcp(sled)[1], mcp("-s", "medium", sled)[1], "medium by default")


@scenario
def base64_record_judged_decoded():
    blob = base64.b64encode(b"\x00alice\x00" + SC)
    rc, out, _ = mcp(data=blob + b"\n" + base64.b64encode(b"\x00alice\x00pw")
                     + b"\n")
    eq(rc, 0, "exit status")
    eq(out, ["malicious x86 NOP sled 41 bytes in base64", "clean"],
       "the SASL PLAIN blobs")


@scenario
def files_in_order_and_a_missing_one():
    a, b = write(b"x\n"), write(SC + b"\n")
    rc, out, err = mcp(a, "/nonexistent/records", b)
    eq(rc, 1, "exit status with a file that cannot be read")
    eq(out, ["clean", "malicious x86 NOP sled 41 bytes"],
       "the readable files judged, in order")
    check("/nonexistent/records" in err, "the file named: %r" % err)


@scenario
def usage_errors():
    for args in (["-s", "extreme"], ["-x"], ["-s"]):
        rc, out, err = mcp(*args)
        eq(rc, 1, "exit status of %s" % args)
        eq(out, [], "nothing judged for %s" % args)
        check("usage:" in err or "sensitivity" in err, "told: %r" % err)
    rc, out, _ = mcp("-h")
    eq(rc, 0, "-h exit status")
    check(out and out[0].startswith("usage: mailwarden-mcp"), "usage")


if __name__ == "__main__":
    mwtest.run()
