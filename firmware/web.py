"""The phone page's request handling, without sockets: a request in, an
answer out, over the running clock (firmware/remote.py does the work).

    web = Web(clock, password)
    status, headers, body, file = web.handle(method, path, auth, content_type, body, now)

`auth` is the request's Authorization header and `content_type` its
Content-Type (None when absent); `body` the bytes sent. The answer is the
HTTP status, extra headers, and either `body` (bytes) or `file`, the path of
a file to send in chunks (the page, the zone table): neither is held in
RAM. firmware/webserver.py puts this on a port; the simulator
(sim/web.py) serves it for the simulated clock.

The rules (README, "The page on your phone"):
- every path needs HTTP Basic authentication, user `clock`; a wrong or
  missing password gets 401, and after 5 wrong ones within a minute
  everyone gets 429 for 60 s (a guesser is slowed to 5 tries a minute; a
  request with no password at all is not counted, or any link to the
  clock on another page could lock its owner out);
- a POST must say `Content-Type: application/json` (415 otherwise: a form
  on another web site, in the same browser, cannot send that without the
  browser asking the clock first, which it never allows) and be at most
  2 KB (413);
- a change answers 200 with the new status (or {"changed": true} when the
  heap has no room for the status just then), or 400 with
  {"error": "..."}, one line naming what is wrong. 503 always means "not
  taken: send it again".
"""

import json
from binascii import b2a_base64

from firmware import remote
from firmware.main import log
from firmware.ticks import ticks_add, ticks_diff

PAGE = "page.html"  # beside config.json (deploy installs it)
USER = "clock"
BODY_MAX = 2048
_FAILURES = 5  # wrong passwords within _FAIL_WINDOW_MS, then everyone waits
_FAIL_WINDOW_MS = 60000
_LOCKOUT_MS = 60000
_JSON = {"Content-Type": "application/json", "Cache-Control": "no-store"}
_ASK = {"WWW-Authenticate": 'Basic realm="clock", charset="UTF-8"'}
_CHANGES = {"/api/mode": "mode", "/api/hands": "hands", "/api/zone": "zone", "/api/schedule": "schedule"}
# The key a change's body holds its value under: {"tz": ...} for the zone.
_KEYS = {"mode": "mode", "hands": "hands", "zone": "tz", "schedule": "schedule"}


def credentials(password):
    """The Authorization header value that `password` makes."""
    return "Basic " + b2a_base64((USER + ":" + password).encode()).decode().strip()


def _same(a, b):
    """Equal strings, in a time that does not tell how much of them matched."""
    a = a.encode()  # bytes: MicroPython would intern each one-character str
    b = b.encode()
    if len(a) != len(b):
        return False
    diff = 0
    for i in range(len(a)):
        diff |= a[i] ^ b[i]
    return diff == 0


class Web:
    def __init__(self, clock, password):
        self.clock = clock
        self._expect = credentials(password)
        self._failed = []  # ticks of the latest wrong passwords, at most _FAILURES
        self._locked_until = None  # ticks; None while nobody is locked out

    def error(self, status, text, headers=None):
        out = {"Content-Type": "application/json", "Cache-Control": "no-store"}
        if headers:
            out.update(headers)
        return status, out, json.dumps({"error": text}).encode(), None

    def locked(self, now):
        until = self._locked_until
        if until is None:
            return False
        if ticks_diff(until, now) > 0:
            return True
        self._locked_until = None
        return False

    def refuse(self, now):
        """One wrong password: 401, or the start of a lockout."""
        failed = self._failed
        failed.append(now)
        if len(failed) > _FAILURES:
            failed.pop(0)
        if len(failed) == _FAILURES and ticks_diff(now, failed[0]) < _FAIL_WINDOW_MS:
            self._locked_until = ticks_add(now, _LOCKOUT_MS)
            del failed[:]
            log("web: %d wrong passwords within a minute; no answers for %d s" % (_FAILURES, _LOCKOUT_MS // 1000))
            return self.error(429, "too many wrong passwords: try again in a minute", {"Retry-After": "60"})
        return self.error(401, "the password is wrong (user name: clock)", _ASK)

    def handle(self, method, path, auth, content_type, body, now):
        if self.locked(now):
            return self.error(429, "too many wrong passwords: try again in a minute", {"Retry-After": "60"})
        if not isinstance(auth, str) or not auth:
            # No password sent (a first visit, a browser's preflight, a page
            # elsewhere): asked for, never counted, or anyone could lock the
            # owner out with a link.
            return self.error(401, "log in: user name clock, and the page's password", _ASK)
        if not _same(auth, self._expect):
            return self.refuse(now)
        query = path.find("?")
        if query >= 0:
            path = path[:query]
        if path == "/" or path == "/index.html":
            if method != "GET":
                return self.error(405, "%r %r: only GET" % (method[:10], path[:60]), {"Allow": "GET"})
            return 200, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache"}, None, PAGE
        if path == "/zones.txt":
            if method != "GET":
                return self.error(405, "%r %r: only GET" % (method[:10], path[:60]), {"Allow": "GET"})
            return 200, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "max-age=86400"}, None, remote.ZONES
        if path == "/api/status":
            if method != "GET":
                return self.error(405, "%r %r: only GET" % (method[:10], path[:60]), {"Allow": "GET"})
            return self.answer(now)
        what = _CHANGES.get(path)
        if what is None:
            return self.error(404, "no such page: %r (the API is /api/status, /api/mode, /api/hands, /api/zone, /api/schedule)" % path[:60])
        if method != "POST":
            return self.error(405, "%r %r: only POST" % (method[:10], path[:60]), {"Allow": "POST"})
        if content_type is None or content_type.split(";")[0].strip().lower() != "application/json":
            return self.error(415, "send the change as JSON (Content-Type: application/json)")
        if len(body) > BODY_MAX:
            return self.error(413, "the body is over %d bytes" % BODY_MAX)
        try:
            value = json.loads(body)
        except Exception:  # ValueError; a UnicodeError on MicroPython
            return self.error(400, "the body is not JSON")
        key = _KEYS[what]
        if not isinstance(value, dict) or key not in value:
            return self.error(400, 'want a JSON object like {"%s": ...}' % key)
        try:
            why = remote.change(self.clock, what, value[key], now)
        except MemoryError:  # part-way, maybe: never 503, which the page sends again
            return self.error(500, "the clock ran short of memory making the change: reload to see whether it was taken")
        if why is not None:
            return self.error(400, why)
        try:
            log("web: %s changed" % what)
            return self.answer(now)
        except MemoryError:  # taken, and no room for the whole status: a short answer, the page asks again
            return 200, _JSON, b'{"changed": true}', None

    def answer(self, now):
        return 200, _JSON, json.dumps(remote.status(self.clock, now)).encode(), None
