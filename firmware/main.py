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


def log(text):
    print(text)


def settings(path):
    """(clean config, its problems, the first-boot hands in seconds, the
    time zone): everything that needs the checker or the TZ parser."""
    from firmware import config
    from firmware.tz import Zone

    problems = []
    cfg = config.load(path, log, found=problems)
    hands = config.parse_hands(cfg["hands"])  # load() made it valid
    return cfg, problems, hands, Zone(cfg["tz"])


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
        except AttributeError:
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
