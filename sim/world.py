"""A virtual world for the real controller: true time, a drifting oscillator
whose ticks wrap at 2**30 as a board's do, an NTP server that can fail, a
store that survives power cuts, and a Lavet rotor that steps only when the
pulse polarity alternates.

Everything is integer milliseconds of true UTC, and time jumps from event to
event, so a day runs in about a second. The scenario runner and the tests
use this; the simulator's window will too. No pygame here.
"""

import bisect

import modes
from firmware.controller import Controller
from firmware.store import MemoryStore
from firmware.ticks import PERIOD, Wrapping
from firmware.timebase import TimeBase
from firmware.tz import Zone
from firmware.wall import HALF_DAY_S, Wall

PPM = 1000000
_BOARD = Wrapping(PERIOD)  # a board's ticks_ms wraps at 2**30 (12.4 days)
ticks_diff = _BOARD.ticks_diff
ticks_add = _BOARD.ticks_add


def parse_hms(text):
    """'HH:MM:SS' as a dial position (ValueError names the problem)."""
    parts = text.split(":") if isinstance(text, str) else []
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValueError("hands must be 'HH:MM:SS', got %r" % (text,))
    h, m, s = (int(p) for p in parts)
    if not (h < 24 and m < 60 and s < 60):
        raise ValueError("hands out of range: %r" % (text,))
    return (h * 3600 + m * 60 + s) % HALF_DAY_S


class Rotor:
    """The movement: steps only on a pulse of the other polarity than the last."""

    def __init__(self, shown, last_polarity):
        self.shown = shown  # the dial position the hands really show
        self.last_polarity = last_polarity

    def pulse(self, polarity):
        if polarity != self.last_polarity:
            self.shown = (self.shown + 1) % HALF_DAY_S
        self.last_polarity = polarity


class Motor:
    """The virtual driver: hands each pulse to the rotor and the world's log."""

    def __init__(self, world):
        self.world = world

    def pulse(self, polarity):
        self.world.on_pulse(polarity)


class World:
    """The clock on a wall, in virtual time. Drive it with `run_until`."""

    def __init__(
        self,
        start_utc_ms,
        tz="UTC0",
        mode="normal",
        seed=1,
        hands=None,
        oscillator_ppm=0,
        min_gap_ms=125,
        pulse_ms=31,
        cycle=modes.NAMES,
        ntp_delay_ms=20,
        schedule=(),
        poll_ms=64000,
        ticks_origin=PERIOD - 5 * 60 * 1000,
    ):
        self.true_ms = start_utc_ms
        self.zone = Zone(tz)
        self.mode = mode
        self.seed = seed
        self.ppm = oscillator_ppm
        self.min_gap_ms = min_gap_ms
        self.pulse_ms = pulse_ms
        self.cycle = cycle
        self.schedule = schedule
        self.ntp_delay_ms = ntp_delay_ms
        self.poll_ms = poll_ms
        self.store = MemoryStore()
        self.slew_ppm = 500  # how fast the time base works off a small error
        self.pulses = []  # [true utc ms, polarity, p after]
        self.mode_changes = []  # [true utc ms, name]
        self.resets = []  # [index into pulses, p]: p set without a pulse (set-hands)
        self.ntp_down_until = None
        self.synced_at = []  # true ms of every successful SNTP exchange
        self.powered = False
        self.boots = 0
        self._first_origin = ticks_origin
        now_local = start_utc_ms + self.zone.offset(start_utc_ms // 1000) * 1000
        if hands is None:
            self.hands = (now_local // 1000) % HALF_DAY_S
        else:
            self.hands = parse_hms(hands)
        # Before the first boot the rotor rests after a pulse of the polarity
        # that precedes position `hands`, as if the clock had been ticking.
        self.rotor = Rotor(self.hands, (self.hands - 1) % 2)
        self.power_on()

    # -- the board ----------------------------------------------------------

    def ticks(self):
        """The board's ticks_ms now: the drifting oscillator, wrapped."""
        elapsed = self.true_ms - self._boot_ms
        scaled = elapsed * (PPM + self.ppm) // PPM
        return (self._ticks_origin + scaled) % PERIOD

    def true_ms_at(self, ticks):
        """The first true ms at which the board's ticks reach `ticks`."""
        d = ticks_diff(ticks, self.ticks())
        if d <= 0:
            return self.true_ms
        # Ceiling of d / (1 + ppm), then nudge for the floor in ticks().
        t = self.true_ms + -((-d * PPM) // (PPM + self.ppm))
        while ticks_diff(ticks, self._ticks_at_true(t)) > 0:
            t += 1
        return t

    def _ticks_at_true(self, true_ms):
        saved = self.true_ms
        self.true_ms = true_ms
        value = self.ticks()
        self.true_ms = saved
        return value

    def power_on(self):
        self.powered = True
        self.boots += 1
        self._boot_ms = self.true_ms
        # Each boot the counter starts somewhere else; the first boot starts
        # five minutes before the wrap, so every run crosses it early.
        self._ticks_origin = (self._first_origin + (self.boots - 1) * 387420489) % PERIOD
        self.timebase = TimeBase(ticks_diff, ticks_add, max_slew_ppm=self.slew_ppm)
        self.controller = Controller(
            Wall(self.timebase, self.zone),
            Motor(self),
            self.store,
            ticks_diff,
            ticks_add,
            cycle=self.cycle,
            mode=self.mode,
            min_gap_ms=self.min_gap_ms,
            seed=self.seed,
            hands=self.hands,
            schedule=self.schedule,
        )
        self.wake = self.controller.start(self.ticks())
        self._note_mode()
        self.next_poll = self.true_ms  # ask NTP at once
        self.failures = 0

    def power_off(self):
        self.powered = False
        self.controller = None

    # -- what happens -------------------------------------------------------

    def on_pulse(self, polarity):
        self.rotor.pulse(polarity)
        # The store already holds the position this pulse brings.
        self.pulses.append([self.true_ms, polarity, self.store.p])

    def ntp_up(self):
        return self.ntp_down_until is None or self.true_ms >= self.ntp_down_until

    def sync(self):
        """One SNTP exchange, folded into the time base."""
        if not self.ntp_up():
            self.failures += 1
            # As firmware/sntp.py's Policy: 15 s, 30 s, ... up to 1024 s.
            self.next_poll = self.true_ms + min(15000 << min(self.failures - 1, 7), 1024000)
            return
        self.failures = 0
        self.synced_at.append(self.true_ms)
        half = self.ntp_delay_ms // 2
        sample_ticks = self._ticks_at_true(self.true_ms + half)
        result = self.timebase.add_sample(sample_ticks, self.true_ms + half, self.ntp_delay_ms)
        self.next_poll = self.true_ms + self.poll_ms
        if result in ("first", "step"):
            self.wake = self.controller.resync(self.ticks())
            self._note_mode()

    def _note_mode(self):
        if self.controller.choice == "shuffle" and self.controller.minute is None:
            return  # no time yet, so no hour to draw a mode for
        name = self.controller.mode.name
        if not self.mode_changes or self.mode_changes[-1][1] != name:
            self.mode_changes.append([self.true_ms, name])

    def ntp_outage(self, until_ms):
        self.ntp_down_until = until_ms

    def step(self, offset_ms):
        """A glitch: the board's time base jumps by `offset_ms` against true
        time; the board does not know until a sync finds and mends it."""
        if self.powered:
            self.timebase.glitch(offset_ms)

    def in_holdover_at(self, true_ms, after_ms):
        """Whether, at `true_ms`, the last sync is at least `after_ms` old."""
        i = bisect.bisect_right(self.synced_at, true_ms)
        return i > 0 and true_ms - self.synced_at[i - 1] >= after_ms

    def press(self, kind="press"):
        if not self.powered:
            return
        p_before = self.controller.p
        now = self.ticks()
        if kind == "press":
            self.wake = self.controller.press(now)
        elif kind == "long_press":
            self.wake = self.controller.long_press(now)
        else:
            self.wake = self.controller.double_press(now)
        if self.controller.p != p_before:  # a press never pulses, so this is a reset
            # Set-hands is done: the user turned the knob so the hour and
            # minute hands show 12:00; the second hand stays where it is.
            self.rotor.shown %= 60
            self.resets.append([len(self.pulses), self.controller.p])
        self._note_mode()

    def run_until(self, end_ms, events=()):
        """Advance true time to `end_ms`, running the controller, NTP and the
        timed `events` ((true ms, callable) in time order) on the way."""
        events = list(events)
        i = 0
        while True:
            candidates = []
            if i < len(events):
                candidates.append(events[i][0])
            if self.powered:
                candidates.append(self.true_ms_at(self.wake))
                candidates.append(self.next_poll)
            # Whatever is due at end_ms itself still happens.
            if not candidates or min(candidates) > end_ms:
                self.true_ms = max(self.true_ms, end_ms)
                return
            self.true_ms = max(min(candidates), self.true_ms)
            if i < len(events) and events[i][0] <= self.true_ms:
                events[i][1]()
                i += 1
            elif self.true_ms >= self.next_poll:
                self.sync()
            else:
                self.wake = self.controller.run(self.ticks())
                self._note_mode()
