"""The scenario runner's command line (DESIGN.md section 9), as a user runs it."""

import json
import subprocess
import sys

import pytest

from tests.peers import ROOT

GOOD = {
    "start": "2026-03-29T00:50:00Z",
    "duration_s": 7200,
    "tz": "CET-1CEST,M3.5.0,M10.5.0/3",
    "mode": "vetinari",
    "seed": 7,
    "hands": None,
    "oscillator_ppm": 0,
    "min_gap_ms": 125,
    "pulse_ms": 31,
    "events": [
        {"at_s": 600, "type": "press"},
        {"at_s": 900, "type": "power_cut", "duration_s": 95.5},
        {"at_s": 1200, "type": "ntp_outage", "duration_s": 86400},
        {"at_s": 1300, "type": "ntp_step", "offset_ms": 1500},
    ],
}


def run_cli(tmp_path, scenario, *extra, raw=None):
    path = tmp_path / "scenario.json"
    path.write_text(raw if raw is not None else json.dumps(scenario))
    return subprocess.run(
        [sys.executable, "-m", "sim", "scenario", str(path), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_design_example_runs_and_reports(tmp_path):
    out = tmp_path / "report.json"
    proc = run_cli(tmp_path, GOOD, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    pulses = report["pulses"]
    assert len(pulses) > 7000
    assert all(len(p) == 3 for p in pulses)
    assert all(b[0] >= a[0] + 125 for a, b in zip(pulses, pulses[1:]))
    assert all(p[1] == (p[2] - 1) % 2 for p in pulses)
    names = [name for _, name in report["mode_changes"]]
    assert names[:2] == ["vetinari", "hesitate"]
    summary = report["summary"]
    assert summary["minutes_checked"] == 120
    # --out prints a summary for people: the minutes, each recovery and its cause.
    lines = proc.stdout.splitlines()
    assert lines[1].startswith("120 minutes checked: %d right, %d inside recovery windows with a cause, 0 wrong without one" % (summary["minutes_right"], summary["minutes_wrong"]))
    recoveries = [line for line in lines if line.startswith("recovery ")]
    assert len(recoveries) == len(summary["recoveries"]) and all("NO CAUSE" not in line for line in recoveries), lines
    assert lines[-1] == "report: %s" % out
    facts = report["labelled"]
    assert [r["seconds"] for r in facts["recoveries"]] == [r[2] for r in summary["recoveries"]]
    assert facts["minutes"]["wrong_without_a_cause"] == 0
    assert facts["recoveries"] and all(r["cause"] for r in facts["recoveries"])
    assert facts["start"]["utc"] == "2026-03-29T00:50:00.000Z" and facts["pulse_fields"] == ["utc_ms", "polarity", "p_after"]


def test_report_goes_to_stdout_without_out(tmp_path):
    scenario = dict(GOOD, duration_s=300, events=[])
    proc = run_cli(tmp_path, scenario)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["summary"]["minutes_right"] == report["summary"]["minutes_checked"] == 5


def test_a_day_runs_in_seconds(tmp_path):
    scenario = dict(GOOD, start="2026-06-01T00:00:00Z", duration_s=86400, events=[])
    proc = run_cli(tmp_path, scenario, "--out", str(tmp_path / "r.json"))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "r.json").read_text())["summary"]
    assert summary["minutes_right"] == summary["minutes_checked"] == 1440


@pytest.mark.parametrize(
    "change, field",
    [
        ({"start": "2026-13-01T00:00:00Z"}, "start"),
        ({"start": 12}, "start"),
        ({"duration_s": -5}, "duration_s"),
        ({"duration_s": "long"}, "duration_s"),
        ({"tz": "CET-1CEST,M3.5.0,M13.5.0/3"}, "tz"),
        ({"mode": "tango"}, "mode"),
        ({"seed": 1.5}, "seed"),
        ({"hands": "25:00:00"}, "hands"),
        ({"oscillator_ppm": "fast"}, "oscillator_ppm"),
        ({"min_gap_ms": 0}, "min_gap_ms"),
        ({"pulse_ms": 500}, "pulse_ms"),
        ({"events": {"at_s": 1}}, "events"),
        ({"events": [{"at_s": 5, "type": "jump"}]}, "events[0].type"),
        ({"events": [{"type": "press"}]}, "events[0].at_s"),
        ({"events": [{"at_s": 5, "type": "power_cut"}]}, "events[0].duration_s"),
        ({"events": [{"at_s": 5, "type": "press"}, {"at_s": 9, "type": "ntp_step"}]}, "events[1].offset_ms"),
    ],
)
def test_a_bad_field_is_named_on_one_line_with_status_2(tmp_path, change, field):
    proc = run_cli(tmp_path, dict(GOOD, **change))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert field in lines[0]
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize("raw", ['{"start": "2026-03-29T00:50:00Z", "dura', "", "[1, 2]"])
def test_broken_json_is_refused_cleanly(tmp_path, raw):
    proc = run_cli(tmp_path, None, raw=raw)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


def test_missing_file_is_refused_cleanly(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "sim", "scenario", str(tmp_path / "nope.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "nope.json" in proc.stderr and "Traceback" not in proc.stderr


def test_runner_needs_no_pygame(tmp_path):
    # A user without a display or pygame can still run scenarios.
    path = tmp_path / "s.json"
    path.write_text(json.dumps(dict(GOOD, duration_s=120, events=[])))
    code = (
        "import sys; sys.modules['pygame'] = None\n"
        "from sim.__main__ import main\n"
        "sys.exit(main(['scenario', %r]))" % str(path)
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("example", sorted(p.name for p in (ROOT / "examples").glob("*.json")))
def test_the_readme_examples_run(tmp_path, example):
    proc = subprocess.run(
        [sys.executable, "-m", "sim", "scenario", str(ROOT / "examples" / example), "--out", str(tmp_path / "r.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    summary = report["summary"]
    assert summary["minutes_checked"] > 0 and not summary["unrecovered_at_end"]
    # Every recovery window has its cause (DST, a power cut, a step...).
    assert report["labelled"]["minutes"]["windows_without_a_cause"] == 0 and "NO CAUSE" not in proc.stdout
    assert summary["polarity_follows_p"] and summary["hands_agree_with_p"]


def _day_without_ntp(hands, ppm):
    return dict(
        GOOD,
        start="2026-06-01T00:00:00Z",
        duration_s=86400,
        tz="UTC0",
        hands=hands,
        oscillator_ppm=ppm,
        events=[{"at_s": 0, "type": "ntp_outage", "duration_s": 2 * 86400}],
    )


@pytest.mark.parametrize("ppm", [0, 40.5, -99.25])
def test_in_sync_at_start_means_a_clock_that_knows_time_and_rate(tmp_path, ppm):
    # "hands": null is a clock that was running in sync: an outage from the
    # very first instant is a day of holdover, every minute still right.
    proc = run_cli(tmp_path, _day_without_ntp(None, ppm), "--out", str(tmp_path / "r.json"))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "r.json").read_text())["summary"]
    assert summary["minutes_right"] == summary["minutes_checked"] == 1440
    assert summary["worst_boundary_error_ms"] <= 50


def test_hands_given_and_no_ntp_ever_means_the_clock_waits_for_the_time(tmp_path):
    # A clock booted with hands at 03:00:00 and no network cannot know the
    # time: it stands still rather than guess.
    proc = run_cli(tmp_path, _day_without_ntp("03:00:00", 0), "--out", str(tmp_path / "r.json"))
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["pulses"] == []


def test_fractional_numbers_are_taken(tmp_path):
    scenario = dict(
        GOOD,
        duration_s=600,
        oscillator_ppm=12.75,
        events=[{"at_s": 60, "type": "ntp_step", "offset_ms": 250.4}],
    )
    proc = run_cli(tmp_path, scenario, "--out", str(tmp_path / "r.json"))
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["minutes_checked"] == 10
    from sim.scenario import load

    clean = load(json.dumps(scenario))
    assert clean["oscillator_ppm"] == 12.75
    assert clean["events"][0]["offset_ms"] == 250  # the time base counts whole ms


def test_in_sync_at_start_knows_the_time_before_the_first_event():
    # Before anything runs: learnt from NTP answers that all came before the
    # start, so an event at the start itself (an outage) finds the time known.
    from firmware.controller import NO_TIME
    from sim.world import World

    start = 1780000000000
    world = World(start, oscillator_ppm=30)
    assert world.synced_at and all(t < start for t in world.synced_at)
    assert world.controller.state != NO_TIME
    assert world.timebase.utc_ms(world.ticks()) is not None
    booted = World(start, hands="03:00:00")
    assert booted.synced_at == [] and booted.controller.state == NO_TIME


def test_a_fractional_ppm_drifts_the_board_by_exactly_that_much():
    from sim.world import World, ticks_diff

    world = World(1780000000000, oscillator_ppm=0.5)
    before = world.ticks()
    world.true_ms += 86400000  # a day of true time, nothing run
    assert ticks_diff(world.ticks(), before) == 86400000 + 43  # 0.5 ppm of a day is 43.2 ms


def test_out_with_equals_sign(tmp_path):
    out = tmp_path / "r.json"
    proc = run_cli(tmp_path, dict(GOOD, duration_s=120, events=[]), "--out=%s" % out)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["summary"]["minutes_checked"] == 2


def test_a_refused_scenario_leaves_no_report_file(tmp_path):
    out = tmp_path / "r.json"
    proc = run_cli(tmp_path, dict(GOOD, mode="tango"), "--out", str(out))
    assert proc.returncode == 2
    assert not out.exists()


def test_a_misspelt_field_is_refused_naming_the_closest(tmp_path):
    scenario = {k: v for k, v in GOOD.items() if k != "duration_s"}
    scenario["duration"] = 600
    proc = run_cli(tmp_path, scenario, "--out", str(tmp_path / "r.json"))
    assert proc.returncode == 2 and not (tmp_path / "r.json").exists()
    assert proc.stderr.startswith("scenario: duration: unknown field; did you mean duration_s?") and proc.stderr.count("\n") == 1


def test_still_recovering_at_the_end_counts_as_a_recovery(tmp_path):
    # Hands at 06:00:00 at noon: about 50 min of racing, and the run ends after 30.
    scenario = dict(GOOD, start="2026-06-01T10:00:00Z", duration_s=1800, hands="06:00:00", events=[])
    proc = run_cli(tmp_path, scenario, "--out", str(tmp_path / "r.json"))
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    summary = report["summary"]
    assert summary["unrecovered_at_end"] and summary["longest_recovery_s"] > 0
    last = report["labelled"]["recoveries"][-1]
    assert last["to_utc"] is None and last["seconds"] == summary["longest_recovery_s"]
    assert last["cause"].startswith("first boot") and "still recovering" in proc.stdout


def test_a_cause_explains_only_the_window_it_opens(tmp_path):
    from sim.scenario import labelled

    report = {
        "mode_changes": [],
        "summary": {"recoveries": [[1780308000000 + 60000, 1780308000000 + 120000, 60], [1780308000000 + 7200000, 1780308000000 + 7260000, 60]],
                    "minutes_wrong": 2, "minutes_checked": 180, "minutes_right": 178},
    }
    scenario = {"start_ms": 1780308000000, "duration_s": 10800, "tz": "UTC0", "hands": None,
                "events": [{"type": "ntp_step", "at_s": 0, "offset_ms": 1500}]}
    facts = labelled(report, scenario)
    # The step explains the window a minute later, not one two hours later.
    assert [r["cause"] is not None for r in facts["recoveries"]] == [True, False]
    assert facts["minutes"]["wrong_without_a_cause"] == 1 and facts["minutes"]["windows_without_a_cause"] == 1
