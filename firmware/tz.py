"""POSIX TZ strings: the UTC offset in effect at any instant (DESIGN.md 6).

    z = Zone("CET-1CEST,M3.5.0,M10.5.0/3")   # ValueError on a malformed string
    z.offset(utc_seconds)           # seconds east of UTC in effect then
    z.local_seconds(utc_seconds)    # utc_seconds + offset
    z.name(utc_seconds)             # abbreviation in effect ("CEST", "+0330")
    z.next_transition(utc_seconds)  # (utc of next offset change, new offset) or None

Grammar: `std offset [dst [offset] [,start[/time],end[/time]]]`.

- Names are 3+ letters, or quoted `<...>` (3+ of A-Z a-z 0-9 + -); a quoted
  name is returned without its brackets.
- Offsets are `[+-]hh[:mm[:ss]]` with POSIX's sign: positive means WEST of
  UTC, so "EST5" is UTC-5. Hours 0..24. The DST offset defaults to one hour
  east of standard time.
- Dates: `Jn` (1..365, February 29 never counted, so J60 is always March 1),
  `n` (0..365, zero-based, February 29 counted), `Mm.w.d` (month 1..12, week
  1..5 where 5 means the last, weekday 0..6 with 0 = Sunday).
- Times: `[+-]hh[:mm[:ss]]`, default 02:00:00, hours -167..167 (the RFC 8536
  extension). The start time is in local standard time, the end time in local
  daylight time.
- A DST name without rules ("EST5EDT") gets the US rule M3.2.0,M11.1.0, as
  glibc does when it has no `posixrules` file.

Semantics. Every year contributes two events: DST starts, DST ends. The
state at an instant is the state set by the latest event at or before it,
whatever year that event belongs to. This is what the string means, and it
makes DST that starts January 1 00:00 and ends December 31 24:00 + 1h
("EST5EDT,0/0,J365/25", how zic writes all-year DST) hold all year: each
year's end coincides with the next year's start and, at one instant, the
earlier year's event is applied first. (glibc and zoneinfo instead evaluate
only the events of the instant's own UTC year, which agrees with this
wherever both events of a year fall inside that UTC year and come in the
same order every year; that holds for every IANA zone, see
tests/test_tz.py.) A start and an end of the same year at the same instant
is DST of zero length, as glibc has it.

Cost: the state is cached with the window of UTC seconds over which it holds
(from the event that set it to the next change), so a call per minute is two
comparisons; only crossing a transition recomputes (a dozen integer
operations per event, five years of events; about 14 us on the unix port,
see bench/tz_bench.py). Epoch seconds exceed 2**30 and
are heap integers on 32-bit boards; that is fine once per minute (DESIGN.md
section 3). No floats, no `time` module: boards disagree on their epoch, so
the civil-date arithmetic is done here, from days since 1970-01-01.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


# const(): on MicroPython a private name so made is folded into the code
# and never becomes a global (or an interned name: ARCHITECTURE.md, Memory).
_DAY = const(86400)
_HOUR = const(3600)
# An offset change is searched for this many years ahead; a zone whose rule
# changes nothing for that long (all-year DST) reports no next transition.
_HORIZON_YEARS = const(30)
# A window bound meaning "forever": zones without DST never leave theirs.
_FOREVER = const(1 << 62)

# A rule's kind, its first field (firmware/tzparse.py makes them: the same
# numbers there).
_KIND_M = const(0)  # Mm.w.d
_KIND_J = const(1)  # Jn, 1-based, February 29 never counted
_KIND_N = const(2)  # n, 0-based, February 29 counted


def days_from_civil(year, month, day):
    """Days since 1970-01-01 of a proleptic Gregorian date (any year).

    H. Hinnant's algorithm: years start on March 1 so the leap day is last.
    """
    if month <= 2:
        year -= 1
        month += 9
    else:
        month -= 3
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * month + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def year_of_days(days):
    """The proleptic Gregorian year containing day `days` since 1970-01-01."""
    days += 719468
    era = days // 146097
    day_of_era = days - era * 146097
    year_of_era = (day_of_era - day_of_era // 1460 + day_of_era // 36524 - day_of_era // 146096) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    march_based_month = (5 * day_of_year + 2) // 153
    year = year_of_era + era * 400
    # January and February belong to the next civil year in a March-based count.
    if march_based_month >= 10:
        year += 1
    return year


def is_leap(year):
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def rule_day(rule, year):
    """Days since 1970-01-01 of the day a (kind, a, b, c, time) rule names in `year`."""
    kind = rule[0]
    if kind == _KIND_M:
        month, week, weekday = rule[1], rule[2], rule[3]
        first = days_from_civil(year, month, 1)
        # 1970-01-01 was a Thursday (weekday 4, Sunday being 0).
        day = first + (weekday - (first + 4)) % 7 + (week - 1) * 7
        if week == 5:
            if month == 12:
                next_month = days_from_civil(year + 1, 1, 1)
            else:
                next_month = days_from_civil(year, month + 1, 1)
            if day >= next_month:
                day -= 7
        return day
    jan1 = days_from_civil(year, 1, 1)
    if kind == _KIND_J:
        n = rule[1]
        if n >= 60 and is_leap(year):
            n += 1
        return jan1 + n - 1
    # `n` may be 365 in a common year: January 1 of the next year, as glibc has it.
    return jan1 + rule[1]


class Zone:
    """A POSIX TZ rule, evaluated at UTC instants given in epoch seconds."""

    def __init__(self, tz, parsed=None):
        """`parsed`: what firmware.tzparse.parse(tz) returns, when it is known
        (deploy puts it in checked.json: firmware/main.py)."""
        if parsed is None:
            # The parser is a module of its own: a board needs it only at
            # boot (and when the zone changes), and forgets it in between.
            from firmware.main import load_module

            parsed = load_module("firmware.tzparse").parse(tz)
        self.tz = tz
        self.std_name, self.std_offset, self.dst_name, self.dst_offset, self._start, self._end = parsed
        if self._start is None:
            self._window_low = -_FOREVER
            self._window_high = _FOREVER
            self._window_dst = False
            return
        # An empty window: the first call fills it.
        self._window_low = 0
        self._window_high = 0
        self._window_dst = False
        self._window_changes = False

    def __repr__(self):
        return "Zone(%r)" % self.tz

    @property
    def has_dst(self):
        return self._start is not None

    def offset(self, utc_seconds):
        """Seconds east of UTC in effect at `utc_seconds` (an int; a float is
        taken at its whole second, a host convenience: a board's single-
        precision float cannot hold today's epoch seconds exactly)."""
        if not (self._window_low <= utc_seconds < self._window_high):
            self._fill_window(utc_seconds)
        if self._window_dst:
            return self.dst_offset
        return self.std_offset

    def local_seconds(self, utc_seconds):
        """Local wall-clock seconds since the epoch: UTC plus the offset."""
        return utc_seconds + self.offset(utc_seconds)

    def name(self, utc_seconds):
        """The abbreviation in effect at `utc_seconds` (quoted names unquoted)."""
        if not (self._window_low <= utc_seconds < self._window_high):
            self._fill_window(utc_seconds)
        if self._window_dst:
            return self.dst_name
        return self.std_name

    def next_transition(self, utc_seconds):
        """`(utc, new_offset)` of the first offset change strictly after
        `utc_seconds`, or None: no DST, DST with the standard offset, or no
        change within _HORIZON_YEARS (all-year DST)."""
        if self._start is None or self.dst_offset == self.std_offset:
            return None
        if not (self._window_low <= utc_seconds < self._window_high):
            self._fill_window(utc_seconds)
        if not self._window_changes:
            return None
        # The state flips at the window's end, so the offset does too.
        if self._window_dst:
            return (self._window_high, self.std_offset)
        return (self._window_high, self.dst_offset)

    def _events(self, first_year, last_year):
        """Sorted (utc, year, order) of every event of those years.

        order 0 starts DST, 1 ends it. At one instant the earlier year goes
        first (all-year DST stays on), and within a year start precedes end
        (zero-length DST stays off).
        """
        events = []
        start, end = self._start, self._end
        for year in range(first_year, last_year + 1):
            # Start is written in standard time, end in daylight time.
            events.append((rule_day(start, year) * _DAY + start[4] - self.std_offset, year, 0))
            events.append((rule_day(end, year) * _DAY + end[4] - self.dst_offset, year, 1))
        events.sort()
        return events

    def _fill_window(self, utc_seconds):
        # A float instant (time.time(), datetime.timestamp()) is taken at its
        # whole second: the window's arithmetic needs ints.
        utc_seconds = int(utc_seconds // 1)
        year = year_of_days(utc_seconds // _DAY)
        # An event of year Y lies within about 8 days of that year (times are
        # at most 167 h, offsets 25 h), so the latest event at or before an
        # instant of year Y is an event of Y-2..Y+1 (see the module
        # docstring), and every event before January 1 of year L+1 is among
        # those of years up to L+1: `bound` marks how far the list is complete.
        last_year = year + 1
        while True:
            events = self._events(year - 2, last_year + 1)
            bound = days_from_civil(last_year + 1, 1, 1) * _DAY
            count = len(events)
            index = 0
            low = -_FOREVER
            dst = False
            while index < count and events[index][0] <= utc_seconds:
                low = events[index][0]
                dst = events[index][2] == 0
                index += 1
            # The next change: the first instant after which the state differs.
            # Events at one instant count together (all-year DST's end and
            # next start cancel out).
            while index < count and events[index][0] < bound:
                when = events[index][0]
                while index + 1 < count and events[index + 1][0] == when:
                    index += 1
                if (events[index][2] == 0) != dst:
                    self._window_low = low
                    self._window_high = when
                    self._window_dst = dst
                    self._window_changes = True
                    return
                index += 1
            if last_year >= year + _HORIZON_YEARS:
                break
            last_year = year + _HORIZON_YEARS
        # No change before `bound`: the state holds at least until then.
        self._window_low = low
        self._window_high = bound
        self._window_dst = dst
        self._window_changes = False
