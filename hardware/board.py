"""A built board: its parts, as hardware/boards.py put them together.

    board.motor       hardware.motor.Motor
    board.button      a level reader: board.button.level()
    board.led         hardware.led.Led (always; dark if no LED)
    board.wifi        hardware.wifi.Wifi, or None (unix)
    board.watchdog    hardware.watchdog.Watchdog, or None (unix)
    board.store_dir   where firmware.store.FileStore keeps its files

A module of its own so that the builders (boot only) can leave memory.
"""


class Board:
    def __init__(self, name, motor, button, led, wifi=None, watchdog=None, store_dir="data", pins=None):
        self.name = name
        self.motor = motor
        self.button = button
        self.led = led
        self.wifi = wifi
        self.watchdog = watchdog
        self.store_dir = store_dir
        self.pins = pins
        self.closers = []

    def uid(self):
        """A stable id of this board, as hex (Home Assistant's device
        identifier, the MQTT client id): the chip's unique id; on the unix
        board, the host's machine-id."""
        if self.name != "unix":
            from binascii import hexlify

            import machine

            return hexlify(machine.unique_id()).decode()
        try:
            with open("/etc/machine-id") as f:
                return f.read(12).strip() or "unix"
        except OSError:
            return "unix"

    def close(self):
        """Release what the board opened (the unix board's files)."""
        self.motor.stop()
        for close in self.closers:
            close()
        self.closers = []  # a second close() closes nothing twice

    def reset(self):
        """Start again as from a power cut: machine.reset() on a board; on
        the unix board the process ends (status 3), for whatever runs it to
        start it again."""
        try:
            self.close()
        except Exception:
            pass  # the reset matters more than a tidy close
        if self.name != "unix":
            import machine

            machine.reset()
        raise SystemExit(3)
