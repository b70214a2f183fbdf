"""The POSIX TZ parser behind firmware/tz.py's Zone (DESIGN.md section 6).

    parse("CET-1CEST,M3.5.0,M10.5.0/3")
    -> ("CET", 3600, "CEST", 7200, (kind, a, b, c, seconds), (...))

Offsets in seconds east of UTC (POSIX counts west); no DST: the last
four are (None, std offset, None, None). ValueError names what is wrong
and where. A module of its own because a board needs it only when a zone
is set (at boot, or from the page), not while the clock runs.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


# firmware/tz.py's numbers (there as const() too, so not importable).
_HOUR = const(3600)
_KIND_M = const(0)
_KIND_J = const(1)
_KIND_N = const(2)
# What glibc assumes for "EST5EDT" with no rules: the US rule since 2007.
_DEFAULT_START = const((_KIND_M, 3, 2, 0, 2 * _HOUR))
_DEFAULT_END = const((_KIND_M, 11, 1, 0, 2 * _HOUR))


# ASCII only, on purpose: str.isalpha()/isdigit() accept other scripts on
# CPython but not on MicroPython, and the two must parse alike.
def _is_letter(char):
    return "A" <= char <= "Z" or "a" <= char <= "z"


def _is_digit(char):
    return "0" <= char <= "9"


class _Parser:
    """A hand parser (MicroPython's `re` is too limited), left to right."""

    def __init__(self, text):
        self.text = text
        self.pos = 0

    def fail(self, problem):
        if self.pos >= len(self.text):
            where = "at the end"
        else:
            where = "at position %d" % self.pos
        raise ValueError("bad TZ %r: %s %s" % (self.text, problem, where))

    def peek(self):
        if self.pos < len(self.text):
            return self.text[self.pos]
        return ""

    def at_end(self):
        return self.pos >= len(self.text)

    def accept(self, char):
        if self.peek() == char:
            self.pos += 1
            return True
        return False

    def expect(self, char, what):
        if not self.accept(char):
            self.fail("expected %r %s" % (char, what))

    def name(self, what):
        text = self.text
        start = self.pos
        if self.accept("<"):
            while self.pos < len(text) and (_is_letter(text[self.pos]) or _is_digit(text[self.pos]) or text[self.pos] in "+-"):
                self.pos += 1
            if self.peek() != ">":
                self.fail("%s name: '<' not closed by '>' (only letters, digits, + and - inside)" % what)
            quoted = text[start + 1 : self.pos]
            if len(quoted) < 3:
                self.fail("%s name <%s> is shorter than 3 characters" % (what, quoted))
            self.pos += 1
            return quoted
        while self.pos < len(text) and _is_letter(text[self.pos]):
            self.pos += 1
        if self.pos - start < 3:
            if self.pos == start:
                self.fail("expected the %s name (3+ letters or <quoted>)" % what)
            self.fail("%s name %r is shorter than 3 letters" % (what, text[start : self.pos]))
        return text[start : self.pos]

    def number(self, max_digits, what):
        text = self.text
        start = self.pos
        while self.pos < len(text) and _is_digit(text[self.pos]):
            self.pos += 1
        if self.pos == start:
            self.fail("expected digits for %s" % what)
        if self.pos - start > max_digits:
            self.pos = start
            self.fail("too many digits for %s" % what)
        return int(text[start : self.pos])

    def clock(self, max_hours, max_hour_digits, what):
        """`[+-]hh[:mm[:ss]]` as signed seconds."""
        sign = 1
        if self.accept("-"):
            sign = -1
        else:
            self.accept("+")
        start = self.pos
        hours = self.number(max_hour_digits, what + " hours")
        if hours > max_hours:
            self.pos = start
            self.fail("%s hours %d out of range 0..%d" % (what, hours, max_hours))
        seconds = hours * _HOUR
        for unit, scale in (("minutes", 60), ("seconds", 1)):
            if not self.accept(":"):
                break
            start = self.pos
            value = self.number(2, what + " " + unit)
            if self.pos - start != 2 or value > 59:
                self.pos = start
                self.fail("%s %s must be two digits 00..59" % (what, unit))
            seconds += value * scale
        return sign * seconds

    def rule(self, what):
        """One `date[/time]` as (kind, a, b, c, local_seconds_after_midnight)."""
        if self.accept("M"):
            month = self.date_field(2, 1, 12, what + " month (Mm.w.d)")
            self.expect(".", "between month and week in Mm.w.d")
            week = self.date_field(1, 1, 5, what + " week (Mm.w.d)")
            self.expect(".", "between week and weekday in Mm.w.d")
            weekday = self.date_field(1, 0, 6, what + " weekday (Mm.w.d)")
            kind, a, b, c = _KIND_M, month, week, weekday
        elif self.accept("J"):
            kind, a, b, c = _KIND_J, self.date_field(3, 1, 365, what + " day Jn"), 0, 0
        elif _is_digit(self.peek()):
            kind, a, b, c = _KIND_N, self.date_field(3, 0, 365, what + " day n"), 0, 0
        else:
            self.fail("expected the %s date (Jn, n or Mm.w.d)" % what)
        time = 2 * _HOUR
        if self.accept("/"):
            time = self.clock(167, 3, what + " time")
        return (kind, a, b, c, time)

    def date_field(self, max_digits, low, high, what):
        start = self.pos
        value = self.number(max_digits, what)
        if not low <= value <= high:
            self.pos = start
            self.fail("%s %d out of range %d..%d" % (what, value, low, high))
        return value


def parse(tz):
    """(std name, std offset, dst name, dst offset, start rule, end rule)."""
    if not isinstance(tz, str):
        raise ValueError("TZ must be a string, not %s" % type(tz).__name__)
    if tz == "":
        raise ValueError("bad TZ '': empty string")
    if tz.startswith(":"):  # not tz[0]: a one-character str would be interned for good
        raise ValueError("bad TZ %r: ':' file names are not POSIX rules" % tz)
    parse = _Parser(tz)
    std_name = parse.name("standard-time")
    if parse.at_end():
        parse.fail("missing the UTC offset after the standard-time name")
    # POSIX offsets count west; we keep seconds east, like zoneinfo.
    std_offset = -parse.clock(24, 2, "standard-time offset")
    if parse.at_end():
        return std_name, std_offset, None, std_offset, None, None
    if parse.peek() == ",":
        parse.fail("transition rules need a DST name before them")
    dst_name = parse.name("daylight-time")
    dst_offset = std_offset + _HOUR
    if not parse.at_end() and parse.peek() != ",":
        dst_offset = -parse.clock(24, 2, "daylight-time offset")
    if parse.at_end():
        return std_name, std_offset, dst_name, dst_offset, _DEFAULT_START, _DEFAULT_END
    if parse.peek() != ",":
        parse.fail("unexpected %r after the daylight-time offset" % parse.text[parse.pos :])
    parse.pos += 1
    start = parse.rule("start")
    parse.expect(",", "between the start and end rules")
    end = parse.rule("end")
    if not parse.at_end():
        parse.fail("unexpected %r after the end rule" % parse.text[parse.pos :])
    return std_name, std_offset, dst_name, dst_offset, start, end
