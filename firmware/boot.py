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
# Its layout: deploy writes it, this reads it; a checked.json of another
# (an older deploy under newer code, a new image) is not trusted.
CHECKED_FORMAT = 1
try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


_SAFE_AFTER = const(3)  # boots in a row that died: the next one is safe


def prepare(path, boots):
    """(the clock, built, and the config's problems); never returns a
    half-built clock: a boot that raises is tried again in safe mode."""
    from hardware.watchdog import power_on, start_early

    # Before anything that can hang or crash: the watchdog, at the timeout
    # deploy checked (the longest when that cannot be read).
    dog = start_early(early_watchdog_ms(path), log)
    failed = count_boot(boots, power_on())
    safe = failed >= _SAFE_AFTER
    if safe:
        log("boot: %d boots in a row stopped before the clock ran; safe mode" % failed)
    try:
        return build(path, safe, dog)
    except Exception as e:
        if safe:
            raise  # nothing safer to try: the watchdog (or whoever runs us) starts again
        log("boot: failed (%s: %s); starting again in safe mode" % (type(e).__name__, e))
        gc.collect()
        return build(path, True, dog)


def build(path, safe, dog):
    # Each boot-only piece leaves before the next comes in: the checker
    # before the board's builders, those before the clock's own code.
    cfg, problems, hands, zone = settings(path, trust=not safe)
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
    if dog is not None:
        # The one running: a WDT cannot be made twice, and once started it
        # must be fed even if the config said none.
        if board.watchdog is None:
            from hardware.watchdog import Watchdog

            board.watchdog = Watchdog(None)
        board.watchdog.wdt = dog
    if board.watchdog is None:
        release("hardware.watchdog")  # imported for start_early only
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
        if saved["format"] != CHECKED_FORMAT or saved["crc"] != crc32(data):
            return None
        cfg = saved["config"]
        raw = json.loads(data)
        for section in saved["secrets"]:  # sections whose password deploy left out
            cfg[section]["password"] = raw[section].get("password", "")
        h, m, s = cfg["hands"].split(":")  # deploy wrote it "HH:MM:SS"
        return cfg, (int(h) * 3600 + int(m) * 60 + int(s)) % 43200, saved["zone"]
    except Exception:  # no such file, or not ours: the checker decides
        return None


def build_board(cfg):
    from hardware import boards

    return boards.build(cfg, log)


def count_boot(boots, fresh=False):
    """Boots in a row that stopped before the clock ran (this one not
    counted); counts this one. `fresh`: the board was just powered on, so
    no earlier boot is known to have failed (someone plugging it in twice
    is no crash). Never raises: no flash, no count."""
    failed = 0
    if not fresh:
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


def early_watchdog_ms(path):
    """0 when deploy checked a config with no watchdog; else 8000, the
    longest every board allows: a boot takes seconds, and a shorter
    timeout from the config could reset every boot before its first feed
    (safe mode included). Once started, that one runs the clock too."""
    try:
        import json

        with open(path[: path.rfind("/") + 1] + CHECKED) as f:
            if json.load(f)["config"]["watchdog_ms"] == 0:
                return 0
    except Exception:
        pass
    return 8000


def safe_config(cfg):
    """The config a safe boot runs: what finds the time and shows it (Wi-Fi,
    NTP, resolver, zone, the unix board's files) and, on the board the
    config names, what drives its coil (pins, pulse_ms, pulse_duty,
    min_gap_ms: wrong ones would step the hands wrongly)
    kept; everything else the default: the first mode, no schedule, no
    optional services, and the board this port suggests if the config's
    is not it."""
    from firmware import config

    safe = config.defaults()
    keep = ["wifi", "ntp", "dns", "tz", "hands", "unix"]
    if cfg["board"] == safe["board"]:
        keep += ["pins", "pulse_ms", "pulse_duty", "min_gap_ms"]
    for key in keep:
        safe[key] = cfg[key]
    return safe
