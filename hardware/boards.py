"""Boards: pin maps and the drivers built on them.

    board = build(config)           # config["board"] picks the function
    board.motor                     # hardware.motor.Motor
    board.button                    # a level reader: board.button.level()
    board.led                       # hardware.led.Led (always; dark if no LED)
    board.wifi                      # hardware.wifi.Wifi, or None (unix)
    board.watchdog                  # hardware.watchdog.Watchdog, or None (unix)
    board.store_dir                 # where firmware.store.FileStore keeps its files

Pin maps (GPIO numbers; "LED" is the Pico W's LED on the Wi-Fi chip):

| board | coil A | coil B | button | LED |
| --- | --- | --- | --- | --- |
| esp32c3 (SuperMini) | 5 | 6 | 9, the BOOT button, active low | 8, active low |
| esp32 (DevKit v1, WROOM-32) | 25 | 26 | 0, the BOOT button, active low | 2, active high |
| rp2 (Pico W) | 14 (pin 19) | 15 (pin 20) | 13 (pin 17) to GND (pin 18), active low | "LED" |

Why these: on the SuperMini the BOOT button and the blue LED are on the
board, and GPIO 5/6 are free and side by side. On the DevKit, GPIO 25/26
are plain outputs (no strapping role, not the flash's, not input-only) next
to each other on the header; GPIO 0 and 2 are the board's BOOT button and
LED, usable once booted. On the Pico W, GP13 and GND sit side by side (pins
17 and 18), so a button needs no extra wire, and GP14/GP15 follow them;
`"button": "BOOTSEL"` uses the BOOTSEL button instead (rp2.bootsel_button).

Config (all optional but `board`; read once, at boot):

    "board": "esp32c3",
    "pulse_ms": 31,
    "pulse_duty": 100,          # percent; under 100 drives the coil by PWM
    "watchdog_ms": 8000,        # 0: no watchdog
    "pins": {"coil_a": 5, "coil_b": 6, "button": 9, "led": 8,
             "button_active_low": true, "led_active_low": true},
    "unix": {"coil_log": "coil.fifo", "button": "button.fifo",
             "store_dir": "data", "led_log": null}

`pins` overrides single entries of the board's map; `"led": null` means no
LED. An unknown key or a bad value is logged with its name and the board's
default kept, so a typo never stops the clock.

`machine` and `network` are imported only inside the functions that need
them, so this module imports on the unix port and on CPython.

Boot only: what it builds keeps no reference to this module (no function
or class of it lives on in the board: the Board class is hardware/board.py),
so firmware/main.py drops it from memory once the board is built.
"""

import os

from hardware.board import Board
from hardware.button import FuncLevel, PinLevel
from hardware.led import Led
from hardware.motor import Motor
from hardware.pins import FULL_DUTY

PIN_MAPS = {
    "esp32c3": {"coil_a": 5, "coil_b": 6, "button": 9, "led": 8, "button_active_low": True, "led_active_low": True},
    "esp32": {"coil_a": 25, "coil_b": 26, "button": 0, "led": 2, "button_active_low": True, "led_active_low": False},
    "rp2": {"coil_a": 14, "coil_b": 15, "button": 13, "led": "LED", "button_active_low": True, "led_active_low": False},
}
PIN_KEYS = ("coil_a", "coil_b", "button", "led", "button_active_low", "led_active_low")
PWM_HZ = 20000  # well above what the rotor or an ear follows
DEFAULT_PULSE_MS = 31
DEFAULT_WATCHDOG_MS = 8000


def _is_pin(board, v):
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return 0 <= v < 64
    # Pin names ("GP14", "LED", "BOOTSEL") exist on the rp2 port only.
    return board == "rp2" and isinstance(v, str) and len(v) > 0


def pin_map(board, overrides=None, log=print):
    """The board's pin map with the config's overrides; bad ones logged."""
    pins = dict(PIN_MAPS[board])
    if overrides is None:
        return pins
    if not isinstance(overrides, dict):
        log("config pins: not an object; the %s defaults are used" % board)
        return pins
    for key in overrides:
        value = overrides[key]
        if key not in PIN_KEYS:
            log("config pins.%s: unknown key, ignored" % key)
        elif key.endswith("_active_low"):
            if isinstance(value, bool):
                pins[key] = value
            else:
                log("config pins.%s: %r is not true/false; %r kept" % (key, value, pins[key]))
        elif _is_pin(board, value) or (key == "led" and value is None):
            pins[key] = value
        else:
            log("config pins.%s: %r is not a pin; %r kept" % (key, value, pins[key]))
    used = [pins["coil_a"], pins["coil_b"], pins["button"]]
    if pins["led"] is not None:
        used.append(pins["led"])
    for i in range(len(used)):
        if used[i] in used[i + 1 :]:
            log("config pins: %r is used twice; the %s defaults are used" % (used[i], board))
            return dict(PIN_MAPS[board])
    return pins


def _number(config, key, default, lowest, highest, log):
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lowest <= value <= highest:
        log("config %s: %r is not an integer in %d..%d; %d used" % (key, value, lowest, highest, default))
        return default
    return value


def _motor(config, make_pin, make_pwm, pins, log):
    pulse_ms = _number(config, "pulse_ms", DEFAULT_PULSE_MS, 1, 1000, log)
    duty = _number(config, "pulse_duty", 100, 1, 100, log)
    if duty < 100 and make_pwm is not None:
        a = make_pwm(pins["coil_a"])
        b = make_pwm(pins["coil_b"])
        return Motor(a, b, pulse_ms=pulse_ms, duty_u16=FULL_DUTY * duty // 100)
    return Motor(make_pin(pins["coil_a"]), make_pin(pins["coil_b"]), pulse_ms=pulse_ms)


def _store_dir(path):
    try:
        os.mkdir(path)
    except OSError:
        pass  # it exists (or cannot be made, which FileStore will report)
    return path


def _mcu(name, config, log):
    import machine

    Pin = machine.Pin
    pins = pin_map(name, config.get("pins"), log)

    def out(n):
        return Pin(n, Pin.OUT, value=0)

    def pwm(n):
        p = machine.PWM(Pin(n, Pin.OUT, value=0))
        p.freq(PWM_HZ)
        p.duty_u16(0)
        return p

    motor = _motor(config, out, pwm, pins, log)
    if pins["button"] == "BOOTSEL" and name == "rp2":
        import rp2

        button = FuncLevel(rp2.bootsel_button)
    else:
        pull = Pin.PULL_UP if pins["button_active_low"] else Pin.PULL_DOWN
        button = PinLevel(Pin(pins["button"], Pin.IN, pull), active_low=pins["button_active_low"])
    if pins["led"] is not None:
        led = Led(Pin(pins["led"], Pin.OUT), active_low=pins["led_active_low"])
    else:
        from hardware.hostio import MemoryPin

        led = Led(MemoryPin())  # no LED: the patterns play to nobody
    wifi = _wifi(config, log)
    watchdog = None
    timeout = _number(config, "watchdog_ms", DEFAULT_WATCHDOG_MS, 0, 8000, log)
    if timeout:
        from hardware.watchdog import machine_watchdog

        watchdog = machine_watchdog(timeout)
    return Board(name, motor, button, led, wifi, watchdog, _store_dir("/data"), pins)


def _wifi(config, log):
    import network

    from hardware.wifi import Wifi

    wifi = config.get("wifi") or {}
    ssid = wifi.get("ssid") if isinstance(wifi, dict) else None
    if not ssid:
        log("config wifi: no ssid; the clock waits for its time (set the hands, or add Wi-Fi)")
    wlan = network.WLAN(network.STA_IF)
    wlan.active(True)
    try:
        # Power saving delays replies by up to a beacon interval, and
        # unevenly: that would be NTP error. A wall clock is on a supply.
        wlan.config(pm=wlan.PM_NONE)
    except (AttributeError, ValueError, OSError, TypeError):
        pass
    failures = []
    for stat in ("STAT_WRONG_PASSWORD", "STAT_NO_AP_FOUND", "STAT_CONNECT_FAIL", "STAT_HANDSHAKE_TIMEOUT"):
        if hasattr(network, stat):
            failures.append(getattr(network, stat))
    return Wifi(wlan, ssid, wifi.get("password", "") if ssid else "", failures, log)


def esp32c3(config, log=print):
    """ESP32-C3 SuperMini."""
    return _mcu("esp32c3", config, log)


def esp32(config, log=print):
    """ESP32 DevKit (WROOM-32)."""
    return _mcu("esp32", config, log)


def rp2(config, log=print):
    """Raspberry Pi Pico W."""
    return _mcu("rp2", config, log)


def unix(config, log=print):
    """The host board (DESIGN.md section 8): coil lines to a file or FIFO,
    button levels from one; no Wi-Fi (the host's network), no watchdog."""
    from hardware.hostio import CoilLog, FileLevel, LogPin, MemoryPin

    paths = config.get("unix") or {}
    board_closers = []
    coil = CoilLog(paths.get("coil_log") or "coil.log", log)
    board_closers.append(coil.close)

    pins = {"coil_a": "A", "coil_b": "B"}
    motor = _motor(config, lambda name: LogPin(coil, name), None, pins, log)
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
    board = Board("unix", motor, button, led, None, None, _store_dir(paths.get("store_dir") or "data"), pins)
    board.closers = board_closers
    return board


BOARDS = {"esp32c3": esp32c3, "esp32": esp32, "rp2": rp2, "unix": unix}


def build(config, log=print):
    """The board that `config["board"]` names."""
    name = config.get("board", "esp32c3")
    if name not in BOARDS:
        raise ValueError("config board: %r is not one of %s" % (name, ", ".join(sorted(BOARDS))))
    return BOARDS[name](config, log)
