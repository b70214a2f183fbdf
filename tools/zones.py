"""Time zones by name on the laptop, POSIX rules on the board.

    resolve("Europe/Berlin")                 -> "CET-1CEST,M3.5.0,M10.5.0/3"
    resolve("CET-1CEST,M3.5.0,M10.5.0/3")    -> the same string, checked
    resolve("Europe/Berln")                  -> ValueError naming Europe/Berlin

The board never holds the time zone database: it gets the POSIX rule that
the zone's TZif file in the `tzdata` package ends with (its footer, RFC
8536 section 3.3), which is the rule zoneinfo itself follows after the
zone's last explicit transition. IANA names win over POSIX strings when a
text is both (`EST5EDT` is a zone too, and its footer is the precise rule).
"""

import difflib
import importlib.resources
import struct

_ZONES = importlib.resources.files("tzdata.zoneinfo")
_EXAMPLE = "CET-1CEST,M3.5.0,M10.5.0/3"


def names():
    """Every IANA zone name tzdata knows, sorted."""
    return sorted(importlib.resources.files("tzdata").joinpath("zones").read_text().split())


def read_tzif(name):
    """(explicit transition times, POSIX footer) of a zone's TZif file."""
    data = _ZONES.joinpath(*name.split("/")).read_bytes()
    if data[:4] != b"TZif":
        raise ValueError("%s: not a TZif file" % name)
    if data[4:5] == b"\0":
        return (), ""  # version 1: 32-bit body only, no footer
    isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt = struct.unpack(">6l", data[20:44])
    # Skip the version-1 body (4-byte times) to the version-2+ header.
    v2 = 44 + timecnt * 5 + typecnt * 6 + charcnt + leapcnt * 8 + isstdcnt + isutcnt
    isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt = struct.unpack(">6l", data[v2 + 20 : v2 + 44])
    body = v2 + 44
    transitions = struct.unpack(">%dq" % timecnt, data[body : body + 8 * timecnt])
    footer_at = body + timecnt * 9 + typecnt * 6 + charcnt + leapcnt * 12 + isstdcnt + isutcnt
    footer = data[footer_at:].decode("ascii")
    if not (footer.startswith("\n") and footer.endswith("\n")):
        raise ValueError("%s: TZif footer is not one line" % name)
    return transitions, footer[1:-1]


def closest(text, count=3):
    """The zone names nearest to `text` (case and a missing region forgiven)."""
    known = names()
    by_lower = {}
    for name in known:
        by_lower.setdefault(name.lower(), name)
        by_lower.setdefault(name.rsplit("/", 1)[-1].lower(), name)  # "berlin" -> Europe/Berlin
    wanted = text.strip().lower().replace(" ", "_")
    if wanted in by_lower:
        return [by_lower[wanted]]
    found = difflib.get_close_matches(wanted, list(by_lower), n=count, cutoff=0.6)
    out = []
    for key in found:
        if by_lower[key] not in out:
            out.append(by_lower[key])
    return out


def future_gaps(name, rule, years=5, now_s=None, step_s=3600):
    """[(from_s, to_s)] within the next `years` where the zone's own data
    (zoneinfo, which reads the explicit transitions tzdata lists ahead)
    and the POSIX rule give different offsets: announced changes that no
    POSIX rule can hold (Havana's, Gaza's)."""
    import datetime
    import time
    import zoneinfo

    from firmware.tz import Zone

    with _ZONES.joinpath(*name.split("/")).open("rb") as f:
        info = zoneinfo.ZoneInfo.from_file(f, key=name)
    zone = Zone(rule)
    start = int(time.time() if now_s is None else now_s) // 3600 * 3600
    gaps = []
    opened = None
    for t in range(start, start + years * 366 * 86400, step_s):
        differs = zone.offset(t) != datetime.datetime.fromtimestamp(t, info).utcoffset().total_seconds()
        if differs and opened is None:
            opened = t
        elif not differs and opened is not None:
            gaps.append((opened, t))
            opened = None
    if opened is not None:
        gaps.append((opened, start + years * 366 * 86400))
    return gaps


def resolve(text):
    """The POSIX TZ string for an IANA name or a POSIX string; ValueError
    with one line saying what is wrong and what to write instead."""
    from firmware.tz import Zone

    if not isinstance(text, str):
        raise ValueError("must be a zone name like Europe/Berlin or a POSIX rule like %s" % _EXAMPLE)
    if text in names():
        _, footer = read_tzif(text)
        if not footer:
            raise ValueError("%s has no POSIX rule in tzdata; write one, like %s" % (text, _EXAMPLE))
        return footer
    try:
        Zone(text)
        return text
    except ValueError as e:
        why = str(e)
    near = closest(text)
    hint = "did you mean %s?" % " or ".join(near) if near else "python -m tools.zones lists them"
    if "/" in text or (text[:1].isupper() and text[1:2].islower()):
        # It looks like a name ("Europe/Berln", "Berlin"), not a rule.
        raise ValueError("unknown time zone %r: %s" % (text, hint))
    raise ValueError("%s; or give a zone name (%s)" % (why, hint))


def table():
    """The board's zone table (firmware/remote.py reads it, deploy installs
    it as zones.txt): "Name POSIX-rule" lines sorted by name, for every zone
    with a rule the board can parse; the board bisects it, a line at a time."""
    from firmware.tz import Zone

    lines = []
    for name in names():
        footer = read_tzif(name)[1]
        if not footer or " " in footer:
            continue
        try:
            Zone(footer)
        except ValueError:
            continue
        lines.append("%s %s\n" % (name, footer))
    lines.sort(key=lambda line: line.split(" ", 1)[0].encode())  # byte order, as the board compares
    return "".join(lines)


def main(argv=None):
    """`python -m tools.zones [TEXT]`: every zone and its rule, or one."""
    import sys

    argv = sys.argv[1:] if argv is None else argv
    if argv:
        try:
            print(resolve(argv[0]))
        except ValueError as e:
            print("zones: %s" % e, file=sys.stderr)
            return 2
        return 0
    for name in names():
        print("%-32s %s" % (name, read_tzif(name)[1]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
