"""Build the 32-bit MicroPython unix port, the measure of RAM on a board.

    python -m tools.micropython32            # plain: asyncio frozen, nothing else
    python -m tools.micropython32 --frozen   # also a binary with the clock frozen in

Boards are 32-bit: objects half the size of the 64-bit port's, small ints
of 31 bits (bigger ones live on the heap), ticks wrapping at 2**30 ms, and
with `-X heapsize=N` a hard heap limit that never grows. The pip wheel of
the unix port is 64-bit and hides all four, so the tests run the device
code on both.

Source, first found wins: the tarball named by $MICROPYTHON_TARBALL, a
`micropython-1.28.0-unix.tar.gz` in `shared/micropython/` beside this
checkout (where the project's CI keeps one), or a shallow clone of the
upstream tag v1.28.0. It is
built without FFI, btree and SSL (they need git submodules the clock does
not use) with gcc -m32 (Debian: `apt-get install gcc-multilib`), once, in
`.cache/micropython/`; later calls only rebuild what changed (the frozen
binary after a change to the device code, in seconds).

Prints the binary's path on the last line; exits 1 with a one-line reason
when it cannot build (then the tests that need it skip, and fail in CI).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSION = "1.28.0"
TARBALL = "micropython-%s-unix.tar.gz" % VERSION
UPSTREAM = "https://github.com/micropython/micropython"
CACHE = ROOT / ".cache" / "micropython"
SOURCE = CACHE / ("micropython-" + VERSION)
MANIFEST = ROOT / "manifest.py"
# Where each build puts its binary (BUILD and PROG of the unix port's make).
PLAIN = SOURCE / "ports/unix/build-32/micropython"
FROZEN = SOURCE / "ports/unix/build-32-clock/micropython-clock"
_FLAGS = ["MICROPY_FORCE_32BIT=1", "MICROPY_PY_FFI=0", "MICROPY_PY_BTREE=0", "MICROPY_PY_SSL=0"]


class BuildError(Exception):
    pass


def plain_binary():
    """The plain 32-bit binary if it was built, else None."""
    return str(PLAIN) if PLAIN.exists() else None


def frozen_binary():
    """The 32-bit binary with the clock frozen in, if built, else None."""
    return str(FROZEN) if FROZEN.exists() else None


def _tarballs():
    given = os.environ.get("MICROPYTHON_TARBALL")
    if given:
        yield Path(given)
    yield ROOT.parent / "shared" / "micropython" / TARBALL


def fetch_source(log):
    """Unpack (or clone) the source into SOURCE, once."""
    if (SOURCE / "py" / "mpconfig.h").exists():
        return
    CACHE.mkdir(parents=True, exist_ok=True)
    for tarball in _tarballs():
        if tarball.is_file():
            log("unpacking %s" % tarball)
            with tarfile.open(tarball) as tar:
                # The "data" filter (no links out, no devices) where this Python has it.
                safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
                tar.extractall(CACHE, **safe)
            if (SOURCE / "py" / "mpconfig.h").exists():
                return
            raise BuildError("%s holds no micropython-%s folder" % (tarball, VERSION))
    if shutil.which("git") is None:
        raise BuildError("no MicroPython source: set MICROPYTHON_TARBALL to %s, or install git to clone %s" % (TARBALL, UPSTREAM))
    log("cloning %s v%s" % (UPSTREAM, VERSION))
    proc = subprocess.run(
        ["git", "clone", "--quiet", "--depth", "1", "--branch", "v" + VERSION, UPSTREAM, str(SOURCE)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        shutil.rmtree(SOURCE, ignore_errors=True)
        raise BuildError("no MicroPython source: no %s, and git clone failed: %s" % (TARBALL, _last_line(proc.stderr)))


def _last_line(text):
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no output"


def _make(args, log):
    jobs = "-j%d" % (os.cpu_count() or 2)
    proc = subprocess.run(["make", jobs, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        # A parallel first build has been seen to trip over its own generated
        # headers once; make is incremental, so one more try costs little.
        proc = subprocess.run(["make", jobs, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        text = proc.stderr + proc.stdout
        if "bits/libc-header-start.h" in text or "cannot find -lgcc" in text or "gnu/stubs-32.h" in text:
            raise BuildError("gcc cannot build 32-bit programs here: apt-get install gcc-multilib")
        errors = [line for line in text.splitlines() if "error" in line.lower()]
        raise BuildError("make %s failed: %s" % (" ".join(args[:2]), errors[0].strip() if errors else _last_line(text)))


def _asyncio_manifest():
    path = CACHE / "asyncio-manifest.py"
    path.write_text('include("$(MPY_DIR)/extmod/asyncio")\n')
    return path


def build(frozen=False, log=lambda text: print(text, file=sys.stderr)):
    """Build (or bring up to date) the plain binary, and with `frozen` the
    one with the clock frozen in; return the path of the last one built."""
    if shutil.which("make") is None or shutil.which("gcc") is None:
        raise BuildError("make and gcc are needed: apt-get install build-essential gcc-multilib")
    fetch_source(log)
    mpy_cross = SOURCE / "mpy-cross" / "build" / "mpy-cross"
    if not mpy_cross.exists():
        log("building mpy-cross %s" % VERSION)
    _make(["-C", str(SOURCE / "mpy-cross")], log)
    unix = str(SOURCE / "ports" / "unix")
    if not PLAIN.exists():
        log("building the 32-bit unix port (about a minute)")
    _make(["-C", unix, "BUILD=build-32", "PROG=micropython", "FROZEN_MANIFEST=%s" % _asyncio_manifest(), *_FLAGS], log)
    if not frozen:
        return str(PLAIN)
    _make(["-C", unix, "BUILD=build-32-clock", "PROG=micropython-clock", "FROZEN_MANIFEST=%s" % MANIFEST, *_FLAGS], log)
    return str(FROZEN)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.micropython32", description=__doc__.split("\n\n")[0])
    parser.add_argument("--frozen", action="store_true", help="also build the binary with the clock frozen in (manifest.py)")
    args = parser.parse_args(argv)
    try:
        print(build(frozen=args.frozen))
    except BuildError as e:
        print("micropython32: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
