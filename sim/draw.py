"""All of the simulator's pygame drawing: the dial, the hands, the mode button
and the plan strip.

It only reads the core's state and changes nothing: `p`, `mode.name`, `plan`,
`done`, `now_ms` and `t` of a `Preview` (sim/preview.py). Whatever replaces
the preview (the firmware's controller) only has to offer the same.
"""

import math
import time

import pygame
import pygame.gfxdraw

from sim.preview import MINUTE_MS

BACKGROUND = (30, 34, 40)
FACE = (250, 248, 242)
RIM = (55, 60, 68)
INK = (28, 28, 32)
RED = (212, 32, 38)
MUTED = (150, 156, 166)
LIGHT = (232, 234, 238)
BUTTON = (62, 70, 82)
STRIP = (44, 49, 57)
DONE = (110, 116, 126)
TO_COME = (240, 242, 246)

SUPERSAMPLE = 3  # the static face is drawn this much larger, then smoothed down


class View:
    """The layout for one window size, with its fonts and the cached face."""

    def __init__(self, size):
        pygame.font.init()  # idempotent; a View can be made before a window
        self.resize(size)

    def resize(self, size):
        w, h = max(size[0], 200), max(size[1], 240)
        self.size = (w, h)
        u = min(w, h)  # the unit everything scales with
        margin = max(8, u // 30)
        header = max(36, h // 11)
        strip_h = max(64, h // 8)
        self.button = pygame.Rect(margin, margin, min(w - 2 * margin, max(160, u * 2 // 5)), header)
        self.strip = pygame.Rect(margin, h - margin - strip_h, w - 2 * margin, strip_h)
        top = self.button.bottom + margin
        room = self.strip.top - margin - top
        self.radius = max(20, min(w - 2 * margin, room) // 2)
        self.center = (w // 2, top + room // 2)
        self.font_big = pygame.font.Font(None, max(18, header * 3 // 4))
        self.font_small = pygame.font.Font(None, max(14, min(strip_h // 4, w // 28)))
        line = self.font_small.get_linesize()
        strip = self.strip
        self.bar = pygame.Rect(strip.x, strip.y + line + 2, strip.width, strip.height // 2)
        self.face = self._face()

    def x_of(self, ms):
        """The strip's column for a time in the minute (clamped to the strip)."""
        bar = self.bar
        return bar.x + min(max(ms, 0), MINUTE_MS) * (bar.width - 1) // MINUTE_MS

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

    def draw(self, surface, preview):
        if surface.get_size() != self.size:
            self.resize(surface.get_size())
        surface.fill(BACKGROUND)
        self._button(surface, preview)
        self._dial(surface, preview.p)
        self._strip(surface, preview)

    def _button(self, surface, preview):
        pygame.draw.rect(surface, BUTTON, self.button, border_radius=self.button.height // 4)
        label = self.font_big.render(preview.mode.name, True, LIGHT)
        surface.blit(label, label.get_rect(center=self.button.center))
        right = self.size[0] - self.button.left
        for i, line in enumerate(("space / M / click: next mode", "Esc / Q: quit")):
            hint = self.font_small.render(line, True, MUTED)
            y = self.button.centery + (i * 2 - 1) * self.font_small.get_linesize() // 2
            if right - hint.get_width() > self.button.right + 8:
                surface.blit(hint, hint.get_rect(midright=(right, y)))

    def _dial(self, surface, p):
        c, r = self.center, self.radius
        surface.blit(self.face, self.face.get_rect(center=c))
        hour_deg = p * 360 / 43200
        minute_deg = (p % 3600) * 360 / 3600
        second_deg = (p % 60) * 6
        _bar(surface, INK, c, hour_deg, -0.12 * r, 0.50 * r, max(3, r / 16), max(2, r / 30))
        _bar(surface, INK, c, minute_deg, -0.12 * r, 0.80 * r, max(3, r / 22), max(2, r / 50))
        _bar(surface, RED, c, second_deg, -0.22 * r, 0.88 * r, max(1.5, r / 100))
        _disc(surface, RED, _polar(c, second_deg, -0.17 * r), max(2, r / 30))
        _disc(surface, RED, c, max(3, r // 28))
        _disc(surface, INK, c, max(1, r // 90))

    def _strip(self, surface, preview):
        box = self.strip
        text = self.font_small
        local = time.gmtime(preview.t // 1000)  # preview.t is local ms already
        stamp = "%04d-%02d-%02d %02d:%02d:%02d  plan of this minute (%d of %d pulses made)" % (
            local[:6] + (preview.done, len(preview.plan))
        )
        surface.blit(text.render(stamp, True, MUTED), (box.x, box.y))
        bar, x_of = self.bar, self.x_of
        pygame.draw.rect(surface, STRIP, bar, border_radius=4)
        for s in range(0, 61, 5):
            x = x_of(s * 1000)
            pygame.draw.line(surface, RIM if s % 15 else MUTED, (x, bar.bottom - 4), (x, bar.bottom - 1))
            if s % 15 == 0:
                label = text.render("%d s" % s, True, MUTED)
                surface.blit(label, label.get_rect(midtop=(x, bar.bottom + 2)))
        for i, at in enumerate(preview.plan):
            x = x_of(at)
            colour = DONE if i < preview.done else TO_COME
            pygame.draw.line(surface, colour, (x, bar.top + 5), (x, bar.bottom - 6), 2)
        x = x_of(preview.now_ms)
        pygame.draw.line(surface, RED, (x, bar.top - 2), (x, bar.bottom + 1), 2)


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
