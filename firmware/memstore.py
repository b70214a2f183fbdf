"""The store in RAM: firmware/store.py's interface without a filesystem,
for the simulator and the tests. Laptop only (tools/deploy.py, HOST_ONLY):
a board has no use for it, and its code would cost heap there.
"""


class MemoryStore:
    """A store in RAM that outlives the controllers given it: the tests' and
    the scenario runner's flash, which a simulated power cut does not erase."""

    def __init__(self):
        self.p = None
        self.mode = None
        self.swap = 0
        self.writes = 0
        self.damaged = False
        self.unreadable = None
        self.pending_mode = None
        self.settings = {}
        self.failing = None
        self.failures = 0

    def load(self):
        if self.p is None:
            return None
        return self.p, self.mode, self.swap

    def save(self, p):
        self.p = p
        self.writes += 1

    def reset(self, p, swap=0):
        self.swap = swap
        self.save(p)

    def save_settings(self, mode, **changes):
        self.mode = mode
        self.settings["mode"] = mode
        for key in changes:
            if changes[key] is None:
                self.settings.pop(key, None)
            else:
                self.settings[key] = changes[key]
