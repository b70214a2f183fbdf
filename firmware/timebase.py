"""The time base: UTC milliseconds from the monotonic tick counter.

UTC is derived from `ticks_ms` plus an offset and a frequency correction
learned from successive SNTP samples, so the clock stays right between syncs
and through long outages (DESIGN.md section 6). Pure device code: no I/O. The
SNTP client measures; the caller hands each measurement in:

    tb = TimeBase(time.ticks_diff, time.ticks_add)
    tb.add_sample(ticks_at_sample, utc_ms, delay_ms)  # FIRST/ABSORBED/STEP/OUTLIER
    tb.synced                        # True once a sample was taken
    tb.utc_ms(ticks)                 # UTC ms at `ticks` (None before sync)
    tb.ticks_at(utc_ms, near_ticks)  # first ticks at which utc_ms(...) >= utc_ms
    tb.error_bound_ms(ticks)         # how far off we may be now (None before sync)
    tb.freq_ppb                      # the learned rate correction, to persist
    tb.tick(ticks)                   # keep the tick anchor fresh (see below)

`utc_ms` of the sample is the server's time at `ticks_at_sample` (the SNTP
offset added to the local estimate at the midpoint of the exchange);
`delay_ms` is the round-trip delay of that exchange.

Units and why. No floats anywhere: boards have single-precision floats and
the answer must be identical on every runtime. Internally a time is an int
in picoseconds (1e9 per ms), and the frequency correction `freq_ppb` is in
parts per billion, so that one ms of ticks times one ppb is exactly one ps.
These ints exceed 2**30 and live on the heap on a board; that is fine, since
everything here runs once a minute or once a sync, never per pulse. The
per-pulse path uses only the ticks that `ticks_at` returns.

Wrap. Ticks are only ever compared with the injected `ticks_diff`, whose
result is right within +-2**29 ms (6.2 days on a board). Every ticks value is
first turned into "elapsed" ms, an unbounded int counted from an anchor
`(ticks, elapsed)`; the anchor moves forward whenever a call finds it older
than a day. So a run of any length works as long as some method (`utc_ms`,
`tick`, ...) is called at least every 5 days, and every argument is within
5 days of the last call. All the learning happens in elapsed ms, where
nothing wraps.

The model. Shown UTC (in ps) at elapsed E is piecewise linear:

    shown(E) = m_ps + (E - m_e) * (1e9 + freq_ppb) + slew(E - m_e)

where `slew` applies the pending correction `p` at `max_slew_ppm` of
elapsed time until it is all applied. Each absorbed sample re-anchors the
model at the sample (or at the latest time already shown, if later) with the
shown value there, so the shown time is continuous, and sets `p` to what
separates it from the sample's line. The rate is at least
1 - 500 ppm - 500 ppm > 0, so shown time never runs backwards except at a
reported step.

Frequency. Least squares of (UTC - elapsed) against elapsed over a window of
samples, done exactly in integers. Why least squares and not a PLL/FLL: with
white measurement noise it is the best linear estimate of the slope, it uses
the whole baseline at once (so a few hours of samples give the 1 ppm needed
for 100 ms over a day), it has no loop gain to tune and no settling
transient, and the same sums give the residual noise and the slope's
standard error, from which `error_bound_ms` comes. Memory stays bounded
because samples are summed into bins of 2048 s (count, sums of x, y, x*x,
x*y, y*y); the fit over bins is the exact fit over all their samples. The
window is the last 24 bins (13.6 h of continuous samples, longer across
outages, at most 2 days old). Phase, in contrast, follows the newest sample
alone, so the error right after a sample is that sample's noise.

Outliers: a sample whose delay exceeds twice the best of the last 8 delays
plus `delay_slack_ms` is ignored (its delay still enters the 8, so a lasting
route change is accepted after 8 samples). Steps: when a sample differs from
the model by more than `step_ms` (default 500 ms, so a leap second or a 1.5 s
NTP step is a step), the shown time jumps to it and STEP is returned; the
controller re-plans. Smaller errors are slewed. A slewed error far beyond
what noise and the rate's uncertainty explain (2*K sigma + 5 ms + the time
since the last sample times the rate bound) is a sub-step jump of the
server's time, or a sign that the rate was wrong. After a step or such a
jump the history restarts, because old samples on the other side of a jump
would tilt the fitted rate for hours. The rate is inherited, not reset: the
new history's fit replaces it only once its standard error is no larger,
so a step keeps the clock's learned rate and a wrong rate is still mended.
Jumps are only looked for while the rate is the current history's own fit,
so an inherited rate that is wrong cannot restart the history forever.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


FIRST = "first"
ABSORBED = "absorbed"
STEP = "step"
OUTLIER = "outlier"

_PS = const(1000000000)  # picoseconds per millisecond
_PS_PER_US = const(1000000)
_REANCHOR_MS = const(86400000)  # move the tick anchor when older than a day
_HALF_PERIOD = const(536870912)  # 2**29: the reach of ticks_diff/ticks_add
_BIN_MS = const(2048000)  # samples are summed per bin of this length
_MAX_BINS = const(24)
_MAX_AGE_MS = const(172800000)  # bins older than 2 days are dropped
_MIN_SPAN_MS = const(900000)  # fit a rate only over at least 15 min
_DELAYS = const(8)  # "best recent delay" is the least of this many
_MAX_FREQ_PPB = const(500000)  # a rate correction beyond 500 ppm is clamped
_K = const(4)  # error bound: this many standard errors
_WANDER_PPB = const(100)  # drift the fit cannot see (temperature, ageing)
_MIN_SIGMA_US = const(1000)  # integer ms samples: noise below 1 ms is not real
_MIN_DOF = const(4)  # fewer residuals than this do not measure the noise...
_FEW_SIGMA_US = const(3000)  # ...so assume at least this much
_JUMP_SLACK_PS = 5000000000  # 5 ms; a plain int: const() wants a small int


def _div_round(a, b):
    # a / b rounded half up, for b > 0; Python floor semantics on both runtimes.
    return (2 * a + b) // (2 * b)


def _isqrt(n):
    # floor(sqrt(n)) by Newton's method on ints (MicroPython has no math.isqrt).
    if n <= 0:
        return 0
    x = n
    y = (x + 1) // 2
    while y < x:
        x = y
        y = (x + n // x) // 2
    return x


class TimeBase:
    """UTC from ticks, learned from SNTP samples. See the module docstring.

    `ticks_diff(a, b)` and `ticks_add(t, d)` behave as MicroPython's `time`
    functions (tests inject a source that wraps at 2**30). `step_ms`: an
    error larger than this is a step, not slewed. `max_slew_ppm`: how fast a
    small error is worked off. `delay_slack_ms`: see outliers. `freq_ppb`
    and `freq_bound_ppb`: a rate correction known beforehand (persisted
    from an earlier run) and how far it may be off (default: an unknown
    crystal, 100 ppm).
    """

    def __init__(
        self,
        ticks_diff,
        ticks_add,
        step_ms=500,
        max_slew_ppm=500,
        delay_slack_ms=10,
        freq_ppb=0,
        freq_bound_ppb=100000,
    ):
        if not 0 < max_slew_ppm <= 500:
            raise ValueError("max_slew_ppm must be in 1..500")
        if step_ms < 1:
            raise ValueError("step_ms must be >= 1")
        self._diff = ticks_diff
        self._add = ticks_add
        self._step_ps = step_ms * _PS
        self._slew = max_slew_ppm * 1000  # ps of correction per ms elapsed
        self._slack = delay_slack_ms
        # Tick anchor: elapsed(t) = _a_e + ticks_diff(t, _a_ticks).
        self._a_ticks = None
        self._a_e = 0
        self._hi_e = None  # latest elapsed ms whose UTC was shown
        # The model (see the module docstring).
        self._synced = False
        self._m_e = 0
        self._m_ps = 0
        self._p = 0
        self._freq = self._clamp(freq_ppb)
        self._se_ppb = freq_bound_ppb // _K  # standard error of _freq
        self._inherited = True  # _freq is not (yet) the bins' own fit
        self._sigma_us = _MIN_SIGMA_US
        self._last_e = 0  # elapsed ms of the newest accepted sample
        # History: bins [origin_e, origin_y_us, n, sx, sy, sxx, sxy, syy],
        # x = elapsed - origin_e (ms), y = (utc - elapsed) in us - origin_y_us.
        self._bins = []
        self._delays = []
        self._next_delay = 0

    # -- ticks ------------------------------------------------------------

    def _elapsed(self, ticks):
        if self._a_ticks is None:
            self._a_ticks = ticks
            return self._a_e
        d = self._diff(ticks, self._a_ticks)
        e = self._a_e + d
        if d > _REANCHOR_MS:
            self._a_ticks = ticks
            self._a_e = e
        return e

    def tick(self, ticks):
        """Note the current ticks; keeps the tick anchor within reach.

        `utc_ms` and every other method do this too; call `tick` at least
        every 5 days when nothing else is called.
        """
        self._elapsed(ticks)

    # -- the model --------------------------------------------------------

    @staticmethod
    def _clamp(freq):
        if freq > _MAX_FREQ_PPB:
            return _MAX_FREQ_PPB
        if freq < -_MAX_FREQ_PPB:
            return -_MAX_FREQ_PPB
        return freq

    def _shown_ps(self, e):
        de = e - self._m_e
        ps = self._m_ps + de * (_PS + self._freq)
        p = self._p
        if de > 0 and p:
            s = de * self._slew
            if p > 0:
                ps += s if s < p else p
            else:
                ps -= s if s < -p else -p
        return ps

    def _target_ps(self, e):
        # The model's line once the pending correction is all applied.
        return self._m_ps + self._p + (e - self._m_e) * (_PS + self._freq)

    def _remaining_ps(self, e):
        p = self._p
        if p < 0:
            p = -p
        de = e - self._m_e
        if de > 0:
            p -= de * self._slew
        return p if p > 0 else 0

    @property
    def synced(self):
        """True once a sample has set the time."""
        return self._synced

    @property
    def freq_ppb(self):
        """The rate correction in ppb: UTC advances (1 + freq_ppb/1e9) ms per tick ms."""
        return self._freq

    def utc_ms(self, ticks):
        """UTC in ms at `ticks` (an int, > 2**30), or None before the first sample.

        Non-decreasing in `ticks`, except across a sample that returned STEP.
        """
        e = self._elapsed(ticks)
        if not self._synced:
            return None
        if self._hi_e is None or e > self._hi_e:
            self._hi_e = e
        return self._shown_ps(e) // _PS

    def ticks_at(self, utc_ms, near_ticks):
        """The first ticks at which `utc_ms(ticks) >= utc_ms`, as the model stands.

        `near_ticks` is a recent ticks value (now); the answer is computed
        relative to it with `ticks_add`, so it must lie within 6 days of it
        (ValueError otherwise). None before the first sample. A later sample
        may move the answer; the controller asks again after each sync.
        """
        e_near = self._elapsed(near_ticks)
        if not self._synced:
            return None
        d = self._solve(utc_ms * _PS) - e_near
        if d <= -_HALF_PERIOD or d >= _HALF_PERIOD:
            raise ValueError("utc_ms is too far from near_ticks")
        return self._add(near_ticks, d)

    def _solve(self, t):
        # The least integer elapsed E with _shown_ps(E) >= t.
        m_e = self._m_e
        m_ps = self._m_ps
        k0 = _PS + self._freq
        if t <= m_ps:  # before the anchor the model is one line
            return m_e - (m_ps - t) // k0
        p = self._p
        if p:
            # While the correction is being applied the slope is k0 +- slew.
            k = k0 + self._slew if p > 0 else k0 - self._slew
            de = -((m_ps - t) // k)  # ceil((t - m_ps) / k), >= 1
            if de * self._slew <= (p if p > 0 else -p):
                return m_e + de
        e = m_e - ((m_ps + p - t) // k0)  # on the line after the slew
        # Near the end of the slew the line and the curve differ by less
        # than one ms of elapsed; settle the last step exactly.
        while self._shown_ps(e) < t:
            e += 1
        while self._shown_ps(e - 1) >= t:
            e -= 1
        return e

    def error_bound_ms(self, ticks):
        """How far `utc_ms(ticks)` may be from true UTC, in ms; None before sync.

        The newest sample's noise, plus the correction not yet slewed, plus
        the time since that sample times the possible rate error (K standard
        errors of the fitted rate plus an allowance for oscillator wander; an
        unknown crystal counts as 100 ppm). It grows during an outage; the
        controller compares it with its budget to decide whether it is in sync.
        """
        e = self._elapsed(ticks)
        if not self._synced:
            return None
        since = e - self._last_e
        if since < 0:
            since = -since
        ps = _K * self._sigma_us * _PS_PER_US + self._remaining_ps(e) + since * self._fbound()
        return -((-ps) // _PS) + 1  # rounded up, plus the ms of quantisation

    # -- learning ---------------------------------------------------------

    def add_sample(self, ticks_at_sample, utc_ms, delay_ms):
        """Learn from one SNTP sample; return FIRST, ABSORBED, STEP or OUTLIER.

        FIRST: the time is set. ABSORBED: the error is being slewed (shown
        time stays continuous and non-decreasing). STEP: the error exceeded
        `step_ms`; shown time jumped and the controller should re-plan.
        OUTLIER: the round trip was too slow to trust; nothing changed.
        """
        e = self._elapsed(ticks_at_sample)
        if delay_ms < 0:
            delay_ms = 0
        best = min(self._delays) if self._delays else None
        if len(self._delays) < _DELAYS:
            self._delays.append(delay_ms)
        else:
            self._delays[self._next_delay] = delay_ms
            self._next_delay = (self._next_delay + 1) % _DELAYS
        u_ps = utc_ms * _PS
        if not self._synced:
            self._synced = True
            self._set(e, u_ps)
            self._restart(e, utc_ms)
            return FIRST
        if best is not None and delay_ms > 2 * best + self._slack:
            return OUTLIER
        err = u_ps - self._target_ps(e)
        if err > self._step_ps or err < -self._step_ps:
            self._set(e, u_ps)
            self._restart(e, utc_ms)
            return STEP
        # Re-anchor where the shown time must stay continuous: the sample,
        # or the latest time already shown if that is later; the value
        # shown there is the old model's, before the fit moves the rate.
        n = e
        if self._hi_e is not None and self._hi_e > n:
            n = self._hi_e
        shown = self._shown_ps(n)
        if not self._inherited and self._jumped(e, err):
            # Far beyond what noise and the rate's uncertainty explain: the
            # server's time moved (a sub-step jump), or the rate was wrong.
            # Either way the old history would tilt the fit: restart it.
            # Only a rate fitted on this history is trusted to tell: with an
            # inherited one, a rate error could restart it at every sample.
            self._restart(e, utc_ms)
        else:
            self._remember(e, utc_ms)
            self._fit()
        self._m_e = n
        self._m_ps = shown
        self._p = u_ps + (n - e) * (_PS + self._freq) - shown
        return ABSORBED

    def glitch(self, ms):
        """Jump the shown time by `ms` with no sample behind it, as a
        disturbed clock would. The simulator's ntp_step event uses it; the
        next sample finds the error and mends it (a STEP, or a slew)."""
        if self._synced:
            self._m_ps += ms * _PS
            self._hi_e = None

    def _jumped(self, e, err):
        since = e - self._last_e
        if since < 0:
            since = -since
        lim = 2 * _K * self._sigma_us * _PS_PER_US + _JUMP_SLACK_PS + since * self._fbound()
        return err > lim or err < -lim

    def _restart(self, e, utc_ms):
        # A new history; the rate is inherited until the new history's fit
        # is at least as good (a short baseline would be worse than it).
        self._bins = []
        self._inherited = True
        self._remember(e, utc_ms)

    def _set(self, e, u_ps):
        self._m_e = e
        self._m_ps = u_ps
        self._p = 0
        self._hi_e = None

    def _remember(self, e, utc_ms):
        self._last_e = e
        y = (utc_ms - e) * 1000
        bins = self._bins
        b = bins[-1] if bins else None
        if b is None or not 0 <= e - b[0] < _BIN_MS:
            b = [e, y, 0, 0, 0, 0, 0, 0]
            bins.append(b)
            while len(bins) > _MAX_BINS or e - bins[0][0] > _MAX_AGE_MS:
                bins.pop(0)
        x = e - b[0]
        y -= b[1]
        b[2] += 1
        b[3] += x
        b[4] += y
        b[5] += x * x
        b[6] += x * y
        b[7] += y * y

    def _fit(self):
        # Exact least squares over every sample in the bins, each bin's sums
        # moved to a common origin (the newest bin's) before adding up.
        bins = self._bins
        ref = bins[-1]
        n = sx = sy = sxx = sxy = syy = 0
        lo = ref[0]
        for b in bins:
            a = b[0] - ref[0]
            c = b[1] - ref[1]
            k = b[2]
            n += k
            sx += b[3] + k * a
            sy += b[4] + k * c
            sxx += b[5] + 2 * a * b[3] + k * a * a
            sxy += b[6] + a * b[4] + c * b[3] + k * a * c
            syy += b[7] + 2 * c * b[4] + k * c * c
            if b[0] < lo:
                lo = b[0]
        if n < 3 or self._last_e - lo < _MIN_SPAN_MS:
            return  # keep the rate we have: the baseline is too short
        den = n * sxx - sx * sx  # n**2 * variance of x, in ms**2
        if den <= 0:
            return
        num = n * sxy - sx * sy
        # Residual sum of squares times n * den, exactly.
        rss = (n * syy - sy * sy) * den - num * num
        if rss < 0:
            rss = 0
        sigma = _isqrt(rss // (n * den * (n - 2)))
        if n - 2 < _MIN_DOF and sigma < _FEW_SIGMA_US:
            sigma = _FEW_SIGMA_US  # a few residuals cannot vouch for less
        if sigma < _MIN_SIGMA_US:
            sigma = _MIN_SIGMA_US
        # Standard error of the slope in ppb: 1e6 * sigma / sqrt(den / n).
        se = _isqrt(sigma * sigma * n * 1000000000000 // den) + 1
        if self._inherited and se > self._se_ppb:
            return  # the inherited rate is still the better estimate
        self._inherited = False
        # slope in us per ms; ppb = slope * 1e6
        self._freq = self._clamp(_div_round(num * 1000000, den))
        self._sigma_us = sigma
        self._se_ppb = se

    def _fbound(self):
        # ppb; what the rate may be off by: K standard errors plus wander
        return _K * self._se_ppb + _WANDER_PPB
