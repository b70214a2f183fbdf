"""firmware/store.py on CPython and under MicroPython: the same files on both,
torn writes never invent a position, and a process killed at any moment
leaves the last position it reached or the one before.
"""

import os
import random
import select
import signal
import subprocess
import tempfile
import time

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from firmware.store import HALF_DAY, FileStore, _check, _slot, newest
from tests.peers import ROOT

# The store's operations as a tiny program, run the same way on both runtimes:
# ops are [name, args...]; "load" appends what load() returns.
OPS = """
def run_ops(directory, ops):
    from firmware.store import FileStore
    s = FileStore(directory)
    out = []
    for op in ops:
        name = op[0]
        if name == "save":
            s.save(op[1])
        elif name == "reset":
            s.reset(op[1], op[2] if len(op) > 2 else 0)
        elif name == "settings":
            s.save_settings(op[1])
        elif name == "load":
            got = s.load()
            out.append(None if got is None else [got[0], got[1], got[2]])
        elif name == "load_fresh":
            fresh = FileStore(directory)
            got = fresh.load()
            out.append(None if got is None else [got[0], got[1], got[2]])
        elif name == "damaged":
            fresh = FileStore(directory)
            fresh.load()
            out.append(fresh.damaged)
    s.close()
    return out
"""
MP_OPS = OPS + """
import json, sys
todo = json.loads(sys.stdin.read())
print(json.dumps([run_ops(d, ops) for d, ops in todo]))
"""
_ns = {}
exec(OPS, _ns)
run_ops = _ns["run_ops"]


def record(p):
    c = _check(p)
    return bytes([p & 0xFF, p >> 8, c & 0xFF, c >> 8])


def position_file(directory):
    return os.path.join(str(directory), "state", "position.bin")


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def write_bytes(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


# -- format and round trips --------------------------------------------------


def test_check_is_the_documented_formula():
    # The on-disk format must not change with the arithmetic that computes it
    # (store.py avoids p * 40503, which exceeds 2**30 on a board).
    assert all(_check(p) == (p * 40503 + 12345) & 0xFFFF for p in range(1 << 16))


def test_empty_directory_loads_none(tmp_path):
    assert FileStore(str(tmp_path)).load() is None
    assert run_ops(str(tmp_path), [["load"]]) == [None]
    assert not os.path.exists(position_file(tmp_path))


WRAP_OPS = [["reset", 43195]] + [x for p in list(range(43196, 43200)) + list(range(0, 6)) for x in (["save", p], ["load"])]
WRAP_WANT = [[p, None, 0] for p in list(range(43196, 43200)) + list(range(0, 6))]


def test_round_trip_over_the_wrap(tmp_path):
    assert run_ops(str(tmp_path), WRAP_OPS + [["load_fresh"]]) == WRAP_WANT + [[5, None, 0]]
    assert os.path.getsize(position_file(tmp_path)) == 8


def test_reset_sets_any_position(tmp_path):
    d = str(tmp_path)
    ops = [["reset", 100], ["save", 101], ["load"], ["reset", 7], ["load_fresh"], ["reset", 0], ["load_fresh"]]
    ops += [["reset", 43199], ["load_fresh"], ["save", 0], ["reset", 8], ["load_fresh"]]
    assert run_ops(d, ops) == [[101, None, 0], [7, None, 0], [0, None, 0], [43199, None, 0], [8, None, 0]]


def test_settings_round_trip_keeps_the_position(tmp_path):
    d = str(tmp_path)
    got = run_ops(d, [["reset", 500, 1], ["settings", "gravity"], ["load"], ["settings", "normal"], ["load_fresh"]])
    assert got == [[500, "gravity", 1], [500, "normal", 1]]
    # The swap rides with the position: every save keeps it, a reset sets it.
    got = run_ops(d, [["save", 501], ["save", 502], ["load_fresh"], ["reset", 0, 0], ["load_fresh"]])
    assert got == [[502, "normal", 1], [0, "normal", 0]]
    assert not os.path.exists(os.path.join(d, "settings.json.tmp"))


CORRUPT_SETTINGS = [b"", b"{", b'{"mode": "gra', b"\xff\xfe{}", b"[1, 2]", b'"normal"', b"null", b"\x00" * 40]


@pytest.mark.parametrize("junk", CORRUPT_SETTINGS)
def test_corrupt_settings_fall_back_without_losing_the_position(tmp_path, junk):
    d = str(tmp_path)
    run_ops(d, [["reset", 1234], ["settings", "rush"]])
    write_bytes(os.path.join(d, "settings.json"), junk)
    assert FileStore(d).load() == (1234, None, 0)


def test_a_cut_while_writing_settings_keeps_the_old_ones(tmp_path):
    d = str(tmp_path)
    run_ops(d, [["reset", 3, 1], ["settings", "stumble"]])
    write_bytes(os.path.join(d, "settings.json.tmp"), b'{"mode": "norm')  # never renamed
    assert FileStore(d).load() == (3, "stumble", 1)


def test_missing_settings_file_is_the_defaults(tmp_path):
    d = str(tmp_path)
    run_ops(d, [["reset", 9]])
    assert FileStore(d).load() == (9, None, 0)


# -- torn writes ---------------------------------------------------------------


def torn(p_new, old_slot, mask_bits):
    """The slot p_new was being written to, torn: each of its 32 bits is the
    new record's where mask_bits has a 1, else what the slot held before."""
    new = int.from_bytes(record(p_new), "little")
    old = int.from_bytes(old_slot, "little")
    return ((new & mask_bits) | (old & ~mask_bits & 0xFFFFFFFF)).to_bytes(4, "little")


def file_with_slot(p_new, slot_bytes):
    other = record((p_new - 1) % HALF_DAY)
    return slot_bytes + other if p_new % 2 == 0 else other + slot_bytes


def test_every_byte_wise_torn_slot_loads_p_or_p_minus_1():
    # Exhaustive over every position and every subset of the slot's four
    # bytes written (covers a cut at every byte offset of the slot): the
    # slot held p_new - 2 before, the other slot p_new - 1.
    bad = []
    for p_new in range(HALF_DAY):
        before = record((p_new - 2) % HALF_DAY)
        for m in range(16):
            mask = sum(0xFF << (8 * i) for i in range(4) if m >> i & 1)
            got = newest(file_with_slot(p_new, torn(p_new, before, mask)))
            if got is None or got[0] not in (p_new, (p_new - 1) % HALF_DAY):
                bad.append((p_new, m, got))
    assert bad == []


def test_truncated_file_at_every_length(tmp_path):
    d = str(tmp_path)
    for p_new in (0, 1, 2, 43199, 4321, 4322):
        full = file_with_slot(p_new, record(p_new))
        for length in range(9):
            write_bytes(position_file(d), full[:length])
            got = FileStore(d).load()
            if length < 4:
                assert got is None
            else:
                assert got is not None and got[0] in (p_new, (p_new - 1) % HALF_DAY), (p_new, length, got)
                if length == 8:
                    assert got[0] == p_new


def saves_then_tear(directory, p0, n, mask_bits, garbage):
    """reset(p0), n saves after it, then the next save torn; what loads."""
    s = FileStore(directory)
    s.reset(p0)
    p = p0
    for _ in range(n):
        p = (p + 1) % HALF_DAY
        s.save(p)
    s.close()
    p_new = (p + 1) % HALF_DAY
    path = position_file(directory)
    data = bytearray(read_bytes(path))
    at = 4 * (p_new % 2)
    slot = garbage if garbage is not None else torn(p_new, bytes(data[at : at + 4]), mask_bits)
    data[at : at + 4] = slot
    write_bytes(path, bytes(data))
    return p_new, slot, FileStore(directory).load()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    p0=st.integers(0, HALF_DAY - 1),
    n=st.integers(0, 70),
    mask_bits=st.integers(0, 0xFFFFFFFF),
    garbage=st.none() | st.binary(min_size=4, max_size=4),
)
@example(p0=43190, n=9, mask_bits=0, garbage=None)  # torn 43199 -> 0: nothing written
@example(p0=43190, n=8, mask_bits=0x0000FFFF, garbage=None)  # torn onto 43199: p written, check not
@example(p0=43190, n=9, mask_bits=0xFFFF0000, garbage=None)  # torn onto 0: check written, p not
@example(p0=5, n=0, mask_bits=0, garbage=b"\x00\x00\x00\x00")
@example(p0=5, n=0, mask_bits=0, garbage=b"\xff\xff\xff\xff")
def test_a_torn_save_loads_p_or_p_minus_1(p0, n, mask_bits, garbage):
    with tempfile.TemporaryDirectory() as d:
        p_new, slot, got = saves_then_tear(d, p0, n, mask_bits, garbage)
    assert got is not None
    if garbage is not None and _slot(file_with_slot(p_new, slot), p_new % 2) not in (None, p_new):
        # Random bytes that happen to be a valid record of another position
        # (a 16-bit check cannot exclude that, ~1 in 100000 draws) are not
        # a torn write; everything else must be recognised.
        return
    assert got[0] in (p_new, (p_new - 1) % HALF_DAY)
    if _slot(file_with_slot(p_new, slot), p_new % 2) is None:
        assert got[0] == (p_new - 1) % HALF_DAY  # an invalid slot is ignored


def test_a_cut_inside_reset_loads_old_or_new(tmp_path):
    # reset(p) writes p - 1 into the other slot, then p. Cut between the
    # two: the position loads as p - 1 or as what the file held before the
    # reset, never anything else.
    rnd = random.Random(5)
    for _ in range(300):
        q = rnd.randrange(HALF_DAY)
        p = rnd.randrange(HALF_DAY)
        d = tempfile.mkdtemp(dir=str(tmp_path))
        s = FileStore(d)
        s.reset(q)
        s.save((p - 1) % HALF_DAY)  # the first half of reset(p)
        s.close()
        got = FileStore(d).load()[0]
        assert got in (p, (p - 1) % HALF_DAY, q, (q - 1) % HALF_DAY), (q, p, got)


# -- never written, or unreadable ---------------------------------------------

# (what position.bin holds, damaged?): no file and eight zero bytes (created,
# cut before the first save) are a first boot; anything unreadable is not.
RECORDS = [
    (None, False),
    (bytes(8), False),
    (b"", True),
    (b"\x01\x02\x03", True),
    (bytes(range(200, 208)), True),
    ("directory", True),
]


def lay_record(directory, content):
    path = position_file(directory)
    if content == "directory":
        os.makedirs(path)
    elif content is not None:
        write_bytes(path, content)


@pytest.mark.parametrize("content, damaged", RECORDS)
def test_never_written_and_unreadable_are_told_apart(tmp_path, content, damaged):
    lay_record(tmp_path, content)
    store = FileStore(str(tmp_path))
    assert store.load() is None
    assert store.damaged is damaged


def test_micropython_tells_them_apart_as_cpython_does(micropython, tmp_path):
    todo = []
    for i, (content, _) in enumerate(RECORDS):
        lay_record(tmp_path / str(i), content)
        todo.append([str(tmp_path / str(i)), [["damaged"]]])
    got = micropython.call_json(MP_OPS, todo)
    assert got == [[damaged] for _, damaged in RECORDS]


@given(st.binary(min_size=0, max_size=12))
@settings(max_examples=300, deadline=None)
def test_a_record_with_no_valid_slot_is_damaged_unless_all_zero(data):
    with tempfile.TemporaryDirectory() as d:
        write_bytes(position_file(d), data)
        store = FileStore(d)
        got = store.load()
        if newest(data[:8]) is not None:
            assert got is not None and got[0] == newest(data[:8])[0] and not store.damaged
        else:
            assert got is None and store.damaged == (data[:8] != bytes(8))


# -- writes that fail ---------------------------------------------------------


class FailingFile:
    """A file whose writes fail while `fail[0]` is true; else the real one."""

    def __init__(self, real, fail):
        self.real = real
        self.fail = fail

    def seek(self, n):
        self.real.seek(n)

    def write(self, data):
        if self.fail[0]:
            raise OSError(5, "EIO")
        return self.real.write(data)

    def flush(self):
        self.real.flush()

    def read(self, n=-1):
        return self.real.read(n)

    def close(self):
        self.real.close()


def failing_store(directory, fail):
    """A FileStore whose position file fails on demand."""
    store = FileStore(directory)
    real_open = store._open

    def _open():
        real_open()
        store._file = FailingFile(store._file, fail)

    store._open = _open
    return store


@given(
    p0=st.integers(0, HALF_DAY - 1),
    faults=st.lists(st.booleans(), min_size=1, max_size=1500),
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_failing_writes_never_raise_and_never_leave_a_wrong_record(p0, faults):
    """A save per pulse while the flash fails at any pattern of moments:
    nothing raises; the record on flash is always one the store wrote
    whole (the position then, or the one before); once writes work again,
    within the longest backoff the record is the position once more."""
    with tempfile.TemporaryDirectory() as d:
        fail = [False]
        store = failing_store(d, fail)
        store.reset(p0)
        persisted = p0  # the last position that reached the flash whole
        p = p0
        for broken in faults:
            fail[0] = broken
            p = (p + 1) % HALF_DAY
            tried = store._skip == 0  # else this save waits out the backoff
            before = store.failures
            store.save(p)
            if tried and broken:
                assert store.failures == before + 1 and store.failing is not None
            elif tried:
                assert store.failing is None
                persisted = p
            else:
                assert store.failures == before
            on_flash = newest(read_bytes(position_file(d)))[0]
            assert on_flash in (persisted, (persisted - 1) % HALF_DAY), (on_flash, persisted, p)
        fail[0] = False
        for _ in range(513 + 1):  # the longest wait, then one try
            p = (p + 1) % HALF_DAY
            store.save(p)
        assert store.failing is None
        assert newest(read_bytes(position_file(d)))[0] == p
        store.close()
        assert FileStore(d).load()[0] == p


def test_a_failure_is_noted_and_tried_again_after_doubling_waits(tmp_path):
    fail = [True]
    store = failing_store(str(tmp_path), fail)
    store.reset(100)  # fails: the file opens, its writes do not
    assert store.failing == "OSError: [Errno 5] EIO" and store.failures == 1
    tries = []
    for p in range(101, 101 + 40):
        before = store.failures
        store.save(p)
        if store.failures != before:
            tries.append(p)
    # Waits of 1, 2, 4, 8, 16 saves between the tries.
    assert [b - a for a, b in zip(tries, tries[1:])] == [3, 5, 9, 17]
    fail[0] = False
    p = 140
    while store.failing is not None:
        p += 1
        store.save(p)
    # Back: both slots written afresh, neighbours, the newer one p.
    assert newest(read_bytes(position_file(tmp_path))) == (p, 0)
    assert _slot(read_bytes(position_file(tmp_path)), (p - 1) % 2)[0] == p - 1


def test_settings_that_cannot_be_written_are_noted_and_nothing_raises(tmp_path):
    store = FileStore(str(tmp_path))
    store.reset(5)
    os.makedirs(os.path.join(str(tmp_path), "settings.json.tmp"))  # open("w") fails
    store.save_settings("rush")
    assert "[Errno 21]" in store.failing and store.failures == 1
    store.save(6)
    assert store.failing is not None and store.pending_mode == "rush"  # the mode is still to write
    assert FileStore(str(tmp_path)).load() == (6, None, 0)


def test_a_huge_settings_file_is_not_read_whole(tmp_path):
    store = FileStore(str(tmp_path))
    store.reset(9)
    write_bytes(os.path.join(str(tmp_path), "settings.json"), b'{"mode": "rush", "x": "' + b"y" * 1000000 + b'"}')
    assert FileStore(str(tmp_path)).load() == (9, None, 0)


# -- the same files on both runtimes -----------------------------------------


def test_micropython_runs_the_same_ops(micropython, tmp_path):
    d_mp = tmp_path / "mp"
    d_cp = tmp_path / "cp"
    d_mp.mkdir()
    d_cp.mkdir()
    ops = WRAP_OPS + [["settings", "hesitate"], ["load"], ["save", 6], ["reset", 9, 1], ["load_fresh"]]
    got = micropython.call_json(MP_OPS, [[str(d_mp), ops], [str(tmp_path / "empty"), [["load"]]]])
    want = run_ops(str(d_cp), ops)
    assert got[0] == want
    assert got[1] == [None]
    assert read_bytes(position_file(d_mp)) == read_bytes(position_file(d_cp))


def test_written_by_one_runtime_read_by_the_other(micropython, tmp_path):
    by_mp = tmp_path / "by_mp"
    by_cp = tmp_path / "by_cp"
    by_mp.mkdir()
    by_cp.mkdir()
    micropython.call_json(MP_OPS, [[str(by_mp), [["reset", 43198, 1], ["save", 43199], ["save", 0], ["settings", "rush"]]]])
    run_ops(str(by_cp), [["reset", 777], ["save", 778], ["settings", "gravity"]])
    assert FileStore(str(by_mp)).load() == (0, "rush", 1)
    got = micropython.call_json(MP_OPS, [[str(by_cp), [["load"]]]])
    assert got == [[[778, "gravity", 0]]]


def test_micropython_reads_torn_files_as_cpython_does(micropython, tmp_path):
    # Garbled files made here; both runtimes load them and must agree.
    rnd = random.Random(11)
    todo = []
    want = []
    for i in range(200):
        d = tmp_path / ("c%d" % i)
        d.mkdir()
        p_new = rnd.choice([0, 1, 43199, rnd.randrange(HALF_DAY)])
        before = record((p_new - 2) % HALF_DAY)
        if i % 4 == 3:
            data = file_with_slot(p_new, bytes(rnd.getrandbits(8) for _ in range(4)))
        else:
            data = file_with_slot(p_new, torn(p_new, before, rnd.getrandbits(32)))
        data = data[: rnd.choice([8, 8, 8, rnd.randrange(9)])]
        write_bytes(position_file(d), data)
        if i % 5 == 0:
            write_bytes(os.path.join(str(d), "settings.json"), rnd.choice(CORRUPT_SETTINGS + [b'{"mode": "rush", "swap": 1}']))
        todo.append([str(d), [["load"]]])
        got = FileStore(str(d)).load()
        want.append([None if got is None else list(got)])
    assert micropython.call_json(MP_OPS, todo) == want
    assert sum(1 for w in want if w[0] is None) >= 5  # some files were cut short


# -- SIGKILL at random moments -----------------------------------------------

SAVER = """
import sys
from firmware.store import FileStore
s = FileStore(sys.argv[1])
got = s.load()
if got is None:
    p = int(sys.argv[2])
    s.reset(p)
else:
    p = got[0]
sys.stdout.write("start %d\\n" % p)
while True:
    p += 1
    if p == 43200:
        p = 0
    sys.stdout.write("%d\\n" % p)
    s.save(p)
"""


def read_lines(proc, count, timeout_s=30):
    """What the process printed up to its `count`-th line (and a little
    more, as it comes): a moment set by progress, not by the machine's speed."""
    out = b""
    end = time.monotonic() + timeout_s
    fd = proc.stdout.fileno()
    while out.count(b"\n") < count:
        left = end - time.monotonic()
        assert left > 0, "only %d lines in %d s" % (out.count(b"\n"), timeout_s)
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                return out
            out += chunk
    return out


def test_sigkill_at_random_moments_keeps_a_reached_position(micropython, tmp_path):
    rnd = random.Random(20260328)
    d = str(tmp_path)
    expected_start = None
    wrapped = False
    for round_ in range(6):
        proc = subprocess.Popen(
            [micropython.binary, "-c", SAVER, d, "43000"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env=micropython.env(),
        )
        out = read_lines(proc, rnd.randint(60, 600))  # "start" and n positions
        os.kill(proc.pid, signal.SIGKILL)
        rest, err = proc.communicate(timeout=10)
        out += rest
        assert proc.returncode == -signal.SIGKILL, err
        lines = out.decode().split("\n")
        assert lines[0].startswith("start "), (out[:200], err)
        start = int(lines[0].split()[1])
        if expected_start is not None:
            assert start == expected_start  # MicroPython loads what CPython loaded
        printed = [int(x) for x in lines[1:] if x]  # the last one may lack its newline
        assert len(printed) > 50, "killed too early to mean anything"
        assert printed[0] == (start + 1) % HALF_DAY
        wrapped = wrapped or 0 in printed
        last = printed[-1]
        got = FileStore(d).load()
        assert got is not None
        assert got[0] in (last, (last - 1) % HALF_DAY), (round_, last, got)
        expected_start = got[0]
    assert wrapped


@pytest.mark.parametrize("swap", [0, 1])
def test_a_reset_after_a_failed_write_keeps_its_coil_swap(tmp_path, swap):
    # The reopen after a failure must not bring back the file's old swap.
    fail = [False]
    store = failing_store(str(tmp_path), fail)
    store.reset(10, 1 - swap)
    fail[0] = True
    store.save(11)  # fails: the file is closed, reopened at the next try
    fail[0] = False
    store.reset(0, swap)
    assert store.failing is None
    assert FileStore(str(tmp_path)).load() == (0, None, swap)


def test_a_file_that_cannot_be_opened_now_is_not_wiped(tmp_path, monkeypatch):
    # EMFILE on open is no reason to start a new (zeroed) record.
    import builtins

    store = FileStore(str(tmp_path))
    store.reset(1234)
    store.close()
    real_open = builtins.open
    calls = []

    def no_descriptors(path, mode="r", *args, **kw):
        if "position" in str(path) and not calls:
            calls.append(mode)
            raise OSError(24, "EMFILE")
        return real_open(path, mode, *args, **kw)

    monkeypatch.setattr(builtins, "open", no_descriptors)
    store.save(1235)  # open fails once: noted, nothing written
    assert store.failures == 1 and calls == ["r+b"]
    monkeypatch.setattr(builtins, "open", real_open)
    assert FileStore(str(tmp_path)).load() == (1234, None, 0)


def test_a_mode_picked_while_the_flash_fails_stays_pending_and_failing_until_written(tmp_path):
    """The position's writes come back first: the mode is still to write,
    so the store still says it fails; a try of the pending mode (the
    clock's, between pulses) writes it and ends the failure."""
    fail = [False]
    store = failing_store(str(tmp_path), fail)
    store.reset(10)
    os.makedirs(os.path.join(str(tmp_path), "settings.json.tmp"))  # settings cannot be written
    fail[0] = True  # nor the position
    store.save_settings("rush")
    p = 11
    store.save(p)
    os.rmdir(os.path.join(str(tmp_path), "settings.json.tmp"))
    fail[0] = False
    for _ in range(5):  # past the backoff: the position is written again
        p += 1
        store.save(p)
    assert newest(read_bytes(position_file(tmp_path)))[0] == p
    assert store.pending_mode == "rush" and store.failing is not None
    store.save_settings(store.pending_mode)
    assert store.pending_mode is None and store.failing is None
    assert FileStore(str(tmp_path)).load() == (p, "rush", 0)


def test_settings_that_fail_alone_are_not_tried_again_by_the_saves(tmp_path):
    store = FileStore(str(tmp_path))
    store.reset(10)
    os.makedirs(os.path.join(str(tmp_path), "settings.json.tmp"))
    store.save_settings("rush")
    failures = store.failures
    for p in range(11, 40):
        store.save(p)
    assert store.failures == failures  # a pulse's save never writes settings
    assert store.failing is not None and store.pending_mode == "rush"  # not said to be mended
    assert FileStore(str(tmp_path)).load() == (39, None, 0)


@pytest.mark.parametrize(
    "make, why",
    [
        # (CPython names the subclass; MicroPython has OSError and ValueError.)
        (lambda path: os.makedirs(path), ("OSError:", "IsADirectoryError:")),
        (lambda path: write_bytes(path, b'{"mode": "rush", "x": "' + b"y" * 1000000 + b'"}'), ("ValueError:", "JSONDecodeError:")),
        (lambda path: write_bytes(path, b"\xff\x00garbage"), None),
    ],
)
def test_settings_that_cannot_be_read_say_why_and_never_written_says_nothing(tmp_path, make, why):
    store = FileStore(str(tmp_path))
    store.reset(9)
    fresh = FileStore(str(tmp_path))
    assert fresh.load() == (9, None, 0) and fresh.unreadable is None  # never written
    make(os.path.join(str(tmp_path), "settings.json"))
    again = FileStore(str(tmp_path))
    assert again.load() == (9, None, 0)
    if why is None:
        assert again.unreadable is not None
    else:
        assert again.unreadable.startswith(why)
    assert again.failures == 0  # nothing failed to write


def test_a_missing_store_folder_is_made_by_the_store(tmp_path):
    """A board's store folder is made at boot; if that failed (read-only
    for a while), the store makes it when it writes."""
    folder = os.path.join(str(tmp_path), "data")
    store = FileStore(folder)
    assert store.load() is None
    store.reset(7)
    assert store.failing is None
    assert FileStore(folder).load() == (7, None, 0)


def test_the_pages_zone_and_schedule_are_kept_with_the_mode_and_can_be_forgotten(tmp_path):
    store = FileStore(str(tmp_path))
    store.reset(7)
    window = [{"from": "23:%02d" % (i % 60), "to": "07:00", "mode": "normal"} for i in range(40)]  # near the page's 2 KB
    store.save_settings("rush", tz="EST5EDT,M3.2.0,M11.1.0", zone="America/New_York", schedule=window)
    assert len((tmp_path / "settings.json").read_bytes()) > 1800
    fresh = FileStore(str(tmp_path))
    assert fresh.load() == (7, "rush", 0) and fresh.unreadable is None
    assert fresh.settings == {"mode": "rush", "tz": "EST5EDT,M3.2.0,M11.1.0", "zone": "America/New_York", "schedule": window}
    fresh.save_settings("normal")  # a press keeps the page's zone and schedule
    fresh.save_settings("normal", zone=None, tz="UTC0")  # a rule with no name forgets the name
    again = FileStore(str(tmp_path))
    again.load()
    assert again.settings == {"mode": "normal", "tz": "UTC0", "schedule": window}
