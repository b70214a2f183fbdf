"""What every mode shares: a name, checked parameters, and the plan call."""


class Mode:
    """A tick plan generator. Subclasses set NAME, PARAMS and `plan`.

    PARAMS is a tuple of (name, default, lowest, highest, meaning); a value
    must be an int in [lowest, highest]. `check()` adds rules that tie
    several parameters together.
    """

    NAME = ""
    PARAMS = ()

    def __init__(self, **params):
        self.name = self.NAME
        known = [spec[0] for spec in self.PARAMS]
        for key in params:
            if key not in known:
                raise ValueError("%s: unknown parameter %r" % (self.NAME, key))
        for key, default, lowest, highest, _meaning in self.PARAMS:
            value = params.get(key, default)
            # bool is an int in Python; a flag where a number belongs is a typo.
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError("%s: %s must be an int, got %r" % (self.NAME, key, value))
            if not lowest <= value <= highest:
                raise ValueError(
                    "%s: %s must be in [%d, %d], got %d" % (self.NAME, key, lowest, highest, value)
                )
            setattr(self, key, value)
        self.check()

    def check(self):
        pass

    def params(self):
        """The parameters in effect, as a dict."""
        return {spec[0]: getattr(self, spec[0]) for spec in self.PARAMS}

    def plan(self, now_ms, second, rng, min_gap_ms):
        raise NotImplementedError

    def __repr__(self):
        return "<mode %s %r>" % (self.NAME, self.params())
