"""The clock controller: decides every pulse.

The core never sleeps and does no I/O of its own. It is told the time (a
ticks value) and answers with the ticks at which it next needs to run; the
asyncio shell on the board, the simulator's loop and the tests' virtual clock
all drive it the same way:

    ctl = Controller(wall, motor, store, ticks_diff, ticks_add, ...)
    wake = ctl.start(now)
    ...when ticks reach `wake` (or a button event, or a sync):
    wake = ctl.run(now)          # fires at most one pulse
    wake = ctl.press(now)        # short press: next mode
    wake = ctl.resync(now)       # the time base was set or stepped

Collaborators, injected:
- `wall.boundary(now)` -> (ticks, target) of the next local minute boundary
  and the dial position due there, or None while the time is unknown
  (firmware/wall.py);
- `motor.pulse(polarity)` starts one pulse; the driver ends it;
- `store` keeps what must survive a power cut (firmware/store.py);
- `led` (optional) shows the state and blinks mode numbers.

States. RUN: a mode's plan brings the hands to every minute exactly.
RACE: the hands are behind; they advance at the motor's limit until a mode
can take over. WAIT: the hands are ahead; they stand still until the time
catches up. NO_TIME: no time yet, so the hands stand still. SET_RUN and
SET_HOLD: the set-hands procedure (see `long_press`).

The per-pulse path (`run` when a pulse is due) compares ticks, indexes the
plan and counts: small ints only, no allocation. Plans, boundaries and
epoch-sized numbers are computed once a minute in `_decide`.
"""

import modes
from firmware.schedule import MINUTES_PER_DAY, SHUFFLE, scheduled, shuffled
from firmware.states import NO_TIME, RACE, RUN, SET_HOLD, SET_RUN, WAIT

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


HALF_DAY = const(43200)
MINUTE_MS = const(60000)


_NO_TIME_POLL_MS = const(1000)  # how often to look for the time before the first sync
# The motor's limit is in real time, but the board counts its own ms, which
# may run up to a few hundred ppm fast: one ms more between pulse starts
# covers that for any gap under a second.
_GAP_MARGIN_MS = const(1)
_SET_GAP_MS = const(500)  # the second hand's pace while the user aligns it
_SET_STEPS = const(240)  # it goes round four times at most, then holds
_SET_IDLE_MS = const(900000)  # 15 min untouched: the user walked away
_LOST_SHOW_MS = const(5000)  # the problem pattern, renewed each no-time poll


class Controller:
    def __init__(
        self,
        wall,
        motor,
        store,
        ticks_diff,
        ticks_add,
        cycle=None,
        mode=None,
        min_gap_ms=125,
        seed=1,
        hands=0,
        led=None,
        schedule=(),
    ):
        self.wall = wall
        self.motor = motor
        self.store = store
        self.diff = ticks_diff
        self.add = ticks_add
        self.led = led
        # Between pulse starts, in board ms; never over 1000, or 60 pulses
        # would no longer fit in a minute.
        self.gap = min_gap_ms + _GAP_MARGIN_MS if min_gap_ms < 1000 else 1000
        self.cycle = tuple(cycle) if cycle else modes.NAMES
        self.seed = seed
        self.rng = modes.Rng(seed)
        self.schedule = schedule
        self.override = False  # a press inside a schedule window rules it
        self.window = None  # the scheduled mode of the last minute planned
        self.minute = None  # local minutes since the epoch of that minute
        saved = store.load()
        # A record that is there but unreadable: where the hands are is not
        # known, so they stand still until set-hands tells (never guess).
        self.lost = saved is None and store.damaged
        if saved is None:
            # First boot: the hands show what the config says; keep it now,
            # so a power cut before the first pulse loses nothing.
            self.p = hands % HALF_DAY
            self.swap = 0
            name = mode if mode in self.cycle else self.cycle[0]
            if not self.lost:  # a damaged record, and the mode saved with it, stay until set-hands
                store.reset(self.p, self.swap)
                store.save_settings(name)
        else:
            self.p, name, self.swap = saved
            if name not in self.cycle:
                name = mode if mode in self.cycle else self.cycle[0]
        motor.swap = self.swap  # the coil's wiring as set-hands learnt it
        self.choice = name  # the button's choice; may be "shuffle"
        self.mode = modes.get(name if name != SHUFFLE else modes.NAMES[0])
        self.state = NO_TIME
        self.plan = None
        self.index = 0
        self.minute_start = 0  # ticks at which the current plan's minute began
        self.boundary = 0  # ticks of the next minute boundary
        self.target = 0  # the dial position due at that boundary
        self.last_pulse = None  # ticks of the last pulse start
        self.due = None  # ticks of the next pulse, or None
        self.wake = 0
        self.pulses = 0  # since start, for reports and tests
        self._set_steps = 0
        self.unloaded = None  # a mode that could not be loaded, and why; None when none

    # -- the loop's calls ----------------------------------------------------

    def start(self, now):
        # Count the boot as a pulse for spacing: a reset right after a pulse
        # must not let the next one follow too closely.
        self.last_pulse = now
        return self._decide(now)

    def run(self, now):
        """Do what is due at `now` (at most one pulse); return the next wake."""
        due = self.due
        if due is not None and self.diff(now, due) >= 0:
            self._pulse(now)
            state = self.state
            if state == RUN:
                self.index += 1
                if self.index < len(self.plan):
                    return self._schedule(self.add(self.minute_start, self.plan[self.index]))
                return self._decide(now)  # the :00 pulse is done: next minute
            if state == RACE:
                return self._race_on(now)
            if state == SET_RUN:
                self._set_steps += 1
                if self._set_steps < _SET_STEPS:
                    return self._schedule(self.add(now, _SET_GAP_MS))
            return self._hold(now)  # SET_HOLD: the single step is done
        if self.due is None and self.diff(now, self.wake) >= 0:
            if self.state >= SET_RUN:
                return self.double_press(now)  # set-hands left untouched: cancel
            return self._decide(now)
        return self.wake

    def resync(self, now):
        """The time was set or jumped: re-plan from where the hands are."""
        if self.state >= SET_RUN:
            return self.wake
        return self._decide(now)

    def press(self, now):
        """Short press: the next mode at once; in set-hands, stop or step."""
        if self.state == SET_RUN:
            return self._hold(now)
        if self.state == SET_HOLD:
            self.state = SET_RUN  # go round again
            self._set_steps = 0
            self._show()
            return self._schedule(now)
        names = self.cycle
        i = 0
        for j in range(len(names)):
            if names[j] == self.choice:
                i = j
        self.choice = names[(i + 1) % len(names)]
        self.store.save_settings(self.choice)
        if self.window is not None:
            self.override = True
        self._follow_choice()
        if self.led is not None:
            self.led.blink((i + 1) % len(names) + 1)
        if self.state == RUN:
            return self._decide(now)  # the rest of this minute, re-planned
        return self.wake

    def long_press(self, now):
        """The set-hands procedure.

        1. Long press: the second hand goes round at 2 steps a second.
        2. Short press: it stops. Stopped past 12? Press again: it goes
           round once more; press again to stop it, until it stands exactly
           at 12. (The shell reports presses at once while setting, without
           waiting to rule out a double press.)
        3. Turn the movement's knob until the hour and minute hands show
           exactly 12:00.
        4. Long press: done. The hands show 12:00:00, which the firmware now
           knows; it then brings them to the time by the faster way.
        15 minutes without a press cancel (so does a double press, where
        the shell can tell one apart). The hand stops by itself after four
        rounds. Cancelled, the clock keeps
        counting the steps it made and puts the hands right.
        """
        if self.state < SET_RUN:
            self._set_steps = 0
            self.state = SET_RUN
            self._show()
            return self._schedule(now)
        return self.hands_show(0, now)  # done: the hands show 12:00:00

    def hands_show(self, p, now):
        """The user says the hands show `p` (seconds past 12): the end of
        set-hands, or the page's "the hands show". The hands are brought
        to the time by the faster way from there.

        The rotor is in the state that follows the last pulse; if `p`
        differs from our count by an odd number of steps, the second hand
        sits on its shaft one step round from our numbering, so the coil's
        two pins swap roles from now on (the same as swapping the two
        wires, done in the motor driver) and the next pulse, of polarity
        p % 2, still alternates for the rotor."""
        p %= HALF_DAY
        self.swap ^= (self.p - p) % 2
        self.motor.swap = self.swap
        self.p = p
        if self.lost:
            self.lost = False
            if self.led is not None:
                self.led.problem(now, 0)  # asked and answered: the pattern ends
        self.store.reset(self.p, self.swap)  # one write: p and swap together
        self.state = NO_TIME
        self.due = None
        return self._decide(now)

    def pick(self, name, now):
        """Play mode `name` (one of the cycle) from now, as if the button
        had been pressed until it came. The next wake; None for a name not
        in the cycle."""
        if name not in self.cycle:
            return None
        if self.state >= SET_RUN:
            self.double_press(now)  # a choice from afar ends set-hands, keeping its steps
        self.choice = name
        self.store.save_settings(name)
        if self.window is not None:
            self.override = True
        self._follow_choice()
        if self.state == RUN:
            return self._decide(now)  # the rest of this minute, re-planned
        return self.wake

    def set_schedule(self, schedule, now):
        """A new schedule (parse_schedule's windows) from now on; the next wake."""
        self.schedule = schedule
        self.window = None
        self.override = False
        self._follow_choice()
        if self.state == RUN:
            return self._decide(now)
        return self.wake

    def double_press(self, now):
        """Cancel the set-hands procedure (the hands keep the steps made)."""
        if self.state >= SET_RUN:
            self.state = NO_TIME
            self.due = None
            return self._decide(now)
        return self.wake

    # -- inside --------------------------------------------------------------

    def _pulse(self, now):
        # Start the pulse on time, then record the position it brings while
        # it runs: a pulse that has begun counts as done. Only a cut in the
        # ms of that write can leave the store one behind, and then the
        # first pulse after the reboot repeats the polarity, which a rotor
        # that did step ignores (see ARCHITECTURE.md, persistence).
        p = self.p
        nxt = p + 1
        if nxt == HALF_DAY:
            nxt = 0
        self.motor.pulse(p & 1)
        self.store.save(nxt)
        self.p = nxt
        self.last_pulse = now
        self.pulses += 1

    def _schedule(self, at):
        """Next pulse at `at`, but never sooner than the motor allows."""
        last = self.last_pulse
        if last is not None:
            earliest = self.add(last, self.gap)
            if self.diff(at, earliest) < 0:
                at = earliest
        self.due = at
        self.wake = at
        return at

    def _follow_choice(self, minute=None):
        """Put the mode in effect: a schedule window's, unless a press
        overrode it, else the button's choice; `shuffle` draws per hour."""
        if minute is None:
            minute = self.minute
        else:
            self.minute = minute
        name = self.choice
        if minute is not None and self.schedule:
            window = scheduled(self.schedule, minute % MINUTES_PER_DAY)
            if window != self.window:
                self.window = window
                self.override = False  # a new window, or none: no override
            if window is not None and not self.override:
                name = window
        if name == SHUFFLE:
            name = shuffled(self.seed, minute // 60) if minute is not None else modes.NAMES[0]
        if self.mode is None or name != self.mode.name:
            # A mode's code is loaded when it is first played, and a board's
            # heap holds one mode: the old one lets go of its code before
            # the new one comes in (else both at once are the peak of a
            # switch). When the new one cannot be loaded, the old one is,
            # again (its code fitted before), and the clock keeps time; the
            # next decision, at the next minute, tries again. (Should even
            # that fail, the error goes to the clock loop's supervisor and
            # the mode stays None: the next decision loads one afresh.)
            old = name if self.mode is None else self.mode.name
            self.mode = None
            try:
                self.mode = modes.get(name)
                self.unloaded = None
            except (ImportError, MemoryError, OSError) as e:
                self.mode = modes.get(old)
                self.unloaded = "%s (%s)" % (name, type(e).__name__)  # the shell logs it

    def _hold(self, now):
        """Set-hands: the second hand stands; wait for the user."""
        self.state = SET_HOLD
        self.due = None
        self.wake = self.add(now, _SET_IDLE_MS)
        self._show()
        return self.wake

    def _show(self):
        if self.led is not None:
            self.led.show(self.state)

    def _decide(self, now):
        """Choose how to make the next minute boundary right; once a minute,
        and after a mode change, a sync or a jump."""
        found = None if self.lost else self.wall.boundary(now)
        if found is None:
            if self.lost and self.led is not None:
                self.led.problem(now, _LOST_SHOW_MS)  # renewed while it lasts
            self.state = NO_TIME
            self.due = None
            self.wake = self.add(now, _NO_TIME_POLL_MS)
            self._show()
            return self.wake
        self.boundary, self.target, local_minutes = found
        self._follow_choice(local_minutes - 1)  # the minute being planned
        left = self.diff(self.boundary, now)
        if left > MINUTE_MS:
            left = MINUTE_MS
        k = (self.target - self.p) % HALF_DAY  # pulses that make the boundary exact
        gap = self.gap
        # The plan's first pulse comes a gap after its `now`: plan from the
        # last pulse when that was less than a gap ago, so the first pulse
        # is as early as the motor allows, and not a gap later.
        since = gap
        if self.last_pulse is not None:
            since = self.diff(now, self.last_pulse)
            if since > gap:
                since = gap
        plan_now = MINUTE_MS - left - since
        if plan_now < 0:
            plan_now = 0
        if 0 < k <= 60 and k * gap <= MINUTE_MS - plan_now:
            self.state = RUN
            self.minute_start = self.add(self.boundary, -MINUTE_MS)
            self.plan = self.mode.plan(plan_now, 60 - k, self.rng, gap)
            self.index = 0
            self._show()
            return self._schedule(self.add(self.minute_start, self.plan[0]))
        if k == 0 or not self._race_is_faster(k, left):
            self.state = WAIT  # ahead: stand still, look again at the boundary
            self.due = None
            self.wake = self.boundary
            self._show()
            return self.wake
        self.state = RACE
        self._show()
        return self._schedule(now)

    def _race_is_faster(self, k, left):
        """Advance at full speed, or stand still: which is right sooner?"""
        gap = self.gap
        if gap >= 1000:
            return False  # the hand cannot outrun time
        behind_ms = k * 1000 - left  # how far the hand is behind the time now
        race_ms = behind_ms * gap // (1000 - gap)
        stand_ms = HALF_DAY * 1000 - behind_ms
        return race_ms <= stand_ms

    def _race_on(self, now):
        """After a racing pulse: hand over to the mode as soon as it can make
        the next boundary exactly; otherwise race on."""
        if self.diff(now, self.boundary) >= 0:
            return self._decide(now)  # a boundary passed: new target
        k = self.target - self.p
        if k < 0:
            k += HALF_DAY
        if k <= 60 and k * self.gap <= self.diff(self.boundary, now):
            return self._decide(now)
        return self._schedule(self.add(now, self.gap))
