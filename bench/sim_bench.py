"""The simulator window's cost: frames per second and the CPU share of one
core (process time over wall time) while it runs at 1x for about 5 s, with
the real controller behind it, under SDL's dummy video driver (the drawing
is the same; only the final copy to a screen is skipped). Target: 60 fps at
no more than a quarter of a core. Also at 3600x, where each frame runs an
minute of pulses, and at 1x in a real X window under Xvfb
when it is installed.

Runs in a child process, so SDL's drivers are set before pygame loads and
nothing of pygame is left in the bench's own process.
"""

import json
import os
import shutil
import subprocess
import sys

SECONDS = 5

_CHILD = r"""
import json, sys, time
import pygame
from sim import app
from sim.preview import Clock, Preview

warp, seconds = int(sys.argv[1]), float(sys.argv[2])
preview = Preview(Clock(), tz="CET-1CEST,M3.5.0,M10.5.0/3", mode="vetinari")
window = app.App(preview)
app.open_window()
preview.clock.set_warp(warp)
app.run(window, frames=30)  # warm up: fonts, the face, the first text renders
frames = int(seconds * app.FPS)
drawn = window.drawn
wall, cpu = time.perf_counter(), time.process_time()
app.run(window, frames=frames)
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
pygame.quit()
print(json.dumps({"fps": frames / wall, "drawn": (window.drawn - drawn) / wall, "cpu": 100 * cpu / wall}))
"""


def measure(warp, seconds=SECONDS, display=None):
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy", PYGAME_HIDE_SUPPORT_PROMPT="1")
    if display is not None:
        env["DISPLAY"] = display
        del env["SDL_VIDEODRIVER"]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(warp), str(seconds)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def under_xvfb(warp, seconds):
    """The same in a real X window (Xvfb), where every frame is also copied
    to the X server; None without Xvfb."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        return None
    server = subprocess.Popen(
        [xvfb, "-displayfd", "1", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        return measure(warp, seconds, display=":" + server.stdout.readline().decode().strip())
    finally:
        server.terminate()
        server.wait(timeout=10)
        server.stdout.close()


def rows():
    out = []
    runs = [("dummy video", 1, measure(1)), ("dummy video", 3600, measure(3600, 2))]
    x = under_xvfb(1, SECONDS)
    if x is not None:
        runs.append(("an Xvfb window", 1, x))
    for where, warp, m in runs:
        what = "simulator at %dx, %s: " % (warp, where)
        out.append((what + "frame rate (target 60)", "cpython", m["fps"], "frames per s"))
        out.append((what + "frames drawn (others unchanged)", "cpython", m["drawn"], "per s"))
        out.append((what + "CPU (target <= 25)", "cpython", m["cpu"], "% of one core"))
    return out


if __name__ == "__main__":
    for row in rows():
        print(row)
