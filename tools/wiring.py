"""Test the wiring before anything else: a few pulses through the coil.

    python -m tools.wiring /dev/ttyACM0 --config config.json [--pulses 6]

Sends the board (over mpremote) a short script that drives the coil as the
clock does: pulse_ms on coil A, then a second later on coil B, and so on,
both pins low in between. Then it asks whether the second hand stepped
once per pulse, and says what to check when it did not. The board needs
only MicroPython: nothing is installed, nothing is left running.
"""

import argparse
import sys

from tools.deploy import DeployError, find_tool, read_config

# Runs on the board. Pins and timings are filled in; both pins end low
# whatever happens (a coil left driven heats up).
SCRIPT = """from machine import Pin
import time
a = Pin({a}, Pin.OUT, value=0)
b = Pin({b}, Pin.OUT, value=0)
try:
    for i in range({pulses}):
        pin = a if i % 2 == 0 else b
        pin.value(1)
        time.sleep_ms({pulse_ms})
        pin.value(0)
        print("pulse", i + 1, "coil", "A" if pin is a else "B")
        time.sleep_ms({gap_ms})
finally:
    a.value(0)
    b.value(0)
"""

ADVICE = {
    "y": "The wiring works. Next: python -m firmware.deploy {port} --config {config}",
    "n": "No step at all: check both wires to the coil and the resistor (hardware/README.md, Driving the coil), "
    "that the coil's own track to the quartz chip is cut, and try a longer \"pulse_ms\" (40) in config.json.",
    "h": "A step every other pulse only: one end of the coil is not driven. Check the wire from GPIO {b} "
    "(coil B) and from GPIO {a} (coil A), and that neither pin is used by something else on the board.",
}


def script(pins, pulse_ms, pulses):
    return SCRIPT.format(a=pins["coil_a"], b=pins["coil_b"], pulses=pulses, pulse_ms=pulse_ms, gap_ms=1000 - pulse_ms)


def pins_of(cfg):
    """The coil pins the board will use: its map with the config's overrides."""
    from hardware.boards import pin_map

    return pin_map(cfg["board"], cfg.get("pins"), log=lambda line: None)


def main(argv=None, ask=input, out=sys.stdout):
    parser = argparse.ArgumentParser(prog="python -m tools.wiring", description=__doc__.split("\n\n")[0])
    parser.add_argument("port", metavar="PORT", help="the board's serial port (/dev/ttyACM0, COM3)")
    parser.add_argument("--config", required=True, metavar="FILE", help="the config.json you will deploy (board, pins, pulse_ms)")
    parser.add_argument("--pulses", type=int, default=6, help="how many pulses (default 6)")
    args = parser.parse_args(argv)
    from firmware.config import check

    try:
        raw, _ = read_config(args.config, force=True)
    except DeployError as e:
        print(str(e), file=sys.stderr)
        return e.status
    cfg, _ = check(raw)
    if cfg["board"] == "unix":
        print("wiring: the unix board has no coil; set \"board\" in %s to esp32c3, esp32 or rp2" % args.config, file=sys.stderr)
        return 2
    mpremote = find_tool("mpremote", "MPREMOTE")
    if not mpremote:
        print("wiring: mpremote not found (pip install mpremote, or set MPREMOTE)", file=sys.stderr)
        return 1
    pins = pins_of(cfg)
    print("Watch the second hand: %d pulses, one a second, on GPIO %s and %s." % (args.pulses, pins["coil_a"], pins["coil_b"]), file=out)
    import subprocess

    proc = subprocess.run([mpremote, "connect", args.port, "exec", script(pins, cfg["pulse_ms"], args.pulses)], text=True, capture_output=True, timeout=120)
    if proc.returncode != 0:
        last = (proc.stderr.strip() or proc.stdout.strip() or "no output").splitlines()[-1]
        print("wiring: no board answers on %s (%s): is it plugged in, and is another program holding the port?" % (args.port, last), file=sys.stderr)
        return 1
    sent = proc.stdout.count("pulse ")
    answer = ""
    while answer not in ADVICE:
        answer = ask("Did the second hand step %d times, once per pulse? [y]es / [n]o step at all / [h]alf of them: " % sent).strip().lower()[:1]
    print(ADVICE[answer].format(port=args.port, config=args.config, a=pins["coil_a"], b=pins["coil_b"]), file=out)
    return 0 if answer == "y" else 1


if __name__ == "__main__":
    sys.exit(main())
