"""A client for the clock's page, for the tests: requests with Basic
authentication, and the hostile clients the page must survive (slow,
half-sent, garbage, oversized), each one a real socket on loopback."""

import base64
import http.client
import json
import random
import socket
import threading
import time

USER = "clock"


def free_tcp_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def auth_header(password):
    return "Basic " + base64.b64encode(("%s:%s" % (USER, password)).encode()).decode()


def request(port, method, path, body=None, password=None, ctype="application/json", timeout=10):
    """(status, headers, body bytes); raises OSError when no answer comes."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {}
        if password is not None:
            headers["Authorization"] = auth_header(password)
        if body is not None:
            if not isinstance(body, bytes):
                body = json.dumps(body).encode()
            if ctype is not None:
                headers["Content-Type"] = ctype
        conn.request(method, path, body=body, headers=headers)
        res = conn.getresponse()
        return res.status, dict(res.getheaders()), res.read()
    finally:
        conn.close()


def call(port, password, method, path, body=None, tries_s=20):
    """A request the test needs answered: tried again while the clock's few
    connections are taken by the hostile clients. (status, parsed JSON)."""
    deadline = time.monotonic() + tries_s
    while True:
        try:
            status, headers, data = request(port, method, path, body, password)
            return status, json.loads(data)
        except (OSError, http.client.HTTPException, ValueError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def raw(port, data, timeout=8, close_after_s=None, half_close=False):
    """Send `data` as it is (then, with `half_close`, say it is all); what
    comes back before the server closes (or None if it never answers within
    `timeout`)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        if close_after_s is not None:
            time.sleep(close_after_s)
            return b""
        out = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return out
            out += chunk
    except socket.timeout:
        return None
    except OSError:
        return b""  # reset
    finally:
        s.close()


def status_of(answer):
    """The status of an HTTP answer's first line, or None."""
    if not answer or not answer.startswith(b"HTTP/"):
        return None
    try:
        return int(answer.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


class Hammer(threading.Thread):
    """`rate` requests a second at the clock, for as long as it runs: valid
    ones, bad ones of every kind, and now and then a slow client (a byte a
    second) and a half-sent request, each held open until the clock drops
    it. Wrong passwords are not among them: five of those lock everyone out
    for a minute (tested on its own). Records what came back."""

    def __init__(self, port, password, rate=20, seed=0):
        super().__init__(daemon=True)
        self.port = port
        self.password = password
        self.rate = rate
        self.rng = random.Random(seed)
        self.stopped = False
        self.statuses = {}  # status (None: no answer, closed) -> count
        self.held = []  # (kind, seconds until the clock closed it)
        self.sent = 0
        self.lock = threading.Lock()

    def note(self, status):
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1

    def one(self, kind):
        a = "Authorization: %s\r\n" % auth_header(self.password)
        try:
            if kind == "status":
                self.note(request(self.port, "GET", "/api/status", password=self.password, timeout=8)[0])
            elif kind == "bad json":
                self.note(request(self.port, "POST", "/api/mode", b"{mode: rush", self.password, timeout=8)[0])
            elif kind == "unknown path":
                self.note(request(self.port, "GET", "/wp-admin.php", password=self.password, timeout=8)[0])
            elif kind == "form post":
                self.note(request(self.port, "POST", "/api/mode", b"mode=rush", self.password, "application/x-www-form-urlencoded", timeout=8)[0])
            elif kind == "too big":
                self.note(request(self.port, "POST", "/api/schedule", b"[" + b"1," * 3000 + b"1]", self.password, timeout=8)[0])
            elif kind == "bad mode":
                self.note(request(self.port, "POST", "/api/mode", {"mode": "warp"}, self.password, timeout=8)[0])
            elif kind == "garbage":
                self.note(status_of(raw(self.port, bytes(self.rng.randrange(256) for _ in range(self.rng.randrange(1, 300))) + b"\r\n\r\n")))
            elif kind == "long header":
                self.note(status_of(raw(self.port, b"GET /api/status HTTP/1.1\r\n" + a.encode() + b"X-Junk: " + b"j" * 9000 + b"\r\n\r\n")))
            elif kind == "many headers":
                self.note(status_of(raw(self.port, b"GET /api/status HTTP/1.1\r\n" + a.encode() + b"X-A: b\r\n" * 2000 + b"\r\n")))
            elif kind in ("slow", "half-sent"):
                start = time.monotonic()
                s = socket.create_connection(("127.0.0.1", self.port), timeout=12)
                try:
                    if kind == "half-sent":
                        s.sendall(("POST /api/mode HTTP/1.1\r\n%sContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"mo" % a).encode())
                        s.recv(1)  # until the clock closes it (or answers)
                    else:
                        for byte in b"GET /api/status HTTP/1.1\r\n":
                            s.send(bytes([byte]))
                            time.sleep(0.5)
                except OSError:
                    pass
                finally:
                    s.close()
                with self.lock:
                    self.held.append((kind, time.monotonic() - start))
        except (OSError, http.client.HTTPException):
            self.note(None)

    def run(self):
        kinds = ["status"] * 6 + ["bad json", "unknown path", "form post", "too big", "bad mode", "garbage", "long header", "many headers"]
        last_slow = 0
        while not self.stopped:
            now = time.monotonic()
            if now - last_slow > 5:
                last_slow = now
                for kind in ("slow", "half-sent"):
                    threading.Thread(target=self.one, args=(kind,), daemon=True).start()
            threading.Thread(target=self.one, args=(self.rng.choice(kinds),), daemon=True).start()
            self.sent += 1
            time.sleep(1 / self.rate)
