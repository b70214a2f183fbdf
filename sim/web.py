"""The phone page for the simulated clock: `python -m sim --web PORT`.

The same request handling as the board (firmware/web.py over
firmware/remote.py), served by the standard library's HTTP server on a
thread beside the window, so the page, its API and the scripts written
against it can be tried on a laptop. `WorldClock` is what firmware/remote.py
needs of a clock, over a sim.world.World.

The page and the zone table are the board's own: firmware/page.html, and
the table deploy would install (tools/zones.py), written to a temporary file.
"""

import http.server
import os
import tempfile
import threading

from firmware import remote, web

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGE = os.path.join(ROOT, "firmware", "page.html")


class WorldClock:
    """firmware/clock.py's Clock as firmware/remote.py sees it, over a World."""

    def __init__(self, world, tz, schedule=None):
        self.world = world
        self.cfg = {"schedule": schedule or []}
        self.tz = tz
        self.zone_name = None

    @property
    def ctl(self):
        return self.world.controller

    @property
    def timebase(self):
        return self.world.timebase

    @property
    def zone(self):
        return self.world.zone

    @property
    def store(self):
        return self.world.store

    @property
    def wake(self):
        return self.world.wake

    @wake.setter
    def wake(self, value):
        self.world.wake = value

    def note(self):
        self.world._note_mode()

    def set_zone(self, zone, rule, name, now):
        self.world.zone = zone
        self.world.controller.wall.zone = zone
        self.tz = rule
        self.zone_name = name
        if now is not None:
            self.world.wake = self.world.controller.resync(now)

    def uptime_s(self, now):
        return (self.world.true_ms - self.world._boot_ms) // 1000


def zone_table(folder):
    """The board's zone table, written into `folder`; its path."""
    from tools.zones import table

    path = os.path.join(folder, "zones.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write(table())
    return path


class PageServer:
    """The page on `port` for a Preview (sim/preview.py), on a thread; every
    request runs the world up to now first, under the preview's lock."""

    def __init__(self, preview, port, password, host="127.0.0.1"):
        self.preview = preview
        self.clock = WorldClock(preview.world, preview.tz)
        self.web = web.Web(self.clock, password)
        self._tmp = tempfile.TemporaryDirectory(prefix="sim-web-")
        self._saved = remote.ZONES, web.PAGE  # the board's relative paths, put back by stop()
        remote.ZONES = zone_table(self._tmp.name)
        web.PAGE = PAGE
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            server_version = "irregular-clock-sim"
            timeout = 5  # a request not done in 5 s is dropped, as on the board

            def log_message(self, fmt, *args):  # no line per request on the terminal
                pass

            def do_GET(self):
                self.answer(b"")

            def do_POST(self):
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    length = -1
                if not 0 <= length <= web.BODY_MAX:
                    self.send_error(413 if length > 0 else 400)
                    return
                self.answer(self.rfile.read(length))

            def answer(self, body):
                status, headers, data, file = owner.handle(self.command, self.path, self.headers.get("Authorization"),
                                                           self.headers.get("Content-Type"), body)
                if file is not None:
                    try:
                        with open(file, "rb") as f:
                            data = f.read()
                    except OSError:
                        status, data = 500, b'{"error": "missing on this computer"}'
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = http.server.ThreadingHTTPServer((host, port), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="sim-web", daemon=True)

    def handle(self, method, path, auth, content_type, body):
        p = self.preview
        with p.lock:
            p.world.run_until(p.clock.now())
            if not p.world.powered:
                return self.web.error(503, "the simulated clock is off (P in the window turns it on)")
            self.clock.world = p.world
            return self.web.handle(method, path, auth, content_type, body, p.world.ticks())

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        remote.ZONES, web.PAGE = self._saved
        self._tmp.cleanup()
