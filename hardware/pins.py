"""Outputs as the drivers want them: `set(1)` drives, `set(0)` releases.

A pin comes in through a constructor and may be any of:
- an object with `value(v)` (machine.Pin, machine.Signal, the unix board's
  log pins, a test's fake);
- an object with `on()` / `off()`;
- a PWM object with `duty_u16(d)` (machine.PWM): driving sets the duty
  `duty_u16`, releasing sets 0. This is how a 1.5 V movement runs from a
  3.3 V pin: the coil averages the PWM to about duty x 3.3 V.

The kind is found once, here, so `set` is a comparison and one call: no
allocation, nothing that could stretch a pulse.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


_VALUE = const(0)
_ONOFF = const(1)
_PWM = const(2)
FULL_DUTY = const(65535)


class Out:
    def __init__(self, pin, active_low=False, duty_u16=FULL_DUTY):
        self.pin = pin
        self.flip = 1 if active_low else 0
        if hasattr(pin, "duty_u16"):
            self.kind = _PWM
            # A PWM output cannot be "active low" by flipping a level; an
            # inverted PWM is the port's own option (PWM(..., invert=True)).
            self.flip = 0
        elif hasattr(pin, "value"):
            self.kind = _VALUE
        elif hasattr(pin, "on") and hasattr(pin, "off"):
            self.kind = _ONOFF
        else:
            raise TypeError("a pin needs value(), on()/off() or duty_u16()")
        if not 0 <= duty_u16 <= FULL_DUTY:
            raise ValueError("duty_u16 must be in 0..65535")
        self.duty = duty_u16
        self.level = -1  # unknown until the first set

    def set(self, level):
        if level == self.level:
            return  # unchanged: no call, and no line in the unix coil log
        self.level = level
        kind = self.kind
        if kind == _VALUE:
            self.pin.value(level ^ self.flip)
        elif kind == _PWM:
            self.pin.duty_u16(self.duty if level else 0)
        elif level ^ self.flip:
            self.pin.on()
        else:
            self.pin.off()
