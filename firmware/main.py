"""The device entry point: main.py on the board is two lines that call run().

Boot, in the order that keeps the heap's high-water low (ARCHITECTURE.md,
Memory): read and check config.json (a bad key is logged and defaulted;
the clock keeps ticking), parse its zone, and forget the checker and the
TZ parser; build the board and
forget the builders; only then load the clock (firmware/clock.py) and run
it. The checker and the builders are needed once, and on a board .mpy
code lives in the heap.
"""

import gc

# Written by deploy beside config.json: {"crc": CRC-32 of config.json's
# bytes, "config": its clean values, "zone": its parsed TZ rule}, when the
# laptop found no problem in it. The passwords of these sections are left
# out of it: they live in config.json only.
CHECKED = "checked.json"
SECRET_SECTIONS = ("wifi",)


def log(text):
    print(text)


def settings(path):
    """(clean config, its problems, the first-boot hands in seconds, the
    time zone): everything that needs the checker or the TZ parser."""
    from firmware.tz import Zone

    problems = []
    found = checked(path)
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


def release(name):
    """Forget a module imported only for booting, so the collector can take
    its code (on a board, .mpy code lives in the heap). Nothing it made may
    keep a function or class of it alive, or its code stays."""
    import sys

    sys.modules.pop(name, None)
    package, _, attr = name.rpartition(".")
    parent = sys.modules.get(package)
    if parent is not None:
        try:
            delattr(parent, attr)  # `import a.b` also made b an attribute of a
        except (AttributeError, KeyError):  # not imported (MicroPython: KeyError)
            pass


def build_board(cfg):
    from hardware import boards

    return boards.build(cfg, log)


def run(path="config.json"):
    # Each boot-only piece leaves before the next comes in: the checker
    # before the board's builders, those before the clock's own code.
    cfg, problems, hands, zone = settings(path)
    release("firmware.config")
    release("firmware.tzparse")  # Zone imports it again if the zone changes
    gc.collect()
    board = build_board(cfg)
    release("hardware.boards")
    gc.collect()
    from firmware.clock import Clock

    Clock(cfg, hands, board, zone).start(problems)


if __name__ == "__main__":
    run()
