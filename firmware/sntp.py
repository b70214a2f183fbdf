"""SNTP client (RFC 4330), validated as RFC 5905 asks, for both runtimes.

Three layers, each usable on its own:

- `parse_reply(data, sent, t1_ms, t4_ms)`: pure; checks one reply and turns
  the four timestamps into an offset and a round-trip delay in integer ms
  (and us). Every refusal raises `SntpError` with a one-line reason.
- `Query(addr, nonce, clock)`: one exchange on a non-blocking UDP socket,
  stepwise (`send()`, then `poll()` until it returns a `Sample`), so the
  asyncio loop that drives the motor is never held; `query_async()` wraps it
  for asyncio and `query()` blocks (for the command line).
- `Policy`: pure poll policy (when to ask which server, backoff, kiss-o'-
  death, which sample of a round to trust). It never does I/O; the caller
  tells it the time.

How long one step can hold the loop (the rest of the time it is free):
- `Query.send()`: create, connect and send one UDP datagram. Nothing waits
  on the network (UDP connect only sets the peer): at most about 0.1 ms on
  the unix port (bench/sntp_bench.py), expected around 1 ms on an
  ESP32-class board (not measured on a board yet).
- `Query.poll(0)`: one `poll` with a zero timeout, at most one `recv` of a
  48..128-byte datagram and the integer maths of `parse_reply` (a handful
  of 64-bit multiplications, once per query): about 0.03 ms on the unix
  port, expected to stay within a few ms on a board.
- Names are not looked up here: firmware/names.py does it, loaded only
  for a server given by name (getaddrinfo, which blocks, only where a late
  pulse cannot happen).
- firmware/sntp_cli.py's `query()` blocks for up to `timeout_ms`:
  command line only.

Time: our own transmit and receive times T1 and T4 come from an injected
clock returning UTC milliseconds (default: the system clock). The NTP era
(32-bit seconds since 1900 wrap on 2036-02-07) is resolved relative to that
clock, so a server in era 1 works as long as our clock is within 68 years.
Timeouts use the monotonic `ticks_ms` of firmware/ticks.py (a board's own; on
CPython one that wraps at 2**30 like a board's).

Integers only: the 64-bit NTP timestamps and epoch milliseconds exceed
2**30 and are long ints on a board, which is fine once per query.
"""

import select
import socket
import struct
import time

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


from firmware.ticks import ticks_add, ticks_diff, ticks_ms

try:
    from os import urandom as _urandom  # ESP32, RP2040, unix port, CPython
except ImportError:  # a port without it: the random module (_new_nonce)
    _urandom = None

try:
    import asyncio

    if hasattr(asyncio, "sleep_ms"):  # MicroPython
        _sleep_ms = asyncio.sleep_ms
    else:  # CPython

        def _sleep_ms(ms):
            return asyncio.sleep(ms / 1000)

except ImportError:  # a board built without asyncio: no query_async()
    asyncio = None
    _sleep_ms = None

if hasattr(time, "time_ns"):

    def utc_ms():
        """The system clock in UTC ms, rounded (so T1 and T4 are unbiased)."""
        return (time.time_ns() + 500000) // 1000000

else:  # an old port without time_ns: whole seconds only; boards inject a clock

    def utc_ms():
        return int(time.time()) * 1000


PORT = const(123)
VERSION = const(4)
TIMEOUT_MS = const(2000)
MAX_TIMEOUT_MS = const(60000)  # far below ticks_add's reach on a board (2**29 ms)
_MODE_CLIENT = const(3)
_MODE_SERVER = const(4)
_PACKET = const(48)
_RECV_MAX = const(128)  # room for a MAC or extension fields we ignore
_MAX_ROOT_US = const(16000000)  # RFC 5905 MAXDISP, 16 s
_MAX_DIST_US = const(1500000)  # RFC 5905 MAXDIST: root delay/2 + root dispersion
_NTP_UNIX_S = const(2208988800)  # 1900-01-01 to 1970-01-01
_ERA = const(0x100000000)  # one NTP era: 2**32 seconds, about 136 years
_HALF_ERA = const(0x80000000)
# T1 and T4 are whole ms, so a loopback exchange measures a few us below 0.
_MIN_DELAY_US = const(-2000)

_FORMAT = const("!BBbbII4sIIIIIIII")

# RFC 4330 section 8: kiss codes that change what the client does.
_KOD_RATE = const("RATE")
_KOD_DENY = const("DENY")
_KOD_RSTR = const("RSTR")


class SntpError(Exception):
    """A refused or missing reply; `reason` is one line. `kod` is the kiss
    code (e.g. "RATE") when the server sent a kiss-o'-death, else None.
    `said`: the log has it already (firmware/names.py's NotResolved)."""

    said = False

    def __init__(self, reason, kod=None):
        super().__init__(reason)
        self.reason = reason
        self.kod = kod


class SntpTimeout(SntpError):
    pass


class Sample:
    """One validated measurement. Times in ms (and us) as integers;
    `fields`, the reply's header fields (leap, stratum, refid...).

    `server` is the name asked ("host[:port]"), `address` the "ip:port" that
    answered (the name when not known), `rx_ticks` the ticks_ms() when the
    reply was read, pairing T4 with the monotonic clock (None for a reply
    parsed on its own)."""

    def __init__(self, offset_us, delay_us, fields, t1_ms, t4_ms, server, address=None, rx_ticks=None):
        self.offset_us = offset_us
        self.delay_us = delay_us
        self.offset_ms = _div_round(offset_us, 1000)
        self.delay_ms = _div_round(delay_us, 1000)
        # The reply's header as unpacked: the clock needs none of it, the
        # command line shows it (firmware/sntp_cli.py, sample_dict).
        self.fields = fields
        self.t1_ms = t1_ms
        self.t4_ms = t4_ms
        self.rx_ticks = rx_ticks
        self.server = server
        self.address = server if address is None else address

    def utc_ms(self):
        """The server's time when the reply arrived (T4 corrected)."""
        return self.t4_ms + self.offset_ms

def _div_round(value, unit):
    # Round to nearest, halves up, correct for negative values too.
    return (value + unit // 2) // unit


def short_us(raw):
    # NTP short format: 16.16 fixed-point seconds.
    return (raw * 1000000 + 0x8000) >> 16


def refid_text(raw, stratum):
    # Stratum 0 and 1: a kiss code or a reference clock name in ASCII (NUL
    # padded); otherwise, or when not printable, an IPv4 address or hash.
    if stratum <= 1:
        # Bytes, not chr() per byte: MicroPython interns every one-character
        # string for good, and the name table's growth costs heap in blocks.
        text = bytes([b for b in raw if b])
        if text and all([32 <= b < 127 for b in text]):
            return text.decode()
    return "%d.%d.%d.%d" % (raw[0], raw[1], raw[2], raw[3])


def ntp_seconds(ms):
    """Full (era-extended) NTP seconds of a UTC ms time."""
    return ms // 1000 + _NTP_UNIX_S


def ntp_to_us(seconds, fraction, near_seconds):
    """A 64-bit NTP timestamp as UTC microseconds since 1970.

    `seconds` is the 32-bit field; the era is the one that puts it within
    68 years of `near_seconds` (full NTP seconds from our own clock), so a
    timestamp of 2036-02-07 or later (era 1, small seconds) works."""
    d = (seconds - near_seconds) % _ERA
    if d >= _HALF_ERA:
        d -= _ERA
    full = near_seconds + d
    return (full - _NTP_UNIX_S) * 1000000 + ((fraction * 1000000 + _HALF_ERA) >> 32)


def request(buf, transmit):
    """Fill `buf` (48 bytes) as a client request carrying `transmit` (8 bytes)."""
    for i in range(_PACKET):
        buf[i] = 0
    buf[0] = (VERSION << 3) | _MODE_CLIENT  # LI 0, VN 4, mode 3
    for i in range(8):
        buf[40 + i] = transmit[i]
    return buf


def parse_reply(data, sent, t1_ms, t4_ms, server="", version=VERSION, address=None, rx_ticks=None):
    """Validate a server reply and measure. Raises SntpError (one line).

    `sent`: the 8 transmit-timestamp bytes of our request (the server must
    echo them as its originate timestamp); `t1_ms`/`t4_ms`: our clock when
    the request left and the reply arrived (UTC ms). Pure: reads no clock;
    `server`, `address` and `rx_ticks` are passed on to the Sample."""
    n = len(data)
    if n < _PACKET:
        raise SntpError("short reply: %d bytes < 48" % n)
    f = struct.unpack(_FORMAT, data[:_PACKET])
    li = f[0] >> 6
    vn = (f[0] >> 3) & 7
    mode = f[0] & 7
    stratum = f[1]
    if mode != _MODE_SERVER:
        raise SntpError("wrong mode %d in reply (want 4, server)" % mode)
    if vn != version:
        raise SntpError("wrong version %d in reply (want %d)" % (vn, version))
    if stratum == 0:
        code = refid_text(f[6], 0)
        if data[24:32] != sent:
            # RFC 5905: a kiss that does not answer our request may be
            # spoofed, so it must not make us drop or slow down a server.
            raise SntpError("kiss-o'-death %s with wrong originate timestamp (ignored)" % code)
        raise SntpError("kiss-o'-death %s (stratum 0)" % code, code)
    if stratum > 15:
        raise SntpError("stratum %d > 15: server unsynchronised" % stratum)
    if li == 3:
        raise SntpError("leap indicator 3 (LI=3): server clock unsynchronised")
    if f[13] == 0 and f[14] == 0:
        raise SntpError("transmit timestamp is zero")
    if f[11] == 0 and f[12] == 0:
        raise SntpError("receive timestamp is zero")
    if data[24:32] != sent:
        raise SntpError("originate timestamp does not match our request (bogus or stale reply)")
    if f[7] == 0 and f[8] == 0:
        raise SntpError("reference timestamp is zero: server never synchronised")
    root_delay = short_us(f[4])
    root_disp = short_us(f[5])
    if root_delay > _MAX_ROOT_US:
        raise SntpError("root delay %d ms > 16000 ms" % (root_delay // 1000))
    if root_disp > _MAX_ROOT_US:
        raise SntpError("root dispersion %d ms > 16000 ms" % (root_disp // 1000))
    if root_delay // 2 + root_disp > _MAX_DIST_US:
        raise SntpError(
            "root delay/2 + root dispersion = %d ms > 1500 ms" % ((root_delay // 2 + root_disp) // 1000)
        )
    near = ntp_seconds(t1_ms)
    t2 = ntp_to_us(f[11], f[12], near)  # server receive
    t3 = ntp_to_us(f[13], f[14], near)  # server transmit
    if t3 < t2:
        raise SntpError("transmit timestamp before receive timestamp (by %d us)" % (t2 - t3))
    if ntp_to_us(f[7], f[8], near) > t3:
        raise SntpError("reference timestamp after transmit timestamp: server never synchronised")
    t1 = t1_ms * 1000
    t4 = t4_ms * 1000
    offset = ((t2 - t1) + (t3 - t4)) // 2
    delay = (t4 - t1) - (t3 - t2)
    if delay < _MIN_DELAY_US:
        # The server claims to have held our request longer than the whole
        # round trip took; best() would prefer such a sample to every other.
        raise SntpError("negative round-trip delay %d ms: server held the request longer than the round trip"
                        % _div_round(delay, 1000))
    return Sample(offset, delay, f, t1_ms, t4_ms, server, address, rx_ticks)


def split_host_port(text, port=PORT):
    """"host[:port]" -> (host, port). ValueError on a bad port."""
    host = text
    i = text.rfind(":")
    if i >= 0:
        host = text[:i]
        digits = text[i + 1 :]
        if not digits.isdigit():
            raise ValueError("bad port in %r" % text)
        port = int(digits)
    if not host or not 0 < port < 65536:
        raise ValueError("bad server %r (want host[:port])" % text)
    return host, port


def is_ipv4(text):
    """'192.168.1.10' and the like (four numbers 0..255)."""
    parts = text.split(".")
    if len(parts) != 4:
        return False
    for part in parts:
        if not 0 < len(part) <= 3:
            return False
        for byte in part.encode():  # bytes: a str's characters would be interned (above)
            if not 48 <= byte <= 57:  # ASCII digits only (CPython's isdigit takes others)
                return False
        if int(part) > 255:
            return False
    return True


def socket_address(ip, port):
    """The socket address of a numeric IPv4 address: getaddrinfo() with a
    number never asks the network."""
    return socket.getaddrinfo(ip, port, socket.AF_INET, socket.SOCK_DGRAM)[0][-1]


def addr_text(addr):
    """"ip:port" of a socket address (a tuple, or the unix port's bytes)."""
    if isinstance(addr, tuple):
        return "%s:%d" % (addr[0], addr[1])
    try:
        _, ip, port = socket.sockaddr(addr)  # MicroPython unix port
        return "%d.%d.%d.%d:%d" % (ip[0], ip[1], ip[2], ip[3], port)
    except (AttributeError, TypeError, ValueError):
        return repr(addr)


def _new_nonce():
    # 64 random bits where the port has os.urandom (a hardware source on
    # ESP32 and RP2040): a blind spoofer must guess all of them, and the
    # request does not reveal our clock (RFC 9109 / NTP data minimisation).
    if _urandom is not None:
        return _urandom(8)
    # A port without it: the random module's generator (seeded from the
    # hardware where it has a source), still 64 bits to guess.
    from random import getrandbits

    return struct.pack("!II", getrandbits(32), getrandbits(32))


def _readable(poll, wait_ms):
    """Whether the one registered socket has data; `poll` is the poller's
    `ipoll` where it exists (MicroPython: `poll` allocates a list per call,
    and a query polls every ms for up to its timeout)."""
    for _ in poll(wait_ms):
        return True
    return False


class Query:
    """One SNTP exchange, stepwise and non-blocking.

        q = Query(addr, nonce=None, clock=utc_ms, timeout_ms=2000)
        q.send()
        while (sample := q.poll()) is None: ...   # raises SntpError

    `addr` is a socket address from `resolve()`; `nonce` (8 bytes or an int
    below 2**64) goes in our transmit timestamp, default 8 bytes of
    os.urandom (without it: our own transmit time plus noise); `clock()`
    returns UTC ms for T1 and T4; `timeout_ms` is 1..MAX_TIMEOUT_MS."""

    def __init__(self, addr, nonce=None, clock=None, timeout_ms=TIMEOUT_MS, server=None):
        if not 0 < timeout_ms <= MAX_TIMEOUT_MS:
            raise ValueError("timeout_ms must be 1..%d" % MAX_TIMEOUT_MS)
        self.addr = addr
        self.server = server if server is not None else addr_text(addr)
        if isinstance(nonce, int):
            if not 0 < nonce < (1 << 64):
                raise ValueError("nonce must be in (0, 2**64)")
            nonce = struct.pack("!II", nonce >> 32, nonce & 0xFFFFFFFF)
        elif nonce is not None and len(nonce) != 8:
            raise ValueError("nonce must be 8 bytes")
        self.nonce = nonce
        self.clock = clock or utc_ms
        self.timeout_ms = timeout_ms
        self.sent = None
        self.sample = None
        self._sock = None
        self._poller = None
        self._poll = None
        self._t1 = 0
        self._deadline = 0
        self._buf = bytearray(_PACKET)

    def send(self):
        if self._sock is not None:
            raise SntpError("query already sent")
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            # A connected UDP socket only receives from the server's address.
            sock.connect(self.addr)
            t1 = self.clock()
            sent = self.nonce or _new_nonce()
            request(self._buf, sent)
            sock.send(self._buf)
        except OSError as e:
            sock.close()
            raise SntpError("cannot send to %s: %s" % (self.server, e))
        self._t1 = t1
        self.sent = bytes(sent)
        self._deadline = ticks_add(ticks_ms(), self.timeout_ms)
        self._sock = sock
        self._poller = select.poll()
        self._poller.register(sock, select.POLLIN)
        self._poll = getattr(self._poller, "ipoll", self._poller.poll)  # bound once

    def poll(self, wait_ms=0):
        """None while no reply has come; the Sample once a valid one has.
        Raises SntpError on a refused reply, a socket error or the timeout.
        Waits at most `wait_ms` (0: never blocks)."""
        if self.sample is not None:
            return self.sample
        if self._sock is None:
            raise SntpError("query not sent")
        left = ticks_diff(self._deadline, ticks_ms())
        if wait_ms > left:
            wait_ms = left if left > 0 else 0
        if not _readable(self._poll, wait_ms):
            if ticks_diff(self._deadline, ticks_ms()) <= 0:
                self.close()
                raise SntpTimeout("no reply from %s within %d ms" % (self.server, self.timeout_ms))
            return None
        try:
            data = self._sock.recv(_RECV_MAX)
        except OSError as e:  # e.g. ECONNREFUSED after an ICMP port unreachable
            self.close()
            raise SntpError("no reply from %s: %s" % (self.server, e))
        t4 = self.clock()
        rx = ticks_ms()  # pairs T4 with the monotonic clock, for the time base
        self.close()
        self.sample = parse_reply(data, self.sent, self._t1, t4, self.server, VERSION, addr_text(self.addr), rx)
        return self.sample

    def close(self):
        if self._sock is not None:
            try:
                self._poller.unregister(self._sock)
            except (OSError, KeyError, ValueError):
                pass
            self._sock.close()
            self._sock = None


async def query_async(addr, nonce=None, clock=None, timeout_ms=TIMEOUT_MS, step_ms=1, server=None):
    """One query from asyncio: every step returns to the loop at once.

    `step_ms` is the poll period; T4 is read when the reply is noticed, so it
    adds up to `step_ms` to the delay and up to half of it to the offset
    error (the lowest-delay sample of a round filters that out)."""
    q = Query(addr, nonce, clock, timeout_ms, server)
    try:
        q.send()
        while True:
            sample = q.poll(0)
            if sample is not None:
                return sample
            await _sleep_ms(step_ms)
    finally:
        q.close()


def best(samples):
    """The sample to trust from a round: the lowest round-trip delay (the
    one least skewed by queueing); on a tie the latest. None if empty."""
    chosen = None
    for s in samples:
        if s is not None and (chosen is None or s.delay_us <= chosen.delay_us):
            chosen = s
    return chosen


class _Server:
    def __init__(self, name, interval_ms):
        self.name = name
        self.interval_ms = interval_ms  # this server's own minimum poll interval
        self.asked = None  # ticks when last asked, None once that is long past


class Policy:
    """When to ask which server; pure, no I/O. `now` is ticks_ms().

    Rounds: `wait_ms(now)` says how long until the next round; `pick(now)`
    returns the servers to ask now (up to `burst`, in rotation, none asked
    within its own interval); `report(name, now, result)` gives each outcome
    (a Sample or an SntpError); `finish(now, steady)` closes the round and
    returns the sample to trust (lowest delay) or None.

    - RFC 4330: never under 15 s between rounds, nor between two queries to
      the same server.
    - Success: every `fast_ms` (64 s) until the time base is `steady`, then
      doubling up to `slow_ms` (1024 s).
    - A failed round: 15 s, 30 s, 60 s, ... up to `cap_ms`.
    - KoD RATE doubles that server's own interval (up to 36 h); DENY and
      RSTR drop the server for good.

    Every stored time is within 36 h of `now` (stale ones are forgotten at
    each call), far below half the ticks period of a board (6.2 days), so
    ticks_diff stays right across wraps as long as the caller consults the
    policy at least every few days (it asks at least every `cap_ms`).
    """

    min_ms = 15000
    fast_ms = 64000
    slow_ms = 1024000
    cap_ms = 1024000
    kod_cap_ms = 131072000  # RFC 5905 MAXPOLL, 2**17 s

    def __init__(self, servers, now, burst=1):
        if not servers:
            raise ValueError("no NTP servers")
        self.servers = [_Server(name, self.min_ms) for name in servers]
        self.burst = burst if burst > 0 else 1
        self.dropped = {}  # name -> kiss code
        self._next = now  # the first round is due at once
        self._turn = 0
        self._good_ms = self.fast_ms
        self._fails = 0
        self._samples = []
        self._asked_round = 0

    def _server(self, name):
        for s in self.servers:
            if s.name == name:
                return s
        return None

    def _free_at(self, s):
        return None if s.asked is None else ticks_add(s.asked, s.interval_ms)

    def _forget_old(self, now):
        for s in self.servers:
            if s.asked is not None and ticks_diff(now, s.asked) >= s.interval_ms:
                s.asked = None

    def wait_ms(self, now):
        """ms until the next round (0: now); None when no server is left."""
        if not self.servers:
            return None
        self._forget_old(now)
        wait = ticks_diff(self._next, now)
        # If every server is still inside its own interval, wait for the first.
        soonest = None
        for s in self.servers:
            w = 0 if s.asked is None else ticks_diff(self._free_at(s), now)
            if soonest is None or w < soonest:
                soonest = w
        if soonest > wait:
            wait = soonest
        return wait if wait > 0 else 0

    def pick(self, now):
        """Names of the servers to ask now ([] when not due)."""
        wait = self.wait_ms(now)
        if wait is None or wait > 0:
            return []
        chosen = []
        n = len(self.servers)
        for i in range(n):
            s = self.servers[(self._turn + i) % n]
            if s.asked is None:
                chosen.append(s)
                if len(chosen) >= self.burst:
                    break
        if chosen:
            self._turn = (self.servers.index(chosen[-1]) + 1) % n
        for s in chosen:
            s.asked = now
        self._samples = []
        self._asked_round = len(chosen)
        # Until finish() reports, keep the next round at least min_ms away.
        self._next = ticks_add(now, self.min_ms)
        return [s.name for s in chosen]

    def report(self, name, now, result):
        """The outcome of asking `name`: a Sample or an exception."""
        s = self._server(name)
        if s is None:
            return
        if isinstance(result, Sample):
            self._samples.append(result)
            return
        code = getattr(result, "kod", None)
        if code == _KOD_DENY or code == _KOD_RSTR:
            self.servers.remove(s)
            self.dropped[name] = code
            if self.servers:
                self._turn %= len(self.servers)
            else:
                self._turn = 0
        elif code == _KOD_RATE:
            s.interval_ms = min(s.interval_ms * 2, self.kod_cap_ms)
            s.asked = now

    def finish(self, now, steady=False):
        """Close the round; schedule the next; return the sample to trust."""
        chosen = best(self._samples)
        self._samples = []
        if chosen is not None:
            self._fails = 0
            if steady:
                self._good_ms = min(self._good_ms * 2, self.slow_ms)
            else:
                self._good_ms = self.fast_ms
            gap = self._good_ms
        else:
            self._fails += 1
            gap = self.min_ms << min(self._fails - 1, 16)
            if gap > self.cap_ms:
                gap = self.cap_ms
        if gap < self.min_ms:
            gap = self.min_ms
        self._next = ticks_add(now, gap)
        return chosen


if __name__ == "__main__":
    # The command line lives in its own module: a board never loads it.
    import sys

    from firmware.main import load_module

    sys.exit(load_module("firmware.sntp_cli").main(sys.argv[1:]))
