"""All of the simulator's pygame drawing: the dial and its hands, the mode
and what the controller is doing, true time beside the hands' time, the
board's button, the minute's plan as a strip, and the help overlay.

It only reads a `Preview` (sim/preview.py) and changes nothing. The hands
are the rotor's position, pulse by pulse; the strip is the controller's own
plan, converted to true time by the world.
"""

import math

import pygame
import pygame.gfxdraw

from firmware import controller as ctl
from sim.preview import MINUTE_MS, PRESETS, WARPS, dial_text

BACKGROUND = (30, 34, 40)
FACE = (250, 248, 242)
RIM = (55, 60, 68)
INK = (28, 28, 32)
RED = (212, 32, 38)
MUTED = (150, 156, 166)
LIGHT = (232, 234, 238)
BUTTON = (62, 70, 82)
BUTTON_DOWN = (40, 45, 53)
STRIP = (44, 49, 57)
DONE = (110, 116, 126)
TO_COME = (240, 242, 246)
TRUE = (64, 150, 230)  # true time: the marker on the rim and its text
GOOD = (120, 200, 130)
WARN = (236, 180, 70)
OVERLAY = (16, 18, 22, 232)

SUPERSAMPLE = 3  # the static face is drawn this much larger, then smoothed down
STATE_COLOUR = {ctl.RUN: GOOD, ctl.RACE: WARN, ctl.WAIT: WARN, ctl.SET_RUN: WARN, ctl.SET_HOLD: WARN}

HELP = (
    ("space, M", "short press: next mode (set-hands: stop, go round again)"),
    ("L", "long press: set hands; again when at 12:00:00: done"),
    ("D", "double press (as on the board: two presses while setting the hands)"),
    ("mouse", "the round button: click, hold 1 s, double-click"),
    ("+  -", "time warp faster, slower (1x to %dx)" % WARPS[-1]),
    ("1 .. 5", "warp " + ", ".join("%dx" % w for w in PRESETS)),
    ("P", "power cut on / off (only the stored position survives)"),
    ("N", "NTP outage on / off"),
    ("S", "tick sound on / off"),
    ("H, ?", "this help"),
    ("Esc, Q", "quit"),
)


class View:
    """The layout for one window size, with its fonts and the cached face."""

    def __init__(self, size):
        pygame.font.init()  # idempotent; a View can be made before a window
        self.size = None
        self._texts = {}
        self.resize(size)

    def resize(self, size):
        w, h = max(size[0], 320), max(size[1], 400)
        if (w, h) == self.size:
            return
        self.size = (w, h)
        u = min(w, h)
        margin = max(8, u // 40)
        self.margin = margin
        small = max(15, min(h // 40, w // 34))
        self.font_big = pygame.font.Font(None, max(24, h // 18))
        self.font_small = pygame.font.Font(None, small)
        self.font_key = pygame.font.Font(None, small + 2)
        line = self.font_small.get_linesize()
        self.line = line
        header = max(3 * line, self.font_big.get_linesize())
        r = header // 2 + margin // 3
        self.button = pygame.Rect(w - margin - 2 * r, margin + header // 2 - r, 2 * r, 2 * r)
        self.header = pygame.Rect(margin, margin, w - 2 * margin, header)
        self.text_top = self.header.bottom + margin // 2  # description, state
        strip_h = 3 * line + max(24, h // 20)
        self.strip = pygame.Rect(margin, h - margin - strip_h, w - 2 * margin, strip_h)
        self.info_top = self.strip.top - margin // 2 - 2 * line  # times, status
        top = self.text_top + 2 * line + margin // 2
        room = self.info_top - margin // 2 - top
        self.radius = max(30, min(w - 2 * margin, room) // 2)
        self.center = (w // 2, top + room // 2)
        bar_h = self.strip.height - 2 * line - 4
        self.bar = pygame.Rect(self.strip.x, self.strip.y + line + 2, self.strip.width, bar_h)
        self.face = self._face()
        self._texts.clear()

    def x_of(self, ms):
        """The strip's column for a time in the minute (clamped to the strip)."""
        bar = self.bar
        return bar.x + min(max(ms, 0), MINUTE_MS) * (bar.width - 1) // MINUTE_MS

    def text(self, string, colour, font=None):
        """A rendered line, cached: most lines stay the same frame to frame."""
        font = font or self.font_small
        key = (string, colour, id(font))
        surface = self._texts.get(key)
        if surface is None:
            if len(self._texts) > 400:
                self._texts.clear()
            surface = self._texts[key] = font.render(string, True, colour)
        return surface

    def _face(self):
        """The dial without hands, anti-aliased by drawing large and scaling down."""
        r = self.radius
        s = SUPERSAMPLE
        big = pygame.Surface((2 * r * s, 2 * r * s), pygame.SRCALPHA)
        c = (r * s, r * s)
        pygame.draw.circle(big, RIM, c, r * s)
        pygame.draw.circle(big, FACE, c, r * s - max(3, r // 22) * s)
        for i in range(60):
            bold = i % 5 == 0
            outer = r * 0.90
            inner = r * (0.78 if bold else 0.85)
            width = max(2, r // 45 if bold else r // 160) * s
            _bar(big, INK, c, i * 6, inner * s, outer * s, width)
        numeral = pygame.font.Font(None, max(14, r // 6) * s)
        for hour in range(1, 13):
            label = numeral.render(str(hour), True, INK)
            x, y = _polar(c, hour * 30, r * 0.64 * s)
            big.blit(label, label.get_rect(center=(round(x), round(y))))
        return pygame.transform.smoothscale(big, (2 * r, 2 * r))

    # -- a frame -------------------------------------------------------------

    def draw(self, surface, preview, held=0.0, warp=1, sound="on", show_help=False):
        """One frame. `held` is how far a held mouse press is towards a long
        press (0..1); `warp` and `sound` are the shell's settings."""
        if surface.get_size() != self.size:
            self.resize(surface.get_size())
        surface.fill(BACKGROUND)
        self._header(surface, preview, held)
        self._dial(surface, preview.shown, preview.local_ms)
        self._info(surface, preview, warp, sound)
        self._strip(surface, preview)
        if show_help:
            self._help(surface)

    def _header(self, surface, preview, held):
        m, line = self.margin, self.line
        box = self.header
        name = self.text(preview.mode_name, LIGHT, self.font_big)
        surface.blit(name, name.get_rect(midleft=(box.x, box.centery)))
        # The board's button: a round cap; a held press fills a ring towards 1 s.
        b = self.button
        down = held > 0 or preview.button.is_down
        pygame.draw.circle(surface, RIM, b.center, b.width // 2)
        pygame.draw.circle(surface, BUTTON_DOWN if down else BUTTON, b.center, b.width // 2 - 3)
        pygame.draw.circle(surface, RIM if down else MUTED, b.center, b.width // 4, 2)
        if held > 0:
            pygame.draw.arc(surface, WARN, b, math.pi / 2 - 2 * math.pi * held, math.pi / 2, 4)
        hints = ("the board's button:", "click: next mode", "hold 1 s: set hands")
        left_limit = box.x + name.get_width() + m
        for i, hint in enumerate(hints):
            label = self.text(hint, MUTED)
            rect = label.get_rect(topright=(b.left - m, box.centery - 3 * line // 2 + i * line))
            if rect.left > left_limit:
                surface.blit(label, rect)
        y = self.text_top
        surface.blit(self.text(preview.description, LIGHT), (box.x, y))
        colour = WARN if preview.warning else STATE_COLOUR.get(preview.state, MUTED)
        surface.blit(self.text(preview.state_text, colour), (box.x, y + line))

    def _dial(self, surface, p, local_ms):
        c, r = self.center, self.radius
        surface.blit(self.face, self.face.get_rect(center=c))
        # True time's second, as a marker outside the minute track.
        true_deg = (local_ms % MINUTE_MS) * 360 / MINUTE_MS
        x, y = _polar(c, true_deg, 0.94 * r)
        _disc(surface, TRUE, (x, y), max(3, r / 45))
        hour_deg = p * 360 / 43200
        minute_deg = (p % 3600) * 360 / 3600
        second_deg = (p % 60) * 6
        _bar(surface, INK, c, hour_deg, -0.12 * r, 0.50 * r, max(3, r / 16), max(2, r / 30))
        _bar(surface, INK, c, minute_deg, -0.12 * r, 0.80 * r, max(3, r / 22), max(2, r / 50))
        _bar(surface, RED, c, second_deg, -0.22 * r, 0.88 * r, max(1.5, r / 100))
        _disc(surface, RED, _polar(c, second_deg, -0.17 * r), max(2, r / 30))
        _disc(surface, RED, c, max(3, r // 28))
        _disc(surface, INK, c, max(1, r // 90))

    def _info(self, surface, preview, warp, sound):
        x, y, line = self.margin, self.info_top, self.line
        local_s = preview.local_ms // 1000
        true = "true time %02d:%02d:%02d %s" % (local_s // 3600 % 24, local_s // 60 % 60, local_s % 60, preview.zone_name)
        hands = "hands " + dial_text(preview.shown)
        lead = preview.lead_s
        label = self.text(true, TRUE)
        surface.blit(label, (x, y))
        x += label.get_width() + 2 * self.margin
        label = self.text(hands, LIGHT)
        surface.blit(label, (x, y))
        x += label.get_width() + 2 * self.margin
        colour = GOOD if lead == 0 else LIGHT if abs(lead) < 60 else WARN  # a mode may lead or lag a little
        surface.blit(self.text(lead_text(lead), colour), (x, y))
        since = preview.since_sync_s()
        if preview.ntp_down:
            ntp = "NTP down"
        elif since is None:
            ntp = "NTP: no answer yet"
        else:
            ntp = "NTP ok"
        if since is not None:
            ntp += ", synced %s ago" % span_text(since)
        status = "warp %dx   %s   power %s" % (warp, ntp, "on" if preview.powered else "OFF")
        if sound is not None:
            status += "   sound " + sound
        surface.blit(self.text(status, MUTED), (self.margin, y + line))

    def _strip(self, surface, preview):
        box, bar = self.strip, self.bar
        strip = preview.strip()
        if strip.planned:
            title = "this minute's plan: %d pulses made, %d to come" % (len(strip.done), len(strip.to_come))
        else:
            title = "this minute: %d pulses made, no plan" % len(strip.done)
        surface.blit(self.text(title, MUTED), (box.x, box.y))
        hint = self.text("H: help", MUTED)
        surface.blit(hint, hint.get_rect(topright=(box.right, box.y)))
        pygame.draw.rect(surface, STRIP, bar, border_radius=4)
        x_of = self.x_of
        for s in range(0, 61, 5):
            x = x_of(s * 1000)
            pygame.draw.line(surface, RIM if s % 15 else MUTED, (x, bar.bottom - 4), (x, bar.bottom - 1))
            if s % 15 == 0:
                label = self.text("%d s" % s, MUTED)
                rect = label.get_rect(midtop=(x, bar.bottom + 2))
                surface.blit(label, rect.clamp(box))
        top, bottom = bar.top + 5, bar.bottom - 6
        for at in strip.done:
            x = x_of(at)
            pygame.draw.line(surface, DONE, (x, top), (x, bottom), 2)
        for at in strip.to_come:
            x = x_of(at)
            pygame.draw.line(surface, TO_COME, (x, top), (x, bottom), 2)
        x = x_of(strip.now)
        pygame.draw.line(surface, RED, (x, bar.top - 2), (x, bar.bottom + 1), 2)

    def _help(self, surface):
        w, h = self.size
        keys = [self.text(k, LIGHT, self.font_key) for k, _ in HELP]
        says = [self.text(s, LIGHT) for _, s in HELP]
        key_w = max(k.get_width() for k in keys) + 2 * self.margin
        step = self.font_key.get_linesize() + 2
        title = self.text("keys (H or ? closes this)", WARN, self.font_key)
        width = min(w - 2 * self.margin, key_w + max(s.get_width() for s in says) + 2 * self.margin)
        height = (len(HELP) + 1) * step + 2 * self.margin
        panel = pygame.Surface((width, height), pygame.SRCALPHA)
        panel.fill(OVERLAY)
        panel.blit(title, (self.margin, self.margin))
        for i, (k, s) in enumerate(zip(keys, says)):
            y = self.margin + (i + 1) * step
            panel.blit(k, (self.margin, y))
            panel.blit(s, (self.margin + key_w, y + 1))
        surface.blit(panel, panel.get_rect(center=(w // 2, h // 2)))


def span_text(seconds):
    """A duration, as a person says it: 42 s, 5 min 3 s, 2 h 10 min."""
    seconds = abs(seconds)
    if seconds < 90:
        return "%d s" % seconds
    if seconds < 3600:
        return "%d min %d s" % (seconds // 60, seconds % 60)
    return "%d h %d min" % (seconds // 3600, seconds // 60 % 60)


def lead_text(lead_s):
    if lead_s == 0:
        return "hands on time"
    return "hands %s %s" % (span_text(lead_s), "ahead" if lead_s > 0 else "behind")


def _polar(c, deg, dist):
    """The point `dist` from `c` at `deg` clockwise from 12 o'clock."""
    a = math.radians(deg)
    return (c[0] + dist * math.sin(a), c[1] - dist * math.cos(a))


def _bar(surface, colour, c, deg, start, end, width, tip_width=None):
    """A bar along the ray at `deg`, from `start` to `end` away from `c`,
    narrowing to `tip_width` at `end` if given."""
    if tip_width is None:
        tip_width = width
    a = math.radians(deg)
    dx, dy = math.sin(a), -math.cos(a)
    x0, y0 = c[0] + dx * start, c[1] + dy * start
    x1, y1 = c[0] + dx * end, c[1] + dy * end
    w0, w1 = width / 2, tip_width / 2
    corners = (
        (x0 - dy * w0, y0 + dx * w0),
        (x1 - dy * w1, y1 + dx * w1),
        (x1 + dy * w1, y1 - dx * w1),
        (x0 + dy * w0, y0 - dx * w0),
    )
    points = [(round(x), round(y)) for x, y in corners]
    pygame.gfxdraw.filled_polygon(surface, points, colour)
    pygame.gfxdraw.aapolygon(surface, points, colour)


def _disc(surface, colour, c, r):
    x, y, r = round(c[0]), round(c[1]), round(r)
    pygame.gfxdraw.filled_circle(surface, x, y, r, colour)
    pygame.gfxdraw.aacircle(surface, x, y, r, colour)
