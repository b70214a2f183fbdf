"""config.json as deploy reads it: the board's own check, plus what only
the laptop can say.

    raw, problems, said = review(raw)

The board's check (firmware/config.py) logs a bad value and uses its
default, so the clock keeps ticking: right on the wall, too late at the
desk. Here each problem also says how to fix it (the closest known name,
the example's placeholder, the line to run for a zone), and the things a
board cannot know are problems too: the example's placeholders left in, a
board or Wi-Fi not set. `raw` comes back as it will be installed: a zone
name becomes its POSIX rule, a pin written "4" or "GPIO4" becomes 4.
`said` holds lines worth printing that are no problem.
"""

import difflib
import re

# Names people write for a key, and the key they mean.
_SYNONYMS = {
    "timezone": "tz", "time_zone": "tz", "zone": "tz", "ssid": "wifi", "password": "wifi",
    "server": "ntp", "servers": "ntp", "ntp_server": "ntp", "ntp_servers": "ntp", "pulse": "pulse_ms",
    "gap_ms": "min_gap_ms", "cycle": "modes", "pin": "pins",
}
# The example config's placeholders (config.example.json).
_PLACEHOLDERS = ("your-network", "your-password", "your-page-password")
_GPIO = re.compile(r"^(?:GPIO|GP|IO)?(\d{1,2})$", re.IGNORECASE)
_DIGITS = re.compile(r"^(\d{1,2})$")


def closest(word, known):
    """The known name nearest to `word`, or None."""
    if not isinstance(word, str):
        return None
    plain = word.lower().replace("-", "").replace("_", "").replace(" ", "")
    for name in known:
        if name.lower().replace("-", "").replace("_", "") == plain:
            return name
    found = difflib.get_close_matches(word.lower(), list(known), n=1, cutoff=0.6)
    return found[0] if found else None


def _pins(raw, said):
    """Pins written as the strings people use ("4", "GPIO4") made ints."""
    pins = raw.get("pins")
    if not isinstance(pins, dict):
        return raw
    # The rp2 port has real pin names ("LED", "GP14"): there only digits are a number.
    pattern = _DIGITS if raw.get("board") == "rp2" else _GPIO
    fixed = {}
    for name, value in pins.items():
        match = pattern.match(value.strip()) if isinstance(value, str) else None
        if match:
            fixed[name] = int(match.group(1))
            said.append("pins.%s: %r is GPIO %d" % (name, value, fixed[name]))
    return dict(raw, pins=dict(pins, **fixed)) if fixed else raw


def _hint(problem, raw):
    """How to fix one problem line of the board's check, or ""."""
    import modes
    from firmware.config import BOARDS, KEYS

    from firmware.config import MQTT_KEYS, PIN_FLAGS, PIN_NAMES, UNIX_KEYS, WEB_KEYS, WIFI_KEYS

    key = problem.split(": ", 1)[0]
    if problem.startswith(key + ": unknown key"):
        parent, _, top = key.rpartition(".")
        known = {"": KEYS, "wifi": WIFI_KEYS, "web": WEB_KEYS, "mqtt": MQTT_KEYS, "pins": PIN_NAMES + PIN_FLAGS, "unix": UNIX_KEYS}.get(
            parent, ("from", "to", "mode") if parent.startswith("schedule[") else ())
        meant = (_SYNONYMS.get(top.lower()) if not parent else None) or closest(top, known)
        return "did you mean %s?" % meant if meant else "known keys here: %s" % ", ".join(known)
    if key == "board":
        meant = closest(raw.get("board"), BOARDS)
        return "did you mean %s?" % meant if meant else ""
    if "unknown mode" in problem:
        word = re.search(r"unknown mode '([^']*)'", problem)
        meant = closest(word.group(1), modes.NAMES + ("shuffle",)) if word else None
        return "did you mean %s?" % meant if meant else ""
    if key.startswith("pins.") and "not" in problem:
        return "write the GPIO number (hardware/README.md, Pin maps)"
    return ""


def _day(utc_s):
    import time

    return time.strftime("%Y-%m-%d", time.gmtime(utc_s))


def review(raw):
    """(raw as installed, problems, said); each problem one line with its fix."""
    from firmware.config import check
    from tools import zones

    said = []
    problems = []
    tz = raw.get("tz")
    named_zone = False
    if isinstance(tz, str):
        try:
            rule = zones.resolve(tz)
        except ValueError as e:
            problems.append("tz: %s (using 'UTC0')" % e)
            named_zone = True
        else:
            if rule != tz:
                said.append("tz: %s is %s on the board" % (tz, rule))
                raw = dict(raw, tz=rule)
                for low, high in zones.future_gaps(tz, rule)[:1]:
                    problems.append(
                        "tz: %s has announced changes no POSIX rule can hold: the clock would be an hour off from %s to %s; "
                        "deploy again after that, or --force" % (tz, _day(low), _day(high)))
    raw = _pins(raw, said)
    clean, found = check(raw)
    for problem in found:
        if problem.startswith("tz: ") and named_zone:
            continue  # ours names the zone meant; the board's only says "bad TZ"
        hint = _hint(problem, raw)
        problems.append("%s; %s" % (problem, hint) if hint else problem)
    problems += _laptop_only(raw, clean)
    return raw, problems, said


def _laptop_only(raw, clean):
    """What a board cannot tell is wrong."""
    out = []
    wifi = raw.get("wifi")
    if isinstance(wifi, dict):
        if wifi.get("ssid") in _PLACEHOLDERS or wifi.get("password") in _PLACEHOLDERS:
            out.append("wifi: still the example's placeholder; write your network's name and password")
        elif isinstance(wifi.get("ssid"), str) and "password" not in wifi:
            out.append('wifi.password: missing; write your network\'s password ("" for an open network)')
    web = raw.get("web")
    if isinstance(web, dict) and web.get("password") in _PLACEHOLDERS:
        out.append("web.password: still the example's placeholder; pick the page's own password (8 to 64 characters), or remove \"web\" for no page")
    if raw.get("board") is None:
        out.append("board: not set; write esp32c3, esp32, rp2 or unix (the pins follow it)")
    elif clean["board"] != "unix" and clean["wifi"] is None:
        out.append('wifi: not set; the board would have no network, so no time: add "wifi": {"ssid": "...", "password": "..."}')
    return out
