"""Name lookup that never blocks: one DNS query (an A record) over UDP.

    addr = await lookup_async("pool.ntp.org", 123, "192.168.1.1")  # or DnsError

getaddrinfo() blocks the whole firmware until the network's resolver
answers, for seconds, or ten when it never does (issue 11): a minute that
falls in such a freeze is late. This asks the resolver itself, as
firmware/sntp.py asks a time server: a non-blocking socket, polled from
asyncio, given up after `timeout_ms`. The resolver is the network's (the
DHCP one on a board, /etc/resolv.conf's on a host) or config.json's `dns`.

An IPv4 literal needs no query (firmware/clock.py does not even load this
module for one); the socket address for either comes from getaddrinfo()
with the number, which never asks the network (firmware/sntp.py,
socket_address).
"""

import select
import socket
import struct

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


from firmware.sntp import is_ipv4, socket_address
from firmware.ticks import ticks_add, ticks_diff, ticks_ms

try:
    import asyncio

    _sleep_ms = getattr(asyncio, "sleep_ms", None) or (lambda ms: asyncio.sleep(ms / 1000))
except ImportError:  # a board built without asyncio
    _sleep_ms = None

try:
    from os import urandom as _urandom
except ImportError:
    _urandom = None

_PORT = const(53)
_TYPE_A = const(1)
_CLASS_IN = const(1)
# Read at most this much of a reply (UDP allows 512, RFC 1035): one A
# question's answer is about 60 bytes, pool.ntp.org's four about 110; a
# longer one is cut, and its first address still read. A smaller buffer
# is easier to find in a fragmented heap.
_MAX_REPLY = const(256)
TIMEOUT_MS = const(2000)


class DnsError(Exception):
    """No address: `reason` is one line."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def query(name, ident):
    """The bytes of a recursive query for `name`'s A record."""
    out = bytearray(struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0))
    for label in name.rstrip(".").split("."):
        data = label.encode()
        if not 0 < len(data) < 64:
            raise DnsError("bad name %r: a label is empty or over 63 characters" % name)
        out.append(len(data))
        out.extend(data)
    out.append(0)
    out.extend(struct.pack("!HH", _TYPE_A, _CLASS_IN))
    if len(out) > 12 + 255 + 4:
        raise DnsError("bad name %r: over 253 characters" % name)
    return out


def _skip_name(data, i):
    """The index past the (possibly compressed) name at `i`."""
    while True:
        if i >= len(data):
            raise DnsError("reply cut short")
        n = data[i]
        if n == 0:
            return i + 1
        if n & 0xC0 == 0xC0:
            return i + 2  # a pointer ends the name
        if n & 0xC0:
            raise DnsError("bad label in reply")
        i += 1 + n


def parse(data, ident, name=""):
    """The first IPv4 address ("a.b.c.d") a reply to query `ident` holds;
    DnsError for anything else (no such name, a refusal, garbage)."""
    if len(data) < 12:
        raise DnsError("reply cut short")
    got, flags, questions, answers = struct.unpack("!HHHH", data[:8])
    if got != ident or not flags & 0x8000:
        raise DnsError("not the reply to our query")
    rcode = flags & 0xF
    if rcode == 3:
        raise DnsError("no such name %s" % name)
    if rcode:
        raise DnsError("the resolver refused (rcode %d)" % rcode)
    i = 12
    for _ in range(questions):
        i = _skip_name(data, i) + 4
    for _ in range(answers):
        i = _skip_name(data, i)
        if i + 10 > len(data):
            raise DnsError("reply cut short")
        kind, klass, _ttl, length = struct.unpack("!HHIH", data[i : i + 10])
        i += 10
        if i + length > len(data):
            raise DnsError("reply cut short")
        if kind == _TYPE_A and klass == _CLASS_IN and length == 4:
            return "%d.%d.%d.%d" % (data[i], data[i + 1], data[i + 2], data[i + 3])
        i += length  # a CNAME (its A record follows) or another type
    raise DnsError("no IPv4 address for %s" % name)


def resolver_of_host(path="/etc/resolv.conf"):
    """The first IPv4 nameserver of a host's resolv.conf, or None."""
    try:
        with open(path) as f:
            text = f.read(4096)
    except OSError:
        return None
    for line in text.split("\n"):
        words = line.split()
        if len(words) >= 2 and words[0] == "nameserver" and is_ipv4(words[1]):
            return words[1]
    return None


async def lookup_async(name, port, resolver, timeout_ms=TIMEOUT_MS, step_ms=5):
    """The socket address of `name`:`port`, asking `resolver` ("ip" or
    "ip:port"); every step returns to the loop at once. DnsError when no
    address comes within `timeout_ms`."""
    if is_ipv4(name):
        return socket_address(name, port)
    server_port = _PORT
    if ":" in resolver:
        resolver, text = resolver.rsplit(":", 1)
        server_port = int(text)
    ident = struct.unpack("!H", _urandom(2))[0] if _urandom is not None else ticks_ms() & 0xFFFF
    packet = query(name, ident)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        try:
            sock.connect(socket_address(resolver, server_port))
            sock.send(packet)
        except OSError as e:
            raise DnsError("cannot ask %s: %s" % (resolver, e))
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        poll = getattr(poller, "ipoll", poller.poll)
        deadline = ticks_add(ticks_ms(), timeout_ms)
        while True:
            for _ in poll(0):
                try:
                    data = sock.recv(_MAX_REPLY)
                except OSError as e:
                    raise DnsError("no answer from %s: %s" % (resolver, e))
                # Ours: our ident and our question echoed (a blind spoofer
                # must guess both the ident and the port); else a stray
                # datagram, and we wait on for ours.
                if data[12 : len(packet)] == packet[12:]:
                    try:
                        return socket_address(parse(data, ident, name), port)
                    except DnsError as e:
                        if "not the reply" not in e.reason:
                            raise
            if ticks_diff(deadline, ticks_ms()) <= 0:
                raise DnsError("no answer from %s within %d ms" % (resolver, timeout_ms))
            await _sleep_ms(step_ms)
    finally:
        sock.close()
