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
a = Pin({a!r}, Pin.OUT, value=0)
b = Pin({b!r}, Pin.OUT, value=0)
duty = {duty_u16}
if duty < 65535:  # a 1.5 V movement: PWM, as the clock drives it
    from machine import PWM
    a = PWM(a, freq=20000, duty_u16=0)
    b = PWM(b, freq=20000, duty_u16=0)
    def level(pin, v):
        pin.duty_u16(duty if v else 0)
else:
    def level(pin, v):
        pin.value(v)
try:
    for i in range({pulses}):
        pin = a if i % 2 == 0 else b
        level(pin, 1)
        time.sleep_ms({pulse_ms})
        level(pin, 0)
        print("pulse", i + 1, "coil", "A" if pin is a else "B")
        time.sleep_ms({gap_ms})
finally:
    level(a, 0)
    level(b, 0)
"""

ADVICE = {
    "y": "The wiring works. Next: python -m firmware.deploy {port} --config {config}",
    "n": "No step at all: check both wires to the coil and the resistor (hardware/README.md, Driving the coil), "
    "that the coil's own track to the quartz chip is cut, and try a longer \"pulse_ms\" (40) in config.json.",
    "h": "A step on every other pulse only: the pulses of one direction are too weak. Try a longer \"pulse_ms\" "
    "(40, then 50) in config.json, and check that the wires from GPIO {a} and GPIO {b} have the same resistor.",
    "o": "One step, then none: the pulses all push the same way, so one coil end is stuck. Check the wire from "
    "GPIO {b} (coil B) and from GPIO {a} (coil A), and that neither pin is used by something else on the board.",
}


def script(pins, pulse_ms, pulses, duty_percent=100):
    duty_u16 = 65535 * duty_percent // 100
    return SCRIPT.format(a=pins["coil_a"], b=pins["coil_b"], pulses=pulses, pulse_ms=pulse_ms, gap_ms=1000 - pulse_ms, duty_u16=duty_u16)


def pins_of(cfg):
    """The coil pins the board will use: its map with the config's overrides."""
    from hardware.boards_mcu import pin_map

    return pin_map(cfg["board"], cfg.get("pins"), log=lambda line: None)


def main(argv=None, ask=input, out=sys.stdout):
    parser = argparse.ArgumentParser(prog="python -m tools.wiring", description=__doc__.split("\n\n")[0])
    parser.add_argument("port", metavar="PORT", help="the board's serial port (/dev/ttyACM0, COM3)")
    parser.add_argument("--config", required=True, metavar="FILE", help="the config.json you will deploy (board, pins, pulse_ms)")
    parser.add_argument("--pulses", type=int, default=6, choices=range(2, 61), metavar="2..60", help="how many pulses (default 6)")
    args = parser.parse_args(argv)
    from firmware.config import check

    try:
        raw, notes = read_config(args.config, force=True)
    except DeployError as e:
        print(str(e), file=sys.stderr)
        return e.status
    for note in notes:  # the pins and timings tested are the ones the board would use
        print("warning: " + note, file=sys.stderr)
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

    try:
        proc = subprocess.run([mpremote, "connect", args.port, "exec", script(pins, cfg["pulse_ms"], args.pulses, cfg["pulse_duty"])],
                              text=True, capture_output=True, timeout=120)
    except subprocess.TimeoutExpired:
        print("wiring: %s did not finish in 120 s" % args.port, file=sys.stderr)
        return 1
    if proc.returncode != 0:
        last = (proc.stderr.strip() or proc.stdout.strip() or "no output").splitlines()[-1]
        if "Error" in last and "mpremote" not in last:
            print("wiring: the board answered, but the pulses failed: %s" % last, file=sys.stderr)
        else:
            print("wiring: no board answers on %s (%s): is it plugged in, and is another program holding the port?" % (args.port, last), file=sys.stderr)
        return 1
    sent = proc.stdout.count("pulse ")
    answer = ""
    while answer not in ADVICE:
        try:
            answer = ask("Did the second hand step %d times, once per pulse? [y]es / [n]o step at all / [h]alf of them / [o]ne step only: " % sent).strip().lower()[:1]
        except EOFError:  # no one to answer (a script): no verdict
            return 1
    print(ADVICE[answer].format(port=args.port, config=args.config, a=pins["coil_a"], b=pins["coil_b"]), file=out)
    return 0 if answer == "y" else 1


if __name__ == "__main__":
    sys.exit(main())
