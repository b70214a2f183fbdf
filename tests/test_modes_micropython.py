"""Differential test: the MicroPython unix port plans exactly as CPython does.

A few hundred (mode, params, seed, state) cases, feasible and not, run in one
MicroPython process; every plan (or refusal) must match CPython's.
"""

import random

import modes

RUNNER = """
import json, sys
import modes
out = []
for name, params, seed, now_ms, second, min_gap_ms in json.loads(sys.stdin.read()):
    rng = modes.Rng(seed)
    try:
        out.append(modes.get(name, **params).plan(now_ms, second, rng, min_gap_ms) + [rng.getstate()])
    except ValueError:
        out.append("ValueError")
print(json.dumps(out))
"""


def symmetric(low):
    return {"min_ms": low, "max_ms": 2000 - low}


def cases(count=600):
    pick = random.Random(20261124)
    params_for = {
        "normal": lambda: {},
        "vetinari": lambda: pick.choice([{}, symmetric(pick.randint(1, 999)), {"min_ms": pick.randint(1, 999)}]),
        "hesitate": lambda: pick.choice([{}, {"pauses": pick.randint(0, 5), "pause_ms": pick.randint(1, 6000)}]),
        "rush": lambda: pick.choice([{}, {"race_ms": pick.randint(1, 1000)}]),
        "stumble": lambda: pick.choice([{}, {"stumbles": pick.randint(0, 10), "quick_ms": pick.randint(1, 999)}]),
        "gravity": lambda: pick.choice([{}, {"swing_ms": pick.randint(0, 875)}]),
    }
    out = []
    for i in range(count):
        name = modes.NAMES[i % len(modes.NAMES)]
        second = pick.choice([0, 0, 59, pick.randint(0, 59)])
        now_ms = pick.choice([0, second * 1000, 59999, pick.randint(0, 59999)])
        min_gap_ms = pick.choice([125, 125, 1, 1000, pick.randint(1, 1500)])
        seed = pick.choice([0, 7, pick.randint(-(2**40), 2**40)])
        out.append([name, params_for[name](), seed, now_ms, second, min_gap_ms])
    return out


def plan_on_cpython(name, params, seed, now_ms, second, min_gap_ms):
    rng = modes.Rng(seed)
    try:
        return modes.get(name, **params).plan(now_ms, second, rng, min_gap_ms) + [rng.getstate()]
    except ValueError:
        return "ValueError"


def test_micropython_plans_like_cpython(micropython):
    todo = cases()
    got = micropython.call_json(RUNNER, todo)
    want = [plan_on_cpython(*case) for case in todo]
    assert len(got) == len(want)
    for case, g, w in zip(todo, got, want):
        assert g == w, case
    # The cases must exercise both outcomes, or the comparison proves little.
    refused = sum(1 for w in want if w == "ValueError")
    assert 20 < refused < len(want) - 300


def test_modes_contract_tests_hold_under_micropython(micropython):
    # The lawfulness checks themselves, run on the board's interpreter, over
    # a sweep of states (no hypothesis there).
    code = """
import modes
bad = 0
checked = 0
rng = modes.Rng(3)
for name in modes.NAMES:
    mode = modes.get(name)
    for second in range(0, 60, 3):
        for now_ms in range(0, 60000, 1700):
            for gap in (1, 125, 500):
                if (60 - second) * gap > 60000 - now_ms:
                    continue
                ts = mode.plan(now_ms, second, rng, gap)
                checked += 1
                ok = len(ts) == 60 - second and ts[-1] == 60000 and ts[0] >= now_ms + gap
                for i in range(1, len(ts)):
                    ok = ok and ts[i] - ts[i - 1] >= gap
                if not ok:
                    bad += 1
print(checked, bad)
"""
    checked, bad = map(int, micropython.run(code).split())
    assert checked > 1000 and bad == 0
