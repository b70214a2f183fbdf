"""What survives a power cut: the dial position, the mode, the coil swap.

    store.load()                  # (p, mode_name, swap) or None when empty
    store.save(p)                 # once per pulse, as the pulse starts
    store.reset(p, swap)          # a position that does not follow (set-hands)
    store.save_settings(mode)     # on a mode change

The position file holds two 4-byte slots; position p goes to slot p % 2,
which alternates with every pulse. A write torn by a power cut spoils at most
the slot being written, and the other slot then holds the position before
that pulse. Nothing is lost either way: if the rotor had not turned, that
is right; if it had, the first pulse after the reboot repeats its polarity,
which the rotor ignores, and belief and hands agree again (ARCHITECTURE.md).
Each slot is p (2 bytes) plus a 2-byte check, so an unwritten or torn slot
is recognised.

Flash wear (ARCHITECTURE.md has the arithmetic): an 8-byte file lives inline
in littlefs's metadata, so a save is one small metadata commit, not a block
erase; compactions, spread over the free blocks by littlefs's wear levelling,
give decades on a 1 MB filesystem.

Settings are rare; they are written to a temporary file and renamed, which
is atomic on littlefs and on POSIX filesystems.
"""

import json
import os

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


HALF_DAY = const(43200)
_MUL = const(40503)  # = _MUL_HI * 256 + _MUL_LO
_MUL_HI = const(158)
_MUL_LO = const(55)
_ADD = const(12345)
_RESET_MARK = const(0x5A5A)  # xored into the check of reset()'s first record
_SWAP_MARK = const(0x0F3C)  # xored into every check while the coil is swapped


def _check(p):
    # (p * _MUL + _ADD) & 0xFFFF, computed without p * _MUL (up to 1.7e9):
    # a value >= 2**30 is a heap int on a 32-bit board, and this runs per
    # pulse. Only the low byte of p * _MUL_HI reaches the low 16 bits.
    return (p * _MUL_LO + (((p * _MUL_HI) & 0xFF) << 8) + _ADD) & 0xFFFF


def _slot(data, i):
    """(p, is_reset_mark, swap) in slot i of `data`, or None if not valid."""
    if len(data) < 4 * i + 4:
        return None
    p = data[4 * i] | (data[4 * i + 1] << 8)
    check = data[4 * i + 2] | (data[4 * i + 3] << 8)
    if p >= HALF_DAY:
        return None
    mark = check ^ _check(p)
    if mark == 0:
        return p, False, 0
    if mark == _RESET_MARK:
        return p, True, 0
    if mark == _SWAP_MARK:
        return p, False, 1
    if mark == _RESET_MARK ^ _SWAP_MARK:
        return p, True, 1
    return None


def newest(data):
    """(p, swap) that a two-slot record holds, or None.

    Normally the later of two neighbours. `reset(p)` first writes p - 1
    marked as a reset, then p: if power fails between the two, the mark
    still tells where the hands were set, p. The coil swap rides in every
    slot's check, so it is written together with the position."""
    a = _slot(data, 0)
    b = _slot(data, 1)
    for one, other in ((a, b), (b, a)):
        if one is None:
            if other is None:
                return None
            if other[1]:
                return (other[0] + 1) % HALF_DAY, other[2]
            return other[0], other[2]
    if (a[0] - b[0]) % HALF_DAY == 1:
        return a[0], a[2]
    if (b[0] - a[0]) % HALF_DAY == 1:
        return b[0], b[2]
    for mark in (a, b):
        if mark[1]:
            return (mark[0] + 1) % HALF_DAY, mark[2]
    return a[0], a[2]  # not written by this store


class FileStore:
    """The store on a filesystem: littlefs on a board, a folder on a host.

    The position file lives in a directory of its own: littlefs commits a
    file's change to its directory's metadata, and a directory holding only
    this file keeps each commit small (fewer erases; ARCHITECTURE.md)."""

    def __init__(self, directory="."):
        self.state_dir = directory + "/state"
        self.position_path = self.state_dir + "/position.bin"
        self.settings_path = directory + "/settings.json"
        self._record = bytearray(4)  # reused: save() allocates nothing
        self._file = None
        self._mark = 0  # the swap mark every save carries

    def load(self):
        try:
            with open(self.position_path, "rb") as f:
                found = newest(f.read(8))
        except OSError:
            found = None
        if found is None:
            return None
        p, swap = found
        self._mark = _SWAP_MARK if swap else 0
        # Open the file for the saves now, at boot, not at the first pulse:
        # opening allocates and takes time that a pulse cannot spare.
        if self._file is None:
            self._open()
        mode = None
        try:
            with open(self.settings_path) as f:
                mode = json.load(f).get("mode")
        except (OSError, ValueError, AttributeError):
            pass  # lost settings: the default mode; the position is what matters
        return p, mode, swap

    def _open(self):
        try:
            self._file = open(self.position_path, "r+b")
            found = newest(self._file.read(8))
            self._mark = _SWAP_MARK if found is not None and found[1] else 0
        except OSError:
            try:
                os.mkdir(self.state_dir)
            except OSError:
                pass  # already there
            self._file = open(self.position_path, "w+b")
            self._file.write(bytes(8))
            self._file.flush()

    def save(self, p, mark=0):
        """Once per pulse: allocates nothing, writes one 4-byte slot."""
        if self._file is None:
            self._open()
        record = self._record
        check = _check(p) ^ self._mark ^ mark
        record[0] = p & 0xFF
        record[1] = p >> 8
        record[2] = check & 0xFF
        record[3] = check >> 8
        f = self._file
        f.seek(4 * (p & 1))
        f.write(record)
        f.flush()

    def reset(self, p, swap=0):
        """Set a position that does not follow the last one (first boot,
        set-hands), and the coil swap with it: the other slot first says
        "just before p, a reset"."""
        if self._file is None:
            self._open()
        self._mark = _SWAP_MARK if swap else 0
        self.save((p - 1) % HALF_DAY, _RESET_MARK)
        self.save(p)

    def save_settings(self, mode):
        tmp = self.settings_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"mode": mode}, f)
        os.rename(tmp, self.settings_path)

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None


class MemoryStore:
    """A store in RAM that outlives the controllers given it: the tests' and
    the scenario runner's flash, which a simulated power cut does not erase."""

    def __init__(self):
        self.p = None
        self.mode = None
        self.swap = 0
        self.writes = 0

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

    def save_settings(self, mode):
        self.mode = mode
