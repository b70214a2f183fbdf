"""The device entry point: main.py on the board is two lines that call run().

run() boots with firmware/boot.py (config, zone, watchdog, board, then the
clock's code), forgets it, and runs the clock; it never returns.
"""

import gc

# Beside config.json: how many boots in a row stopped before the clock ran
# (firmware/boot.py counts them; a clock that runs a while clears it).
BOOTS = "boots.txt"


def log(text):
    print(text)


def run(path="config.json"):
    boots = path[: path.rfind("/") + 1] + BOOTS
    from firmware.boot import prepare

    clock, problems = prepare(path, boots)
    release("firmware.boot")
    gc.collect()
    try:
        clock.start(problems, running=lambda: clear_boots(boots))
        log("clock: stopped")
    except Exception as e:  # not KeyboardInterrupt: Ctrl-C at the REPL still stops it
        log("clock: stopped (%s: %s)" % (type(e).__name__, e))
    # The clock never ends by itself: start again, as from a power cut,
    # rather than leave the hands standing at the REPL.
    clock.board.reset()


def load_module(name):
    """The module `name`, imported by a name made at run time, for the
    modules loaded only on some boards or paths. An import statement names
    its module in the code, and a board interns every name of a .mpy it
    loads, for good, even on a path that never runs: its name table grows
    in blocks (ARCHITECTURE.md, Memory)."""
    import sys

    __import__(name)
    return sys.modules[name]


def release(name):
    """Forget a module imported only for booting, so the collector can take
    its code (on a board, .mpy code lives in the heap). Nothing it made may
    keep a function or class of it alive, or its code stays."""
    import sys

    if sys.modules.pop(name, None) is None:
        return  # never loaded: delattr() would intern its name for nothing
    package, _, attr = name.rpartition(".")
    parent = sys.modules.get(package)
    if parent is not None:
        try:
            delattr(parent, attr)  # `import a.b` also made b an attribute of a
        except (AttributeError, KeyError):  # not imported (MicroPython: KeyError)
            pass


def clear_boots(boots):
    """The clock has run a while: this boot did not fail."""
    try:
        with open(boots, "w") as f:
            f.write("0\n")
    except Exception as e:
        log("boot: cannot count boots in %s (%s)" % (boots, e))


if __name__ == "__main__":
    run()
