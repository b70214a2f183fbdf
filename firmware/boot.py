"""Boot: what firmware/main.py does once, before the clock runs, in the
order that keeps the heap's high-water low (ARCHITECTURE.md, Memory).

    clock, problems = prepare("config.json", "boots.txt")

Read config.json, as deploy checked it (checked.json) or with the checker,
parse its zone, start the watchdog, forget the checker and the TZ parser;
build the board and forget the builders; only then load the clock
(firmware/clock.py). main.py then forgets this module too: on a board .mpy
code lives in the heap, and all of this is needed once.

A boot that raises (a board that cannot be built, code that cannot load)
is tried again at once in safe mode; one that dies outright (the
watchdog, a crash) is counted in boots.txt, and after _SAFE_AFTER such
boots in a row the next one is safe from the start.
"""

import gc

from firmware.main import log, release

# Written by deploy beside config.json: {"crc": CRC-32 of config.json's
# bytes, "config": its clean values, "zone": its parsed TZ rule}, when the
# laptop found no problem in it. The passwords of these sections are left
# out of it: they live in config.json only.
CHECKED = "checked.json"
SECRET_SECTIONS = ("wifi",)
try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


_SAFE_AFTER = const(3)  # boots in a row that died: the next one is safe


def prepare(path, boots):
    """(the clock, built, and the config's problems); never returns a
    half-built clock: a boot that raises is tried again in safe mode."""
    failed = count_boot(boots)
    safe = failed >= _SAFE_AFTER
    if safe:
        log("boot: %d boots in a row stopped before the clock ran; safe mode" % failed)
    try:
        return build(path, safe)
    except Exception as e:
        if safe:
            raise  # nothing safer to try: the watchdog (or whoever runs us) starts again
        log("boot: failed (%s: %s); starting again in safe mode" % (type(e).__name__, e))
        gc.collect()
        return build(path, True)


def build(path, safe):
    # Each boot-only piece leaves before the next comes in: the checker
    # before the board's builders, those before the clock's own code.
    cfg, problems, hands, zone = settings(path, trust=not safe)
    dog = start_watchdog(cfg)  # the first thing that can hang or crash comes after
    if safe:
        cfg = safe_config(cfg)
        problems.append("safe mode")
    release("firmware.config")
    release("firmware.tzparse")  # Zone imports it again if the zone changes
    gc.collect()
    board = build_board(cfg)
    release("hardware.boards")
    release("hardware.boards_mcu")
    release("hardware.boards_unix")
    if dog is not None and board.watchdog is not None:
        board.watchdog.wdt = dog  # the one running: a WDT cannot be made twice
    gc.collect()
    from firmware.clock import Clock

    return Clock(cfg, hands, board, zone), problems


def settings(path, trust=True):
    """(clean config, its problems, the first-boot hands in seconds, the
    time zone): everything that needs the checker or the TZ parser.
    `trust`: take checked.json (checked() below) when it fits."""
    from firmware.tz import Zone

    problems = []
    found = checked(path) if trust else None
    if found is None:
        from firmware import config

        cfg = config.load(path, log, found=problems)
        hands = config.parse_hands(cfg["hands"])  # load() made it valid
        return cfg, problems, hands, Zone(cfg["tz"])
    cfg, hands, parsed = found
    return cfg, problems, hands, Zone(cfg["tz"], parsed)


def checked(path):
    """(clean config, hands in seconds, parsed zone) as deploy checked them
    on the laptop,
    while config.json is byte for byte the file it checked; else None, and
    the board checks the file itself (edited on the board, deployed with
    --force, no crc32 on this port). The checker's and the TZ parser's
    names would stay in RAM for good (an interned name is never freed), so a
    deployed clock loads neither."""
    try:
        import json
        from binascii import crc32

        with open(path, "rb") as f:
            data = f.read()
        cut = path.rfind("/") + 1
        with open(path[:cut] + CHECKED) as f:
            saved = json.load(f)
        if saved["crc"] != crc32(data):
            return None
        cfg = saved["config"]
        raw = json.loads(data)
        for section in SECRET_SECTIONS:
            if cfg[section] is not None:
                cfg[section]["password"] = raw[section].get("password", "")
        h, m, s = cfg["hands"].split(":")  # deploy wrote it "HH:MM:SS"
        return cfg, (int(h) * 3600 + int(m) * 60 + int(s)) % 43200, saved["zone"]
    except Exception:  # no such file, or not ours: the checker decides
        return None


def build_board(cfg):
    from hardware import boards

    return boards.build(cfg, log)


def count_boot(boots):
    """Boots in a row that stopped before the clock ran (this one not
    counted); counts this one. Never raises: no flash, no count."""
    failed = 0
    try:
        with open(boots) as f:
            failed = int(f.read(12))
    except Exception:  # none yet (or unreadable): no failed boot known
        pass
    try:
        with open(boots, "w") as f:
            f.write("%d\n" % (failed + 1))
    except Exception as e:
        log("boot: cannot count boots in %s (%s)" % (boots, e))
    return failed


def start_watchdog(cfg):
    """A board's machine.WDT, started now (before the board is built and
    the clock's code loaded), so a boot that hangs or crashes resets the
    board rather than leave it at the REPL; None on the unix board or with
    watchdog_ms 0."""
    ms = cfg.get("watchdog_ms")
    if cfg.get("board") == "unix" or not ms:
        return None
    try:
        import machine

        return machine.WDT(timeout=ms)
    except Exception as e:
        log("boot: no watchdog (%s: %s)" % (type(e).__name__, e))
        return None


def safe_config(cfg):
    """The config a safe boot runs: what finds the time and shows it (Wi-Fi,
    NTP, zone, the unix board's files) kept, everything else the default:
    the board this port suggests, its own pins, the first mode, no
    schedule, no optional services."""
    from firmware import config

    safe = config.defaults()
    for key in ("wifi", "ntp", "tz", "hands", "unix"):
        safe[key] = cfg[key]
    return safe
