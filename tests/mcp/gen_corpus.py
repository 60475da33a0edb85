#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
# gen_corpus.py: build the Malicious Code Protector's two corpora from
# tests/mcp/shellcode.tsv and a fixed seed, byte for byte the same each run.
#   malicious.tsv  exploit arguments: raw shellcode, filler + return address +
#                  sled + shellcode (SLMail PASS, Mercury CRAM-MD5 layouts),
#                  XOR-decoder-wrapped shellcode, alphanumeric payloads, and
#                  base64 of these as a SASL exchange carries them
#   benign.tsv     what mail clients really send: user names, passwords of
#                  every policy, addresses, HELO names, SASL blobs, binary
#                  GSSAPI-like tokens, hex and base64 tokens
# Each line: "<kind>\t<hex of the argument>".
# Usage: gen_corpus.py OUTDIR
import base64
import os
import random
import string
import struct
import sys

SEED = 20261123
HERE = os.path.dirname(os.path.abspath(__file__))


def load_shellcode():
    """The public samples: (name, arch, bytes)."""
    out = []
    with open(os.path.join(HERE, "shellcode.tsv"), encoding="utf-8") as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            name, arch, hexs, _src = line.rstrip("\n").split("\t", 3)
            out.append((name, arch, bytes.fromhex(hexs)))
    return out


# Return addresses used by public exploits of the kind (JMP ESP / POP POP RET
# in SLMail's SLMFC.DLL, Windows system DLLs, and the like).
RETS = [0x5F4A358F, 0x7C86467B, 0x757D6537, 0x625011AF, 0x77D8AF0A,
        0x7C9D30D7, 0x1001C1A3, 0x00401E05]

# One-byte x86 instructions that Metasploit's single_byte NOP generator
# mixes into polymorphic sleds (register-only, no memory access).
NOP1 = bytes([0x90, 0x40, 0x41, 0x42, 0x43, 0x46, 0x47, 0x48, 0x49, 0x4A,
              0x4B, 0x4E, 0x4F, 0x91, 0x92, 0x93, 0x96, 0x97, 0x98, 0x99,
              0x9F, 0xF5, 0xF8, 0xF9, 0xFC, 0xFD, 0x27, 0x2F, 0x37, 0x3F])


def sled(r, n):
    if r.random() < 0.5:
        return b"\x90" * n
    return bytes(r.choice(NOP1) for _ in range(n))


def xor_jcp(sc, key):
    """jmp/call/pop byte-XOR decoder (the layout of exploit-db 13529)."""
    n = len(sc)
    enc = bytes(b ^ key for b in sc)
    if n < 256:
        stub = (b"\xeb\x0e\x5b\x4b\x31\xc9\xb1" + bytes([n]) +
                b"\x80\x34\x0b" + bytes([key]) + b"\xe2\xfa\xeb\x05" +
                b"\xe8\xed\xff\xff\xff")
    else:
        stub = (b"\xeb\x10\x5b\x4b\x31\xc9\x66\xb9" + struct.pack("<H", n) +
                b"\x80\x34\x0b" + bytes([key]) + b"\xe2\xfa\xeb\x05" +
                b"\xe8\xeb\xff\xff\xff")
    return stub + enc


def xor_fnstenv(sc, key):
    """fnstenv GetPC + dword XOR loop (the shape of x86/fnstenv_mov)."""
    pad = sc + b"\x90" * (-len(sc) % 4)
    n = len(pad) // 4
    enc = b"".join(struct.pack("<I", struct.unpack("<I", pad[i:i + 4])[0] ^
                               key) for i in range(0, len(pad), 4))
    stub = (b"\x31\xc9\x66\xb9" + struct.pack("<H", n) + b"\xd9\xee" +
            b"\xd9\x74\x24\xf4\x5b\x81\x73\x13" + struct.pack("<I", key) +
            b"\x83\xeb\xfc\xe2\xf4")
    return stub + enc


def xor_countdown(sc):
    """call $+4 GetPC + countdown XOR (the shape of x86/countdown)."""
    n = len(sc)
    enc = bytes(b ^ ((n - i) & 0xff) for i, b in enumerate(sc))
    stub = (b"\x6a" + bytes([n & 0x7f]) + b"\x59\xe8\xff\xff\xff\xff\xc1"
            b"\x5e\x30\x4c\x0e\x07\xe2\xfa")
    return stub + enc


def sasl_plain(user, password):
    return base64.b64encode(b"\0" + user + b"\0" + password)


def malicious(r, samples):
    recs = []
    for name, arch, sc in samples:
        printable = all(0x20 <= b < 0x7f for b in sc)
        recs.append(("raw:" + name, sc))
        # SLMail 5.5 PASS (CVE-2003-0264): "A" * 2606 + JMP ESP + NOPs.
        recs.append(("slmail-pass:" + name, b"A" * 2606 +
                     struct.pack("<I", 0x5F4A358F) + sled(r, 16) + sc))
        # Generic stack smash: random filler, return address, sled.
        fill = bytes(r.choice(string.ascii_letters.encode())
                     for _ in range(r.randint(100, 900)))
        arg = fill + struct.pack("<I", r.choice(RETS)) + \
            sled(r, r.randint(16, 64)) + sc
        recs.append(("smash:" + name, arg))
        # Mercury AUTH CRAM-MD5 (CVE-2007-4440): base64 of upper-case
        # filler + SEH record (jmp short 6 + return address) + payload.
        seh = rand_upper(r, 204) + b"\xeb\x06\x90\x90" + \
            struct.pack("<I", r.choice(RETS)) + sled(r, 8) + sc
        recs.append(("mercury-cram:" + name, base64.b64encode(seh)))
        recs.append(("sasl-plain:" + name,
                     sasl_plain(b"admin", b"A" * 64 +
                                struct.pack("<I", r.choice(RETS)) +
                                sled(r, 24) + sc)))
        if printable:
            # Printable payloads ride in a USER/PASS argument as they are.
            recs.append(("pass-alnum:" + name, rand_upper(r, 260) +
                         b"\x41\x41\x41\x41" + sc))
            recs.append(("b64-alnum:" + name, base64.b64encode(sc)))
            continue
        if arch != "x86":
            continue
        key = r.choice([k for k in range(1, 256)
                        if k not in sc and k not in (0x0a, 0x0d)] or [0x99])
        enc = xor_jcp(sc, key)
        recs.append(("xor-jcp:" + name, enc))
        recs.append(("xor-jcp-b64:" + name, base64.b64encode(
            b"A" * 300 + struct.pack("<I", r.choice(RETS)) + enc)))
        recs.append(("xor-fnstenv:" + name,
                     xor_fnstenv(sc, r.getrandbits(32) | 0x01010101)))
        recs.append(("xor-countdown:" + name, xor_countdown(sc)))
    return recs


# ---- benign -------------------------------------------------------------

FIRST = ["john", "mary", "peter", "anna", "li", "wei", "olga", "ivan", "jose",
         "maria", "ahmed", "fatima", "yuki", "hiro", "sven", "ingrid", "raj",
         "priya", "kofi", "ama", "lucas", "emma", "noah", "mia", "omar",
         "leila", "chen", "mei", "tomas", "eva", "postmaster", "admin",
         "support", "info", "sales", "billing", "noreply", "backup"]
LAST = ["smith", "jones", "garcia", "muller", "rossi", "dubois", "kowalski",
        "ivanov", "wang", "zhang", "kim", "nguyen", "tanaka", "singh", "silva",
        "hansen", "jensen", "cohen", "haddad", "okafor", "schmidt", "novak"]
SCRIPTS = {
    "cyrillic": (0x0430, 0x044F), "greek": (0x03B1, 0x03C9),
    "arabic": (0x0627, 0x064A), "hebrew": (0x05D0, 0x05EA),
    "cjk": (0x4E00, 0x9FA5), "hangul": (0xAC00, 0xD7A3),
    "devanagari": (0x0905, 0x0939), "thai": (0x0E01, 0x0E2E),
    "hiragana": (0x3041, 0x3093), "armenian": (0x0561, 0x0586),
    "georgian": (0x10D0, 0x10F0), "latin-ext": (0x00C0, 0x017F),
}
WORDS = ("correct horse battery staple river mountain coffee window purple "
         "tiger winter summer garden orange rocket silver dragon pencil "
         "ocean planet forest yellow castle guitar monkey butter cookie "
         "sunshine football baseball shadow master hunter ranger thunder "
         "letmein welcome secret freedom").split()
TLDS = ["com", "org", "net", "de", "fr", "ru", "cn", "jp", "br", "in", "uk",
        "example", "co.uk", "com.au", "xn--p1ai", "рф", "中国", "公司"]


def uword(r, script, lo=2, hi=10):
    a, b = SCRIPTS[script]
    return "".join(chr(r.randint(a, b)) for _ in range(r.randint(lo, hi)))


def rand_upper(r, n):
    return bytes(r.choice(string.ascii_uppercase.encode()) for _ in range(n))


def username(r):
    f, l = r.choice(FIRST), r.choice(LAST)
    form = r.randint(0, 5)
    if form == 0:
        return f
    if form == 1:
        return f + "." + l
    if form == 2:
        return f[0] + l + str(r.randint(1, 9999))
    if form == 3:
        return f + "_" + l + str(r.randint(70, 99))
    if form == 4:
        return (f + l).upper()
    return f + "@" + l + ".example." + r.choice(TLDS)


def intl_name(r):
    s = r.choice(list(SCRIPTS))
    n = uword(r, s)
    if r.random() < 0.4:
        n += " " + uword(r, s)
    if r.random() < 0.3:
        n += str(r.randint(1, 999))
    return n.encode()


def domain(r):
    parts = [r.choice(LAST + FIRST) for _ in range(r.randint(1, 3))]
    if r.random() < 0.2:
        parts[0] = uword(r, r.choice(["cyrillic", "cjk", "latin-ext",
                                      "arabic"]), 2, 6)
    return ".".join(parts) + "." + r.choice(TLDS)


def email(r):
    local = username(r).split("@")[0]
    if r.random() < 0.2:
        local = uword(r, r.choice(list(SCRIPTS)), 2, 8)
    if r.random() < 0.1:
        local += "+" + r.choice(WORDS)
    return (local + "@" + domain(r)).encode()


def helo(r):
    k = r.randint(0, 5)
    if k == 0:
        return ("[%d.%d.%d.%d]" % tuple(r.randint(1, 254)
                                         for _ in range(4))).encode()
    if k == 1:
        return ("[IPv6:2001:db8:%x::%x]" % (r.getrandbits(16),
                                             r.getrandbits(16))).encode()
    if k == 2:
        return ("mail%d.%s" % (r.randint(1, 40), domain(r))).encode()
    if k == 3:
        return ("DESKTOP-%s" % rand_upper(r, 7).decode()).encode()
    if k == 4:
        return ("%s-pc.local" % r.choice(FIRST)).encode()
    return domain(r).encode()


def strong_password(r):
    n = r.randint(8, 64)
    cls = r.randint(0, 5)
    if cls == 0:
        alphabet = "".join(chr(c) for c in range(0x21, 0x7F))
    elif cls == 1:
        alphabet = "".join(chr(c) for c in range(0x20, 0x7F))
    elif cls == 2:
        alphabet = string.ascii_letters + string.digits
    elif cls == 3:
        alphabet = string.ascii_uppercase + string.digits
    elif cls == 4:
        alphabet = string.ascii_letters + string.digits + "!@#$%^&*()-_=+"
    else:
        alphabet = string.ascii_lowercase + string.digits
    return "".join(r.choice(alphabet) for _ in range(n)).encode()


def passphrase(r):
    sep = r.choice([" ", "-", ".", "_", ""])
    words = [r.choice(WORDS) for _ in range(r.randint(3, 7))]
    if r.random() < 0.3:
        words = [w.capitalize() for w in words]
    s = sep.join(words)
    if r.random() < 0.4:
        s += str(r.randint(0, 9999)) + r.choice("!?#$%&*")
    return s.encode()


def policy_password(r):
    w = r.choice(WORDS + FIRST + LAST)
    return (w.capitalize() + str(r.randint(1, 2030)) +
            r.choice("!@#$%^&*.?")).encode()


def intl_password(r):
    s = uword(r, r.choice(list(SCRIPTS)), 4, 16)
    if r.random() < 0.5:
        s += str(r.randint(0, 99999))
    return s.encode()


def upper_run(r):
    k = r.randint(0, 3)
    n = r.randint(16, 400)
    if k == 0:
        return r.choice(string.ascii_uppercase).encode() * n
    if k == 1:
        return rand_upper(r, n)
    if k == 2:
        return (r.choice(WORDS).upper() * (n // 5 + 1)).encode()
    return rand_upper(r, n // 2) + b"0123456789" * r.randint(1, 5)


def gss_token(r):
    """Random binary 16-64 bytes: what a GSSAPI/NTLM exchange may carry."""
    return bytes(r.getrandbits(8) for _ in range(r.randint(16, 64)))


def der_len(n):
    if n < 128:
        return bytes([n])
    if n < 256:
        return b"\x81" + bytes([n])
    return b"\x82" + struct.pack(">H", n)


def krb_ap_req(r):
    """A Kerberos-like GSSAPI initial token: DER framing, OID, ticket."""
    body = (b"\x6e" + der_len(0) + bytes(r.getrandbits(8)
                                         for _ in range(r.randint(200, 1400))))
    oid = b"\x06\x09\x2a\x86\x48\x86\xf7\x12\x01\x02\x02"
    inner = oid + b"\x01\x00" + body
    return b"\x60" + der_len(len(inner)) + inner


def ntlm_token(r):
    t = r.randint(1, 3)
    msg = b"NTLMSSP\x00" + struct.pack("<I", t) + \
        bytes(r.getrandbits(8) for _ in range(r.randint(24, 200)))
    return msg


def xoauth2(r):
    tok = base64.urlsafe_b64encode(bytes(r.getrandbits(8) for _ in
                                         range(r.randint(60, 180))))
    return base64.b64encode(b"user=" + email(r) + b"\x01auth=Bearer ya29." +
                            tok.rstrip(b"=") + b"\x01\x01")


def cram_md5(r):
    return base64.b64encode(username(r).encode() + b" " +
                            ("%032x" % r.getrandbits(128)).encode())


def benign(r):
    gens = [
        ("user", 4000, lambda: username(r).encode()),
        ("user-intl", 4000, lambda: intl_name(r)),
        ("email", 4000, lambda: email(r)),
        ("helo", 2000, lambda: helo(r)),
        ("pass-strong", 8000, lambda: strong_password(r)),
        ("pass-phrase", 3000, lambda: passphrase(r)),
        ("pass-policy", 3000, lambda: policy_password(r)),
        ("pass-intl", 1500, lambda: intl_password(r)),
        ("upper-run", 1000, lambda: upper_run(r)),
        ("hex-token", 1500, lambda: ("%x" % r.getrandbits(
            4 * r.choice([32, 40, 64, 128]))).encode()),
        ("b64-token", 2000, lambda: base64.b64encode(bytes(
            r.getrandbits(8) for _ in range(r.randint(12, 96))))),
        ("sasl-plain", 2000, lambda: sasl_plain(
            username(r).encode(), r.choice([strong_password, passphrase,
                                             intl_password])(r))),
        ("sasl-login", 2000, lambda: base64.b64encode(
            r.choice([lambda: username(r).encode(), lambda: email(r),
                      lambda: strong_password(r)])())),
        ("sasl-cram-md5", 1000, lambda: cram_md5(r)),
        ("sasl-xoauth2", 1000, lambda: xoauth2(r)),
        ("gss-binary", 4000, lambda: gss_token(r)),
        ("gss-b64", 2000, lambda: base64.b64encode(gss_token(r))),
        ("krb-binary", 400, lambda: krb_ap_req(r)),
        ("krb-b64", 400, lambda: base64.b64encode(krb_ap_req(r))),
        ("ntlm-b64", 800, lambda: base64.b64encode(ntlm_token(r))),
    ]
    recs = []
    for kind, n, fn in gens:
        for _ in range(n):
            recs.append((kind, fn()))
    return recs


def write(path, recs):
    with open(path, "w", encoding="ascii") as f:
        for kind, data in recs:
            f.write("%s\t%s\n" % (kind, data.hex()))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gen_corpus.py OUTDIR")
    os.makedirs(sys.argv[1], exist_ok=True)
    r = random.Random(SEED)
    write(os.path.join(sys.argv[1], "malicious.tsv"),
          malicious(r, load_shellcode()))
    write(os.path.join(sys.argv[1], "benign.tsv"), benign(r))


if __name__ == "__main__":
    main()
