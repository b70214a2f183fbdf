"""What survives a power cut: the dial position, the mode, the coil swap.

    store.load()                  # (p, mode_name, swap) or None when empty
    store.damaged                 # load() found a record but cannot read it
    store.save(p)                 # once per pulse, as the pulse starts
    store.reset(p, swap)          # a position that does not follow (set-hands)
    store.save_settings(mode)     # on a mode change
    store.save_settings(mode, tz=..., zone=..., schedule=...)  # the page's choices
    store.settings                # settings.json as loaded and since saved: a dict
    store.failing, store.failures # the last write error (None: writing), and a count

firmware/memstore.py has the same interface in RAM, for the simulator and
the tests (laptop only).

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

Nothing here raises: flash fills up, wears out, or goes read-only. A write
that fails leaves the position in RAM (the controller has it), and the
store tries again after 1, 2, 4 ... 512 saves (about a pulse each), then
writes both slots afresh, so the record is whole again. `failing` says
why meanwhile; firmware/clock.py logs it and shows the problem pattern.

"Never written" (no file: the first boot, when the config's hands are
right) is told apart from "unreadable" (a file with no valid slot:
`damaged`): then no position can be trusted, and the controller keeps the
hands still and asks for set-hands instead of inventing one.
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
_MAX_SKIP = const(512)  # saves skipped at most between two tries of a failing store
# Bytes of settings.json read at most: a mode is ~20, a zone ~60, a
# schedule at most what the page takes in one request (2 KB).
_SETTINGS_MAX = const(2304)


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
        self.directory = directory
        self.state_dir = directory + "/state"
        self.position_path = self.state_dir + "/position.bin"
        self.settings_path = directory + "/settings.json"
        self._record = bytearray(4)  # reused: save() allocates nothing
        self._file = None
        self._mark = 0  # the swap mark every save carries
        self._mark_set = False  # by load() or reset(), or from the file at the first open
        self.damaged = False
        self.unreadable = None  # why settings.json could not be read (None: read, or never written)
        self.failing = None
        self.failures = 0
        self._skip = 0  # saves left to skip before the next try
        self._backoff = 0
        self._whole = True  # both slots hold this store's record
        self.pending_mode = None  # the mode of settings that could not be saved yet
        self.settings = {}  # what settings.json holds (or is to hold, while pending_mode)

    def load(self):
        self.damaged = False
        self._load_settings()
        data = None
        for _ in range(3):  # a passing error (EMFILE, ENOMEM) gets another try
            try:
                with open(self.position_path, "rb") as f:
                    data = f.read(8)
                break
            except OSError as e:
                if e.args and e.args[0] == 2:
                    return None  # ENOENT: never written
            except Exception:  # MemoryError
                pass
        if data is None:
            # There, but it cannot be read (EIO, a directory): no position.
            self.damaged = True
            return None
        found = newest(data)
        if found is None:
            # Eight zero bytes: created, cut before the first save (the
            # first boot's). Anything else is damage.
            self.damaged = data != bytes(8)
            return None
        p, swap = found
        self._mark = _SWAP_MARK if swap else 0
        self._mark_set = True
        # Open the file for the saves now, at boot, not at the first pulse:
        # opening allocates and takes time that a pulse cannot spare.
        if self._file is None:
            try:
                self._open()
            except Exception as e:
                self._failed(e)
        mode = self.settings.get("mode")
        if not isinstance(mode, str):
            mode = None
        return p, mode, swap

    def _load_settings(self):
        """settings.json into `settings`, whatever became of the position:
        the page's zone and schedule outlive a lost position."""
        self.unreadable = None
        try:
            with open(self.settings_path) as f:
                saved = json.loads(f.read(_SETTINGS_MAX))
            if isinstance(saved, dict):
                self.settings = saved
        except Exception as e:  # damaged, huge, a directory: the defaults, and the clock says why
            if not (isinstance(e, OSError) and e.args and e.args[0] == 2):  # ENOENT: never written
                try:
                    self.unreadable = "%s: %s" % (type(e).__name__, e)
                except MemoryError:
                    self.unreadable = "MemoryError"

    def _open(self):
        # Once load() or reset() has set the swap mark, the file's must not
        # bring back an older one (a reopen after a failed write).
        try:
            self._file = open(self.position_path, "r+b")
            if not self._mark_set:
                found = newest(self._file.read(8))
                self._mark = _SWAP_MARK if found is not None and found[1] else 0
                self._mark_set = True
            return
        except OSError as e:
            if not (e.args and e.args[0] == 2):
                raise  # there but not openable now (EMFILE, EIO): keep it, try later
        for folder in (self.directory, self.state_dir):  # the board's store folder may be missing too
            try:
                os.mkdir(folder)
            except OSError:
                pass  # already there
        self._file = open(self.position_path, "w+b")
        self._file.write(bytes(8))
        self._file.flush()

    def save(self, p, mark=0):
        """Once per pulse: allocates nothing while the writes succeed,
        writes one 4-byte slot; never raises."""
        if self._skip:
            self._skip -= 1
            return
        try:
            if not self._whole:
                # The first try after a failure: the other slot may hold
                # any older position, so write p's neighbour there first.
                self._write((p - 1) % HALF_DAY, 0)
                self._whole = True
            self._write(p, mark)  # a method call, no bound method: no allocation
        except Exception as e:  # OSError (EIO, ENOSPC, EROFS), MemoryError
            self._failed(e)
            return
        if self.failing is not None:
            self._backoff = 0
            if self.pending_mode is None:  # else the mode is still to write: still failing
                self.failing = None

    def _write(self, p, mark):
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

    def _failed(self, e):
        """A position write failed: note why, back off, reopen next time."""
        self._note(e)
        self._whole = False
        self._backoff = self._backoff * 2 if self._backoff else 1
        if self._backoff > _MAX_SKIP:
            self._backoff = _MAX_SKIP
        self._skip = self._backoff
        self.close()  # the old handle may be broken

    def _note(self, e):
        self.failures += 1
        try:
            self.failing = "%s: %s" % (type(e).__name__, e)
        except MemoryError:  # no heap even for the message: a fixed one
            self.failing = "MemoryError"

    def reset(self, p, swap=0):
        """Set a position that does not follow the last one (first boot,
        set-hands), and the coil swap with it: the other slot first says
        "just before p, a reset"."""
        self._mark = _SWAP_MARK if swap else 0
        self._mark_set = True
        self._skip = 0  # a new position is worth a try at once
        self.damaged = False
        try:
            self._write((p - 1) % HALF_DAY, _RESET_MARK)
            self._write(p, 0)
        except Exception as e:
            self._failed(e)
            return
        self._whole = True
        self._backoff = 0
        if self.pending_mode is None:
            self.failing = None

    def save_settings(self, mode, **changes):
        """Rare (a mode change; the page's zone or schedule in `changes`,
        None to forget one); a failure is noted and the mode kept in
        `pending_mode`, for the clock to try again (firmware/clock.py,
        check_store: between pulses, not from save(), which runs in one)."""
        settings = self.settings
        settings["mode"] = mode
        for key in changes:
            if changes[key] is None:
                settings.pop(key, None)
            else:
                settings[key] = changes[key]
        tmp = self.settings_path + ".tmp"
        try:
            with open(tmp, "w") as f:
                json.dump(settings, f)
            os.rename(tmp, self.settings_path)
        except Exception as e:
            self.pending_mode = mode
            self._note(e)
            return
        self.pending_mode = None
        if not self._backoff:  # the position's writes work too
            self.failing = None

    def close(self):
        f = self._file
        self._file = None
        if f is not None:
            try:
                f.close()
            except Exception:
                pass
