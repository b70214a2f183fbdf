"""python -m sim [--mode NAME] [--at ISO_UTC] [--tz ZONE] [--ntp HOST[:PORT]]
               [--seed N] [--ppm PPM] [--frames N]
python -m sim --screenshot FILE.png [--at ISO_UTC] [--tz ZONE] [--mode NAME]
python -m sim scenario FILE.json [--out REPORT.json]

Opens the simulator's window, or renders one frame to a file and exits. The
firmware's own controller runs behind it in a virtual world (sim/world.py).
True time is this computer's clock, or an NTP server's with --ntp, or starts
at --at and runs on from there. The zone is this computer's, or UTC with
--at, unless --tz names one (Europe/Berlin, or a POSIX rule); so a screenshot is the same on every
machine. Press H in the window for the keys.
"""

import argparse
import datetime
import os
import sys

import modes
from sim.preview import Clock, Preview, local_zone
from sim.world import NtpTime, system_utc_ms


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


def parse_frames(text):
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


NO_DISPLAY = (
    "python -m sim: no display to open a window on (%s); "
    "run it on a desktop, or render a frame with --screenshot FILE.png, or preview a day with: python -m sim scenario FILE.json"
)


def no_display():
    """True on a Linux or BSD machine with no X or Wayland display."""
    if not sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return False  # macOS and Windows always have their own
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def zone_of(parser, args):
    """The POSIX TZ string to run in."""
    if args.tz is not None:
        from tools.zones import resolve

        try:
            return resolve(args.tz)
        except ValueError as e:
            print("python -m sim: --tz: %s" % e, file=sys.stderr)  # one line, not the usage block
            sys.exit(2)
    return "UTC0" if args.at is not None else local_zone()


def reference_of(parser, args):
    """True time now: this computer's clock, or the NTP server's."""
    if args.ntp is None:
        return system_utc_ms
    host, _, port = args.ntp.partition(":")
    if not host or (port and not port.isdigit()):
        parser.error("--ntp: expected HOST or HOST:PORT, got %r" % args.ntp)
    source = NtpTime(host, int(port) if port else 123)
    if source.query():
        print("sim: %s says this computer's clock is %+d ms off" % (args.ntp, source.offset_ms), file=sys.stderr)
    else:
        print("sim: no answer from %s (%s); using this computer's clock" % (args.ntp, source.error), file=sys.stderr)
    source.start()  # asks again now and then, off the frame loop
    return source


def parse_port(text):
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError("not a port number (0-65535; 0 picks a free one): %r" % text)
    return port


def parse_broker(text):
    from firmware.sntp import split_host_port

    try:
        host, port = split_host_port(text, 1883)
    except ValueError as e:
        raise argparse.ArgumentTypeError("%s: want HOST or HOST:PORT, e.g. 192.168.1.10:1883" % e)
    return {"host": host, "port": port}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["scenario"]:
        from sim import scenario

        return scenario.main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m sim",
        description="The irregular clock's simulator: a window with the firmware's own controller behind it.",
        epilog="Headless, a whole day in a second: python -m sim scenario FILE.json [--out REPORT.json] "
        "(python -m sim scenario --help describes the file).",
    )
    parser.add_argument("--mode", choices=modes.NAMES, default=modes.NAMES[0], help="the mode at start")
    parser.add_argument("--at", type=parse_utc, help="start at this UTC time, e.g. 2026-03-29T00:50:00Z")
    parser.add_argument("--tz", help="time zone: a name (Europe/Berlin) or a POSIX rule (CET-1CEST,M3.5.0,M10.5.0/3); default this computer's (UTC with --at)")
    parser.add_argument("--ntp", metavar="HOST[:PORT]", help="take true time from this NTP server (ntplib)")
    parser.add_argument("--seed", type=int, default=1, help="the random generator's seed")
    parser.add_argument("--ppm", type=float, default=0, help="the board's oscillator error, parts per million")
    parser.add_argument("--screenshot", metavar="FILE", help="render one frame to FILE (PNG) and exit")
    parser.add_argument("--frames", type=parse_frames, metavar="N", help="run N frames, then exit")
    parser.add_argument("--web", type=parse_port, metavar="PORT",
                        help="serve the phone page for the simulated clock on 127.0.0.1:PORT (user clock, password from $CLOCK_WEB_PASSWORD, else 'simulated')")
    parser.add_argument("--mqtt", type=parse_broker, metavar="HOST[:PORT]",
                        help="join this MQTT broker as a clock Home Assistant finds by itself (user and password from "
                             "$CLOCK_MQTT_USER and $CLOCK_MQTT_PASSWORD, base topic from $CLOCK_MQTT_TOPIC, else irregular-clock)")
    args = parser.parse_args(argv)
    if args.screenshot is not None:
        folder = os.path.dirname(os.path.abspath(args.screenshot))
        if not os.path.isdir(folder):
            parser.error("--screenshot: no such folder: %s" % folder)

    tz = zone_of(parser, args)
    if args.at is not None and args.ntp is not None:
        print("sim: --ntp is not used with --at (true time starts at --at)", file=sys.stderr)
    reference = system_utc_ms if args.at is not None else reference_of(parser, args)
    if args.screenshot is not None:
        at = args.at if args.at is not None else reference()
        clock = Clock(real_ms=lambda: 0, start_ms=at)  # time stands still at that moment
    else:
        clock = Clock(start_ms=args.at, reference=reference)
    preview = Preview(clock, tz=tz, mode=args.mode, seed=args.seed, oscillator_ppm=args.ppm)

    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    if sys.platform.startswith("linux") and not os.path.exists("/dev/snd"):
        # No sound card: ALSA would print a screenful of errors on start.
        os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    chosen_driver = os.environ.get("SDL_VIDEODRIVER")  # a driver asked for by name is used as asked
    if args.screenshot is None and chosen_driver is None and no_display():
        print(NO_DISPLAY % "DISPLAY and WAYLAND_DISPLAY are not set", file=sys.stderr)
        return 1
    if args.screenshot is not None:
        os.environ["SDL_VIDEODRIVER"] = "dummy"
        os.environ["SDL_AUDIODRIVER"] = "dummy"
    import pygame

    from sim import app

    page = None
    if args.web is not None and args.screenshot is None:
        from sim.web import PageServer

        password = os.environ.get("CLOCK_WEB_PASSWORD") or "simulated"
        try:
            page = PageServer(preview, args.web, password).start()
        except OSError as e:
            parser.error("--web: cannot serve on port %d: %s" % (args.web, e.strerror or e))
        print("sim: the page is on http://127.0.0.1:%d/ (user clock)" % page.port, file=sys.stderr)
    broker = None
    if args.mqtt is not None and args.screenshot is None:
        from sim.mqtt import MqttBridge

        cfg = dict(args.mqtt, user=os.environ.get("CLOCK_MQTT_USER"), password=os.environ.get("CLOCK_MQTT_PASSWORD"),
                   topic=os.environ.get("CLOCK_MQTT_TOPIC") or "irregular-clock")
        try:
            bridge = MqttBridge(preview, cfg)
        except RuntimeError as e:  # no paho-mqtt
            if page is not None:
                page.stop()
            parser.error(str(e))
        try:
            broker = bridge.start()
        except OSError as e:
            if page is not None:
                page.stop()
            parser.error("--mqtt: cannot reach %s:%d: %s" % (cfg["host"], cfg["port"], e.strerror or e))
        print("sim: on the broker %s:%d as %s/ (Home Assistant finds it under MQTT)" % (cfg["host"], cfg["port"], cfg["topic"]),
              file=sys.stderr)

    try:
        if args.screenshot is not None:
            app.screenshot(app.App(preview, sound=False), args.screenshot)
        else:
            app.open_window()
            if chosen_driver is None and pygame.display.get_driver() in ("offscreen", "dummy"):
                # SDL found no screen and fell back to drawing nowhere: a
                # window nobody sees, running for ever.
                where = os.environ.get("WAYLAND_DISPLAY") or os.environ.get("DISPLAY")
                print(NO_DISPLAY % ("none answers at %s" % where), file=sys.stderr)
                return 1
            app.run(app.App(preview), frames=args.frames)
    finally:
        pygame.quit()
        if broker is not None:  # (the last started, the first stopped)
            broker.stop()
        if page is not None:
            page.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
