"""Headless scenario runner: `python -m sim scenario FILE.json [--out REPORT.json]`.

Runs the real controller in the virtual world (sim/world.py) as fast as the
CPU allows, then reports every pulse in true UTC, the mode changes, and a
summary of the minute-accuracy checks. A bad scenario file gets one line on
stderr naming the field, and exit status 2. No pygame needed.
"""

import bisect
import datetime
import difflib
import json
import sys

import modes
from firmware.tz import Zone
from firmware.wall import target_at
from sim.world import World, parse_hms

EVENT_TYPES = ("press", "long_press", "double_press", "power_cut", "ntp_outage", "ntp_step")
BUDGET_MS = 20  # the :00 pulse's timing budget in virtual time
HOLDOVER_BUDGET_MS = 100  # ... at the end of a long NTP outage
HOLDOVER_AFTER_MS = 3600 * 1000  # an outage this long counts as holdover
MAX_DURATION_S = 400 * 86400
KNOWN = ("start", "duration_s", "tz", "mode", "seed", "hands", "oscillator_ppm", "min_gap_ms", "pulse_ms", "events")


class ScenarioError(ValueError):
    """A bad scenario file; the message names the field."""


def _number(value, field, low, high, integer=False):
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise ScenarioError("%s: must be %s, got %r" % (field, "an integer" if integer else "a number", value))
    if not low <= value <= high:
        raise ScenarioError("%s: must be in [%s, %s], got %r" % (field, low, high, value))
    return value


def parse_start(value):
    if not isinstance(value, str):
        raise ScenarioError("start: must be an ISO 8601 UTC time string, got %r" % (value,))
    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ScenarioError("start: not an ISO 8601 time: %r" % (value,)) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    return (moment - epoch) // datetime.timedelta(milliseconds=1)


def load(text):
    """Parse and check a scenario; return a dict of clean values."""
    try:
        raw = json.loads(text)
    except ValueError as e:
        raise ScenarioError("file: not valid JSON (%s)" % e) from None
    if not isinstance(raw, dict):
        raise ScenarioError("file: must hold one JSON object")
    for key in sorted(k for k in raw if k not in KNOWN):
        # A misspelt field would silently run with a default: refuse it.
        near = difflib.get_close_matches(str(key), KNOWN, n=1, cutoff=0.5)
        raise ScenarioError("%s: unknown field%s (known: %s)" % (key, "; did you mean %s?" % near[0] if near else "", ", ".join(KNOWN)))
    if "start" not in raw:
        raise ScenarioError("start: missing")
    s = {"start_ms": parse_start(raw["start"])}
    s["duration_s"] = _number(raw.get("duration_s", 3600), "duration_s", 0, MAX_DURATION_S)
    from tools.zones import resolve

    try:
        s["tz"] = resolve(raw.get("tz", "UTC0"))  # a zone name or a POSIX rule
    except ValueError as e:
        raise ScenarioError("tz: %s" % e) from None
    mode = raw.get("mode", modes.NAMES[0])
    if mode not in modes.NAMES:
        raise ScenarioError("mode: unknown mode %r (known: %s)" % (mode, ", ".join(modes.NAMES)))
    s["mode"] = mode
    s["seed"] = _number(raw.get("seed", 1), "seed", -(2**63), 2**63, integer=True)
    hands = raw.get("hands")
    if hands is not None:
        try:
            parse_hms(hands)
        except ValueError as e:
            raise ScenarioError("hands: %s" % e) from None
    s["hands"] = hands
    s["oscillator_ppm"] = _number(raw.get("oscillator_ppm", 0), "oscillator_ppm", -200, 200)
    s["min_gap_ms"] = _number(raw.get("min_gap_ms", 125), "min_gap_ms", 1, 1000, integer=True)
    s["pulse_ms"] = _number(raw.get("pulse_ms", 31), "pulse_ms", 1, s["min_gap_ms"], integer=True)
    events = raw.get("events", [])
    if not isinstance(events, list):
        raise ScenarioError("events: must be a list")
    s["events"] = [_event(e, i, s["duration_s"]) for i, e in enumerate(events)]
    return s


def _event(raw, i, duration_s):
    where = "events[%d]" % i
    if not isinstance(raw, dict):
        raise ScenarioError("%s: must be an object" % where)
    kind = raw.get("type")
    if kind not in EVENT_TYPES:
        raise ScenarioError("%s.type: unknown event type %r (known: %s)" % (where, kind, ", ".join(EVENT_TYPES)))
    if "at_s" not in raw:
        raise ScenarioError("%s.at_s: missing" % where)
    event = {"type": kind, "at_s": _number(raw["at_s"], where + ".at_s", 0, MAX_DURATION_S)}
    if kind in ("power_cut", "ntp_outage"):
        if "duration_s" not in raw:
            raise ScenarioError("%s.duration_s: missing" % where)
        event["duration_s"] = _number(raw["duration_s"], where + ".duration_s", 0, MAX_DURATION_S)
    if kind == "ntp_step":
        if "offset_ms" not in raw:
            raise ScenarioError("%s.offset_ms: missing" % where)
        # A fraction of a ms is rounded: the time base counts whole ms.
        event["offset_ms"] = int(round(_number(raw["offset_ms"], where + ".offset_ms", -86400000, 86400000)))
    return event


def timed_events(world, scenario):
    """The scenario's events as (true ms, action), in time order."""
    start = scenario["start_ms"]
    out = []
    for e in scenario["events"]:
        at = start + int(round(e["at_s"] * 1000))
        kind = e["type"]
        if kind in ("press", "long_press", "double_press"):
            out.append((at, lambda kind=kind: world.press(kind)))
        elif kind == "power_cut":
            until = at + int(round(e["duration_s"] * 1000))
            out.append((at, lambda until=until: world.power_cut(until)))
            out.append((until, world.restore))
        elif kind == "ntp_outage":
            until = at + int(round(e["duration_s"] * 1000))
            out.append((at, lambda until=until: world.ntp_outage(until)))
        elif kind == "ntp_step":
            out.append((at, lambda ms=e["offset_ms"]: world.step(ms)))
    out.sort(key=lambda pair: pair[0])
    return out


def summarise(world, scenario):
    """The minute-accuracy checks over every local minute boundary of the run.

    A boundary is right when a pulse starts within the budget of it and
    leaves the hands on its target. Wrong boundaries in a row form a
    recovery window (a power cut, a DST jump, a step being mended).
    """
    zone = Zone(scenario["tz"])
    start = scenario["start_ms"]
    end = start + int(scenario["duration_s"] * 1000)
    times = [p[0] for p in world.pulses]
    checked = right = 0
    worst = 0
    windows = []
    open_window = None
    b = start - start % 60000 + 60000
    while b <= end:
        offset = zone.offset(b // 1000) * 1000
        if (b + offset) % 60000 == 0:  # a local minute boundary
            checked += 1
            budget = HOLDOVER_BUDGET_MS if world.in_holdover_at(b, HOLDOVER_AFTER_MS) else BUDGET_MS
            tgt = target_at(b + offset)
            i = bisect.bisect_left(times, b - budget)
            error = None
            while i < len(times) and times[i] <= b + budget:
                if world.pulses[i][2] == tgt:
                    error = times[i] - b
                    break
                i += 1
            if error is not None:
                right += 1
                worst = max(worst, abs(error))
                if open_window is not None:
                    windows.append([open_window, b, (b - open_window) // 1000])
                    open_window = None
            elif open_window is None:
                open_window = b
        b += 60000
    if open_window is not None:
        # Still wrong at the end: its length so far is a recovery too.
        windows.append([open_window, None, (end - open_window) // 1000])
    return {
        "minutes_checked": checked,
        "minutes_right": right,
        "minutes_wrong": checked - right,
        "worst_boundary_error_ms": worst,
        "recoveries": windows,
        "longest_recovery_s": max((w[2] for w in windows), default=0),
        "unrecovered_at_end": open_window is not None,
        "pulses": len(world.pulses),
        "min_gap_ms_seen": min((b - a for a, b in zip(times, times[1:])), default=None),
        "polarity_follows_p": all(p[1] == (p[2] - 1) % 2 for p in world.pulses),
        "hands_agree_with_p": world.rotor.shown == world.store.p,
    }


def run(scenario):
    world = World(
        scenario["start_ms"],
        tz=scenario["tz"],
        mode=scenario["mode"],
        seed=scenario["seed"],
        hands=scenario["hands"],
        oscillator_ppm=scenario["oscillator_ppm"],
        min_gap_ms=scenario["min_gap_ms"],
        pulse_ms=scenario["pulse_ms"],
    )
    end = scenario["start_ms"] + int(round(scenario["duration_s"] * 1000))
    # A little past the end, so a :00 pulse due at the last boundary, which
    # may start a few ms late within its budget, is in the report.
    world.run_until(end + HOLDOVER_BUDGET_MS, timed_events(world, scenario))
    return {
        "pulses": world.pulses,
        "mode_changes": world.mode_changes,
        # Set-hands done: p set to 0 without a pulse ([utc_ms, p]).
        "resets": [[t, p] for _, p, t in world.resets],
        "summary": summarise(world, scenario),
    }


# -- for people: labelled fields and a summary -------------------------------


def _iso(utc_ms):
    return datetime.datetime.fromtimestamp(utc_ms / 1000, datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _local(zone, utc_ms):
    """"2026-03-29 03:08:00 CEST": local time as a wall clock says it."""
    seconds = utc_ms // 1000
    moment = datetime.datetime.fromtimestamp(seconds + zone.offset(seconds), datetime.timezone.utc)
    return "%s %s" % (moment.strftime("%Y-%m-%d %H:%M:%S"), zone.name(seconds))


def span_text(seconds):
    """6 min 20 s, 1 h 5 min, 40 s: a length as people say it."""
    if seconds >= 3600:
        return "%d h %d min" % (seconds // 3600, seconds // 60 % 60)
    if seconds >= 60:
        return "%d min %d s" % (seconds // 60, seconds % 60)
    return "%d s" % seconds


# A cause explains a recovery window that opens at most this long after it
# (or after the end of a power cut or outage): the hands are set going at
# once, and a step is found at the next sync (at most 17 min apart).
EXPLAINS_MS = 20 * 60000


def causes(scenario, zone):
    """(true ms, ms it lasts, what happened) of everything that can put the
    hands off the minute for a while, in time order."""
    start = scenario["start_ms"]
    end = start + int(scenario["duration_s"] * 1000)
    found = []
    if scenario["hands"] is not None:
        found.append((start, 0, "first boot: the hands showed %s and the clock had no time yet" % scenario["hands"]))
    for e in scenario["events"]:
        at = start + int(round(e["at_s"] * 1000))
        kind = e["type"]
        if kind == "power_cut":
            found.append((at, int(e["duration_s"] * 1000), "power cut of %s" % span_text(int(e["duration_s"]))))
        elif kind == "ntp_outage":
            found.append((at, int(e["duration_s"] * 1000), "NTP outage of %s" % span_text(int(e["duration_s"]))))
        elif kind == "ntp_step":
            found.append((at, 0, "the time base off by %d ms, until a sync finds it" % e["offset_ms"]))
        elif kind == "long_press":
            found.append((at, 0, "set-hands (long press)"))
        elif kind == "double_press":
            found.append((at, 0, "a double press"))
    t = start // 1000
    before = zone.offset(t)
    while True:
        change = zone.next_transition(t)
        if change is None or change[0] * 1000 > end:
            break
        t, after = change
        way = "forward" if after > before else "back"
        found.append((t * 1000, 0, "DST: clocks %s %s" % (way, span_text(abs(after - before)))))
        before = after
    return sorted(found)


def labelled(report, scenario):
    """The report's facts with names and ISO times, beside the contract's
    arrays: each recovery with its cause, and the minutes outside them."""
    zone = Zone(scenario["tz"])
    summary = report["summary"]
    happened = causes(scenario, zone)
    recoveries = []
    for start, end, seconds in summary["recoveries"]:
        cause = None
        for at, lasts, what in happened:
            if at <= start <= at + lasts + EXPLAINS_MS:
                cause = what
        recoveries.append({
            "from_utc": _iso(start), "to_utc": _iso(end) if end is not None else None,
            "from_local": _local(zone, start), "to_local": _local(zone, end) if end is not None else None,
            "seconds": seconds, "cause": cause,
        })
    in_recovery = summary["minutes_wrong"]
    unexplained = sum(1 for r in recoveries if r["cause"] is None)
    wrong_without = sum(-(-r["seconds"] // 60) for r in recoveries if r["cause"] is None)
    begin = scenario["start_ms"]
    return {
        "start": {"utc": _iso(begin), "local": _local(zone, begin)},
        "end": {"utc": _iso(begin + int(scenario["duration_s"] * 1000)), "local": _local(zone, begin + int(scenario["duration_s"] * 1000))},
        "tz": scenario["tz"],
        "pulse_fields": ["utc_ms", "polarity", "p_after"],
        "mode_changes": [{"utc": _iso(t), "local": _local(zone, t), "mode": name} for t, name in report["mode_changes"]],
        "recoveries": recoveries,
        "minutes": {
            "checked": summary["minutes_checked"],
            "right": summary["minutes_right"],
            "in_recovery_windows": in_recovery,
            "right_outside_recovery_windows": summary["minutes_checked"] - in_recovery,
            "windows_without_a_cause": unexplained,
            "wrong_without_a_cause": wrong_without,
        },
    }


def human(report, name, out):
    """A few lines for a person: the run, the minutes, each recovery and its cause."""
    facts = report["labelled"]
    minutes = facts["minutes"]
    summary = report["summary"]
    lines = [
        "%s: %s to %s" % (name, facts["start"]["local"], facts["end"]["local"]),
        "%d minutes checked: %d right, %d inside recovery windows with a cause, %d wrong without one (worst :00 error %d ms)"
        % (minutes["checked"], minutes["right"], minutes["in_recovery_windows"] - minutes["wrong_without_a_cause"],
           minutes["wrong_without_a_cause"], summary["worst_boundary_error_ms"]),
    ]
    for r in facts["recoveries"]:
        until = r["to_local"][11:] if r["to_local"] else "the end, still recovering"
        lines.append("recovery %s to %s (%s): %s" % (r["from_local"][11:], until, span_text(r["seconds"]), r["cause"] or "NO CAUSE: a fault"))
    if facts["mode_changes"]:
        lines.append("modes: " + ", ".join("%s %s" % (m["local"][11:16], m["mode"]) for m in facts["mode_changes"]))
    lines.append("report: %s" % out)
    return "\n".join(lines) + "\n"


HELP = """usage: python -m sim scenario FILE.json [--out REPORT.json]

Runs the firmware's own controller through the scenario in virtual time (a
day takes about a second) and checks every local minute. FILE is one JSON
object: start (ISO UTC, required), duration_s (3600), tz (a zone name such
as Europe/Berlin, or a POSIX rule; UTC0), mode, seed, hands (null: in sync
at start; "HH:MM:SS": just booted), oscillator_ppm (0), min_gap_ms (125),
pulse_ms (31), events: [{"at_s": N, "type": T, ...}] with T one of press,
long_press, double_press, power_cut and ntp_outage (with duration_s),
ntp_step (with offset_ms). The report (stdout, or --out) has every pulse
[utc_ms, polarity, p_after], the mode changes and a summary. A bad file
gets one line naming the field, and exit status 2. Examples: examples/.
"""


def main(argv):
    args = list(argv)
    if args and args[0] in ("-h", "--help"):
        sys.stdout.write(HELP)
        return 0
    out = None
    for i, arg in enumerate(args):
        if arg.startswith("--out="):
            out = arg[len("--out="):]
            del args[i]
            break
        if arg == "--out":
            if i + 1 >= len(args):
                print("scenario: --out needs a file name", file=sys.stderr)
                return 2
            out = args[i + 1]
            del args[i : i + 2]
            break
    if out == "":
        print("scenario: --out needs a file name", file=sys.stderr)
        return 2
    if len(args) != 1:
        print("usage: python -m sim scenario FILE.json [--out REPORT.json]", file=sys.stderr)
        return 2
    try:
        with open(args[0], encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        print("scenario: cannot read %s: %s" % (args[0], e.strerror), file=sys.stderr)
        return 2
    except UnicodeDecodeError as e:
        print("scenario: file: not UTF-8 text (byte %d)" % e.start, file=sys.stderr)
        return 2
    try:
        scenario = load(text)
    except ScenarioError as e:
        print("scenario: %s" % e, file=sys.stderr)
        return 2
    if out is not None:
        # An unwritable report path is found before the run, and only once
        # the scenario is good: a refused scenario leaves no file behind.
        try:
            open(out, "a").close()
        except OSError as e:
            print("scenario: cannot write %s: %s" % (out, e.strerror), file=sys.stderr)
            return 2
    report = run(scenario)
    report["labelled"] = labelled(report, scenario)
    if out is None:
        json.dump(report, sys.stdout)
        sys.stdout.write("\n")
    else:
        with open(out, "w") as f:
            json.dump(report, f)
        sys.stdout.write(human(report, args[0], out))
    return 0
