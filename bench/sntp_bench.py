"""SNTP accuracy against a real chronyd, and how long one step holds the loop.

chronyd runs on loopback under faketime, 90 s ahead of the system clock (the
start/stop code is tests/chronyd.py), so the truth is exactly +90000 ms and
the error of each query is |offset - 90000 ms|. Without faketime it runs
plain and the truth is 0. Queries go through firmware/sntp.py on CPython
(in process) and on the MicroPython unix port.
"""

import json
import shutil
import statistics
import tempfile

from firmware import sntp, sntp_cli
from tests.chronyd import Chronyd, ChronydError, chronyd_binary, faketime_library
from tests.peers import MicroPython, micropython_binary

QUERIES = 20
OFFSET_S = 90

MP_CODE = """
import json, time
from firmware import sntp
addr = sntp.resolve("127.0.0.1", %d)
offsets, delays, send_us, poll_us = [], [], [], []
for _ in range(%d):
    q = sntp.Query(addr, timeout_ms=1000)
    t0 = time.ticks_us()
    q.send()
    send_us.append(time.ticks_diff(time.ticks_us(), t0))
    while True:
        t0 = time.ticks_us()
        s = q.poll(0)
        dt = time.ticks_diff(time.ticks_us(), t0)
        if s is not None:
            poll_us.append(dt)  # the step that receives and validates
            break
    offsets.append(s.offset_us)
    delays.append(s.delay_ms)
    time.sleep_ms(10)
print(json.dumps([offsets, delays, send_us, poll_us]))
"""


def _rows(runtime, truth_ms, offsets_us, delays_ms):
    # The delay is reported in ms: T1 and T4 are whole ms, so its us digits
    # (delay_us) carry no information.
    errors = [abs(o / 1000 - truth_ms) for o in offsets_us]
    return [
        ("sntp offset error vs chronyd, median of %d" % QUERIES, runtime, statistics.median(errors), "ms"),
        ("sntp offset error vs chronyd, max of %d" % QUERIES, runtime, max(errors), "ms"),
        ("sntp round-trip delay on loopback, median", runtime, statistics.median(delays_ms), "ms"),
    ]


def rows():
    if chronyd_binary() is None:
        return [("sntp vs chronyd (chronyd missing)", "-", "-", "skipped")]
    offset_s = OFFSET_S if faketime_library() else 0
    workdir = tempfile.mkdtemp(prefix="sntp_bench_")
    out = []
    try:
        with Chronyd(workdir, offset_s=offset_s) as server:
            samples = [sntp_cli.query(server.address, timeout_ms=1000) for _ in range(QUERIES)]
            out += _rows("cpython", server.offset_ms, [s.offset_us for s in samples], [s.delay_ms for s in samples])
            binary = micropython_binary()
            if binary is None:
                out.append(("sntp vs chronyd (MicroPython missing)", "micropython", "-", "skipped"))
            else:
                text = MicroPython(binary).run(MP_CODE % (server.port, QUERIES))
                offsets, delays, send_us, poll_us = json.loads(text)
                out += _rows("micropython", server.offset_ms, offsets, delays)
                out.append(("sntp Query.send() holds the loop, max", "micropython", max(send_us), "us"))
                out.append(("sntp Query.poll() that parses the reply, max", "micropython", max(poll_us), "us"))
    except ChronydError as e:
        out.append(("sntp vs chronyd (%s)" % str(e)[:40], "-", "-", "failed"))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if not offset_s:
        out.append(("(faketime missing: chronyd at +0 s)", "-", "-", "note"))
    return out


if __name__ == "__main__":
    for row in rows():
        print(row)
