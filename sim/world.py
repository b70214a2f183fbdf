"""A virtual world for the real controller: true time, a drifting oscillator
whose ticks wrap at 2**30 as a board's do, an NTP server that can fail, a
store that survives power cuts, and a Lavet rotor that steps only when the
pulse polarity alternates.

Everything is integer milliseconds of true UTC, and time jumps from event to
event, so a day runs in about a third of a second. The scenario runner, the tests and
the simulator's window (sim/preview.py) use this. No pygame here.
"""

import bisect
import threading
import time

import modes
from firmware.config import parse_hands
from firmware.controller import RUN, Controller
from firmware.states import SET_RUN
from firmware.memstore import MemoryStore
from firmware.wrapping import PERIOD, Wrapping
from firmware.timebase import TimeBase
from firmware.tz import Zone
from firmware.wall import HALF_DAY_S, Wall

PPB = 1000000000  # the oscillator's error is kept in parts per billion: a fractional ppm stays integer
HISTORY_MS = 3600000  # how long a clock "in sync at start" has been running and asking NTP
_BOARD = Wrapping(PERIOD)  # a board's ticks_ms wraps at 2**30 (12.4 days)
ticks_diff = _BOARD.ticks_diff
ticks_add = _BOARD.ticks_add


def parse_hms(text):
    """'HH:MM:SS' as a dial position, exactly as the firmware's config reads
    it (ValueError names the problem)."""
    return parse_hands(text)


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
    """The virtual driver: hands each pulse to the rotor and the world's log.

    `polarity` is the controller's, p % 2; `swap` (learnt by set-hands) says
    the coil's pins trade roles, so the rotor sees the other polarity."""

    def __init__(self, world):
        self.world = world
        self.swap = 0

    def pulse(self, polarity):
        self.world.on_pulse(polarity, polarity ^ self.swap)


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
        store=None,
    ):
        self.true_ms = start_utc_ms
        self.zone = Zone(tz)
        self.mode = mode
        self.seed = seed
        self.ppm = oscillator_ppm
        self._ppb = int(round(oscillator_ppm * 1000))
        self.min_gap_ms = min_gap_ms
        self.pulse_ms = pulse_ms
        self.cycle = cycle
        self.schedule = schedule
        self.ntp_delay_ms = ntp_delay_ms
        self.poll_ms = poll_ms
        self.store = MemoryStore() if store is None else store  # the flash: it outlives a power cut
        self.slew_ppm = 500  # how fast the time base works off a small error
        self.pulses = []  # [true utc ms, polarity, p after]
        self.mode_changes = []  # [true utc ms, name]
        self.resets = []  # [index into pulses, p, true ms]: p set without a pulse (set-hands)
        self.ntp_down_until = None
        self.synced_at = []  # true ms of every successful SNTP exchange
        self.powered = False
        self.off_until = 0
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
        if hands is None:
            self._learn_history()

    def _learn_history(self):
        """Hands "in sync at start" mean a clock that was running and in
        sync: it has asked NTP every poll for the last hour, so it knows the
        time and its oscillator's rate before the first event, and an outage
        from the very start is holdover, not a clock that never learnt the
        time. Samples as sync() makes them, at true times before the start."""
        half = self.ntp_delay_ms // 2
        for back in range(HISTORY_MS, 0, -self.poll_ms):
            asked = self.true_ms - back
            self.synced_at.append(asked)
            self.timebase.add_sample(self._ticks_at_true(asked + half), asked + half, self.ntp_delay_ms)
        self.good_since_boot = 20  # learnt: polls at poll_ms from here on
        self.wake = self.controller.resync(self.ticks())
        self._note_mode()

    # -- the board ----------------------------------------------------------

    def ticks(self):
        """The board's ticks_ms now: the drifting oscillator, wrapped."""
        elapsed = self.true_ms - self._boot_ms
        scaled = elapsed * (PPB + self._ppb) // PPB
        return (self._ticks_origin + scaled) % PERIOD

    def true_ms_at(self, ticks):
        """The first true ms at which the board's ticks reach `ticks`."""
        d = ticks_diff(ticks, self.ticks())
        if d <= 0:
            return self.true_ms
        # Ceiling of d / (1 + ppm), then nudge for the floor in ticks().
        t = self.true_ms + -((-d * PPB) // (PPB + self._ppb))
        while ticks_diff(ticks, self._ticks_at_true(t)) > 0:
            t += 1
        return t

    def true_ms_of(self, ticks):
        """The true ms at which the board's counter shows (or showed) `ticks`,
        within half a wrap of now; to the ms, for display. Read-only."""
        d = ticks_diff(ticks, self.ticks())
        return self.true_ms + (d * PPB + (PPB + self._ppb) // 2) // (PPB + self._ppb)

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
        # Steps from 100 ms: the controller mends those within a minute by
        # re-planning, where slewing 300 ms at 500 ppm would take 10.
        self.timebase = TimeBase(ticks_diff, ticks_add, step_ms=100, max_slew_ppm=self.slew_ppm)
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
        self.good_since_boot = 0

    def power_off(self):
        self.powered = False
        self.controller = None

    # -- read-only views, for the simulator's window --------------------------

    def local_ms(self):
        """True local time now, in ms: true UTC plus the zone's offset."""
        return self.true_ms + self.zone.offset(self.true_ms // 1000) * 1000

    def plan_true_ms(self):
        """The controller's plan for this minute in true UTC ms: (the minute's
        start, [every planned pulse], how many of them are made), or None
        when the board is off or not following a plan (no time, race, wait,
        set-hands). Changes nothing."""
        c = self.controller
        if c is None or c.state != RUN or not c.plan:
            return None
        start = c.minute_start
        times = [self.true_ms_of(ticks_add(start, at)) for at in c.plan]
        return self.true_ms_of(start), times, c.index

    # -- what happens -------------------------------------------------------

    def on_pulse(self, polarity, physical):
        self.rotor.pulse(physical)
        # The pulse starts before the controller counts it: p is still p.
        self.pulses.append([self.true_ms, polarity, (self.controller.p + 1) % HALF_DAY_S])

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
        # Learning after a boot: every 16 s (RFC 4330 allows 15) for the
        # first 20 samples, so the rate is known within minutes, in case
        # an outage comes early; then every poll_ms.
        self.good_since_boot += 1
        self.next_poll = self.true_ms + (16000 if self.good_since_boot < 20 else self.poll_ms)
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
        """No NTP reply until `until_ms`; overlapping outages add up."""
        if self.ntp_up() or until_ms > self.ntp_down_until:
            self.ntp_down_until = until_ms

    def power_cut(self, until_ms):
        """The board is off until `until_ms`; overlapping cuts add up."""
        self.off_until = max(self.off_until, until_ms)
        if self.powered:
            self.power_off()

    def restore(self):
        """The end of a power cut: on again unless another cut still runs."""
        if not self.powered and self.true_ms >= self.off_until:
            self.power_on()

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
        if kind == "double_press" and self.controller.state >= SET_RUN:
            # As on the board: while the hands are being set every press acts
            # at once (hardware/button.py), so a quick double click is two.
            self.wake = self.controller.press(now)
            self.wake = self.controller.press(now)
        elif kind == "press":
            self.wake = self.controller.press(now)
        elif kind == "long_press":
            self.wake = self.controller.long_press(now)
        else:
            self.wake = self.controller.double_press(now)
        if self.controller.p != p_before:  # a press never pulses, so this is a reset
            # Set-hands is done: the user turned the knob so the hour and
            # minute hands show 12:00; the second hand stays where it is.
            self.rotor.shown %= 60
            self.resets.append([len(self.pulses), self.controller.p, self.true_ms])
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


# -- true time for the window -------------------------------------------------


def system_utc_ms():
    """This computer's clock, as integer UTC ms."""
    return time.time_ns() // 1000000


class NtpTime:
    """True UTC ms from an NTP server through `ntplib`: this computer's clock
    plus the offset the last good exchange measured.

    `query()` is one exchange with a short timeout (the window calls it once
    before its first frame); `start()` repeats it every `interval_s` on a
    daemon thread, so the frame loop never waits for the network. Until an
    exchange succeeds the offset is 0 (this computer's clock). `request` and
    `clock` are injected for tests (`request(host, port, timeout)` returns an
    object with `.offset` in seconds, as ntplib's response does).
    """

    def __init__(self, host, port=123, interval_s=64, timeout_s=1.0, request=None, clock=system_utc_ms):
        self.host = host
        self.port = port
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.request = request if request is not None else _ntplib_request
        self.clock = clock
        self.offset_ms = 0
        self.answers = 0  # good exchanges so far
        self.error = None  # the last failure, as text; None after a success
        self._stop = threading.Event()
        self._thread = None

    def __call__(self):
        return self.clock() + self.offset_ms

    def query(self):
        """One exchange; True if the server answered."""
        try:
            reply = self.request(self.host, self.port, self.timeout_s)
            self.offset_ms = round(reply.offset * 1000)
        except Exception as e:  # socket errors, timeouts, ntplib's NTPException
            self.error = "%s: %s" % (type(e).__name__, e)
            return False
        self.answers += 1
        self.error = None
        return True

    def start(self):
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="ntp", daemon=True)
            self._thread.start()

    def stop(self):
        self._stop.set()

    def _loop(self):
        while not self._stop.wait(self.interval_s):
            self.query()


def _ntplib_request(host, port, timeout):
    import ntplib  # only the window's --ntp needs it

    return ntplib.NTPClient().request(host, version=4, port=port, timeout=timeout)
