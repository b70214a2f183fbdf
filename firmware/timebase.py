"""The time base: UTC milliseconds from the monotonic tick counter.

UTC is derived from `ticks_ms` plus an offset and a frequency correction
learned from successive SNTP samples, so the clock stays right between syncs
and through long outages (DESIGN.md section 6). Pure device code: no I/O. The
SNTP client measures; the caller hands each measurement in:

    tb = TimeBase(time.ticks_diff, time.ticks_add)
    tb.add_sample(ticks_at_sample, utc_ms, delay_ms)  # FIRST/ABSORBED/STEP/SUSPECT/OUTLIER
    tb.synced                        # True once a sample was taken
    tb.utc_ms(ticks)                 # UTC ms at `ticks` (None before sync)
    tb.ticks_at(utc_ms, near_ticks)  # first ticks at which utc_ms(...) >= utc_ms
    tb.error_bound_ms(ticks)         # how far off we may be now (None before sync)
    tb.freq_ppb                      # the learned rate correction, to persist
    tb.tick(ticks)                   # keep the tick anchor fresh (see below)

What the caller passes: `ticks_at_sample` and `utc_ms` must name the same
instant, a ticks_ms() value and the server's UTC in ms at that very tick.
With the SNTP client that is the ticks read when the reply arrived and T4
corrected by the measured offset (`Sample.rx_ticks`, `Sample.utc_ms()`);
any other instant of the exchange works if its ticks and its UTC are
paired the same way. The time base does no round-trip correction itself.
`delay_ms` is the exchange's round-trip delay (T4 - T1) - (T3 - T2); it
only serves to reject slow replies (see outliers).

Cost. `add_sample` is called once per sync (every 64..1024 s), never per
pulse: it refits the rate over up to 24 bins of big integers, about 21 us
on the unix port of MicroPython (bench/timebase_bench.py; expect some
milliseconds on a board). `utc_ms` takes about 1.7 us and `ticks_at`
2.8 us there.

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

Outliers (OUTLIER, nothing changes): a sample whose delay exceeds twice
the best of the last 8 delays plus `delay_slack_ms` is ignored (its delay
still enters the 8, so a lasting route change is accepted after 8 samples).
A negative delay down to -2 ms is rounding and counts as 0; below that the
reply is bogus and ignored altogether, its delay too.

Suspects, steps and jumps. A sample's error from the model is "far" when it
exceeds `step_ms` (default 500 ms), or, once a rate has been fitted, what
noise and the rate's uncertainty explain (K sigma + 5 ms + the time since
the last sample times the rate bound; the same allowance error_bound_ms
makes for noise). A far sample alone may be a falseticker or a spike: it is
held as the suspect and SUSPECT is returned; nothing else changes (not the
shown time, the bound or the history). A later sample that is far too and
agrees with it (their errors within twice the noise allowance, at least
100 ms, plus the rate bound times the time between them) confirms it; a
sample that is not far clears it. A confirmed error beyond `step_ms` is a
step (a leap second, a 1.5 s NTP step, the time base's own glitch): the
shown time jumps to the confirming sample and STEP is returned, so the
controller re-plans. A confirmed smaller one is a sub-step jump of the
server's time, or a sign that the rate was wrong: it is slewed (ABSORBED).
The third far sample in a row is taken even if it agrees with no other: by
then the model, not the servers, is the likely culprit. The first sample
ever sets the time at once (there is nothing to compare it with); a
falseticker there is mended by the next two samples. While a step is
awaiting confirmation, error_bound_ms does not include it.

After a confirmed step or jump the history restarts (with the two samples
that agreed), because old samples on the other side of a jump would tilt
the fitted rate for hours. The rate is inherited, not reset, and so is its
standard error, which then grows by 50 ppb an hour of samples (the crystal
wanders and the old history no longer watches it). The new history's fit
replaces it once its standard error is no larger, or sooner if the two
rates differ by more than K times their standard errors together (with at
least 12 samples, and the larger of the two noises) while the new history
fits a line as tightly as the old one did (a wandered crystal;
a level jump inside the history would fit badly, so it is no reason). If a
confirmed jump comes while the rate is still inherited, the inherited rate
failed to predict the samples: its standard error is raised to half the
rate that would explain the error (at most 500 ppm), so the next samples
are no longer far and a new fit soon takes over, instead of a restart at
every other sample. Until some history's fit has been adopted (the rate is
a guess, maybe out of spec) only errors beyond `step_ms` are far.
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
SUSPECT = "suspect"

_PS = const(1000000000)  # picoseconds per millisecond
_PS_PER_US = const(1000000)
_REANCHOR_MS = const(86400000)  # move the tick anchor when older than a day
_HALF_PERIOD = const(536870912)  # 2**29: the reach of ticks_diff/ticks_add
_BIN_MS = const(2048000)  # samples are summed per bin of this length
_MAX_BINS = const(24)
_MAX_AGE_MS = const(172800000)  # bins older than 2 days are dropped
_MIN_SPAN_MS = const(300000)  # fit a rate only over at least 5 min
_DELAYS = const(8)  # "best recent delay" is the least of this many
_MAX_FREQ_PPB = const(500000)  # a rate correction beyond 500 ppm is clamped
_K = const(4)  # error bound: this many standard errors
_WANDER_PPB = const(100)  # drift the fit cannot see (temperature, ageing)
_MIN_SIGMA_US = const(1000)  # integer ms samples: noise below 1 ms is not real
_MIN_DOF = const(4)  # fewer residuals than this do not measure the noise...
_FEW_SIGMA_US = const(3000)  # ...so assume at least this much
_JUMP_SLACK_PS = const(5000000000)  # 5 ms
_AGREE_PS = const(100000000000)  # 100 ms: the least tolerance for two agreeing suspects
_SUSPECTS = const(3)  # this many suspects in a row: the model is wrong, not they
_NEG_DELAY_MS = const(2)  # a delay down to -2 ms is rounding; below, a bogus reply
_AGE_PPB_PER_H = const(50)  # an inherited rate's standard error grows this fast
_HOUR_MS = const(3600000)
_CONTRADICT_N = const(12)  # samples a new history needs to contradict a rate


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
    error larger than this (once a second sample agrees) is a step, not
    slewed. `max_slew_ppm`: how fast a
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
        self._fitted = False  # whether any history's fit was ever adopted
        self._inh_e = None  # elapsed ms from which an inherited rate ages
        # A sample far off the model, held until a later one agrees:
        # [elapsed ms, utc ms, error ps, how many suspects in a row].
        self._suspect = None
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
        """UTC in ms (an int, > 2**30) at `ticks`, or None before the first sample.

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

    def sample_age_ms(self, ticks):
        """ms since the newest accepted sample; None before the first."""
        e = self._elapsed(ticks)
        return e - self._last_e if self._synced else None

    def error_bound_ms(self, ticks):
        """How far `utc_ms(ticks)` may be from true UTC, in ms; None before sync.

        The newest sample's noise (K sigma + 5 ms), plus the correction not
        yet slewed, plus the time since that sample times the possible rate
        error (K standard errors of the rate plus an allowance for
        oscillator wander; an unknown crystal counts as 100 ppm). It grows during an outage; the
        controller compares it with its budget to decide whether it is in sync.
        """
        e = self._elapsed(ticks)
        if not self._synced:
            return None
        since = e - self._last_e
        if since < 0:
            since = -since
        ps = self._noise_ps() + self._remaining_ps(e) + since * self._fbound()
        return -((-ps) // _PS) + 1  # rounded up, plus the ms of quantisation

    # -- learning ---------------------------------------------------------

    def add_sample(self, ticks_at_sample, utc_ms, delay_ms):
        """Learn from one SNTP sample; return FIRST, ABSORBED, STEP, SUSPECT
        or OUTLIER.

        FIRST: the time is set. ABSORBED: the error is being slewed (shown
        time stays continuous and non-decreasing). STEP: two samples in a
        row agree that the time is more than `step_ms` off; shown time
        jumped and the controller should re-plan. SUSPECT: the sample is
        far beyond what noise explains; it is held until a later sample
        agrees, and nothing else changed. OUTLIER: the round trip was too
        slow (or its delay negative) to trust; nothing changed.
        """
        e = self._elapsed(ticks_at_sample)
        if delay_ms < 0:
            if delay_ms < -_NEG_DELAY_MS:
                return OUTLIER  # a bogus reply: not even its delay is kept
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
        big = err > self._step_ps or err < -self._step_ps
        # A sub-step error far beyond what noise and the rate's uncertainty
        # explain is a spike, a jump of the server's time, or a sign that
        # the rate was wrong. Until some history's fit was adopted the rate
        # is a guess (a crystal may be out of spec), so only steps count.
        jump = big or (self._fitted and self._jumped(e, err))
        s = None
        if jump:
            s = self._suspect
            if s is None or not (s[3] + 1 >= _SUSPECTS or self._agrees(s, e, err)):
                # Alone, it may be a falseticker or a spike: hold it.
                self._suspect = [e, utc_ms, err, s[3] + 1 if s else 1]
                return SUSPECT
            if not self._agrees(s, e, err):
                s = None  # suspects in a row that disagree: the newest wins alone
        self._suspect = None
        if big:
            self._set(e, u_ps)
            self._confirmed(s, e, utc_ms, err)
            return STEP
        # Re-anchor where the shown time must stay continuous: the sample,
        # or the latest time already shown if that is later; the value
        # shown there is the old model's, before the fit moves the rate.
        n = e
        if self._hi_e is not None and self._hi_e > n:
            n = self._hi_e
        shown = self._shown_ps(n)
        if jump:
            self._confirmed(s, e, utc_ms, err)
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
        next sample finds the error and holds it as a suspect, the one
        after agrees and mends it (a STEP, or a slew if under step_ms)."""
        if self._synced:
            self._m_ps += ms * _PS
            self._hi_e = None

    def _noise_ps(self):
        # What noise alone may put between a sample and the model: as much
        # as error_bound_ms allows for it.
        return _K * self._sigma_us * _PS_PER_US + _JUMP_SLACK_PS

    def _jumped(self, e, err):
        since = e - self._last_e
        if since < 0:
            since = -since
        lim = self._noise_ps() + since * self._fbound()
        return err > lim or err < -lim

    def _agrees(self, s, e, err):
        # Whether a later sample's error from the model is the suspect's,
        # within twice the noise allowance (at least 100 ms) plus what the
        # rate's uncertainty adds between the two.
        since = e - s[0]
        if since <= 0:
            return False
        tol = 2 * self._noise_ps()
        if tol < _AGREE_PS:
            tol = _AGREE_PS
        d = err - s[2]
        if d < 0:
            d = -d
        return d <= tol + since * self._fbound()

    def _confirmed(self, s, e, utc_ms, err):
        # A confirmed jump or step: old samples on the other side of it
        # would tilt the fit for hours, so the history restarts, from the
        # suspect that saw it first (if it agreed) and the sample that
        # confirmed it. If the rate was already inherited, it failed to
        # predict the last samples: perhaps it is what is wrong, and a
        # restart at every other sample would keep a new history from ever
        # growing. So it loses its trust: its standard error becomes at
        # least half the rate that would explain the error (at most
        # 500 ppm), and a new fit replaces it as soon as there is one.
        if self._inherited:
            since = e - self._last_e
            if since > 0:
                if err < 0:
                    err = -err
                implied = err // since  # ps per ms is ppb
                if implied > _MAX_FREQ_PPB:
                    implied = _MAX_FREQ_PPB
                if self._se_now() < implied // 2:
                    self._se_ppb = implied // 2
                    self._inh_e = None
        if s is None:
            self._restart(e, utc_ms)
        else:
            self._restart(s[0], s[1])
            self._remember(e, utc_ms)

    def _restart(self, e, utc_ms):
        # A new history; the rate is inherited until the new history's fit
        # is better, or disagrees with it beyond both their uncertainties.
        # The inherited rate's standard error grows with its age, so a
        # rate that wandered since is replaced in hours, not never.
        self._se_ppb = self._se_now()
        self._inh_e = e
        self._bins = []
        self._inherited = True
        self._remember(e, utc_ms)

    def _se_now(self):
        # Standard error of _freq in ppb. An inherited rate's grows with the
        # time samples have come in without its own history confirming it
        # (not through an outage: there the wander allowance covers it).
        se = self._se_ppb
        if self._inherited and self._inh_e is not None and self._last_e > self._inh_e:
            se += (self._last_e - self._inh_e) * _AGE_PPB_PER_H // _HOUR_MS
        return se

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
        # slope in us per ms; ppb = slope * 1e6
        freq = self._clamp(_div_round(num * 1000000, den))
        if self._inherited and se > self._se_now():
            # The inherited rate is still the better estimate, unless the
            # new history contradicts it beyond both their uncertainties
            # while fitting a line as well as the old one did (a level
            # jump inside the history would fit badly, and is no reason).
            # A few residuals can understate the noise by chance: the test
            # wants a dozen samples and takes the larger of the two sigmas.
            old = self._sigma_us
            if n < _CONTRADICT_N or sigma > 2 * old:
                return
            if sigma > old:
                old = sigma
            se_c = _isqrt(old * old * n * 1000000000000 // den) + 1
            d = freq - self._freq
            if d < 0:
                d = -d
            if d <= _K * (se_c + self._se_now()):
                return
        self._inherited = False
        self._fitted = True
        self._freq = freq
        self._sigma_us = sigma
        self._se_ppb = se

    def _fbound(self):
        # ppb; what the rate may be off by: K standard errors (grown with
        # age if inherited) plus wander
        return _K * self._se_now() + _WANDER_PPB
