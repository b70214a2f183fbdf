"""The plan contract of DESIGN.md section 5, for every mode, as properties.

For any state either the plan obeys every list rule, or ValueError is raised,
and ValueError comes exactly when no lawful plan can exist.
"""

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import modes

MINUTE = 60000


def feasible(now_ms, second, min_gap_ms):
    return (60 - second) * min_gap_ms <= MINUTE - now_ms


def assert_lawful(ts, now_ms, second, min_gap_ms):
    assert isinstance(ts, list)
    assert all(type(t) is int for t in ts), ts
    assert len(ts) == 60 - second
    assert ts[-1] == MINUTE
    assert ts[0] >= now_ms + min_gap_ms
    for a, b in zip(ts, ts[1:]):
        assert b - a >= min_gap_ms, (a, b, min_gap_ms)
        assert b > a


def mode_params(name):
    """Valid parameters for a mode, drawn across their whole documented range."""
    cls = modes.get(name).__class__
    fields = {spec[0]: st.integers(spec[2], spec[3]) for spec in cls.PARAMS}
    strategy = st.fixed_dictionaries({}, optional=fields)
    if name == "vetinari":
        strategy = st.integers(1, 999).map(lambda low: {"min_ms": low, "max_ms": 2000 - low}) | st.just({})
    if name == "hesitate":
        strategy = strategy.filter(lambda p: p.get("pauses", 1) * p.get("pause_ms", 1000) <= 30000)
    return strategy


@st.composite
def states(draw):
    return (
        draw(st.integers(0, MINUTE - 1)),
        draw(st.integers(0, 59)),
        draw(st.one_of(st.integers(1, 2500), st.integers(1, 60001))),
    )


@pytest.mark.parametrize("name", modes.NAMES)
@settings(max_examples=300, deadline=None)
@given(data=st.data(), state=states(), seed=st.integers(-(2**40), 2**40))
# The tightest feasible states: no slack at all, one pulse left, a last ms.
@example(data=None, state=(59999, 59, 1), seed=0)
@example(data=None, state=(0, 0, 1000), seed=1)
@example(data=None, state=(60000 - 60 * 125, 0, 125), seed=2)
@example(data=None, state=(60000 - 60 * 125 + 1, 0, 125), seed=3)
@example(data=None, state=(59875, 59, 125), seed=4)
@example(data=None, state=(59876, 59, 125), seed=5)
@example(data=None, state=(30000, 30, 1000), seed=6)
@example(data=None, state=(30001, 30, 1000), seed=7)
@example(data=None, state=(0, 59, 60000), seed=9)  # one pulse, all the minute's gap
@example(data=None, state=(0, 59, 60001), seed=10)
@example(data=None, state=(1, 0, 999), seed=11)
@example(data=None, state=(0, 0, 125), seed=8)
def test_plan_is_lawful_or_impossible(name, data, state, seed):
    params = data.draw(mode_params(name)) if data is not None else {}
    mode = modes.get(name, **params)
    now_ms, second, min_gap_ms = state
    rng = modes.Rng(seed)
    if feasible(now_ms, second, min_gap_ms):
        assert_lawful(mode.plan(now_ms, second, rng, min_gap_ms), now_ms, second, min_gap_ms)
    else:
        with pytest.raises(ValueError):
            mode.plan(now_ms, second, rng, min_gap_ms)


@pytest.mark.parametrize("name", modes.NAMES)
@settings(max_examples=50, deadline=None)
@given(state=states(), seed=st.integers(0, 2**32 - 1))
def test_same_state_same_plan(name, state, seed):
    now_ms, second, min_gap_ms = state
    if not feasible(*state):
        return
    a = modes.get(name).plan(now_ms, second, modes.Rng(seed), min_gap_ms)
    b = modes.get(name).plan(now_ms, second, modes.Rng(seed), min_gap_ms)
    assert a == b


@pytest.mark.parametrize("name", modes.NAMES)
@pytest.mark.parametrize(
    "args",
    [(-1, 0, 125), (60000, 0, 125), (0, -1, 125), (0, 60, 125), (0, 0, 0), (0, 0, -5), (0.5, 0, 125), (0, 0, 125.0)],
)
def test_arguments_out_of_range_are_refused(name, args):
    with pytest.raises(ValueError):
        modes.get(name).plan(args[0], args[1], modes.Rng(1), args[2])


def test_names_in_button_order():
    assert modes.NAMES == ("normal", "vetinari", "hesitate", "rush", "stumble", "gravity")
    for name in modes.NAMES:
        assert modes.get(name).name == name


def test_unknown_mode_is_refused_by_name():
    with pytest.raises(ValueError, match="tango"):
        modes.get("tango")


@pytest.mark.parametrize(
    "name, params, word",
    [
        ("normal", {"speed": 2}, "speed"),
        ("vetinari", {"min_ms": 0}, "min_ms"),
        ("vetinari", {"max_ms": 999}, "max_ms"),
        ("vetinari", {"min_ms": 500, "max_ms": 1000}, "max_ms"),
        ("vetinari", {"min_ms": 300, "max_ms": 1500}, "symmetric"),
        ("vetinari", {"max_ms": 2000}, "max_ms"),
        ("vetinari", {"min_ms": "500"}, "min_ms"),
        ("vetinari", {"min_ms": True}, "min_ms"),
        ("hesitate", {"pauses": 11}, "pauses"),
        ("hesitate", {"pauses": 10, "pause_ms": 5000}, "pause_ms"),
        ("rush", {"race_ms": 1001}, "race_ms"),
        ("rush", {"race_ms": 250.0}, "race_ms"),
        ("stumble", {"quick_ms": 1000}, "quick_ms"),
        ("gravity", {"swing_ms": -1}, "swing_ms"),
    ],
)
def test_bad_parameter_is_refused_by_name(name, params, word):
    with pytest.raises(ValueError, match=word):
        modes.get(name, **params)


def test_one_vetinari_bound_names_the_other():
    assert modes.get("vetinari", min_ms=600).params() == {"min_ms": 600, "max_ms": 1400}
    assert modes.get("vetinari", max_ms=1200).params() == {"min_ms": 800, "max_ms": 1200}


def test_parameters_in_effect_are_reported():
    assert modes.get("rush", race_ms=400).params() == {"race_ms": 400}
    assert modes.get("vetinari").params() == {"min_ms": 500, "max_ms": 1500}
