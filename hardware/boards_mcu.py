"""The boards with a microcontroller: their pin maps and the drivers on
machine.Pin, PWM, network.WLAN and machine.WDT (hardware/boards.py says
which pins and why; it loads this module only for such a board).
"""

from hardware.board import Board
from hardware.boards import DEFAULT_WATCHDOG_MS, build_motor, config_number, make_store_dir
from hardware.button import FuncLevel, PinLevel
from hardware.led import Led

PIN_MAPS = {
    "esp32c3": {"coil_a": 5, "coil_b": 6, "button": 9, "led": 8, "button_active_low": True, "led_active_low": True},
    "esp32": {"coil_a": 25, "coil_b": 26, "button": 0, "led": 2, "button_active_low": True, "led_active_low": False},
    "rp2": {"coil_a": 14, "coil_b": 15, "button": 13, "led": "LED", "button_active_low": True, "led_active_low": False},
}
PIN_KEYS = ("coil_a", "coil_b", "button", "led", "button_active_low", "led_active_low")
PWM_HZ = 20000  # well above what the rotor or an ear follows



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


def mcu(name, config, log=print):
    """An ESP32-C3 SuperMini, an ESP32 DevKit (WROOM-32), a Raspberry Pi Pico W."""
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

    motor = build_motor(config, out, pwm, pins, log)
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
    timeout = config_number(config, "watchdog_ms", DEFAULT_WATCHDOG_MS, 0, 8000, log)
    if timeout:
        from hardware.watchdog import machine_watchdog

        watchdog = machine_watchdog(timeout)
    return Board(name, motor, button, led, wifi, watchdog, make_store_dir("/data"), pins)


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
