"""Which mode, when: the optional schedule and the `shuffle` choice.

config.json may say, in local time:

    "schedule": [{"from": "23:00", "to": "07:00", "mode": "normal"},
                 {"from": "12:00", "to": "13:00", "mode": "shuffle"}]

Inside a window its mode plays; outside, the mode the button chose. A press
inside a window overrides it until the window ends. `shuffle` (in a window,
or in the button's cycle) plays a random mode each local hour: the same mode
for the same hour after a reboot, because the draw is seeded by the hour.
"""

import modes

SHUFFLE = "shuffle"
MINUTES_PER_DAY = 1440


def _digits(text):
    if not 1 <= len(text) <= 2:
        return False
    for byte in text.encode():  # bytes: MicroPython would intern each one-character str for good
        if not 48 <= byte <= 57:
            return False
    return True


def parse_hhmm(text, field):
    parts = text.split(":") if isinstance(text, str) else ()
    # ASCII digits only: CPython's isdigit() also takes other scripts'
    # digits, MicroPython's does not, and both runtimes must agree.
    if len(parts) != 2 or not _digits(parts[0]) or not _digits(parts[1]):
        raise ValueError("%s: must be 'HH:MM', got %r" % (field, text))
    h, m = int(parts[0]), int(parts[1])
    if h > 23 or m > 59:
        raise ValueError("%s: out of range: %r" % (field, text))
    return h * 60 + m


def known(name):
    return name == SHUFFLE or name in modes.NAMES


def parse_schedule(entries):
    """[(from minute, to minute, mode)] from config; ValueError names the entry."""
    if not isinstance(entries, list):
        raise ValueError("schedule: must be a list")
    out = []
    for i, entry in enumerate(entries):
        where = "schedule[%d]" % i
        if not isinstance(entry, dict):
            raise ValueError(where + ": must be an object with from, to, mode")
        start = parse_hhmm(entry.get("from"), where + ".from")
        end = parse_hhmm(entry.get("to"), where + ".to")
        name = entry.get("mode")
        if not known(name):
            raise ValueError("%s.mode: unknown mode %r" % (where, name))
        if start == end:
            raise ValueError(where + ": from and to are equal")
        out.append((start, end, name))
    return out


def scheduled(schedule, minute_of_day):
    """The mode a window prescribes at that local minute, or None."""
    for start, end, name in schedule:
        if start < end:
            if start <= minute_of_day < end:
                return name
        elif minute_of_day >= start or minute_of_day < end:  # across midnight
            return name
    return None


def shuffled(seed, local_hour):
    """The mode `shuffle` plays in that local hour (hours since the epoch)."""
    rng = modes.Rng(seed ^ (local_hour * 2654435761))
    return modes.NAMES[rng.below(len(modes.NAMES))]
