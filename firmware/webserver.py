"""The phone page on a port: firmware/web.py's answers over HTTP/1.0.

    await run(clock, cfg["web"])        # the clock's "web" task, for good

Only what the page needs of HTTP, and what a server anyone on the network
can reach must have:

- at most _OPEN connections at once; one more is closed at once;
- a connection not done within _DEADLINE_MS is dropped (a slow or
  half-sent request must not hold one of them, or the heap, for good);
- a request is read through a budget (_Reader): the request line and
  headers at most _HEAD_MAX bytes, the body at most web.BODY_MAX, and of
  the headers only the three the page reads are kept, so no client can
  grow the heap the clock needs;
- anything that does not parse gets 400, never a traceback; a request the
  heap cannot take now gets 503 (the page asks again in 3 s).

Why not microdot, the framework made for MicroPython: its code alone
retained 18,880 bytes of a 32-bit board's heap, and with it the firmware
had 8,800 bytes free when idle under the page's cap (112,000) and ran out
(MemoryError answering /api/status) under 20 requests a second; its own
readline also reads a line of any length before checking it, and it keeps
any number of headers (ARCHITECTURE.md, The phone page, has the numbers).

Every step awaits the socket, so a pulse never waits for a client: the
clock loop runs between them (tests/test_web_e2e.py measures it).
"""

import asyncio  # MicroPython 1.22 or newer (hardware/README.md): no uasyncio

from firmware.main import log
from firmware.ticks import ticks_diff, ticks_ms
from firmware.web import BODY_MAX, Web

_OPEN = 4  # connections at once
_DEADLINE_MS = 5000  # a request and its answer, from the accept
_HEAD_MAX = 2048  # request line and headers (a browser's are about 600 bytes)
_CHUNK = 256  # bytes read from a socket at a time
_FILE_CHUNK = 512  # bytes of a file (the page, the zone table) sent at a time
_SWEEP_MS = 500
# A change (a mode's code loaded, settings.json written, a zone parsed) is
# made with no pulse running and none due this soon, as the clock's own
# retries are (firmware/clock.py, check_store); waited for at most _QUIET_WAIT_MS.
_QUIET_MS = 60
_QUIET_WAIT_MS = 2000
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
            413: "Payload Too Large", 415: "Unsupported Media Type", 429: "Too Many Requests",
            500: "Internal Server Error", 503: "Service Unavailable"}


class BadRequest(Exception):
    pass


class _Reader:
    """A connection's reading side, cut off after `limit` bytes in all."""

    def __init__(self, stream, limit):
        self.stream = stream
        self.left = limit
        self.buf = b""

    async def _more(self):
        if self.left <= 0:
            raise BadRequest("request too long")
        data = await self.stream.read(_CHUNK if self.left > _CHUNK else self.left)
        if not data:
            raise BadRequest("request cut short")
        self.left -= len(data)
        self.buf += data

    async def line(self):
        """The next line, without its CRLF."""
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line = self.buf[:i]
                self.buf = self.buf[i + 1:]
                return line[:-1] if line.endswith(b"\r") else line
            await self._more()

    async def exactly(self, n):
        while len(self.buf) < n:
            await self._more()
        data = self.buf[:n]
        self.buf = self.buf[n:]
        return data


async def read_request(stream):
    """(method, path, authorization, content type, body), each header None
    when absent; BadRequest for anything that is not an HTTP request the
    page can take, with its status (400 or 413)."""
    reader = _Reader(stream, _HEAD_MAX)
    parts = (await reader.line()).split()
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/"):
        raise BadRequest(400)
    auth = ctype = None
    length = 0
    while True:
        line = await reader.line()
        if not line:
            break
        name = line[:16].lower()
        if name.startswith(b"authorization:"):
            auth = line[14:].strip().decode()
        elif name.startswith(b"content-type:"):
            ctype = line[13:].strip().decode()
        elif name.startswith(b"content-length:"):
            try:
                length = int(line[15:].strip())
            except ValueError:
                raise BadRequest(400)
            if length < 0:
                raise BadRequest(400)
            if length > BODY_MAX:
                raise BadRequest(413)
    reader.left += length  # the body's own budget
    body = await reader.exactly(length) if length else b""
    return parts[0].decode(), parts[1].decode(), auth, ctype, body


class Server:
    def __init__(self, clock, port):
        self.clock = clock
        self.web = Web(clock, clock.cfg["web"]["password"])
        self.port = port
        self.open = []  # [task, accepted at (ticks)] of each connection
        self.refused = 0  # connections closed for want of room, since boot
        self._chunk = None  # the file buffer, made at the first file sent

    async def connection(self, reader, writer):
        if len(self.open) >= _OPEN:
            self.refused += 1
            await self.close(writer)
            return
        entry = [asyncio.current_task(), ticks_ms()]
        self.open.append(entry)
        try:
            await self.answer(reader, writer)
        except OSError:  # the client went away
            pass
        except Exception as e:
            log("web: a connection failed (%s: %s)" % (type(e).__name__, e))
        except BaseException:  # cancelled at its deadline (CancelledError)
            pass
        finally:
            self.open.remove(entry)
            await self.close(writer)

    async def close(self, writer):
        try:
            await writer.aclose()
        except BaseException:
            pass

    async def answer(self, reader, writer):
        try:
            method, path, auth, ctype, body = await read_request(reader)
        except BadRequest as e:
            status = e.args[0] if isinstance(e.args[0], int) else 400
            text = "the body is over %d bytes" % BODY_MAX if status == 413 else "not an HTTP request this clock takes"
            return await self.send(writer, self.web.error(status, text))
        except UnicodeError:
            return await self.send(writer, self.web.error(400, "not an HTTP request this clock takes"))
        except MemoryError:  # not the client's fault: say so, and the page tries again
            return await self.send(writer, self.web.error(503, "the clock is short of memory just now: try again", {"Retry-After": "2"}))
        if method == "POST":
            await self.quiet()
        try:
            answer = self.web.handle(method, path, auth, ctype, body, ticks_ms())
        except MemoryError:
            answer = self.web.error(503, "the clock is short of memory just now: try again", {"Retry-After": "2"})
        except Exception as e:  # a bug of ours: said, and the clock goes on
            log("web: %s %s failed (%s: %s)" % (method[:8], path[:60], type(e).__name__, e))
            answer = self.web.error(500, "the clock could not answer: %s" % type(e).__name__)
        await self.send(writer, answer)

    async def send(self, writer, answer):
        status, headers, body, file = answer
        size = len(body) if body is not None else None
        f = None
        if file is not None:
            try:
                f = open(file, "rb")
                size = f.seek(0, 2)
                f.seek(0)
            except OSError:
                status, headers, body, file = self.web.error(500, "%s is missing on the board: deploy again" % file)
                size = len(body)
        try:
            writer.write(("HTTP/1.0 %d %s\r\n" % (status, _REASONS.get(status, "Error"))).encode())
            for key in headers:
                writer.write(("%s: %s\r\n" % (key, headers[key])).encode())
            writer.write(("Content-Length: %d\r\nConnection: close\r\n\r\n" % size).encode())
            if f is None:
                writer.write(body)
                await writer.drain()
                return
            if self._chunk is None:
                self._chunk = bytearray(_FILE_CHUNK)
            chunk = memoryview(self._chunk)
            while True:
                n = f.readinto(chunk)
                if not n:
                    break
                writer.write(chunk[:n])
                await writer.drain()  # each piece out before the next is read into the one buffer
            await writer.drain()
        finally:
            if f is not None:
                f.close()

    async def quiet(self):
        """Until no pulse runs and none is due within _QUIET_MS (a race
        leaves about 90 ms between pulses), or _QUIET_WAIT_MS passed."""
        clock = self.clock
        motor = clock.board.motor
        start = ticks_ms()
        while ticks_diff(ticks_ms(), start) < _QUIET_WAIT_MS:
            if not motor.busy and ticks_diff(clock.wake, ticks_ms()) > _QUIET_MS:
                return
            await asyncio.sleep_ms(5)

    def sweep(self, now):
        """Cancel each connection past its deadline; its task closes it."""
        for entry in self.open:
            if entry[1] is not None and ticks_diff(now, entry[1]) > _DEADLINE_MS:
                entry[1] = None  # cancelled once
                entry[0].cancel()

    async def run(self):
        server = await asyncio.start_server(self.connection, "0.0.0.0", self.port)
        log("web: the page is on port %d (user clock)" % self.port)
        try:
            while True:
                await asyncio.sleep_ms(_SWEEP_MS)
                self.sweep(ticks_ms())
        finally:
            server.close()  # the port is free for the task's next start


async def run(clock, cfg):
    # One server for the clock's life: started again after a failure, it
    # still sweeps the connections the last run accepted.
    server = clock.web_server
    if server is None:
        server = clock.web_server = Server(clock, cfg["port"])
    await server.run()
