"""Run a benchmark snippet under the MicroPython unix port (shared by sections)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def binary():
    candidate = Path(sys.executable).parent / "micropython"
    return str(candidate) if candidate.exists() else shutil.which("micropython")


def run(code, timeout=600):
    """stdout of `code` under MicroPython, or None when the port is missing."""
    exe = binary()
    if exe is None:
        return None
    env = dict(os.environ, MICROPYPATH=os.pathsep.join([str(ROOT), ".frozen"]))
    proc = subprocess.run([exe, "-c", code], capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)
    if proc.returncode != 0:
        raise RuntimeError("micropython failed: " + proc.stderr.strip()[-500:])
    return proc.stdout
