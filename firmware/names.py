"""NTP servers given by name: the cache of their addresses and the clock's
lookups. Loaded only for a name (firmware/clock.py asks a server given as an
IPv4 address straight away): a clock given addresses never holds this code
or its names in RAM (ARCHITECTURE.md, Memory).

    addr = await address(clock, "pool.ntp.org:123")   # SntpError when none

- `Resolver`: when to look a name up again (after an hour, after failed
  queries, backing off while it never resolved); pure, told the ticks.
- `address()`: the clock's lookup, without blocking (firmware/dns.py), of
  a name the Resolver says is due.
- `resolve()`: getaddrinfo, which blocks: the command line's, and the
  clock's only while its hands stand still for want of a time and no
  resolver is known.
"""

import socket

from firmware.sntp import PORT, SntpError, is_ipv4, socket_address, split_host_port
from firmware.ticks import ticks_add, ticks_diff, ticks_ms

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


_NO_TIME_CAP_MS = const(60000)  # as firmware/clock.py's: before the first time, a name is tried again at least every minute


class NotResolved(SntpError):
    """A name that did not resolve, waiting for its next try; its failure
    was in the log when it happened."""

    said = True


def resolve(host, port=PORT):
    """The first IPv4 socket address of host:port. Blocks (DNS): for the
    command line, and for the clock only while its hands stand still."""
    try:
        infos = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_DGRAM)
    except (OSError, ValueError) as e:  # UnicodeError (a ValueError): a label over 63 characters
        raise SntpError("cannot resolve %s: %s" % (host, " ".join(str(e).split()) or type(e).__name__))
    for info in infos:
        if info[0] == socket.AF_INET:
            return info[-1]
    raise SntpError("no IPv4 address for %s" % host)


class Resolver:
    """Caches name resolution: re-resolve after `refresh_ms`, or after
    `max_failures` failed queries in a row (the server may have moved).
    A lookup that fails keeps the last good address for another
    `refresh_ms`; a name that never resolved is tried again after
    `retry_ms`, doubling up to `retry_cap_ms` (4 h): each try costs a
    round trip to the resolver, and the name may never resolve.
    `now` is ticks_ms(), compared with ticks_diff.

    The clock (firmware/clock.py) asks `cached()` and does the lookup itself
    without blocking (firmware/dns.py), then reports it with `store()` or
    `lookup_failed()`; `resolve()` does all of it with a blocking lookup."""

    refresh_ms = 3600000
    max_failures = 3
    retry_ms = 60000
    retry_cap_ms = 14400000

    def __init__(self, lookup=None):
        self._lookup = lookup or resolve
        self._cache = {}  # host_port -> [addr, resolved_at, failures]
        self._waiting = {}  # host_port -> [next try at, wait]: never resolved

    def cached(self, host_port, now):
        """The address to use, or None when a lookup is due. SntpError while
        a name that never resolved waits for its next try."""
        entry = self._cache.get(host_port)
        if entry is not None and entry[2] < self.max_failures and 0 <= ticks_diff(now, entry[1]) < self.refresh_ms:
            return entry[0]
        waiting = self._waiting.get(host_port)
        if entry is None and waiting is not None and ticks_diff(now, waiting[0]) < 0:
            raise NotResolved("%s did not resolve; next try in %d s" % (host_port, ticks_diff(waiting[0], now) // 1000))
        return None

    def store(self, host_port, now, addr):
        self._cache[host_port] = [addr, now, 0]
        self._waiting.pop(host_port, None)

    def lookup_failed(self, host_port, now, cap_ms=None):
        """A lookup failed: the last good address (kept another
        `refresh_ms`), or None and the ms until the next try as (None, ms).
        `cap_ms`: the longest wait (the clock's while it has no time yet: a
        resolver that comes back must not leave the hands standing for hours)."""
        entry = self._cache.get(host_port)
        if entry is not None:
            entry[1] = now  # no lookup again for refresh_ms
            entry[2] = 0
            return entry[0], 0
        waiting = self._waiting.get(host_port)
        wait = self.retry_ms if waiting is None else min(waiting[1] * 2, self.retry_cap_ms)
        if cap_ms is not None and wait > cap_ms:
            wait = cap_ms
        self._waiting[host_port] = [ticks_add(now, wait), wait]
        return None, wait

    def resolve(self, host_port, now):
        """cached(), else a blocking lookup, reported."""
        addr = self.cached(host_port, now)
        if addr is not None:
            return addr
        host, port = split_host_port(host_port)
        try:
            addr = self._lookup(host, port)
        except SntpError:
            old, _ = self.lookup_failed(host_port, now)
            if old is None:
                raise
            return old
        self.store(host_port, now, addr)
        return addr

    def failed(self, host_port):
        entry = self._cache.get(host_port)
        if entry is not None:
            entry[2] += 1

    def succeeded(self, host_port):
        entry = self._cache.get(host_port)
        if entry is not None:
            entry[2] = 0


async def address(clock, name):
    """`name`'s socket address for `clock` (firmware/clock.py's Clock, whose
    Resolver this makes on first use and keeps: its cache and backoffs
    outlive a restart of the NTP task): cached, or looked up without
    blocking. A name that does not resolve backs off to hours."""
    resolver = clock.resolver
    if resolver is None:
        resolver = clock.resolver = Resolver()
    addr = resolver.cached(name, ticks_ms())  # NotResolved while it backs off
    if addr is not None:
        return addr
    host, port = split_host_port(name)
    try:
        addr = await lookup(clock, host, port)
    except Exception as e:  # DnsError, SntpError, OSError from a numeric getaddrinfo
        old, wait = resolver.lookup_failed(name, ticks_ms(), None if clock.timebase.synced else _NO_TIME_CAP_MS)
        if old is not None:
            return old
        raise SntpError("cannot resolve %s (%s); next try in %d min (an IP address in config.json's ntp needs no lookup)"
                        % (host, getattr(e, "reason", e), wait // 60000 or 1))
    resolver.store(name, ticks_ms(), addr)
    return addr


async def lookup(clock, host, port):
    if is_ipv4(host):
        return socket_address(host, port)
    from firmware import dns

    wifi = clock.board.wifi
    server = clock.cfg.get("dns") or (wifi.dns() if wifi is not None else dns.resolver_of_host())
    if server:
        return await dns.lookup_async(host, port, server)
    if clock.timebase.synced or clock.ctl.due is not None:  # (set-hands moves the hands without a time)
        raise SntpError("no resolver known to ask without blocking")
    # No resolver to ask: getaddrinfo blocks, so only while the hands
    # stand still anyway for want of a time, and fed the whole watchdog time.
    dog = clock.board.watchdog
    if dog is not None:
        dog.feed()
    return resolve(host, port)
