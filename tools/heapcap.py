"""The deployed firmware under a hard heap cap, judged: does it boot, sync
and pulse? (The smallest heap that does is `make bench`'s min_heap.)

    folder = deploy_unix(tmp / "board", ntp_address, tmp / "coil.log", frozen)
    passed, why = run_capped(binary, folder, 48000, tmp / "coil.log")

`binary` is a 32-bit unix port (tools/micropython32.py): only there does
`-X heapsize=N` mean a heap that never grows, as on a board. The folder is
deployed once with the real deploy tool; each run is a first boot (the
saved position removed) with the hands a few seconds ahead of local time,
so the clock syncs, waits a moment, and pulses in its mode, as a clock
just set does.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# How the unix port starts a deployed folder as a board starts: main.py
# from the folder, '' first on sys.path. (`micropython main.py` would put
# the folder's absolute path there instead, and every module's __file__, an
# interned name kept for good, would be that long path: a heap cost no
# board has.)
BOOT_ARGS = ("-c", "import main")
TZ = "CET-1CEST,M3.5.0,M10.5.0/3"
HANDS_AHEAD_S = 3
WINDOW_S = 15
SYNCED = "ntp: time from"  # firmware/clock.py logs this on each answer it takes
PULSES = (b"A 1\n", b"B 1\n")  # a pulse start in the coil log (hardware/hostio.py)


def hands_now(tz=TZ, ahead_s=HANDS_AHEAD_S):
    """"HH:MM:SS" of local time `ahead_s` from now, by the firmware's own zone."""
    from firmware.tz import Zone

    utc_s = int(time.time()) + ahead_s
    p = (utc_s + Zone(tz).offset(utc_s)) % 43200
    return "%02d:%02d:%02d" % (p // 3600, p // 60 % 60, p % 60)


def deploy_unix(folder, ntp_address, coil_log, frozen=False, mode="vetinari", more=None):
    """Install a unix board in `folder` with `python -m firmware.deploy`
    (`--frozen`: only main.py, config.json and checked.json; `more`: more
    config, such as "web" and "mqtt"); returns the folder."""
    folder = Path(folder)
    config = {
        "board": "unix",
        "ntp": [ntp_address],
        "tz": TZ,
        "mode": mode,
        "hands": hands_now(),
        "unix": {"coil_log": str(coil_log), "button": None},
    }
    config.update(more or {})
    path = folder.parent / (folder.name + ".config.json")
    path.write_text(json.dumps(config))
    cmd = [sys.executable, "-m", "firmware.deploy", str(folder), "--config", str(path)] + (["--frozen"] if frozen else [])
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError("deploy failed: %s" % (proc.stderr.strip() or proc.stdout.strip()))
    return folder


def _fresh_boot(folder, coil_log):
    # Deploying costs seconds of mpy-cross, a run under a second when it
    # fails: so one deploy, and before each run only the hands in the
    # installed config.json move to now (nothing else in it changes), the
    # saved position goes (else the hands of the last run are loaded) and
    # so does the old coil log (it is appended to).
    from tools.deploy import write_config

    config = json.loads((Path(folder) / "config.json").read_text(encoding="utf-8"))
    config["hands"] = hands_now(config.get("tz", TZ))
    write_config(folder, config)  # as deploy writes it, checked.json too
    shutil.rmtree(Path(folder) / ((config.get("unix") or {}).get("store_dir") or "data"), ignore_errors=True)
    # The count of boots that died (firmware/main.py's BOOTS) goes too: each
    # run is killed, most before the clock has run long enough to clear it,
    # and after three the board would boot in safe mode (no page, no MQTT).
    for path in (coil_log, Path(folder) / "boots.txt"):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def run_capped(binary, folder, heap, coil_log, window_s=WINDOW_S, said=()):
    """Run `cd folder && binary -X heapsize=heap -c "import main"` for `window_s`;
    (passed, reason). Passed: still alive at the end, synced, pulsed, each
    line of `said` on the console (e.g. "mqtt: connected"), and no
    MemoryError there (the firmware may catch one and go on).
    A death or a MemoryError fails at once, so a too-small heap costs
    well under a second."""
    _fresh_boot(folder, coil_log)
    console = Path(folder).parent / (Path(folder).name + ".console.txt")
    # Only the deployed files: a MICROPYPATH would import the source tree.
    env = {k: v for k, v in os.environ.items() if k != "MICROPYPATH"}
    with open(console, "wb") as out:
        proc = subprocess.Popen(
            [binary, "-X", "heapsize=%d" % heap, *BOOT_ARGS], cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + window_s
        while True:
            dead = proc.poll() is not None
            text = console.read_text(errors="replace")
            if "MemoryError" in text:
                return False, next(line.strip() for line in text.splitlines() if "MemoryError" in line)
            if dead:
                return False, "exited %d: %s" % (proc.returncode, _last_line(text))
            if time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        try:
            coil = Path(coil_log).read_bytes()
        except FileNotFoundError:
            coil = b""
        pulses = sum(coil.count(line) for line in PULSES)
        if "safe mode" in text:
            return False, "booted in safe mode"
        if SYNCED not in text:
            return False, "no sync in %d s" % window_s
        if not pulses:
            return False, "no pulse in %d s" % window_s
        for line in said:
            if line not in text:
                return False, "no %r in %d s" % (line, window_s)
        return True, "synced, %d pulses" % pulses
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def _last_line(text):
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
