"""A small deterministic random generator, identical on every runtime.

Marsaglia's xorshift32 (shifts 13, 17, 5), with the 32-bit state kept as two
16-bit halves. Every intermediate value stays below 2**30, so on a 32-bit
board each number is a small int: drawing allocates nothing, and CPython and
MicroPython compute bit-for-bit the same sequence. Not for cryptography.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


_MASK16 = const(0xFFFF)
_MAX30 = const(0x3FFFFFFF)  # largest value of a 30-bit draw
_WARMUP = const(16)  # xorshift's first outputs from a small seed are small


class Rng:
    """Deterministic PRNG: `Rng(seed)`; the same seed gives the same draws."""

    def __init__(self, seed=1):
        self.seed(seed)

    def seed(self, seed):
        if not isinstance(seed, int):
            raise ValueError("seed must be an int")
        seed &= 0xFFFFFFFF
        self._hi = (seed >> 16) & _MASK16
        self._lo = seed & _MASK16
        if self._hi == 0 and self._lo == 0:
            self._lo = 0x2545  # the all-zero state is xorshift's fixed point
        for _ in range(_WARMUP):
            self._step()

    def getstate(self):
        """The whole state as an int in [1, 2**32), for persistence."""
        return (self._hi << 16) | self._lo

    def setstate(self, state):
        if not isinstance(state, int) or not 0 < state <= 0xFFFFFFFF:
            raise ValueError("rng state must be an int in [1, 2**32)")
        self._hi = (state >> 16) & _MASK16
        self._lo = state & _MASK16

    def _step(self):
        hi = self._hi
        lo = self._lo
        # x ^= x << 13
        hi ^= ((hi << 13) | (lo >> 3)) & _MASK16
        lo ^= (lo << 13) & _MASK16
        # x ^= x >> 17
        lo ^= hi >> 1
        # x ^= x << 5
        hi ^= ((hi << 5) | (lo >> 11)) & _MASK16
        lo ^= (lo << 5) & _MASK16
        self._hi = hi
        self._lo = lo

    def bits30(self):
        """The next draw: the top 30 bits of the 32-bit state."""
        self._step()
        return (self._hi << 14) | (self._lo >> 2)

    def below(self, n):
        """Uniform int in [0, n), for 0 < n <= 2**30, without modulo bias."""
        # n - 1 > _MAX30, not n > 2**30: 2**30 itself is a heap int on a board.
        if n <= 0 or n - 1 > _MAX30:
            raise ValueError("below(n) needs 0 < n <= 2**30")
        while True:
            r = self.bits30()
            base = r - r % n
            # Accept only draws whose whole bucket of n values fits in 30 bits.
            if base <= _MAX30 - (n - 1):
                return r - base

    def between(self, lo, hi):
        """Uniform int in [lo, hi], both ends included."""
        if hi < lo:
            raise ValueError("between(lo, hi) needs lo <= hi")
        return lo + self.below(hi - lo + 1)

    def shuffle(self, items):
        """Fisher-Yates shuffle of a list, in place."""
        for i in range(len(items) - 1, 0, -1):
            j = self.below(i + 1)
            items[i], items[j] = items[j], items[i]
