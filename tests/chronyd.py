"""A real chronyd serving NTP on loopback, optionally with a faked clock.

Start and stop live here only, for the tests and the bench alike:

    with Chronyd(workdir, offset_s=90) as server:
        server.address            # "127.0.0.1:PORT"
        server.offset_ms          # what a correct client measures: 90000

chronyd runs in the foreground (`-d`), never touches the system clock (`-x`),
as root (`-u root`) or, for any other user, as that user (`-U -u USER`),
serves its own clock as `local stratum 1` on an unprivileged port on
127.0.0.1, and has no command port. With `offset_s` it runs under
libfaketime (LD_PRELOAD, FAKETIME=+Ns), so its whole clock is N seconds
ahead of ours: a client that measures the offset must find N seconds, not
zero. The library is preloaded directly, not through the `faketime`
wrapper: the wrapper creates a semaphore named after its pid and refuses to
start when one by that name exists ("sem_open: File exists"); one is left
behind whenever a wrapper is killed, so a later wrapper that got a reused
pid failed (it did in CI). The library alone cleans up on SIGTERM (what
stop() sends) and starts even over a stale pair.

`chronyd_fixture(offset_s)` makes a module-scoped pytest fixture of it;
skips on a developer's machine without chronyd or libfaketime, and fails in CI.
"""

import glob
import os
import platform
import pwd
import shutil
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path

NTP_UNIX_S = 2208988800


def chronyd_binary():
    return shutil.which("chronyd") or next(
        (p for p in ("/usr/sbin/chronyd", "/usr/local/sbin/chronyd") if os.path.exists(p)), None
    )


def faketime_library():
    """libfaketime.so.1 (Debian package libfaketime, pulled in by faketime),
    or None. FAKETIME_LIB names it where it lives elsewhere."""
    given = os.environ.get("FAKETIME_LIB")
    if given:
        return given if os.path.exists(given) else None
    patterns = ("/usr/lib/*/faketime/libfaketime.so.1", "/usr/lib*/faketime/libfaketime.so.1", "/usr/local/lib*/faketime/libfaketime.so.1")
    # A multiarch machine may hold a 32-bit copy too: chronyd needs its own.
    machine = platform.machine()
    found = sorted((machine not in path, path) for pattern in patterns for path in glob.glob(pattern))
    return found[0][1] if found else None


def free_udp_port():
    """A currently free UDP port on 127.0.0.1 (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def probe(port, timeout_s=0.2):
    """One raw SNTP exchange, independent of firmware/sntp.py: the server's
    offset in seconds (float), or None when no sane reply came."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout_s)
        t1 = time.time_ns()
        req = bytearray(48)
        req[0] = 0x23  # LI 0, version 4, mode 3
        struct.pack_into("!II", req, 40, t1 // 10**9 + NTP_UNIX_S & 0xFFFFFFFF, (t1 % 10**9 << 32) // 10**9)
        try:
            s.sendto(req, ("127.0.0.1", port))
            data = s.recv(512)
        except OSError:
            return None
        t4 = time.time_ns()
    if len(data) < 48 or data[0] & 7 != 4 or data[0] >> 6 == 3 or not 1 <= data[1] <= 15 or data[24:32] != req[40:48]:
        return None
    f = struct.unpack("!4I", data[32:48])  # receive and transmit timestamps

    def ns(sec, frac):
        return (sec - NTP_UNIX_S) * 10**9 + (frac * 10**9 >> 32)

    t2, t3 = ns(f[0], f[1]), ns(f[2], f[3])
    return ((t2 - t1) + (t3 - t4)) / 2e9


def _group_gone(pgid, timeout_s):
    """Wait until no process is left in group `pgid` (a reaped or orphaned
    zombie included); True when it emptied in time."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # the id was reused by someone else's group
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


class ChronydError(RuntimeError):
    pass


class Chronyd:
    """chronyd on 127.0.0.1:port, config and state in `workdir`."""

    def __init__(self, workdir, offset_s=0, port=None, stratum=1):
        self.workdir = Path(workdir)
        self.offset_s = int(offset_s)
        self.port = port or free_udp_port()
        self.port_chosen = port is None
        self.stratum = stratum
        self.proc = None
        self.log = self.workdir / "chronyd.log"

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    @property
    def offset_ms(self):
        return self.offset_s * 1000

    def command(self):
        binary = chronyd_binary()
        if binary is None:
            raise ChronydError("chronyd not found (Debian package chrony)")
        if os.geteuid() == 0:
            user = ["-u", "root"]
        else:  # -U: skip the root check; nothing here needs root (-x, port > 1023)
            user = ["-U", "-u", pwd.getpwuid(os.geteuid()).pw_name]
        return [binary] + user + ["-x", "-d", "-f", str(self.workdir / "chrony.conf")]

    def environment(self):
        env = dict(os.environ)
        if self.offset_s:
            library = faketime_library()
            if library is None:
                raise ChronydError("libfaketime not found (Debian package faketime)")
            env["LD_PRELOAD"] = " ".join(filter(None, [library, env.get("LD_PRELOAD")]))
            env["FAKETIME"] = "%+ds" % self.offset_s
        return env

    def write_config(self):
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "chrony.conf"
        conf.write_text(
            "\n".join(
                [
                    "port %d" % self.port,
                    "local stratum %d" % self.stratum,
                    "cmdport 0",
                    "bindcmdaddress /",  # no command socket in /run/chrony either
                    "allow 127.0.0.1",
                    "bindaddress 127.0.0.1",
                    "pidfile %s" % (self.workdir / "chronyd.pid"),
                    "driftfile %s" % (self.workdir / "chrony.drift"),
                    "",
                ]
            )
        )
        return conf

    def start(self, timeout_s=10.0):
        """Start and wait for the answer. A port taken meanwhile (free_udp_port()
        holds nothing, and pytest-xdist runs tests side by side) is given up
        for another, when the port was ours to choose."""
        for attempt in range(3):
            try:
                return self._start(timeout_s)
            except ChronydError as e:
                if not (self.port_chosen and "Could not open NTP socket" in str(e)) or attempt == 2:
                    raise
                self.port = free_udp_port()

    def _start(self, timeout_s):
        self.write_config()
        with open(self.log, "wb") as log:
            # Its own session, so stop() ends chronyd and anything it
            # forked by that one process group id.
            self.proc = subprocess.Popen(
                self.command(),
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise ChronydError("chronyd exited %d: %s" % (self.proc.returncode, self.log_text()))
                measured = probe(self.port)
                # Answering is not enough under faketime: wait for the faked clock.
                if measured is not None and abs(measured - self.offset_s) < 1.0:
                    return self
                time.sleep(0.05)
            raise ChronydError(
                "chronyd did not answer on port %d within %.0f s: %s" % (self.port, timeout_s, self.log_text())
            )
        except BaseException:
            self.stop()  # never leave a chronyd behind, whatever went wrong
            raise

    def log_text(self):
        try:
            return " | ".join(self.log.read_text().strip().splitlines()[-5:])
        except OSError:
            return ""

    def stop(self):
        if self.proc is None:
            return
        # The whole process group: anything chronyd forked goes with it.
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        # A forked child may outlive the leader for a moment: return only
        # once the group is empty, so the port is free for the next server.
        if not _group_gone(self.proc.pid, 5.0):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            _group_gone(self.proc.pid, 5.0)
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def chronyd_fixture(offset_s=0, scope="module"):
    """A pytest fixture yielding a started Chronyd (`offset_s` ahead of us).

    In a test module: `chronyd_ahead = chronyd_fixture(90)`."""
    import pytest

    from tests.conftest import need

    @pytest.fixture(scope=scope)
    def _fixture(tmp_path_factory):
        need(chronyd_binary(), "chronyd (Debian package chrony)")
        if offset_s:
            need(faketime_library(), "libfaketime (Debian package faketime)")
        server = Chronyd(tmp_path_factory.mktemp("chronyd"), offset_s=offset_s)
        server.start()
        try:
            yield server
        finally:
            server.stop()

    return _fixture
