"""Wi-Fi: join, notice a loss, join again with backoff; never blocking.

    wifi = Wifi(wlan, ssid, password)   # wlan: network.WLAN(STA_IF), active
    wake = wifi.poll(now)               # from the loop; one short call
    wifi.connected()                    # for the SNTP task: try only when up

A state machine over `network.WLAN`, whose `connect()` only starts the join
on ESP32 and Pico W; every `poll` makes at most one WLAN call and returns
the ticks at which it wants to be polled again. Nothing here waits, so the
clock ticks on through any outage: the hands keep the time base's
free-running estimate, and the next sync corrects it.

    DOWN --(retry time)--> JOINING --(isconnected)--> UP
      ^                      |  (failed status, or no link        |
      |                      v   within connect_timeout_ms)       |
      +------- backoff: first_backoff_ms doubling up to ----------+
               max_backoff_ms; a lost link retries after the first

Why disconnect before each connect: on an ESP32 a connect() while the
driver is still trying raises "Wifi Internal State Error". The status codes
that mean "this attempt failed" differ by port, so the board function reads
them from `network` and passes them in (`failures`).
"""

from firmware.ticks import ticks_add, ticks_diff

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


OFF = const(0)  # no ssid configured
DOWN = const(1)
JOINING = const(2)
UP = const(3)
STATE_NAMES = ("off", "down", "joining", "up")


class Wifi:
    connect_timeout_ms = 20000
    first_backoff_ms = 2000
    max_backoff_ms = 300000
    check_ms = 500  # poll period while joining
    up_check_ms = 2000  # poll period while up

    def __init__(
        self,
        wlan,
        ssid,
        password="",
        failures=(),
        log=print,
        ticks_diff=ticks_diff,
        ticks_add=ticks_add,
    ):
        self.wlan = wlan
        self.ssid = ssid
        self.password = password or ""
        self.failures = tuple(failures)
        self.log = log
        self.diff = ticks_diff
        self.add = ticks_add
        self.state = DOWN if ssid else OFF
        self.retry_at = None  # None: join at the first poll
        self.since = 0  # ticks the join started
        self.backoff = self.first_backoff_ms
        self.attempts = 0
        self.drops = 0  # links lost after being up

    def connected(self):
        return self.state == UP

    def poll(self, now):
        """Advance one step; return the ticks to be polled again (None: never)."""
        state = self.state
        if state == OFF:
            return None
        if state == DOWN:
            if self.retry_at is not None and self.diff(now, self.retry_at) < 0:
                return self.retry_at
            return self._join(now)
        if state == JOINING:
            if self._isconnected():
                self.state = UP
                self.backoff = self.first_backoff_ms
                self.log("wifi: up %s" % (self._address(),))
                return self.add(now, self.up_check_ms)
            status = self._status()
            if status in self.failures:
                return self._fail(now, "status %r" % (status,))
            if self.diff(now, self.since) >= self.connect_timeout_ms:
                return self._fail(now, "no link after %d ms" % self.connect_timeout_ms)
            return self.add(now, self.check_ms)
        # UP
        if self._isconnected():
            return self.add(now, self.up_check_ms)
        self.drops += 1
        self.state = DOWN
        self.backoff = self.first_backoff_ms
        self.retry_at = self.add(now, self.first_backoff_ms)
        self.log("wifi: lost; again in %d ms" % self.first_backoff_ms)
        return self.retry_at

    def _join(self, now):
        self.attempts += 1
        try:
            if self.attempts > 1:
                self.wlan.disconnect()
            self.wlan.connect(self.ssid, self.password)
        except OSError as e:
            return self._fail(now, repr(e))
        self.state = JOINING
        self.since = now
        return self.add(now, self.check_ms)

    def _fail(self, now, why):
        wait = self.backoff
        self.state = DOWN
        self.retry_at = self.add(now, wait)
        self.backoff = wait * 2 if wait * 2 < self.max_backoff_ms else self.max_backoff_ms
        # Never the SSID: config.json values may have been swapped by mistake.
        self.log("wifi: join failed (%s); again in %d s" % (why, wait // 1000))
        return self.retry_at

    def _isconnected(self):
        try:
            return bool(self.wlan.isconnected())
        except OSError:
            return False

    def _status(self):
        try:
            return self.wlan.status()
        except (OSError, TypeError, ValueError):
            return None

    def dns(self):
        """The resolver the network gave (DHCP), or None."""
        try:
            ip = self.wlan.ifconfig()[3]
        except (OSError, AttributeError, IndexError, TypeError):
            return None
        return ip if ip and ip != "0.0.0.0" else None

    def _address(self):
        try:
            return self.wlan.ifconfig()[0]
        except (OSError, AttributeError, IndexError, TypeError):
            return ""
