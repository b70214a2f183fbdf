"""A small MQTT 3.1.1 client, QoS 0 only, over asyncio streams: what the
clock needs to be a device on a broker, and no more.

    client = Client("irregular-clock-c0ffee01", keepalive_s=60, user=..., password=..., will=(topic, payload, retain))
    await client.connect(address)                   # a socket address; CONNECT, CONNACK; MqttError says why not
    await client.subscribe(["B/mode/set", ...])
    client.publish(topic, payload, retain); await client.drain()
    topic, payload, retained = await client.message()  # the next PUBLISH; PINGRESP and acks are taken on the way
    client.ping(); client.close()

Why our own (ARCHITECTURE.md, MQTT): micropython-lib's umqtt.simple and
mqtt_as cannot be installed from PyPI by pip, and umqtt.simple blocks on
its socket; chumicro-mqtt retained 33,728 bytes of a 32-bit heap. This
one keeps what it reads bounded: a topic over TOPIC_MAX bytes or a payload
over PAYLOAD_MAX is read through one small buffer and thrown away (the
message comes back with the payload's size instead of its bytes), so a
broker flooding 64 KB messages costs no heap. Every read awaits the
socket: the clock loop runs between them.

The address is a socket address: the caller looks the broker's name up
without blocking (firmware/dns.py), as for NTP. Liveness (no packet for
1.5 keepalives: a half-open connection) is the caller's to watch, from
`last_rx` (ticks of the last packet read).
"""

import asyncio  # MicroPython 1.22 or newer (hardware/README.md): no uasyncio

from firmware.ticks import ticks_ms

TOPIC_MAX = 128  # bytes of a topic kept; a longer one is skipped
PAYLOAD_MAX = 256  # bytes of a payload kept (firmware/mqtt.py's commands are far less)
_DISCARD = 256  # the buffer a skipped topic or payload is read through
# The broker's answers to CONNECT, by return code (MQTT 3.1.1, 3.2.2.3).
REFUSED = ("", "it does not speak MQTT 3.1.1", "it refused our client id", "it is unavailable",
           "the user name or password is wrong",
           "not authorised (mosquitto says this for a wrong user name or password too)")


class MqttError(Exception):
    pass


def _string(data):
    return bytes((len(data) >> 8, len(data) & 255)) + data


def _head(first, n):
    """A packet's fixed header: its first byte, then the remaining length
    `n` as MQTT encodes it."""
    head = bytearray((first,))
    while True:
        byte = n & 127
        n >>= 7
        head.append(byte | 128 if n else byte)
        if not n:
            return head


def _packet(first, body):
    return _head(first, len(body)) + body


class Client:
    def __init__(self, client_id, keepalive_s=60, user=None, password=None, will=None):
        self.client_id = client_id
        self.keepalive_s = keepalive_s
        self.user = user
        self.password = password
        self.will = will
        self.stream = None
        self.sock = None
        self.last_rx = None
        self.last_tx = None
        self._scratch = bytearray(_DISCARD)  # skipped bytes are read into this, never kept
        self._pid = 0

    async def connect(self, address):
        """`address`: a socket address (firmware/dns.py's, or getaddrinfo's
        last item): no name is looked up here."""
        import select
        import socket
        from errno import EINPROGRESS  # 115 on Linux, 119 on an ESP32's newlib

        sock = socket.socket()
        self.sock = sock
        sock.setblocking(False)
        try:
            sock.connect(address)
        except OSError as e:
            if e.args[0] != EINPROGRESS:
                raise
        # Writable once connected (or failed: the first write says why). An
        # ESP32 refuses a write while the socket is still connecting. The
        # caller's deadline ends a connection that never comes.
        poller = select.poll()
        poller.register(sock, select.POLLOUT)
        while not poller.poll(0):
            await asyncio.sleep_ms(10)
        self.stream = asyncio.StreamWriter(sock, {})
        flags = 0x02  # a clean session: subscriptions are made again on every connect
        body = _string(self.client_id.encode())
        if self.will is not None:
            topic, payload, retain = self.will
            flags |= 0x04 | (0x20 if retain else 0)
            body += _string(topic.encode()) + _string(payload)
        if self.user:
            flags |= 0x80
            body += _string(self.user.encode())
            if self.password:
                flags |= 0x40
                body += _string(self.password.encode())
        head = b"\x00\x04MQTT\x04" + bytes((flags, self.keepalive_s >> 8, self.keepalive_s & 255))
        self._send(_packet(0x10, head + body))
        await self.drain()
        kind, body = await self._next()
        if kind != 2 or len(body) < 2:
            raise MqttError("the broker did not answer CONNECT")
        if body[1]:
            raise MqttError("the broker refused us: %s" % (REFUSED[body[1]] if body[1] < len(REFUSED) else "code %d" % body[1]))

    async def subscribe(self, topics):
        self._pid = self._pid % 65535 + 1
        body = bytes((self._pid >> 8, self._pid & 255))
        for topic in topics:
            body += _string(topic.encode()) + b"\x00"  # QoS 0
        self._send(_packet(0x82, body))
        await self.drain()

    def header(self, topic, payload, retain=False):
        """A PUBLISH's fixed header and topic: what a publication makes
        before anything of it is written, so one that meets MemoryError
        here can be made again (Link.send)."""
        topic = _string(topic.encode())
        return _head(0x31 if retain else 0x30, len(topic) + len(payload)) + topic

    async def put(self, head, payload):
        """Write a header, let it out, then its payload: the payload (a
        discovery payload is some 450 bytes) goes to the socket as it is,
        not copied into one packet with its header, when the socket takes
        it at once. Part of a packet may be out by any MemoryError here:
        the connection cannot go on, and MqttError says so."""
        try:
            self._send(head)
            await self.drain()
            self._send(payload)
        except MemoryError:
            raise MqttError("no memory in the middle of a packet")
        await self.drain()

    def publish(self, topic, payload, retain=False):
        """Header and payload, queued at once (drain() lets them out)."""
        self._send(self.header(topic, payload, retain))
        self._send(payload)

    def ping(self):
        self._send(b"\xc0\x00")

    def _send(self, data):
        self.stream.write(data)
        self.last_tx = ticks_ms()

    async def drain(self):
        await self.stream.drain()

    async def message(self):
        """(topic, payload, retained) of the next PUBLISH; the topic is None
        when it was too long (or not UTF-8), the payload its size (an int)
        when it was over PAYLOAD_MAX."""
        while True:
            kind, body = await self._next()
            if kind == 3:
                return body

    async def _next(self):
        """(packet type, body): a PUBLISH's body as (topic, payload)."""
        stream = self.stream
        first = (await stream.readexactly(1))[0]
        n = 0
        shift = 0
        for _ in range(4):
            byte = (await stream.readexactly(1))[0]
            n |= (byte & 127) << shift
            shift += 7
            if not byte & 128:
                break
        else:
            raise MqttError("a packet with a bad length")
        kind = first >> 4
        self.last_rx = ticks_ms()
        if kind != 3:
            if n > _DISCARD:
                raise MqttError("a packet of type %d and %d bytes, too long for what it is" % (kind, n))
            return kind, (await stream.readexactly(n) if n else b"")
        if n < 2:
            raise MqttError("a PUBLISH too short for its topic")
        size = await stream.readexactly(2)
        length = size[0] << 8 | size[1]
        if length + 2 > n:
            raise MqttError("a PUBLISH whose topic is longer than the packet")
        topic = None
        if length > TOPIC_MAX:
            await self._skip(length)
        else:
            try:
                topic = (await stream.readexactly(length)).decode()
            except UnicodeError:
                topic = None
        rest = n - 2 - length
        if first & 0x06:  # QoS 1 or 2 (we subscribe at 0; a broker should never): its packet id
            if rest < 2:
                raise MqttError("a PUBLISH too short for its packet id")
            await stream.readexactly(2)
            rest -= 2
        retained = bool(first & 1)
        if rest > PAYLOAD_MAX:
            await self._skip(rest)
            return kind, (topic, rest, retained)
        return kind, (topic, await stream.readexactly(rest) if rest else b"", retained)

    async def _skip(self, n):
        view = memoryview(self._scratch)
        while n:
            got = await self.stream.readinto(view[: n if n < _DISCARD else _DISCARD])
            if got is None:
                continue  # woken with nothing to read after all
            if not got:
                raise EOFError
            n -= got
            self.last_rx = ticks_ms()

    def close(self):
        """Close the socket itself: MicroPython's Stream.close() does not."""
        sock = self.sock
        self.sock = self.stream = None
        if sock is not None:
            try:
                sock.close()
            except Exception:
                pass
