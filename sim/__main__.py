"""python -m sim [--mode NAME] [--at ISO_UTC] [--tz POSIX] [--seed N]
python -m sim scenario FILE.json [--out REPORT.json]
python -m sim --screenshot FILE.png [--mode NAME] [--at ISO_UTC] [--tz POSIX]

Opens the simulator's window, or renders one frame to a file and exits.
Local time is the computer's own; with --at it is UTC unless --tz names a
POSIX zone (read with firmware/tz.py), so a screenshot is the same on every
machine.
"""

import argparse
import datetime
import os
import sys
import time

import modes
from sim.preview import Preview


def parse_utc(text):
    """An ISO 8601 time as integer UTC milliseconds; no zone means UTC."""
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not an ISO 8601 time: %r" % text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return (moment - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)) // datetime.timedelta(
        milliseconds=1
    )


def offset_source(parser, args):
    """A function of UTC seconds giving the local offset in seconds east."""
    if args.tz is not None:
        try:
            from firmware.tz import Zone
        except ImportError:
            print("sim: firmware.tz is not there yet; showing UTC", file=sys.stderr)
            return lambda utc_s: 0
        try:
            return Zone(args.tz).offset
        except ValueError as e:
            parser.error("--tz: %s" % e)
    if args.at is not None:
        return lambda utc_s: 0
    return lambda utc_s: time.localtime(utc_s).tm_gmtoff


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["scenario"]:
        from sim import scenario

        return scenario.main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m sim", description="The irregular clock's simulator.")
    parser.add_argument("--mode", choices=modes.NAMES, default=modes.NAMES[0], help="the mode at start")
    parser.add_argument("--at", type=parse_utc, help="start at this UTC time, e.g. 2026-03-29T00:50:00Z")
    parser.add_argument("--tz", help="POSIX TZ string, e.g. CET-1CEST,M3.5.0,M10.5.0/3")
    parser.add_argument("--seed", type=int, default=1, help="the random generator's seed")
    parser.add_argument("--screenshot", metavar="FILE", help="render one frame to FILE (PNG) and exit")
    args = parser.parse_args(argv)

    offset = offset_source(parser, args)
    if args.screenshot is not None:
        at = args.at if args.at is not None else time.time_ns() // 1000000

        def utc_ms():
            return at

    elif args.at is not None:
        start, base = args.at, time.monotonic_ns()

        def utc_ms():
            return start + (time.monotonic_ns() - base) // 1000000

    else:

        def utc_ms():
            return time.time_ns() // 1000000

    def local_ms():
        u = utc_ms()
        return u + offset(u // 1000) * 1000

    preview = Preview(local_ms, mode=args.mode, rng=modes.Rng(args.seed))

    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    if args.screenshot is not None:
        os.environ["SDL_VIDEODRIVER"] = "dummy"
        os.environ["SDL_AUDIODRIVER"] = "dummy"
    import pygame

    from sim import app

    window = app.App(preview)
    try:
        if args.screenshot is not None:
            app.screenshot(window, args.screenshot)
        else:
            app.open_window()
            app.run(window)
    finally:
        pygame.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
