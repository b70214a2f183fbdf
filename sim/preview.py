"""The simulator window's core: the firmware's own controller in the virtual
world (sim/world.py), a time source that may run faster than real time, and
the board's button as a person works it (through the board's own decoder,
hardware/button.py).

No pygame here, and no clock logic of its own: every pulse comes from
firmware/controller.py through `World`; this module only decides when to
run the world up to (true time = start + warp x elapsed real time), feeds
the mouse to the button decoder, and offers the drawing layer (sim/draw.py) what it reads, already in words
and numbers. Real time and true time are injected, so tests run it on a
fake clock.
"""

import collections
import os
import threading
import time

import modes
from firmware import controller as ctl
from firmware.wall import HALF_DAY_S, MINUTE_MS
from sim.scenario import span_text
from sim.world import World, system_utc_ms

# The world starts this long before the first frame, in sync, and is run up
# to it, so the first frame already shows a minute being played.
LEAD_IN_MS = 2 * MINUTE_MS
WARPS = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400)
PRESETS = (1, 10, 60, 600, 3600)  # keys 1..5
HISTORY = 512  # recent pulses kept for the plan strip (a race makes ~480 a minute)
# The world's logs grow by a pulse a second, 3600 a second at 3600x; the
# window keeps only their tail (the scenario runner is what reads them whole).
LOG_KEEP = 4096
NEVER = 2**62  # an NTP outage "until further notice", in true ms

DESCRIPTIONS = {
    "normal": "a tick on every whole second, like any quartz clock",
    "vetinari": "every gap drawn afresh between 0.5 and 1.5 s; still right at :00",
    "hesitate": "ticks a little fast, then pauses once a minute for a second",
    "rush": "races to :59 at two ticks a second, then waits there for :00",
    "stumble": "even ticks with one random quick double-step a minute",
    "gravity": "fast going down (600 ms at 3), slow climbing up (1400 ms at 9)",
}

STATE_TEXT = {
    ctl.NO_TIME: "no time yet: the hands wait for the first NTP answer",
    ctl.RUN: "running this minute's plan",
    ctl.RACE: "racing: right in %s",
    ctl.WAIT: "standing still: right in %s, when the time catches up with the hands",
    ctl.SET_RUN: "set hands: the second hand goes round; press to stop it at 12",
    ctl.SET_HOLD: "set hands: press = round again; hold = done, hands at 12:00; D key = cancel",
}
OFF_TEXT = "power cut: the board is off, the hands stand still"
# What the board cannot know and the simulator does: the hands themselves.
OFF_12_TEXT = "the hands are %s %s the clock believes: set-hands was stopped off 12; do it again (L)"



def monotonic_ms():
    return time.monotonic_ns() // 1000000


class Clock:
    """True UTC ms as a function of real time: the injected time source.

    Virtual (`start_ms` given): start + warp x elapsed real ms. Live (only a
    `reference`, such as this computer's clock or sim.world.NtpTime): the
    reference itself, which also follows a laptop's suspend or an NTP
    correction. Changing the warp leaves live time for good. It never runs
    backwards (the world cannot).
    """

    def __init__(self, real_ms=monotonic_ms, start_ms=None, reference=system_utc_ms):
        self.real_ms = real_ms
        self.live = start_ms is None
        self.reference = reference
        self.warp = 1
        self._real0 = real_ms()
        self._true0 = reference() if start_ms is None else start_ms
        self.last = self._true0

    def now(self):
        if self.live:
            t = self.reference()
        else:
            t = self._true0 + self.warp * (self.real_ms() - self._real0)
        if t < self.last:
            t = self.last
        self.last = t
        return t

    def set_warp(self, warp):
        if warp == self.warp:
            return
        self._true0 = self.now()
        self._real0 = self.real_ms()
        self.live = False
        self.warp = warp

    def faster(self, steps=1):
        """The next warp in WARPS up (steps > 0) or down (steps < 0)."""
        i = max(j for j, w in enumerate(WARPS) if w <= self.warp)
        self.set_warp(WARPS[min(max(i + steps, 0), len(WARPS) - 1)])


class MouseButton:
    """The mouse on the on-screen button, fed to the board's own button
    decoder (hardware/button.py) as the level of a contact, polled each
    frame, so a click, a 1 s hold and a double-click mean exactly what they
    mean on the board. A mouse does not bounce: debounce is 1 ms, and each
    change of level is held until the decoder has accepted it, so a click
    or a gap shorter than a frame is not lost. Times are real ms.
    """

    def __init__(self, now):
        from hardware.button import Button

        self.board = Button(debounce_ms=1, ticks_diff=_minus)
        self.down = False  # the mouse is held on the button
        # The level fed to the decoder, and the decoder's accepted level,
        # followed as its debounce documents it: a new level is taken by a
        # poll `debounce_ms` after the first poll that saw it.
        self.fed = 0
        self.accepted = 1  # the decoder starts as if held...
        self.seen_at = None
        self.poll(now - 1)  # ...so show it released, twice, a ms apart
        self.poll(now)

    def press(self, now):
        return self._change(now, 1)

    def release(self, now):
        return self._change(now, 0)

    def _change(self, now, level):
        # A change the decoder has not yet taken (a click or a gap shorter
        # than a frame) is shown to it first, or it would be lost.
        first = self.poll(now) if self.fed != self.accepted else None
        self.down = bool(level)
        return self.poll(now) or first

    def poll(self, now):
        """The decoder's event at `now`: "press", "long_press", "double_press" or None."""
        if self.fed == self.accepted:
            self.fed = 1 if self.down else 0  # else hold the change until it is taken
        level = self.fed
        if level == self.accepted:
            self.seen_at = None
        elif self.seen_at is None:
            self.seen_at = now
        elif now - self.seen_at >= self.board.debounce_ms:
            self.accepted, self.seen_at = level, None
        return self.board.poll(now, level)

    @property
    def is_down(self):
        return self.down

    def held_fraction(self, now):
        """How far a held press is towards a long press, 0..1 (for drawing)."""
        b = self.board
        if not self.down or not getattr(b, "held", False):
            return 0.0
        return min(1.0, (now - b.down_at) / b.long_press_ms)


def _minus(a, b):
    return a - b  # real ms from a monotonic clock never wrap


class Strip:
    """One minute for the plan strip, in ms since its start (true time)."""

    def __init__(self, start, now, done, to_come, planned):
        self.start = start  # true UTC ms at which the minute began
        self.now = now  # ms into the minute
        self.done = done  # pulses made in this minute
        self.to_come = to_come  # pulses the controller's plan still holds
        self.planned = planned  # False: no plan (race, wait, no time, off)


class Preview:
    """The world behind the window, run up to the clock's time each frame."""

    def __init__(self, clock, tz="UTC0", mode=modes.NAMES[0], seed=1, oscillator_ppm=0, lead_in_ms=LEAD_IN_MS):
        self.clock = clock
        self.tz = tz
        self.lock = threading.RLock()  # the world is shared with the page's server thread (sim/web.py)
        start = clock.now()
        self.world = World(start - lead_in_ms, tz=tz, mode=mode, seed=seed, oscillator_ppm=oscillator_ppm)
        self.world.run_until(start)
        self.button = MouseButton(clock.real_ms())
        self.catching_up = False  # after a power cut, until the hands are right
        self.pulses = 0  # pulses made since the window opened (lead-in included)
        self.recent = collections.deque(maxlen=HISTORY)  # (true ms, polarity)
        self._seen = 0
        self._take_pulses()

    # -- each frame ----------------------------------------------------------

    def advance(self):
        """Run the world up to the clock's time and tell the button the real
        time; returns the pulses made meanwhile, as (true ms, polarity)."""
        with self.lock:
            self.world.run_until(self.clock.now())
            self._setting_hands()
            kind = self.button.poll(self.clock.real_ms())
            if kind is not None:
                self.press(kind)
            return self._take_pulses()

    def _take_pulses(self):
        w = self.world
        new = [(at, polarity) for at, polarity, _ in w.pulses[self._seen :]]
        self.pulses += len(new)
        self.recent.extend(new)
        self._seen = len(w.pulses)
        if self._seen > 2 * LOG_KEEP:
            # World.resets index into pulses; the window never reads them.
            del w.pulses[:-LOG_KEEP]
            self._seen = len(w.pulses)
        if len(w.synced_at) > 2 * LOG_KEEP:
            del w.synced_at[:-LOG_KEEP]
        return new

    # -- what a person does --------------------------------------------------

    def press(self, kind="press"):
        """The board's button: "press", "long_press" or "double_press"."""
        with self.lock:
            self.world.press(kind)  # ignored while the power is off

    def _setting_hands(self):
        state = self.state
        self.button.board.setting_hands(state is not None and state >= ctl.SET_RUN)

    def button_down(self):
        self._setting_hands()
        kind = self.button.press(self.clock.real_ms())
        if kind is not None:
            self.press(kind)

    def button_up(self):
        self._setting_hands()
        kind = self.button.release(self.clock.real_ms())
        if kind is not None:
            self.press(kind)

    def toggle_power(self):
        with self.lock:
            if self.world.powered:
                self.world.power_off()
            else:
                self.world.power_on()
                self.catching_up = True  # until the hands are right again

    def toggle_ntp(self):
        with self.lock:
            if self.ntp_down:
                # World.ntp_outage only starts or lengthens an outage; ending
                # one early is the window's own event, so clear it here.
                self.world.ntp_down_until = None
            else:
                self.world.ntp_outage(NEVER)

    # -- what the window shows ------------------------------------------------

    @property
    def powered(self):
        return self.world.powered

    @property
    def ntp_down(self):
        return not self.world.ntp_up()

    @property
    def shown(self):
        """The dial position the hands really show (the rotor's, not the
        controller's belief; they differ only if a step was lost)."""
        return self.world.rotor.shown

    @property
    def local_ms(self):
        return self.world.local_ms()

    @property
    def zone_name(self):
        z = self.world.zone
        offset = z.offset(self.world.true_ms // 1000)
        return z.dst_name if z.dst_name and offset == z.dst_offset else z.std_name

    @property
    def lead_s(self):
        """Whole seconds the hands are ahead (+) or behind (-) of true local
        time, within +-6 h on the 12-hour dial."""
        d = (self.shown - self.local_ms // 1000) % HALF_DAY_S
        return d - HALF_DAY_S if d > HALF_DAY_S // 2 else d

    @property
    def mode_name(self):
        if self.world.powered:
            return self.world.controller.mode.name
        return self.world.mode_changes[-1][1] if self.world.mode_changes else self.world.mode

    @property
    def state(self):
        return self.world.controller.state if self.world.powered else None

    @property
    def hands_off_s(self):
        """How far the real hands are from what the controller believes
        (set-hands stopped off 12), in seconds on the dial, or 0."""
        if not self.world.powered:
            return 0
        d = (self.shown - self.world.controller.p) % HALF_DAY_S
        return d - HALF_DAY_S if d > HALF_DAY_S // 2 else d

    @property
    def warning(self):
        return self.hands_off_s != 0

    @property
    def state_text(self):
        if not self.world.powered:
            return OFF_TEXT
        off = self.hands_off_s
        if off:
            return OFF_12_TEXT % (span_text(abs(off)), "ahead of what" if off > 0 else "behind what")
        c = self.world.controller
        if c.state == ctl.RUN:
            self.catching_up = False
        if c.state == ctl.RACE:
            gap = c.gap
            text = STATE_TEXT[ctl.RACE] % span_text(max(0, -self.lead_s) * gap // (1000 - gap))
        elif c.state == ctl.WAIT:
            text = STATE_TEXT[ctl.WAIT] % span_text(max(0, self.lead_s))
        else:
            text = STATE_TEXT[c.state]
        if self.catching_up and c.state in (ctl.NO_TIME, ctl.RACE, ctl.WAIT):
            return "catching up after the power cut: " + text
        return text

    @property
    def description(self):
        return DESCRIPTIONS.get(self.mode_name, "")

    def since_sync_s(self):
        """Seconds since the last good NTP exchange, or None."""
        w = self.world
        return (w.true_ms - w.synced_at[-1]) // 1000 if w.synced_at else None

    def strip(self):
        """This minute: the pulses made, and those the plan still holds.

        Following a plan, the minute is the controller's (its start in true
        time); otherwise the true local minute now."""
        w = self.world
        plan = w.plan_true_ms()
        if plan is not None:
            start, times, index = plan
            to_come = [t - start for t in times[index:]]
        else:
            start = w.true_ms - w.local_ms() % MINUTE_MS
            to_come = []
        done = [at - start for at, _ in self.recent if 0 < at - start <= MINUTE_MS]
        return Strip(start, w.true_ms - start, done, to_come, plan is not None)


def dial_text(p):
    """A dial position as the hands show it: 12:00:05 for 5."""
    return "%d:%02d:%02d" % ((p // 3600) or 12, p // 60 % 60, p % 60)


def local_zone():
    """This computer's zone as a POSIX TZ string: $TZ (a zone name or a
    rule), else the zone /etc/localtime links to, else that file's footer
    (TZif v2+), else the current fixed offset."""
    from tools.zones import resolve

    candidates = [os.environ.get("TZ", "").lstrip(":")]
    try:
        target = os.path.realpath("/etc/localtime")
        if "/zoneinfo/" in target:
            candidates.append(target.split("/zoneinfo/", 1)[1])
    except OSError:
        pass
    try:
        with open("/etc/localtime", "rb") as f:
            candidates.append(f.read().rstrip(b"\n").rsplit(b"\n", 1)[-1].decode("ascii"))
    except (OSError, UnicodeDecodeError):
        pass
    for text in candidates:
        try:
            return resolve(text)
        except (ValueError, IndexError):
            pass
    east = time.localtime().tm_gmtoff
    return "LCL%s%d:%02d" % ("-" if east > 0 else "+", abs(east) // 3600, abs(east) // 60 % 60)
