"""The mode button: short, long and double press from a polled level.

    button = Button()                        # or Button(long_press_ms=1500)
    event = button.poll(now, reader.level())  # every 10-20 ms
    # -> PRESS, LONG_PRESS, DOUBLE_PRESS or None

Pure logic: the level (1 pressed, 0 released) and the ticks come in as
arguments, so tests drive it with any bounce pattern in virtual time.
`PinLevel` is the tiny wrapper that reads a machine.Pin on a board.

Debounce. A level that differs from the accepted one becomes the accepted
one when every poll for `debounce_ms` has seen it; any flip back restarts
the count. So contact bounce, however wild, makes no edge as long as each
of its runs is shorter than `debounce_ms`, and an edge is accepted
`debounce_ms` after the contact settles (one poll later at most).

Events, timed from the accepted edges:
- LONG_PRESS when the button has been held `long_press_ms`: while still
  held, not on release (the user sees the clock react and lets go);
- DOUBLE_PRESS when a second press comes within `double_click_ms` of the
  release of a short first one; it fires on that second press, and the
  second press then makes nothing else (not a long press either);
- PRESS for a short press (released before `long_press_ms`) with no second
  press within `double_click_ms` of its release: a double press suppresses
  the single, which is why a single comes `double_click_ms` after release.
A button found held at start (the accepted level starts as "pressed") makes
nothing until it has been seen released: a finger on the BOOT button at
power-up, or a stuck contact, does not start a set-hands procedure.

The timings are class attributes, as in micropython-async's pushbutton.py,
and constructor arguments override them for one button.
"""

from firmware.ticks import ticks_diff

PRESS = "press"
LONG_PRESS = "long_press"
DOUBLE_PRESS = "double_press"


class Button:
    debounce_ms = 50
    long_press_ms = 1000
    double_click_ms = 400

    def __init__(self, debounce_ms=None, long_press_ms=None, double_click_ms=None, ticks_diff=ticks_diff):
        if debounce_ms is not None:
            self.debounce_ms = debounce_ms
        if long_press_ms is not None:
            self.long_press_ms = long_press_ms
        if double_click_ms is not None:
            self.double_click_ms = double_click_ms
        if not 0 < self.debounce_ms < self.long_press_ms:
            raise ValueError("need 0 < debounce_ms < long_press_ms")
        if self.double_click_ms <= 0:
            raise ValueError("double_click_ms must be > 0")
        self.diff = ticks_diff
        # Start as if held: a button held at start makes no press edge, and
        # its release ends a press that never began, so it makes nothing.
        self.stable = 1
        self.changing = False  # the raw level differs from `stable` since...
        self.change_at = 0  # ...these ticks
        self.held = False  # a press is down that may still become long
        self.down_at = 0
        self.pending = False  # a short press waits to see if a second follows
        self.up_at = 0
        self.double_click_set = self.double_click_ms  # as configured, for setting_hands(False)

    def setting_hands(self, setting):
        """While the hands are being set a press must act at once (to stop
        the hand on 12), not after the wait that tells a double press apart;
        the board and the simulator both call this at every poll."""
        self.double_click_ms = 1 if setting else self.double_click_set

    def poll(self, now, level):
        """Feed the level at `now`; return an event or None."""
        level = 1 if level else 0
        if level != self.stable:
            if not self.changing:
                self.changing = True
                self.change_at = now
            elif self.diff(now, self.change_at) >= self.debounce_ms:
                self.changing = False
                self.stable = level
                return self._edge(now, level)
        else:
            self.changing = False
        if self.held and self.diff(now, self.down_at) >= self.long_press_ms:
            self.held = False
            return LONG_PRESS
        if self.pending and self.diff(now, self.up_at) >= self.double_click_ms:
            self.pending = False
            return PRESS
        return None

    def _edge(self, now, down):
        if not down:
            if self.held:  # short: a single, unless a second press follows
                self.held = False
                self.pending = True
                self.up_at = now
            return None
        event = None
        if self.pending:
            self.pending = False
            if self.diff(now, self.up_at) < self.double_click_ms:
                return DOUBLE_PRESS  # `held` stays False: this press is spent
            # The window closed at this very poll: the single is due now,
            # and this press starts afresh.
            event = PRESS
        self.held = True
        self.down_at = now
        return event


class PinLevel:
    """A button on a pin; `level()` is 1 while pressed.

    Boards wire the button from the pin to ground with the pin's pull-up
    (active low), as the ESP32-C3 SuperMini's BOOT button on GPIO 9 is."""

    def __init__(self, pin, active_low=True):
        self.pin = pin
        self.flip = 1 if active_low else 0

    def level(self):
        return self.pin.value() ^ self.flip


class FuncLevel:
    """A button read by a function, e.g. rp2.bootsel_button (1 pressed)."""

    def __init__(self, func):
        self.func = func

    def level(self):
        return 1 if self.func() else 0
