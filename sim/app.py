"""The simulator's shell: pygame events in, frames out, at a fixed step.

The clock is injected: the `Preview` holds the time source, so the same loop
runs on wall time, on a start time given with `--at`, or on a test's fake
clock. pygame must be imported after SDL_VIDEODRIVER is set (sim/__main__.py
does that for --screenshot).
"""

import pygame

from sim.draw import View

WINDOW_SIZE = (600, 760)
STEP_MS = 16  # one frame; a pulse shows at most this late
NEXT_MODE_KEYS = (pygame.K_SPACE, pygame.K_m)
QUIT_KEYS = (pygame.K_ESCAPE, pygame.K_q)


class App:
    """One window's worth of state: the preview it shows and the layout."""

    def __init__(self, preview, size=WINDOW_SIZE):
        self.preview = preview
        self.view = View(size)
        self.running = True

    def handle(self, event):
        """React to one pygame event."""
        if event.type == pygame.QUIT:
            self.running = False
        elif event.type == pygame.KEYDOWN:
            if event.key in QUIT_KEYS:
                self.running = False
            elif event.key in NEXT_MODE_KEYS:
                self.preview.press()
        elif event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            if self.view.button.collidepoint(event.pos):
                self.preview.press()

    def step(self, surface):
        """One frame: run time up to now, then draw it."""
        self.preview.advance()
        self.view.draw(surface, self.preview)


def open_window(size=WINDOW_SIZE, resizable=True):
    pygame.display.init()  # no pygame.init(): no sound yet, and audio init is noisy without a card
    pygame.font.init()
    pygame.display.set_caption("irregular clock")
    return pygame.display.set_mode(size, pygame.RESIZABLE if resizable else 0)


def run(app, frames=None, step_ms=STEP_MS):
    """The loop: events, a frame, then wait for the next fixed step.

    `frames` bounds the number of frames (for tests); None runs until quit.
    """
    screen = pygame.display.get_surface()
    ticker = pygame.time.Clock()
    while app.running and frames != 0:
        for event in pygame.event.get():
            app.handle(event)
        app.step(screen)
        pygame.display.flip()
        ticker.tick(1000 // step_ms)
        if frames is not None:
            frames -= 1


def screenshot(app, path):
    """Render one frame at the preview's moment and save it as an image."""
    surface = open_window(app.view.size, resizable=False)
    app.step(surface)
    pygame.image.save(surface, path)
