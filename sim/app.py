"""The simulator's shell: pygame events in, frames and ticks out, at a fixed
step. All pygame code outside the drawing sits here.

The state is the `Preview` (sim/preview.py): the firmware's controller in
the virtual world, and an injected time source; this shell only turns keys
and clicks into its calls, and plays a tick for the pulses a frame made.
pygame must be imported after SDL_VIDEODRIVER is set (sim/__main__.py does
that for --screenshot).
"""

import array
import math

import pygame

from sim.draw import View
from sim.preview import PRESETS

WINDOW_SIZE = (600, 760)
FPS = 60
QUIT_KEYS = (pygame.K_ESCAPE, pygame.K_q)
PRESS_KEYS = {pygame.K_SPACE: "press", pygame.K_m: "press", pygame.K_l: "long_press", pygame.K_d: "double_press"}
PRESET_KEYS = dict(zip((pygame.K_1, pygame.K_2, pygame.K_3, pygame.K_4, pygame.K_5), PRESETS))
FASTER_KEYS = (pygame.K_PLUS, pygame.K_EQUALS, pygame.K_KP_PLUS)
SLOWER_KEYS = (pygame.K_MINUS, pygame.K_KP_MINUS)
SOUND_MAX_WARP = 10  # faster, the ticks would be a buzz


class Ticker:
    """The movement's tick, synthesised: a few ms of a damped ring with a
    sharp attack, a little higher for one polarity than the other, as a
    Lavet rotor sounds. Silent (and harmless) without an audio device."""

    def __init__(self):
        self.sounds = None
        try:
            if not pygame.mixer.get_init():
                pygame.mixer.init(frequency=44100, size=-16, channels=1, buffer=512)
            frequency, size, channels = pygame.mixer.get_init()
            self.sounds = [self._click(frequency, channels, hz) for hz in (2300, 2000)]
        except (pygame.error, NotImplementedError, ValueError) as e:
            self.error = str(e)

    @staticmethod
    def _click(rate, channels, hz, ms=18):
        samples = array.array("h")
        for i in range(rate * ms // 1000):
            t = i / rate
            value = 9000 * math.exp(-t * 700) * math.sin(2 * math.pi * hz * t)
            value += 5000 * math.exp(-t * 4000) * (1 if i % 7 < 3 else -1)  # the attack
            samples.extend([int(value)] * channels)
        return pygame.mixer.Sound(buffer=samples.tobytes())

    @property
    def works(self):
        return self.sounds is not None

    def play(self, polarity):
        if self.sounds is not None:
            self.sounds[polarity & 1].play()


class App:
    """One window: the preview it shows, its layout and the shell's settings."""

    def __init__(self, preview, size=WINDOW_SIZE, sound=True):
        self.preview = preview
        self.view = View(size)
        self.running = True
        self.muted = False
        self.show_help = False
        self.ticker = Ticker() if sound else None
        self.clicks = 0  # ticks played (for tests)
        self.frames = 0  # steps of the loop
        self.drawn = 0  # of them, frames drawn (the others showed nothing new)
        self._last = None  # what the last drawn frame showed, in brief

    def handle(self, event):
        """React to one pygame event."""
        p = self.preview
        self._last = None  # whatever it was (a key, an expose, a resize): draw afresh
        if event.type == pygame.QUIT:
            self.running = False
        elif event.type == pygame.KEYDOWN:
            key, text = event.key, getattr(event, "unicode", "")
            if key in QUIT_KEYS:
                self.running = False
            elif key in PRESS_KEYS:
                p.press(PRESS_KEYS[key])
            elif key in PRESET_KEYS:
                p.clock.set_warp(PRESET_KEYS[key])
            elif key in FASTER_KEYS or text == "+":
                p.clock.faster(1)
            elif key in SLOWER_KEYS or text == "-":
                p.clock.faster(-1)
            elif key == pygame.K_p:
                p.toggle_power()
            elif key == pygame.K_n:
                p.toggle_ntp()
            elif key == pygame.K_s:
                self.muted = not self.muted
            elif key == pygame.K_h or text == "?":
                self.show_help = not self.show_help
        elif event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            if self._on_button(event.pos):
                p.button_down()
            elif self.show_help:
                self.show_help = False
        elif event.type == pygame.MOUSEBUTTONUP and event.button == 1:
            p.button_up()  # wherever the pointer is now, as a finger lifts

    def _on_button(self, pos):
        b = self.view.button
        dx, dy = pos[0] - b.centerx, pos[1] - b.centery
        return dx * dx + dy * dy <= (b.width // 2 + 4) ** 2

    @property
    def sound(self):
        if self.ticker is None:
            return None  # a screenshot: no sound to speak of
        if not self.ticker.works:
            return "none (no audio device)"
        if self.muted:
            return "muted (S)"
        return "on" if self.preview.clock.warp <= SOUND_MAX_WARP else "off above %dx" % SOUND_MAX_WARP

    def step(self, surface):
        """One frame: run the world up to now, tick, then draw it, unless
        nothing on screen would change; True if it drew."""
        p = self.preview
        pulses = p.advance()
        sound = self.sound
        if pulses and sound == "on":
            self.ticker.play(pulses[-1][1])
            self.clicks += 1
        self.frames += 1
        held = p.button.held_fraction(p.clock.real_ms())
        # Time moves the true-second marker and the strip's cursor by about
        # a pixel per 100 ms at 1x; everything else changes with a pulse, a
        # press or a setting. So most frames at 1x need no drawing.
        seen = (surface.get_size(), p.world.true_ms // 100, p.pulses, p.state, p.mode_name, p.powered)
        seen += (p.ntp_down, p.clock.warp, sound, self.show_help, held, p.button.is_down)
        if seen == self._last:
            return False
        self._last = seen
        self.view.draw(surface, p, held=held, warp=p.clock.warp, sound=sound, show_help=self.show_help)
        self.drawn += 1
        return True


def open_window(size=WINDOW_SIZE, resizable=True):
    pygame.display.init()  # no pygame.init(): the mixer is opened by Ticker, if at all
    pygame.font.init()
    pygame.display.set_caption("irregular clock")
    return pygame.display.set_mode(size, pygame.RESIZABLE if resizable else 0)


def run(app, frames=None, fps=FPS):
    """The loop: events, one step, then wait for the next fixed step.

    `frames` bounds the number of frames (for tests); None runs until quit.
    """
    ticker = pygame.time.Clock()
    while app.running and frames != 0:
        for event in pygame.event.get():
            app.handle(event)
        if app.step(pygame.display.get_surface()):  # a new size after a resize
            pygame.display.flip()
        ticker.tick(fps)
        if frames is not None:
            frames -= 1


def screenshot(app, path):
    """Render one frame at the preview's moment and save it as an image."""
    surface = open_window(app.view.size, resizable=False)
    app.step(surface)
    pygame.image.save(surface, path)
