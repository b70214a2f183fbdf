"""config.json: read once at boot, every value checked, never fatal.

    cfg = load("config.json")            # a complete dict of clean values
    clean, problems = check(raw_dict)    # for the host deploy tool

An unknown key or a bad value costs one short log line naming the key and
is replaced by its default: a typo in the time zone must not stop the
hands. A missing or garbled file gives every default, with one line saying
why. The Wi-Fi values are never written to a log (a user may have swapped
ssid and password, so neither is echoed), and an unknown key is logged by
its name only.

The keys are DESIGN.md section 8's plus what hardware/boards.py reads
(`pulse_duty`, `watchdog_ms`, `unix.store_dir`, `unix.led_log`, the pin
map's `*_active_low`); their defaults are in `defaults()` below. `board`
has no fixed default: a board without one still ticks, with the board its
`sys.platform` suggests (and says so). Null means "the default" for any key.
Lists lose only their bad entries (one bad NTP server does not cost the
good ones); `pulse_ms` and `min_gap_ms` that contradict each other fall
back together.
"""

import json
import sys

import modes
from firmware.schedule import known, parse_schedule
from firmware.sntp import is_ipv4, split_host_port
from firmware.tz import Zone

BOARDS = ("esp32c3", "esp32", "rp2", "unix")

# Pin map entries a config may override (hardware/boards.py has the maps
# and PIN_KEYS; a new entry there is added here too). `"led": null` means
# no LED; the *_active_low entries are true/false.
PIN_NAMES = ("coil_a", "coil_b", "button", "led")
PIN_FLAGS = ("button_active_low", "led_active_low")
# Highest GPIO number per board; the unix board's pins are not real.
_GPIO_MAX = {"esp32c3": 21, "esp32": 39, "rp2": 29, "unix": 63}

# Motor limits. A Lavet pulse shorter than 5 ms does not move the rotor on
# any movement we know, and one over 200 ms only heats the coil. The gap
# must stay under 1000 ms with room to spare, or the hands could never
# catch up; 500 ms is 2 pulses/s (movements are reported reliable from 4 to
# about 38 pulses/s, so 26 ms is the fastest).
PULSE_MS = (5, 200)
MIN_GAP_MS = (26, 500)
PULSE_DUTY = (1, 100)  # percent; under 100 the coil is driven by PWM (1.5 V movements)
WATCHDOG_MS = (0, 8000)  # 0: no watchdog; 8 s is the longest every board allows
SEED_MAX = 0xFFFFFFFF

UNIX_KEYS = ("coil_log", "button", "store_dir", "led_log")
_UNIX_NULLABLE = ("button", "led_log")  # null: no button / no LED log
WIFI_KEYS = ("ssid", "password")
WEB_KEYS = ("password", "port")
MQTT_KEYS = ("host", "port", "user", "password", "topic", "discovery")
WEB_PASSWORD = (8, 64)  # characters: shorter is guessed, even at 5 tries a minute

# The key order is the order of checking: board before pins and unix,
# modes before mode, pulse_ms before min_gap_ms.
KEYS = ("board", "wifi", "ntp", "dns", "tz", "modes", "mode", "hands", "pulse_ms",
        "min_gap_ms", "pulse_duty", "watchdog_ms", "schedule", "seed", "unix", "pins", "web", "mqtt")

_SHOW_MAX = 40  # characters of a bad value shown in a log line
_WHY_MAX = 100  # characters of a reason (an error message may quote a value)


def default_board(platform=None, machine=None):
    """The board to assume when config.json names none."""
    if platform is None:
        platform = sys.platform
    if platform == "esp32":
        if machine is None:
            try:
                import os

                machine = os.uname().machine
            except Exception:
                machine = ""
        # An ESP32-C3 reports sys.platform "esp32" too; its machine says C3.
        return "esp32c3" if "C3" in machine.upper() else "esp32"
    if platform == "rp2":
        return "rp2"
    return "unix"  # linux, darwin and the rest: the host board


def defaults(platform=None):
    """Every key's default, as fresh objects (callers may change them)."""
    return {
        "board": default_board(platform),
        "wifi": None,  # no network: the hands wait for a time
        "ntp": ["pool.ntp.org"],
        "dns": None,  # the resolver the network gives (DHCP; a host's resolv.conf)
        "tz": "UTC0",
        "modes": list(modes.NAMES),
        "mode": modes.NAMES[0],
        "hands": "12:00:00",
        "pulse_ms": 31,
        "min_gap_ms": 125,
        "pulse_duty": 100,
        "watchdog_ms": 8000,
        "schedule": [],
        "seed": 1,
        # The unix board's files, relative to where main.py runs.
        "unix": {"coil_log": "coil.log", "button": "button", "store_dir": "data", "led_log": None},
        "pins": {},  # overrides of the board's pin map
        "web": None,  # no phone page
        "mqtt": None,  # no broker
    }


def _kind(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, float):
        return "a fraction"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _show(value):
    """A bad value, short and on one line (strings in quotes)."""
    if isinstance(value, str):
        if len(value) > _SHOW_MAX:
            value = value[: _SHOW_MAX - 3] + "..."
        return _ascii(repr(value))
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
        if len(text) > _SHOW_MAX:
            text = text[: _SHOW_MAX - 3] + "..."
        return text
    return _kind(value)


def _ascii(text):
    """Non-ASCII escaped as repr escapes it: the same on both runtimes (the
    unix port's repr escapes what CPython's shows), and safe on any console."""
    for char in text:
        if not " " <= char <= "~":
            break
    else:
        return text
    out = []
    for char in text:
        n = ord(char)
        if 32 <= n < 127:
            out.append(char)
        elif n < 256:
            out.append("\\x%02x" % n)
        elif n < 0x10000:
            out.append("\\u%04x" % n)
        else:
            out.append("\\U%08x" % n)
    return "".join(out)


def _one_line(text, limit=_WHY_MAX):
    # _ascii escapes line breaks too. (Not split(): CPython splits on Unicode
    # spaces, MicroPython on ASCII ones only, and the lines must agree.)
    text = _ascii(str(text))
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def _int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def parse_hands(text):
    """'HH:MM:SS' -> seconds past 12:00:00 on the dial; ValueError if bad."""
    parts = text.split(":") if isinstance(text, str) else ()
    if len(parts) != 3:
        raise ValueError("must be 'HH:MM:SS', got %s" % _show(text))
    for part in parts:
        if not _digits(part) or len(part) > 2:
            raise ValueError("must be 'HH:MM:SS', got %s" % _show(text))
    h, m, s = int(parts[0]), int(parts[1]), int(parts[2])
    if h > 23 or m > 59 or s > 59:
        raise ValueError("out of range: %s" % _show(text))
    return (h * 3600 + m * 60 + s) % 43200


def _digits(text):
    # ASCII only: CPython's isdigit() also takes '²' and Arabic digits.
    if not text:
        return False
    for char in text:
        if not "0" <= char <= "9":
            return False
    return True


def _topic(text):
    """An MQTT topic to publish under: no wildcards, no empty level."""
    if not isinstance(text, str) or not 0 < len(text) <= 64:
        return False
    for bad in ("+", "#", " ", "//"):
        if bad in text:
            return False
    return not text.startswith("/") and not text.endswith("/")


def _server(text):
    if not isinstance(text, str):
        raise ValueError("must be a 'host[:port]' string, not %s" % _kind(text))
    # A DNS name (IDNs in their xn-- form) or an IPv4 address, and a port.
    for char in text:
        if not (char in "-._:" or "0" <= char <= "9" or "A" <= char <= "Z" or "a" <= char <= "z"):
            raise ValueError("bad host name %s" % _show(text))
    host, _ = split_host_port(text)
    if len(host) > 253:
        raise ValueError("host name too long: %s" % _show(text))
    return text


def _pin(value, board):
    if _int(value):
        if 0 <= value <= _GPIO_MAX[board]:
            return value
        raise ValueError("GPIO %s does not exist on %s (0..%d)" % (_show(value), board, _GPIO_MAX[board]))
    # A pin name ("LED", "GP14", "BOOTSEL"): only the rp2 port has them.
    if board == "rp2" and isinstance(value, str) and 0 < len(value) <= 12:
        for char in value:
            if not (char == "_" or "0" <= char <= "9" or "A" <= char <= "Z" or "a" <= char <= "z"):
                break
        else:
            return value
    raise ValueError("must be a GPIO number or a pin name, not %s" % _show(value))


class _Checker:
    """Walks one raw config; fills `clean` and collects `problems`."""

    def __init__(self, raw, platform):
        self.raw = raw
        self.platform = platform
        self.clean = defaults(platform)
        self.problems = []

    def bad(self, key, why, using=None):
        if using is None:
            using = "using %s" % self.using(key)
        self.problems.append("%s: %s (%s)" % (key, _one_line(why, _WHY_MAX), using))

    def using(self, key):
        value = self.clean[key]
        if key == "wifi":
            return "no Wi-Fi"
        if key == "web":
            return "no page"
        if key == "mqtt":
            return "no MQTT"
        if key == "schedule":
            return "no schedule"
        if key == "pins":
            return "the board's pins"
        if key == "unix":
            return "the default paths"
        if isinstance(value, list):
            return "[%s]" % ", ".join(repr(v) for v in value)
        return repr(value)

    def unknown(self, where, obj, known_keys):
        for key in sorted(obj, key=str):
            if key not in known_keys:
                self.problems.append("%s%s: unknown key (ignored)" % (where, _name(key)))

    def run(self):
        self.unknown("", self.raw, KEYS)
        for key in KEYS:
            value = self.raw.get(key)
            if value is None:  # absent or null: the default, silently
                if key == "mode":
                    self.clean[key] = self.clean["modes"][0]
                continue
            try:
                getattr(self, "_" + key)(key, value)
            except Exception as e:  # a checker's own bug must not stop the clock
                self.clean[key] = defaults(self.platform)[key]
                self.bad(key, "cannot check: %s" % e)
        self._limits()
        return self.clean, self.problems

    def _board(self, key, value):
        if isinstance(value, str) and value in BOARDS:
            self.clean[key] = value
        else:
            self.bad(key, "unknown board %s, want one of %s" % (_show(value), ", ".join(BOARDS)))

    def _wifi(self, key, value):
        # Values are never shown: either field may hold the password.
        if not isinstance(value, dict):
            self.bad(key, "must be an object with ssid and password, not %s" % _kind(value))
            return
        self.unknown("wifi.", value, WIFI_KEYS)
        ssid = value.get("ssid")
        password = value.get("password", "")  # an open network has none
        if not isinstance(ssid, str) or not 0 < len(ssid.encode()) <= 32:
            self.bad("wifi.ssid", "must be a network name of 1 to 32 bytes", "using no Wi-Fi")
        elif not isinstance(password, str) or len(password) > 64:
            self.bad("wifi.password", "must be a string of at most 64 characters", "using no Wi-Fi")
        else:
            self.clean[key] = {"ssid": ssid, "password": password}

    def _web(self, key, value):
        # The password is never shown, like Wi-Fi's.
        if not isinstance(value, dict):
            self.bad(key, 'must be an object like {"password": "...", "port": 80}, not %s' % _kind(value))
            return
        self.unknown("web.", value, WEB_KEYS)
        password = value.get("password")
        port = value.get("port", 80)
        if not isinstance(password, str) or not WEB_PASSWORD[0] <= len(password) <= WEB_PASSWORD[1]:
            self.bad("web.password", "must be a string of %d to %d characters" % WEB_PASSWORD, "using no page")
        elif not _int(port) or not 0 < port < 65536:
            self.bad("web.port", "must be a port number 1-65535, not %s" % _show(port), "using no page")
        else:
            self.clean[key] = {"password": password, "port": port}

    def _mqtt(self, key, value):
        # The user name and password are never shown.
        if not isinstance(value, dict):
            self.bad(key, 'must be an object like {"host": "192.168.1.10"}, not %s' % _kind(value))
            return
        self.unknown("mqtt.", value, MQTT_KEYS)
        clean = {"host": value.get("host"), "port": value.get("port", 1883), "user": value.get("user"),
                 "password": value.get("password"), "topic": value.get("topic", "irregular-clock"),
                 "discovery": value.get("discovery", "homeassistant")}
        why = None
        if not isinstance(clean["host"], str) or not 0 < len(clean["host"]) <= 253 or " " in clean["host"]:
            why = ("mqtt.host", "must be the broker's name or IPv4 address")
        elif not _int(clean["port"]) or not 0 < clean["port"] < 65536:
            why = ("mqtt.port", "must be a port number 1-65535, not %s" % _show(clean["port"]))
        elif clean["user"] is not None and (not isinstance(clean["user"], str) or len(clean["user"]) > 64):
            why = ("mqtt.user", "must be a string of at most 64 characters")
        elif clean["password"] is not None and (not isinstance(clean["password"], str) or len(clean["password"]) > 64):
            why = ("mqtt.password", "must be a string of at most 64 characters")
        elif clean["password"] and not clean["user"]:
            why = ("mqtt.password", "needs a user: MQTT sends no password without a user name")
        elif not _topic(clean["topic"]):
            why = ("mqtt.topic", "must be a topic like irregular-clock or home/clock (no +, #, spaces or outer /)")
        elif clean["discovery"] is not False and not _topic(clean["discovery"]):
            why = ("mqtt.discovery", "must be Home Assistant's prefix (homeassistant) or false")
        if why is not None:
            self.bad(why[0], why[1], "using no MQTT")
        else:
            self.clean[key] = clean

    def _ntp(self, key, value):
        if not isinstance(value, list) or not value:
            self.bad(key, "must be a non-empty list of 'host[:port]', not %s" % _kind(value))
            return
        servers = []
        for i, entry in enumerate(value):
            try:
                server = _server(entry)
            except ValueError as e:
                self.bad("ntp[%d]" % i, e, "dropped")
                continue
            if server in servers:
                self.bad("ntp[%d]" % i, "%s is listed twice" % _show(server), "dropped")
            else:
                servers.append(server)
        if servers:
            self.clean[key] = servers
        else:
            self.bad(key, "no usable server")

    def _dns(self, key, value):
        # An address, not a name: a resolver's own name could not be looked up.
        host, port = None, None
        if isinstance(value, str):
            try:
                host, port = split_host_port(value, 53)
            except ValueError:
                pass
        if host is None or not is_ipv4(host):
            self.bad(key, "must be a resolver's IPv4 address ('192.168.1.1' or '192.168.1.1:53'), not %s" % _show(value),
                     "using the network's")
        else:
            self.clean[key] = value

    def _tz(self, key, value):
        try:
            Zone(value)
        except Exception as e:
            self.bad(key, e)
        else:
            self.clean[key] = value

    def _modes(self, key, value):
        if not isinstance(value, list) or not value:
            self.bad(key, "must be a non-empty list of mode names, not %s" % _kind(value))
            return
        names = []
        for i, name in enumerate(value):
            if not (isinstance(name, str) and known(name)):
                why = "unknown mode %s (known: %s, shuffle)" % (_show(name), ", ".join(modes.NAMES))
                self.bad("modes[%d]" % i, why, "dropped")
            elif name in names:
                self.bad("modes[%d]" % i, "%s is listed twice" % _show(name), "dropped")
            else:
                names.append(name)
        if names:
            self.clean[key] = names
        else:
            self.bad(key, "no known mode")

    def _mode(self, key, value):
        cycle = self.clean["modes"]
        self.clean[key] = cycle[0]
        if not (isinstance(value, str) and known(value)):
            self.bad(key, "unknown mode %s" % _show(value))
        elif value not in cycle:
            self.bad(key, "%s is not in modes" % _show(value))
        else:
            self.clean[key] = value

    def _hands(self, key, value):
        try:
            parse_hands(value)
        except ValueError as e:
            self.bad(key, e)
        else:
            # Shown as written, hours 0..23 kept (13:00:00 is 1 o'clock).
            h, m, s = value.split(":")
            self.clean[key] = "%02d:%02d:%02d" % (int(h), int(m), int(s))

    def _int_in(self, key, value, low, high):
        if not _int(value):
            self.bad(key, "must be a whole number, not %s" % _kind(value))
        elif not low <= value <= high:
            self.bad(key, "%s is out of range %d..%d" % (_show(value), low, high))
        else:
            self.clean[key] = value

    def _pulse_ms(self, key, value):
        self._int_in(key, value, PULSE_MS[0], PULSE_MS[1])

    def _min_gap_ms(self, key, value):
        self._int_in(key, value, MIN_GAP_MS[0], MIN_GAP_MS[1])

    def _pulse_duty(self, key, value):
        self._int_in(key, value, PULSE_DUTY[0], PULSE_DUTY[1])

    def _watchdog_ms(self, key, value):
        self._int_in(key, value, WATCHDOG_MS[0], WATCHDOG_MS[1])

    def _limits(self):
        pulse, gap = self.clean["pulse_ms"], self.clean["min_gap_ms"]
        if gap <= pulse:
            # Which one is wrong cannot be known; the pair of defaults is safe.
            base = defaults()
            self.clean["pulse_ms"] = base["pulse_ms"]
            self.clean["min_gap_ms"] = base["min_gap_ms"]
            self.bad("min_gap_ms", "%d must exceed pulse_ms %d" % (gap, pulse),
                     "using pulse_ms %d, min_gap_ms %d" % (base["pulse_ms"], base["min_gap_ms"]))

    def _schedule(self, key, value):
        try:
            parse_schedule(value)
        except Exception as e:
            why = str(e)  # parse_schedule names the entry: "schedule[2].to: ..."
            if why.startswith("schedule"):
                self.problems.append("%s (using no schedule)" % _one_line(why, _WHY_MAX))
            else:
                self.bad(key, why)
            return
        windows = []
        for i, entry in enumerate(value):
            self.unknown("schedule[%d]." % i, entry, ("from", "to", "mode"))
            windows.append({"from": entry["from"], "to": entry["to"], "mode": entry["mode"]})
        self.clean[key] = windows

    def _seed(self, key, value):
        self._int_in(key, value, 0, SEED_MAX)

    def _unix(self, key, value):
        if not isinstance(value, dict):
            self.bad(key, "must be an object with coil_log and button paths, not %s" % _kind(value))
            return
        self.unknown("unix.", value, UNIX_KEYS)
        paths = self.clean[key]
        for name in UNIX_KEYS:
            if name not in value:
                continue
            path = value[name]
            if path is None:
                if name in _UNIX_NULLABLE:
                    paths[name] = None
            elif isinstance(path, str) and path and "\x00" not in path:
                paths[name] = path
            else:
                using = "using %s" % _show(paths[name]) if paths[name] is not None else "using none"
                self.bad("unix." + name, "must be a file path, not %s" % _show(path), using)

    def _pins(self, key, value):
        if not isinstance(value, dict):
            self.bad(key, "must be an object of pin names to GPIO numbers, not %s" % _kind(value))
            return
        self.unknown("pins.", value, PIN_NAMES + PIN_FLAGS)
        board = self.clean["board"]
        pins = {}
        for name in PIN_FLAGS:
            flag = value.get(name)
            if flag is True or flag is False:
                pins[name] = flag
            elif flag is not None:
                self.bad("pins." + name, "must be true or false, not %s" % _show(flag), "using the board's")
        for name in PIN_NAMES:
            if name == "led" and name in value and value[name] is None:
                pins[name] = None  # no LED
                continue
            if value.get(name) is None:
                continue
            try:
                pins[name] = _pin(value[name], board)
            except ValueError as e:
                self.bad("pins." + name, e, "using the board's")
        names = sorted(name for name in PIN_NAMES if pins.get(name) is not None)
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                if pins[names[i]] == pins[names[j]]:
                    self.bad(key, "%s and %s are both %s" % (names[i], names[j], _show(pins[names[i]])))
                    return
        self.clean[key] = pins


def _name(key):
    """A key as shown in a log line: its name, short, never its value."""
    if not isinstance(key, str):
        return _show(key)
    if len(key) > _SHOW_MAX:
        key = key[: _SHOW_MAX - 3] + "..."
    for char in key:
        if not ("!" <= char <= "~"):
            return _ascii(repr(key))
    return key


def check(raw, platform=None):
    """(clean, problems): every key checked; each problem is one line."""
    if not isinstance(raw, dict):
        return defaults(platform), ["not a JSON object but %s (using every default)" % _kind(raw)]
    return _Checker(raw, platform).run()


def notes(raw, clean):
    """Lines worth logging that are not errors: defaults that matter."""
    out = []
    if not isinstance(raw, dict):
        raw = {}
    if raw.get("board") is None:
        out.append("board: not set; using %r (from sys.platform)" % clean["board"])
    if clean["board"] != "unix" and clean["wifi"] is None:
        out.append("wifi: not set; no network, so the hands wait for a time")
    return out


def load(path="config.json", log=print, platform=None, found=None):
    """The clean config from `path`; logs each problem; never raises.
    `found`, a list, gets each problem too (a missing file is none: the
    board then simply has no settings)."""
    if found is None:
        found = []
    raw = {}
    try:
        with open(path) as f:
            text = f.read()
    except Exception as e:
        errno = e.args[0] if isinstance(e, OSError) and e.args else None
        if errno == 2:
            log("config: no %s; using every default" % _ascii(path))
        else:
            found.append("cannot read")
            log("config: cannot read %s (%s); using every default" % (_ascii(path), _error(e)))
        text = None
    if text is not None:
        try:
            raw = json.loads(text)
        except Exception as e:
            found.append("not valid JSON")
            log("config: %s is not valid JSON (%s); using every default" % (_ascii(path), _error(e)))
            raw = {}
    try:
        clean, problems = check(raw, platform)
        for problem in problems:
            found.append(problem)
            log("config: " + problem)
        for note in notes(raw, clean):
            log("config: " + note)
    except Exception as e:  # a bug here must not stop the clock
        found.append("cannot check")
        log("config: cannot check (%s); using every default" % _error(e))
        clean = defaults(platform)
    return clean


def _error(e):
    text = _one_line(e, 60)
    return "%s: %s" % (type(e).__name__, text) if text else type(e).__name__
