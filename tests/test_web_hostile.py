"""Hostile clients against the page on the firmware itself (the 32-bit unix
port under the page's heap cap, as deploy installs it): request
bytes drawn by hypothesis, wrong passwords and the lockout, a cross-origin
POST. Every answer is a status line or a closed connection, never a
traceback, and the clock is still there and answering afterwards.
(No NTP server here: the page is the subject, not the minutes, which
tests/test_web_e2e.py checks under the same fire.)
"""

import json
import re
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import need
from tests.peers import ROOT, micropython32_binary
from tests.test_web_e2e import WEB_HEAP_CAP
from tests.webclient import auth_header, free_tcp_port, raw, request, status_of
from tools.heapcap import BOOT_ARGS

PASSWORD = "no-guessing-this"


def start_page(tmp):
    binary = need(micropython32_binary(), "the 32-bit MicroPython unix port (make test builds it; needs gcc-multilib)")
    port = free_tcp_port()
    config = {"board": "unix", "ntp": ["127.0.0.1:9"], "tz": "CET-1CEST,M3.5.0,M10.5.0/3", "hands": "10:00:00",
              "unix": {"coil_log": str(tmp / "coil.log"), "button": None}, "web": {"password": PASSWORD, "port": port}}
    (tmp / "config.json").write_text(json.dumps(config))
    done = subprocess.run([sys.executable, "-m", "firmware.deploy", str(tmp / "board"), "--config", str(tmp / "config.json")],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    log = tmp / "console.txt"
    proc = subprocess.Popen([binary, "-X", "heapsize=%d" % WEB_HEAP_CAP, *BOOT_ARGS], cwd=tmp / "board",
                            stdout=open(log, "w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while "web: the page is on port" not in log.read_text():
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    return port, log, proc


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    found = start_page(tmp_path_factory.mktemp("hostile"))
    yield found
    found[2].kill()
    found[2].wait()


@pytest.fixture
def fresh_page(tmp_path):
    found = start_page(tmp_path)
    yield found
    found[2].kill()
    found[2].wait()


def alive(page):
    port, log, proc = page
    assert proc.poll() is None, log.read_text()[-2000:]
    code, _, data = request(port, "GET", "/api/status", password=PASSWORD)
    assert code in (200, 429), data  # the drawn bytes may have held 5 wrong passwords
    if code == 200:
        assert json.loads(data)["hands"], data
    console = log.read_text()
    assert "Traceback" not in console and not re.search(r"web: .*failed|task failed", console), console[-2000:]
    assert PASSWORD not in console


def test_a_cross_origin_post_is_refused_and_nothing_changes(page):
    """What another web site in the user's browser can send without asking
    (a form or a fetch with a simple content type, with the browser's saved
    password) is refused; the preflight a JSON post needs gets no CORS
    permission, so the browser never sends it."""
    port, log, proc = page
    before = json.loads(request(port, "GET", "/api/status", password=PASSWORD)[2])["mode"]
    for ctype, body in (("text/plain", b'{"mode": "rush"}'), ("application/x-www-form-urlencoded", b"mode=rush"), ("multipart/form-data; boundary=x", b"--x--")):
        data = ("POST /api/mode HTTP/1.1\r\nHost: clock\r\nOrigin: http://evil.example\r\nAuthorization: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
                % (auth_header(PASSWORD), ctype, len(body))).encode() + body
        assert status_of(raw(port, data)) == 415
    preflight = raw(port, b"OPTIONS /api/mode HTTP/1.1\r\nHost: clock\r\nOrigin: http://evil.example\r\nAccess-Control-Request-Method: POST\r\n"
                          b"Access-Control-Request-Headers: content-type\r\n\r\n")
    assert status_of(preflight) == 401 and b"access-control-allow" not in preflight.lower()
    assert json.loads(request(port, "GET", "/api/status", password=PASSWORD)[2])["mode"] == before


ANSWERS = (200, 400, 401, 404, 405, 413, 415, 429, 503)
methods = st.sampled_from([b"GET", b"POST", b"PUT", b"OPTIONS", b"get", b"", b"G\x00T"]) | st.binary(max_size=8)
paths = st.sampled_from([b"/", b"/api/status", b"/api/mode", b"/api/hands", b"/zones.txt", b"*", b"", b"/%00"]) | st.binary(max_size=60)
versions = st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/9", b"", b"HTTP/"])
header_lines = st.lists(st.sampled_from([
    b"Authorization: " + auth_header(PASSWORD).encode(), b"Authorization: Basic", b"Authorization: " + b"A" * 3000,
    b"Content-Type: application/json", b"Content-Type: text/plain", b"Content-Length: 5", b"Content-Length: -1",
    b"Content-Length: 99999999999999999999", b"Content-Length: x", b"Host: clock", b"no colon here", b": empty name",
    b"X-" + b"y" * 5000 + b": z",
]) | st.binary(max_size=80), max_size=8)
bodies = st.sampled_from([b"", b'{"mode": "rush"}', b'{"hands": "99:99:99"}', b"{", b"\xff" * 40, b"x" * 3000]) | st.binary(max_size=200)
requests_ = st.builds(lambda m, p, v, h, b: m + b" " + p + b" " + v + b"\r\n" + b"".join(x + b"\r\n" for x in h) + b"\r\n" + b,
                      methods, paths, versions, header_lines, bodies) | st.binary(max_size=400)


@given(data=requests_)
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_request_bytes_get_a_status_or_a_closed_connection(page, data):
    port, log, proc = page
    answer = raw(port, data, timeout=8, half_close=True)
    assert answer is not None, data  # never held for good: answered, or closed
    if answer:
        assert status_of(answer) in ANSWERS, answer[:200]
        assert b"Traceback" not in answer and PASSWORD.encode() not in answer
    assert proc.poll() is None, log.read_text()[-2000:]


def test_after_the_hostile_bytes_the_clock_answers(page):
    alive(page)


def test_wrong_passwords_lock_everyone_out_for_a_minute(fresh_page):
    port, log, proc = fresh_page
    codes = [request(port, "GET", "/api/status", password="guess-%d" % i)[0] for i in range(5)]
    assert codes == [401, 401, 401, 401, 429]
    assert request(port, "GET", "/api/status", password=PASSWORD)[0] == 429
    assert request(port, "GET", "/api/status")[1].get("Retry-After") == "60"
    console = log.read_text()
    assert "web: 5 wrong passwords within a minute; no answers for 60 s" in console
    assert "guess-" not in console
