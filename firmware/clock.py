"""The running clock: the asyncio shell around the core.

firmware/boot.py builds it (config and zone first, then the board, then
this) and firmware/main.py starts it. `Clock(cfg, hands, board, zone)`
builds the store, the time base and the controller over them, and `main()`
runs them under asyncio, each task supervised (`supervise()`: one that
raises is logged and started again):

- the clock loop: ends pulses, runs the controller when it asked to run,
  polls the button, blinks the LED, feeds the watchdog, and collects
  garbage only in long quiet gaps; it sleeps until the next of those;
- the NTP task: asks servers as firmware/sntp.py's Policy says, one
  non-blocking query at a time, and feeds the time base; a step or the
  first time makes the controller re-plan;
- the Wi-Fi task (boards only): connects and reconnects with backoff.

Pulses never wait for the network: every network step returns to the loop
within a millisecond or so. Servers given by name are looked up by
firmware/names.py (loaded only for one) with a DNS query of our own
(firmware/dns.py), not getaddrinfo, which blocks; only while the hands
wait for a first time and no resolver is known does getaddrinfo run.
The first time needs two replies that agree (ask_burst).
"""

import asyncio  # MicroPython 1.22 or newer (hardware/README.md): no uasyncio

from firmware import sntp
from firmware.controller import Controller
from firmware.schedule import parse_schedule
from firmware.states import SET_RUN, STATE_NAMES
from firmware.store import FileStore
from firmware.ticks import ticks_add, ticks_diff, ticks_ms
from firmware.timebase import FIRST, STEP, SUSPECT, TimeBase
from firmware.main import load_module, log, release
from firmware.wall import Wall
from hardware.button import DOUBLE_PRESS, LONG_PRESS, PRESS, Button

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x

_BUTTON_POLL_MS = const(10)  # the button's debounce polls; the loop sleeps no longer
# Before the first sync the SNTP client still needs a clock for its own
# timestamps and to tell the NTP era: any time after the build will do.
_BUILD_UTC_MS = const(1767225600000)  # 2026-01-01
_STEP_MS = const(100)  # the time base steps from here; the controller re-plans
_NO_TIME_CAP_MS = const(60000)  # NTP retries before the first sync: at most a minute apart
# The problem pattern while the store fails: longer than its longest wait
# between tries (512 saves), so it lasts as long as the fault.
_STORE_SHOW_MS = const(1200000)
_SETTINGS_RETRY_MS = const(60000)  # a mode that could not be saved: tried again this often
_SETTINGS_QUIET_MS = const(200)  # and only with no pulse due this soon
# A task that fails: started again (firmware/clock.py, supervise()).
_HEALTHY_MS = const(60000)  # a task that ran this long before failing starts its count again
_CLOCK_FAILURES = const(5)  # failures of the clock loop in a row, then a reset
_TASK_BACKOFF_MAX_MS = const(300000)
_TASK_SHOW_MS = const(600000)  # the problem pattern after a task failed
_PULSE_END_MS = const(250)  # longer than any pulse (pulse_ms is at most 200)
_RUNNING_MS = const(60000)  # a boot that ran this long did not fail (firmware/main.py)
# The first time (ask_burst): replies asked this far apart, until two agree.
_BURST = const(4)
_BURST_GAP_MS = const(1000)
_FIRST_DELAY_MS = const(1000)  # a longer round trip says the reply was read late
_AGREE_SLACK_MS = const(10)  # ms rounding of the two replies' times


def agree(a, b):
    """Whether two samples can both be right: their times for the same tick
    differ by no more than half their round trips allow."""
    gap = (a.utc_ms() - b.utc_ms()) - ticks_diff(a.rx_ticks, b.rx_ticks)
    if gap < 0:
        gap = -gap
    return gap <= (a.delay_ms + b.delay_ms) // 2 + _AGREE_SLACK_MS


class Clock:
    """The running clock: board, store, time pieces and controller."""

    def __init__(self, cfg, hands, board, zone):
        """`hands`: what the hands show at first boot, in seconds past 12;
        `board`: hardware/boards.py's build(cfg); `zone`: firmware.tz's
        Zone(cfg["tz"])."""
        self.cfg = cfg
        self.board = board
        self.store = FileStore(self.board.store_dir)
        self.boot_ticks = ticks_ms()
        self.up_ticks = self.boot_ticks  # uptime in whole minutes since boot, and
        self.up_minutes = 0  # the ticks of the last: ticks alone wrap after 6 days
        self.tz = cfg["tz"]  # the POSIX rule in effect (deploy made a name one),
        self.zone_name = None  # and its IANA name once one is picked on the page
        self.timebase = TimeBase(ticks_diff, ticks_add, step_ms=_STEP_MS)
        self.zone = zone
        self.button = Button()
        self.ctl = Controller(
            Wall(self.timebase, self.zone),
            self.board.motor,
            self.store,
            ticks_diff,
            ticks_add,
            cycle=cfg["modes"],
            mode=cfg["mode"],
            min_gap_ms=cfg["min_gap_ms"],
            seed=cfg["seed"],
            hands=hands,
            led=self.board.led,
            schedule=parse_schedule(cfg.get("schedule") or []),
        )
        self.store_failures = 0  # the store's count when last looked at
        self.store_failing = False
        self.settings_retry = ticks_ms()
        self.running = None
        self.web_server = None  # firmware/webserver.py's, once the page runs
        self.resolver = None  # firmware/names.py's, for servers given by name
        if self.ctl.lost:
            log("store: the saved position cannot be read (%s); the hands stay still: set them (long press)" % self.store.position_path)
        self.resume_settings()
        self.wake = self.ctl.start(ticks_ms())
        if self.store.unreadable is not None:
            log("store: %s cannot be read (%s); the mode is config.json's until one is picked" % (self.store.settings_path, self.store.unreadable))
            self.board.led.problem(ticks_ms())
        self.state = None
        self.mode = None
        self.note()

    def resume_settings(self):
        """The zone and schedule picked on the page (settings.json) win over
        config.json's; one that no longer parses is logged and left."""
        saved = self.store.settings
        try:
            if saved.get("schedule") is not None:
                self.ctl.schedule = parse_schedule(saved["schedule"])
        except Exception as e:
            log("store: %s: the saved schedule is not usable (%s); config.json's instead" % (self.store.settings_path, e))
        rule = saved.get("tz")
        try:
            if rule == self.tz:
                self.zone_name = saved.get("zone")
            elif rule is not None:
                from firmware.tz import Zone

                self.set_zone(Zone(rule), rule, saved.get("zone"), None)
                release("firmware.tzparse")  # as boot does: needed again only for another zone
        except Exception as e:
            log("store: %s: the saved zone is not usable (%s); config.json's instead" % (self.store.settings_path, e))

    def set_zone(self, zone, rule, name, now):
        """Local time from now on by `zone` (a firmware.tz Zone of POSIX
        `rule`, called `name` if known); re-plans unless `now` is None."""
        self.zone = zone
        self.ctl.wall.zone = zone
        self.tz = rule
        self.zone_name = name
        if now is not None:
            self.wake = self.ctl.resync(now)

    def uptime_s(self, now):
        return self.up_minutes * 60 + ticks_diff(now, self.up_ticks) // 1000

    def check_store(self, now):
        """A log line and the problem pattern when the store starts or stops
        failing (it keeps the position in RAM and retries by itself)."""
        store = self.store
        if store.failures != self.store_failures:
            if not self.store_failing:
                log("store: cannot write (%s); the position is kept in RAM, trying again" % store.failing)
            self.store_failing = True
            self.store_failures = store.failures
            self.board.led.problem(now, _STORE_SHOW_MS)  # renewed at each failed try
        elif self.store_failing and store.failing is None:
            self.store_failing = False
            log("store: writing again")
            self.board.led.problem(now, 0)
        # A mode the flash did not take: tried again once a minute, between
        # pulses (a write to flash can take tens of ms), never from a pulse.
        if (store.pending_mode is not None and ticks_diff(now, self.settings_retry) >= 0
                and not self.board.motor.busy and ticks_diff(self.wake, now) > _SETTINGS_QUIET_MS):
            self.settings_retry = ticks_add(now, _SETTINGS_RETRY_MS)
            store.save_settings(store.pending_mode)

    def note(self):
        """One log line when the state or the mode changes."""
        ctl = self.ctl
        if ctl.unloaded is not None:
            log("clock: mode %s could not be loaded; %s plays, tried again at the next minute" % (ctl.unloaded, ctl.mode.name))
            ctl.unloaded = None
        if ctl.state != self.state or ctl.mode.name != self.mode:
            self.state = ctl.state
            self.mode = ctl.mode.name
            p = ctl.p
            log("clock: %s, mode %s, hands %d:%02d:%02d" % (STATE_NAMES[ctl.state], ctl.mode.name, p // 3600 or 12, p // 60 % 60, p % 60))

    def utc_ms(self):
        """Our own idea of UTC for the SNTP timestamps. Before the first
        sync it still runs (from the build date), so the first exchange
        measures its round trip and corrects for it like any other."""
        now = ticks_ms()
        utc = self.timebase.utc_ms(now)
        return _BUILD_UTC_MS + ticks_diff(now, self.boot_ticks) if utc is None else utc

    # -- the button ----------------------------------------------------------

    def on_button(self, now):
        ctl = self.ctl
        # From the state at each poll: set-hands also ends by itself.
        self.button.setting_hands(ctl.state >= SET_RUN)
        event = self.button.poll(now, self.board.button.level())
        if event is None:
            return
        if event == PRESS:
            self.wake = ctl.press(now)
        elif event == LONG_PRESS:
            self.wake = ctl.long_press(now)
        elif event == DOUBLE_PRESS:
            self.wake = ctl.double_press(now)
        log("button: %s" % event)
        self.note()

    # -- the loops -----------------------------------------------------------

    async def run_clock(self):
        ctl = self.ctl
        motor = self.board.motor
        led = self.board.led
        dog = self.board.watchdog
        while True:
            now = ticks_ms()
            motor.poll(now)
            if ticks_diff(now, self.wake) >= 0:
                self.wake = ctl.run(now)
                if ctl.state != self.state:
                    self.note()
            self.on_button(now)
            self.check_store(now)
            if ticks_diff(now, self.up_ticks) >= 60000:
                self.up_ticks = ticks_add(self.up_ticks, 60000)
                self.up_minutes += 1
            if self.running is not None and ticks_diff(now, self.boot_ticks) >= _RUNNING_MS:
                running, self.running = self.running, None
                running()
            led.poll(now)
            if dog is not None:
                dog.feed()
            # Sleep until the next thing to do: the controller's wake, the
            # end of a running pulse, or the next button poll.
            nxt = ticks_add(now, _BUTTON_POLL_MS)
            if ticks_diff(self.wake, nxt) < 0:
                nxt = self.wake
            if motor.busy:
                if ticks_diff(motor.end, nxt) < 0:
                    nxt = motor.end
            else:
                motor.idle(now, ctl.due)
            wait = ticks_diff(nxt, ticks_ms())
            if wait > 0:
                await asyncio.sleep_ms(wait)
            else:
                await asyncio.sleep_ms(0)

    def new_policy(self):
        policy = sntp.Policy(self.cfg["ntp"], ticks_ms())
        # Until the first time is known the hands stand still: keep asking
        # at least every minute instead of backing off to 17.
        policy.cap_ms = _NO_TIME_CAP_MS
        return policy

    async def run_ntp(self):
        policy = self.new_policy()
        good = 0
        while True:
            wait = policy.wait_ms(ticks_ms())
            if wait is None:
                log("ntp: every server refused us; asking again in an hour")
                await asyncio.sleep_ms(3600000)
                policy = self.new_policy()
                continue
            if wait > 0:
                await asyncio.sleep_ms(wait if wait < 60000 else 60000)
                continue
            if self.board.wifi is not None and not self.board.wifi.connected():
                # No link: not the servers' fault, so no backoff; ask as
                # soon as Wi-Fi is back.
                await asyncio.sleep_ms(1000)
                continue
            first = not self.timebase.synced
            for name in policy.pick(ticks_ms()):
                result = await (self.ask_burst(name) if first else self.ask(name))
                policy.report(name, ticks_ms(), result)
            chosen = policy.finish(ticks_ms(), good >= 20)
            if chosen is None:
                continue
            outcome = self.timebase.add_sample(chosen.rx_ticks, chosen.utc_ms(), chosen.delay_ms)
            good += 1
            policy.cap_ms = sntp.Policy.cap_ms  # the time is known: back off as RFC 4330 asks
            if outcome == FIRST:
                log("ntp: time from %s (%d ms round trip)" % (chosen.server, chosen.delay_ms))
                self.wake = self.ctl.resync(ticks_ms())
                self.note()
            elif outcome == STEP:
                log("ntp: %s stepped the time by %d ms" % (chosen.server, chosen.offset_ms))
                self.wake = self.ctl.resync(ticks_ms())
                self.note()
            elif outcome == SUSPECT:
                log("ntp: %s disagrees by %d ms; waiting for a second word" % (chosen.server, chosen.offset_ms))

    async def ask(self, name):
        """One query to `name`: a Sample, or the SntpError that refused it.
        Nothing here blocks, so it runs while the hands race too."""
        try:
            host, port = sntp.split_host_port(name)
            if sntp.is_ipv4(host):
                addr = sntp.socket_address(host, port)
            else:
                # Only for a name: a clock given addresses never loads it.
                addr = await load_module("firmware.names").address(self, name)
            sample = await sntp.query_async(addr, clock=self.utc_ms, server=name)
            if self.resolver is not None:
                self.resolver.succeeded(name)
            return sample
        except sntp.SntpError as e:
            if self.resolver is not None:
                self.resolver.failed(name)
            if not e.said:
                log("ntp: %s: %s" % (name, e.reason))
            return e

    async def ask_burst(self, name):
        """Before the first time: up to _BURST queries to `name`,
        _BURST_GAP_MS apart, until two agree; the one of them with the
        shorter round trip. One reply alone is not trusted (read late, after
        a stall, it is wrong by half the stall), nor one whose round trip
        is over _FIRST_DELAY_MS."""
        samples = []
        for i in range(_BURST):
            if i:
                await asyncio.sleep_ms(_BURST_GAP_MS)
            result = await self.ask(name)
            if not isinstance(result, sntp.Sample):
                return result
            if result.delay_ms > _FIRST_DELAY_MS:
                log("ntp: %s: %d ms round trip is too long to take the time from" % (name, result.delay_ms))
                continue
            for other in samples:
                if agree(result, other):
                    return result if result.delay_us <= other.delay_us else other
            samples.append(result)
        return sntp.SntpError("no two of %d replies from %s agree" % (_BURST, name))

    async def run_wifi(self):
        wifi = self.board.wifi
        while True:
            again = wifi.poll(ticks_ms())  # the ticks to come back, or None
            wait = 60000 if again is None else ticks_diff(again, ticks_ms())
            await asyncio.sleep_ms(wait if wait > 0 else 0)

    def service(self, name):
        """The task of the phone page ("web": firmware/webserver.py) or of
        MQTT ("mqtt": firmware/mqttlink.py), each loaded only when
        configured: its module's run(clock, config section), for good. The
        module is named at run time (firmware.main.load_module), so a clock
        without them never interns their names. A module that is not on the
        board is said once: starting it again would not bring it."""

        async def body():
            try:
                run = load_module("firmware.webserver" if name == "web" else "firmware.mqttlink").run
            except ImportError as e:
                log("%s: not started: %s (deploy again)" % (name, e))
                return
            await run(self, self.cfg[name])

        return body

    def start(self, problems=(), running=None):
        """Run until the process ends; `problems` are the config's, shown
        on the LED for whoever just plugged the board in (the log has them);
        `running()` is called once the clock has run for _RUNNING_MS."""
        self.running = running
        if problems:
            self.board.led.problem(ticks_ms())
        log("clock: board %s, zone %s, ntp %s" % (self.board.name, self.tz, ", ".join(self.cfg["ntp"])))
        if not self.cfg.get("web") and not any(p.startswith("web") for p in problems):
            log("web: no page (config.json has no \"web\" section with a password)")  # a bad one: the config said why
        try:
            asyncio.run(self.main())
        finally:
            self.board.motor.stop()

    async def main(self):
        tasks = [asyncio.create_task(self.supervise("clock", self.run_clock)),
                 asyncio.create_task(self.supervise("ntp", self.run_ntp))]
        if self.board.wifi is not None:
            tasks.append(asyncio.create_task(self.supervise("wifi", self.run_wifi)))
        for name in ("web", "mqtt"):
            if self.cfg.get(name):
                tasks.append(asyncio.create_task(self.supervise(name, self.service(name))))
        for task in tasks:  # they run for good; not gather(), which would load asyncio.funcs for this alone
            await task

    async def supervise(self, name, body):
        """Run the task `body()` for good. One that raises (a bug, a
        MemoryError, an OSError no one caught) is logged and started again:
        the clock loop after 0.1 s, a pulse it had begun run out and both
        coil pins low meanwhile (and after _CLOCK_FAILURES failures, each
        soon after its start, the board resets: the store holds the
        position); the others after a backoff from 1 s to 5 minutes, while
        the hands go on. The handling itself allocates little, and a
        MemoryError in it costs only the log line."""
        failures = 0
        while True:
            started = ticks_ms()
            try:
                await body()
                return
            except Exception as e:
                now = ticks_ms()
                failures = failures + 1 if ticks_diff(now, started) < _HEALTHY_MS else 1
                if name == "clock":
                    wait = 100
                    await self.end_pulse()
                    if failures >= _CLOCK_FAILURES:
                        self.reset_after(failures, e)
                else:
                    wait = 1000 << (failures - 1) if failures < 10 else _TASK_BACKOFF_MAX_MS
                    if wait > _TASK_BACKOFF_MAX_MS:
                        wait = _TASK_BACKOFF_MAX_MS
                try:
                    self.board.led.problem(now, _TASK_SHOW_MS)
                    log("clock: the %s task failed (%s: %s); again in %d ms" % (name, type(e).__name__, e, wait))
                except MemoryError:
                    pass
                await asyncio.sleep_ms(wait)

    async def end_pulse(self):
        """Both coil pins low, but a pulse that has begun runs its length
        first: cut short it might not turn the rotor, whose step the store
        already counts."""
        motor = self.board.motor
        deadline = ticks_add(ticks_ms(), _PULSE_END_MS)
        try:
            while motor.busy and ticks_diff(deadline, ticks_ms()) > 0:
                motor.poll(ticks_ms())
                await asyncio.sleep_ms(1)
        except Exception:
            pass  # the motor itself failing: stop it now
        try:
            motor.stop()
        except Exception:
            pass

    def reset_after(self, failures, e):
        try:
            log("clock: the clock loop failed %d times (%s: %s); resetting" % (failures, type(e).__name__, e))
        except MemoryError:
            pass
        self.store.close()
        self.board.reset()
