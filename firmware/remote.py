"""What the phone page and MQTT may ask of the running clock: its status,
and four changes. One place for both, so they answer alike.

    status(clock, now)               # a dict: GET /api/status, B/status
    change(clock, what, value, now)  # None when done, or a one-line error
                                     # what: "mode", "hands", "zone", "schedule"

`clock` is firmware/clock.py's Clock (or the simulator's stand-in with the
same attributes: ctl, timebase, zone, tz, zone_name, store, cfg, wake,
boot_ticks, uptime_s(now)). Nothing here blocks: a zone name is looked up
by bisection in the table on flash (a few reads), never by a scan.

What is changed here is saved in settings.json (firmware/store.py) and
wins over config.json at the next boot, as the button's mode does.
"""

from firmware import VERSION
from firmware.states import RACE, SET_RUN, STATE_NAMES, WAIT
from firmware.ticks import ticks_diff

ZONES = "zones.txt"  # beside config.json: "Name POSIX-rule" lines, sorted (deploy writes it)
_HALF_DAY = 43200
_LINE_MAX = 120  # bytes of a zone table line at most (the longest is ~70)
# Schedule windows at most: 16 fill about 800 bytes of settings.json, well
# inside what the store reads back (firmware/store.py, _SETTINGS_MAX).
WINDOWS_MAX = 16


def hms(seconds, twelve=False):
    """'HH:MM:SS'; on the dial (`twelve`) 12 stands for 0."""
    h = seconds // 3600
    if twelve and h == 0:
        h = 12
    return "%02d:%02d:%02d" % (h, seconds // 60 % 60, seconds % 60)


def parse_hms(text):
    """'H:MM:SS' or 'HH:MM:SS' -> seconds past 12 on the dial; ValueError naming the fault."""
    parts = text.split(":") if isinstance(text, str) else ()
    ok = len(parts) == 3
    for part in parts:
        if not 1 <= len(part) <= 2:
            ok = False
        for byte in part.encode():  # bytes: MicroPython interns each one-character str
            if not 48 <= byte <= 57:
                ok = False
    if not ok:
        raise ValueError("hands: want what they show as HH:MM:SS, e.g. 10:07:31, not %r" % (text,))
    h, m, s = int(parts[0]), int(parts[1]), int(parts[2])
    if h > 23 or m > 59 or s > 59:
        raise ValueError("hands: %r is not a time on a dial (hours 0-23, minutes and seconds 0-59)" % (text,))
    return (h * 3600 + m * 60 + s) % _HALF_DAY


def status(clock, now):
    """The page's and MQTT's view of the clock, JSON-ready."""
    ctl = clock.ctl
    tb = clock.timebase
    local = None
    lead = None
    right_in = None
    utc = tb.utc_ms(now)
    if utc is not None:
        local_s = clock.zone.local_seconds(utc // 1000)
        local = hms(local_s % 86400)
        lead = (ctl.p - local_s) % _HALF_DAY  # hands minus local on the dial
        if lead > _HALF_DAY // 2:
            lead -= _HALF_DAY
        if ctl.state == WAIT:
            right_in = lead % _HALF_DAY  # the time comes to the hands
        elif ctl.state == RACE:
            # The hands gain (1000 / gap - 1) s each second.
            right_in = -lead * ctl.gap // (1000 - ctl.gap) if lead < 0 else (_HALF_DAY - lead) * ctl.gap // (1000 - ctl.gap)
        else:
            right_in = 0
    age = tb.sample_age_ms(now)
    store = clock.store
    return {
        "mode": ctl.mode.name,
        "choice": ctl.choice,
        "modes": list(ctl.cycle),
        "state": STATE_NAMES[ctl.state],
        "hands": hms(ctl.p, True),
        "local": local,
        "lead_s": lead,
        "right_in_s": right_in,
        "tz": clock.tz,
        "zone": clock.zone_name,
        "synced_ago_s": None if age is None else age // 1000,
        "error_bound_ms": tb.error_bound_ms(now),
        "schedule": schedule_of(clock),
        "uptime_s": clock.uptime_s(now),
        "version": VERSION,
        "store": store.failing,
        "lost": ctl.lost,
    }


def schedule_of(clock):
    """The schedule in config.json's form: the page's, else the config's."""
    saved = clock.store.settings.get("schedule")
    return saved if saved is not None else clock.cfg.get("schedule") or []


def change(clock, what, value, now):
    """Apply one change; None, or a one-line error (nothing changed then)."""
    try:
        if what == "mode":
            return set_mode(clock, value, now)
        if what == "hands":
            clock.wake = clock.ctl.hands_show(parse_hms(value), now)
            return None
        if what == "zone":
            return set_zone(clock, value, now)
        if what == "schedule":
            return set_schedule(clock, value, now)
        return "unknown change %r" % (what,)
    except ValueError as e:
        return str(e)
    finally:
        clock.note()


def set_mode(clock, name, now):
    ctl = clock.ctl
    if name == ctl.choice == ctl.mode.name and ctl.state < SET_RUN:
        return None  # chosen and playing already: no flash write (a flood of it costs nothing)
    wake = ctl.pick(name, now) if isinstance(name, str) else None
    if wake is None:
        return "mode: %r is not one of %s" % (name, ", ".join(ctl.cycle))
    clock.wake = wake
    return None


def set_schedule(clock, entries, now):
    from firmware.schedule import parse_schedule

    if isinstance(entries, list) and len(entries) > WINDOWS_MAX:
        raise ValueError("schedule: at most %d windows, not %d" % (WINDOWS_MAX, len(entries)))
    windows = parse_schedule(entries)  # ValueError names the entry
    # Saved as parsed (no extra keys, times as HH:MM), so the file stays small.
    tidy = [{"from": "%02d:%02d" % (a // 60, a % 60), "to": "%02d:%02d" % (b // 60, b % 60), "mode": name} for a, b, name in windows]
    ctl = clock.ctl
    clock.store.save_settings(ctl.choice, schedule=tidy)
    clock.wake = ctl.set_schedule(windows, now)
    return None


def set_zone(clock, text, now):
    if not isinstance(text, str) or not 0 < len(text) <= 64:
        raise ValueError("zone: want an IANA name such as Europe/Berlin, or a POSIX rule such as CET-1CEST,M3.5.0,M10.5.0/3")
    name = None
    rule = lookup(text)
    if rule is not None:
        name = text
    else:
        rule = text
    from firmware.tz import Zone

    try:
        zone = Zone(rule)
    except Exception as e:  # ValueError from the parser, or anything odd in a rule
        if "/" in text:
            raise ValueError("zone: %s is not in the zone table: pick one from the list" % text)
        raise ValueError("zone: %s is neither a zone name nor a POSIX rule (%s)" % (text, e))
    from firmware.main import release

    release("firmware.tzparse")  # Zone parsed the rule with it; needed again only for the next
    clock.set_zone(zone, rule, name, now)
    clock.store.save_settings(clock.ctl.choice, tz=rule, zone=name)
    return None


def lookup(name, path=None):
    """The POSIX rule of zone `name` from the sorted table, or None: a
    bisection over byte offsets, a few short reads whatever the table's
    size (a scan of 600 lines would hold up a pulse on a board)."""
    key = name.encode()
    try:
        with open(path or ZONES, "rb") as f:
            lo = 0
            hi = f.seek(0, 2)
            # Invariant: lo starts a line, every line before it sorts
            # before key, and the line of key, if any, starts in [lo, hi].
            while lo < hi:
                mid = (lo + hi) // 2
                f.seek(mid)
                if mid:
                    f.readline(_LINE_MAX)  # to the start of the next whole line
                start = f.tell()
                line = f.readline(_LINE_MAX)
                if not line:
                    hi = mid
                    continue
                found = line.split(b" ", 1)[0]
                if found < key:
                    lo = start + len(line)
                elif found == key:
                    return line.split(b" ", 1)[1].strip().decode()
                else:
                    hi = mid
            f.seek(lo)
            line = f.readline(_LINE_MAX)
            if line.split(b" ", 1)[0] == key:
                return line.split(b" ", 1)[1].strip().decode()
    except OSError:
        return None  # no table (an old deploy): POSIX rules still work
    return None
