"""The host board (DESIGN.md section 8), on the MicroPython unix port and
CPython: hardware/boards.py loads this module only for `"board": "unix"`.
"""

from hardware.board import Board
from hardware.boards import build_motor, make_store_dir
from hardware.button import FuncLevel
from hardware.led import Led


def unix(config, log=print):
    """The host board (DESIGN.md section 8): coil lines to a file or FIFO,
    button levels from one; no Wi-Fi (the host's network), no watchdog."""
    from hardware.hostio import CoilLog, FileLevel, LogPin, MemoryPin

    paths = config.get("unix") or {}
    board_closers = []
    coil = CoilLog(paths.get("coil_log") or "coil.log", log)
    board_closers.append(coil.close)

    pins = {"coil_a": "A", "coil_b": "B"}
    motor = build_motor(config, lambda name: LogPin(coil, name), None, pins, log)
    if paths.get("button"):
        button = FileLevel(paths["button"], log=log)
        board_closers.append(button.close)
    else:
        button = FuncLevel(int)  # int() is 0: never pressed (a lambda here would keep this module alive)
    if paths.get("led_log"):
        led_log = CoilLog(paths["led_log"], log)
        board_closers.append(led_log.close)
        led = Led(LogPin(led_log, "L"))
    else:
        led = Led(MemoryPin())
    board = Board("unix", motor, button, led, None, None, make_store_dir(paths.get("store_dir") or "data"), pins)
    board.closers = board_closers
    return board
