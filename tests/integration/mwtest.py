# SPDX-License-Identifier: ISC
"""mwtest: the small harness every tests/integration/test_*.py uses.

A test file defines scenarios with @scenario and ends with run().  Each
scenario prints "ok - name" or "FAIL - name: why"; run() prints the closing
"N passed, N failed" line and exits non-zero on any failure.  Everything runs
on 127.0.0.1, every wait is bounded, every process started is stopped.
"""
import atexit
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.join(ROOT, "bin")
_scenarios = []
_procs = []
_tmpdirs = []


def scenario(fn):
    """Register a scenario function (run in definition order)."""
    _scenarios.append(fn)
    return fn


class Fail(Exception):
    pass


def check(cond, why):
    if not cond:
        raise Fail(why)


def eq(got, want, what=""):
    if got != want:
        raise Fail("%s: got %r, want %r" % (what, got, want))


def tmpdir(prefix="mwtest-"):
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o755)
    _tmpdirs.append(d)
    return d


def spawn(argv, **kw):
    """Start a process in its own process group; stopped at exit."""
    kw.setdefault("stdout", subprocess.DEVNULL)
    kw.setdefault("stderr", subprocess.DEVNULL)
    p = subprocess.Popen(argv, start_new_session=True, **kw)
    _procs.append(p)
    return p


def stop(p, sig=signal.SIGTERM, timeout=10):
    """Stop a spawned process group; kill it if it does not go in time."""
    if p.poll() is None:
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(5)
    return p.returncode


def wait_port(port, host="127.0.0.1", timeout=15):
    """Wait until something accepts on host:port."""
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection((host, port), 0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise Fail("nothing listening on %s:%d after %ds" % (host, port, timeout))


def wait_for(pred, timeout=10, what="condition"):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise Fail("timed out waiting for " + what)


def read_events(path):
    """The attack events of a JSON log file, as dicts."""
    out = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    out.append(json.loads(line))
    except FileNotFoundError:
        pass
    return [e for e in out if e.get("event") == "attack"]


class Line:
    """A line-oriented client socket with bounded reads."""

    def __init__(self, port, host="127.0.0.1", timeout=10):
        self.s = socket.create_connection((host, port), timeout)
        self.s.settimeout(timeout)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.s.sendall(data)

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.line()

    def line(self):
        """One line without CRLF, or None at EOF."""
        while b"\n" not in self.buf:
            try:
                d = self.s.recv(65536)
            except ConnectionResetError:
                d = b""
            if not d:
                if self.buf:
                    b, self.buf = self.buf, b""
                    return b.decode("latin-1")
                return None
            self.buf += d
        ln, self.buf = self.buf.split(b"\n", 1)
        return ln.rstrip(b"\r").decode("latin-1")

    def multiline(self):
        """Lines up to the terminating '.', dot-stuffing undone."""
        out = []
        while True:
            ln = self.line()
            if ln is None:
                raise Fail("EOF inside a multi-line response")
            if ln == ".":
                return out
            out.append(ln[1:] if ln.startswith(".") else ln)

    def eof(self, timeout=5):
        """Whether the peer closes (reads nothing more) within timeout."""
        self.s.settimeout(timeout)
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    return True
                self.buf += d
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def close(self):
        self.s.close()


def tcp_listening(port):
    """Whether 127.0.0.1:port is in LISTEN state, read from /proc/net/tcp.

    Looking rather than connecting: a probe connection would show in the
    daemon's log (a "Disconnected ... rip=" line in Dovecot's)."""
    want = "0100007F:%04X" % port
    try:
        with open("/proc/net/tcp") as f:
            for ln in f.readlines()[1:]:
                fl = ln.split()
                if fl[1] == want and fl[3] == "0A":
                    return True
    except OSError:
        pass
    return False


def wait_alive(proc, pred, end, what, name):
    """Wait until pred() holds, failing at once if proc exits meanwhile."""
    while time.time() < end:
        if proc.poll() is not None:
            raise Fail("%s exited with %d" % (name, proc.returncode))
        if pred():
            return
        time.sleep(0.02)
    raise Fail("timed out waiting for " + what)


def group_pids(pgid):
    """Live (non-zombie) processes of process group pgid."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
            fields = st[st.rindex(")") + 2:].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                out.append(int(d))
        except (OSError, ValueError):
            pass
    return out


class FakeServer:
    """A scripted TCP server on 127.0.0.1:port: serve(sock, n) runs in a
    thread of its own for the n-th accepted connection, which is closed
    after it; handler(sock, n), if given, is what serve() runs."""

    def __init__(self, port, handler=None, backlog=64):
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", port))
        self.ls.listen(backlog)
        self.handler = handler
        self.n = 0
        self.done = False
        self.t = threading.Thread(target=self._loop, daemon=True)
        self.t.start()

    def _loop(self):
        self.ls.settimeout(0.2)
        while not self.done:
            try:
                s, _ = self.ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.n += 1
            threading.Thread(target=self._run, args=(s, self.n),
                             daemon=True).start()

    def _run(self, s, n):
        try:
            s.settimeout(15)
            self.serve(s, n)
        except OSError:
            pass
        finally:
            s.close()

    def serve(self, s, n):
        self.handler(s, n)

    def close(self):
        self.done = True
        self.t.join(5)
        self.ls.close()


def fd_count(pid):
    """Descriptors a process holds open."""
    return len(os.listdir("/proc/%d/fd" % pid))


def rss_kib(pid):
    """A process's resident memory (VmRSS), KiB."""
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1])
    return 0


def recv_lines(s, size=4096):
    """Each line s receives, without its LF, until EOF (an unterminated
    rest is dropped)."""
    buf = b""
    while True:
        d = s.recv(size)
        if not d:
            return
        buf += d
        while b"\n" in buf:
            ln, buf = buf.split(b"\n", 1)
            yield ln


def drain_to_eof(s, timeout=3, size=262144):
    """Read and drop what s receives until EOF (at most timeout seconds
    per read)."""
    s.settimeout(timeout)
    while s.recv(size):
        pass


def set_reset(s):
    """Make close() send a reset instead of a FIN (SO_LINGER 0)."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def send_cut(r, s, data):
    """Send data in pieces cut where the random.Random r says, sometimes
    with a pause of up to 3 ms."""
    while data:
        n = r.randrange(1, len(data) + 1) if r.random() < 0.5 else len(data)
        s.sendall(data[:n])
        data = data[n:]
        if r.random() < 0.1:
            time.sleep(r.random() * 0.003)


def run_clients(n, seed, seconds, session):
    """n threads, each calling session(r, stats) with its own random.Random
    until seconds have passed; an OSError out of session() (connect
    refused) counts as "refused".  Fails if a thread hangs.  The stats."""
    stats = {"sessions": 0, "refused": 0, "received": 0}
    until = time.time() + seconds

    def loop(r):
        while time.time() < until:
            try:
                session(r, stats)
            except OSError:
                stats["refused"] += 1
                time.sleep(0.01)

    ts = [threading.Thread(target=loop, args=(random.Random(seed * 31 + i),),
                           daemon=True) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(until - time.time() + 30)
        check(not t.is_alive(), "a client thread hung")
    return stats


def cpu_ticks(pid):
    """User and system clock ticks a process has used."""
    with open("/proc/%d/stat" % pid) as f:
        st = f.read()
    fl = st[st.rindex(")") + 2:].split()
    return int(fl[11]) + int(fl[12])


def serve(instance):
    """Launcher mode of a harness: start instance, print "ready <pid>", run
    until SIGTERM/SIGINT or until it dies, then stop it."""
    done = []
    signal.signal(signal.SIGTERM, lambda *_: done.append(1))
    signal.signal(signal.SIGINT, lambda *_: done.append(1))
    instance.start()
    print("ready %d" % instance.proc.pid, flush=True)
    try:
        while not done and instance.proc.poll() is None:
            time.sleep(0.2)
    finally:
        instance.stop()
    return 0


class SyslogSink:
    """What a daemon under test sends to syslog(3): a datagram socket at
    /dev/log when the machine has none (removed by close()), else a socket
    of its own that wrap() bind-mounts over /dev/log in a private mount
    namespace for the wrapped program alone (root only)."""

    def __init__(self):
        self.own_devlog = not os.path.exists("/dev/log")
        self.path = ("/dev/log" if self.own_devlog else
                     os.path.join(tmpdir("mwlog-"), "log"))
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.s.bind(self.path)
        os.chmod(self.path, 0o666)
        self.s.setblocking(False)
        self.msgs = []

    def wrap(self, argv):
        """argv, run so that its syslog(3) reaches this sink."""
        if self.own_devlog:
            return argv
        return ["unshare", "-m", "--propagation", "private", "sh", "-c",
                'mount --bind "$0" /dev/log && exec "$@"', self.path] + argv

    def read(self):
        """Every message received so far, as text."""
        while True:
            try:
                self.msgs.append(self.s.recv(65536).decode(
                    errors="replace"))
            except BlockingIOError:
                return self.msgs

    def close(self):
        self.s.close()
        if self.own_devlog:
            os.unlink(self.path)


def _cleanup():
    for p in _procs:
        try:
            stop(p, timeout=5)
        except Exception:
            pass
    if not os.environ.get("MWTEST_KEEP"):
        for d in _tmpdirs:
            shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup)


def run(setup=None, teardown=None):
    """Run every scenario; print the closing line; exit 0 or 1."""
    passed = failed = 0
    only = os.environ.get("SCENARIO")
    try:
        if setup:
            setup()
    except Exception as e:
        traceback.print_exc()
        print("FAIL - setup: %s" % e)
        print("0 passed, %d failed" % max(1, len(_scenarios)))
        sys.exit(1)
    for fn in _scenarios:
        if only and only not in fn.__name__:
            continue
        t0 = time.time()
        try:
            fn()
            passed += 1
            print("ok - %s (%.1fs)" % (fn.__name__, time.time() - t0))
        except Exception as e:
            failed += 1
            if not isinstance(e, Fail):
                traceback.print_exc()
            print("FAIL - %s: %s" % (fn.__name__, e))
        sys.stdout.flush()
    if teardown:
        try:
            teardown()
        except Exception as e:
            print("teardown: %s" % e)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed or not passed else 0)
