"""The whole firmware on the MicroPython unix port against chronyd: how far
each :00 pulse starts from the true minute, and how steady the pulse times
are (rush mode races at 500 ms: the deviation of each race gap from 500).

Real time: it runs the firmware for about three minutes. Medians and
maxima over every boundary and every race gap seen.
"""

import statistics
import tempfile
from pathlib import Path

from tests.chronyd import Chronyd, chronyd_binary, faketime_library
from tests.peers import micropython_binary
from tests.test_firmware_e2e import OFFSET_S, Board, hms, next_boundary, target, true_ms, wait_until_true

MINUTES = 3


def rows():
    if not (micropython_binary() and chronyd_binary() and faketime_library()):
        return [("firmware :00 error (micropython, chronyd or faketime missing)", "micropython", "-", "skipped")]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        with Chronyd(str(tmp / "chrony"), offset_s=OFFSET_S) as server:
            board = Board(tmp, server, micropython_binary())
            try:
                hands = target(true_ms() + 3000)
                board.deploy("rush", hms(hands))
                board.start()
                first = next_boundary(true_ms() + 30000)
                boundaries = [first + 60000 * k for k in range(MINUTES)]
                wait_until_true(boundaries[-1] + 1000)
            finally:
                board.stop()
    pulses = [t for t, _ in board.watcher.pulses()]
    errors = []
    for b in boundaries:
        near = [t - b for t in pulses if abs(t - b) <= 500]
        if near:
            errors.append(min(near, key=abs))
    jitter = []
    for b in boundaries[1:]:
        race = [t for t in pulses if b - 60000 < t < b - 30000]
        jitter += [abs((y - x) - 500) for x, y in zip(race, race[1:])]
    out = [
        (":00 pulse vs true minute, median |error| (%d min)" % MINUTES, "micropython", statistics.median(abs(e) for e in errors), "ms"),
        (":00 pulse vs true minute, max |error|", "micropython", max(abs(e) for e in errors), "ms"),
        ("race gap jitter (500 ms gaps), median", "micropython", statistics.median(jitter), "ms"),
        ("race gap jitter (500 ms gaps), max", "micropython", max(jitter), "ms"),
    ]
    return out
