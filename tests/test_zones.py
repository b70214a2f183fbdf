"""Zone names on the laptop (tools/zones.py): every IANA zone in tzdata
becomes the POSIX rule the board reads, agreeing with zoneinfo; a wrong
name gets the closest real ones, in deploy, the simulator and scenarios."""

import json
import subprocess
import sys

import pytest

from firmware.tz import Zone
from tests.peers import ROOT
from tests.test_tz import compare_with_zoneinfo, first_rule_year, utc, zoneinfo_of
from tools import zones
from tools.zones import closest, names, read_tzif, resolve


def test_every_zone_name_becomes_its_tzif_footer():
    assert len(names()) > 500
    for name in names():
        _, footer = read_tzif(name)
        if footer:
            assert resolve(name) == footer, name
            Zone(footer)  # the board parses it


@pytest.mark.parametrize("name", ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "America/Sao_Paulo", "Pacific/Chatham", "Africa/Casablanca"])
def test_a_name_agrees_with_zoneinfo_over_the_next_years(name):
    year = max(2027, first_rule_year(name))
    compare_with_zoneinfo(Zone(resolve(name)), zoneinfo_of(name), utc(year, 1, 1), utc(year + 4, 1, 1), seed=7)


def test_posix_rules_pass_through_and_names_win_over_them():
    assert resolve("CET-1CEST,M3.5.0,M10.5.0/3") == "CET-1CEST,M3.5.0,M10.5.0/3"
    assert resolve("<+0330>-3:30") == "<+0330>-3:30"
    assert resolve("EST5EDT") == read_tzif("EST5EDT")[1]  # a zone too: its precise rule
    assert resolve("UTC") == "UTC0"


@pytest.mark.parametrize(
    "text, suggested",
    [("Europe/Berln", "Europe/Berlin"), ("europe/berlin", "Europe/Berlin"), ("Berlin", "Europe/Berlin"), ("America/New York", "America/New_York")],
)
def test_a_misspelt_name_gets_the_closest_real_ones(text, suggested):
    with pytest.raises(ValueError) as e:
        resolve(text)
    message = str(e.value)
    assert suggested in message and "\n" not in message, message
    assert closest(text)[0] == suggested


def test_a_bad_rule_says_what_is_wrong_and_offers_names():
    with pytest.raises(ValueError) as e:
        resolve("CET-1CEST,M3.5.0")
    assert "bad TZ" in str(e.value) and "zone name" in str(e.value)


def test_the_command_line_prints_a_rule_or_the_closest_names():
    ok = subprocess.run([sys.executable, "-m", "tools.zones", "Europe/Berlin"], cwd=ROOT, capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout == "CET-1CEST,M3.5.0,M10.5.0/3\n"
    bad = subprocess.run([sys.executable, "-m", "tools.zones", "Europe/Berln"], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and "Europe/Berlin" in bad.stderr and bad.stderr.count("\n") == 1


def test_deploy_installs_the_rule_of_a_zone_name(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"board": "unix", "tz": "Europe/Berlin"}))
    proc = subprocess.run([sys.executable, "-m", "firmware.deploy", str(tmp_path / "board"), "--config", str(config)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "tz: Europe/Berlin is CET-1CEST,M3.5.0,M10.5.0/3 on the board" in proc.stdout
    assert "warning" not in proc.stderr
    assert json.loads((tmp_path / "board" / "config.json").read_text())["tz"] == "CET-1CEST,M3.5.0,M10.5.0/3"


def test_deploy_names_the_zone_meant(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"board": "unix", "tz": "Europe/Berln"}))
    proc = subprocess.run([sys.executable, "-m", "firmware.deploy", str(tmp_path / "board"), "--config", str(config)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and "error: %s: tz: unknown time zone 'Europe/Berln': did you mean Europe/Berlin" % config in proc.stderr, proc.stderr


def test_the_simulator_and_scenarios_take_names(tmp_path):
    shot = tmp_path / "x.png"
    env = {"SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
    import os

    run = subprocess.run([sys.executable, "-m", "sim", "--screenshot", str(shot), "--tz", "Europe/Berlin", "--at", "2026-03-29T00:58:00Z"], cwd=ROOT, capture_output=True, text=True, env=dict(os.environ, **env), timeout=120)
    assert run.returncode == 0 and shot.exists(), run.stderr
    bad = subprocess.run([sys.executable, "-m", "sim", "--tz", "Europe/Berln"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "did you mean Europe/Berlin" in bad.stderr
    scenario = tmp_path / "s.json"
    scenario.write_text(json.dumps({"start": "2026-03-29T00:50:00Z", "duration_s": 600, "tz": "Europe/Berln"}))
    refused = subprocess.run([sys.executable, "-m", "sim", "scenario", str(scenario)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "tz: unknown time zone" in refused.stderr and "Europe/Berlin" in refused.stderr, refused.stderr
    scenario.write_text(json.dumps({"start": "2026-06-01T10:00:00Z", "duration_s": 600, "tz": "Europe/Berlin", "mode": "normal"}))
    out = tmp_path / "r.json"
    ran = subprocess.run([sys.executable, "-m", "sim", "scenario", str(scenario), "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    report = json.loads(out.read_text())
    assert report["summary"]["minutes_checked"] > 0 and report["summary"]["minutes_wrong"] == 0


def test_the_computers_zone_by_name(monkeypatch):
    from sim.preview import local_zone

    monkeypatch.setenv("TZ", "Europe/Berlin")
    assert local_zone() == "CET-1CEST,M3.5.0,M10.5.0/3"
    monkeypatch.setenv("TZ", ":America/New_York")
    assert local_zone() == "EST5EDT,M3.2.0,M11.1.0"
    monkeypatch.setenv("TZ", "PST8PDT,M3.2.0,M11.1.0")
    assert local_zone() == "PST8PDT,M3.2.0,M11.1.0"


def test_announced_changes_no_rule_can_hold_are_found_for_every_zone():
    # Some zones list explicit transitions ahead that differ from their
    # footer (Havana's, in tzdata 2026): the board would be an hour off.
    # Every zone from today, a day at a time: either the rule holds, or
    # the gap is found, and it is real (zoneinfo and the rule disagree).
    import datetime
    import time

    now = time.time()
    for name in names():
        rule = read_tzif(name)[1]
        if not rule:
            continue
        for low, high in zones.future_gaps(name, rule, now_s=now, step_s=86400):
            info = zoneinfo_of(name)
            assert Zone(rule).offset(low) != datetime.datetime.fromtimestamp(low, info).utcoffset().total_seconds(), name


def test_deploy_refuses_a_zone_its_rule_cannot_hold(tmp_path, monkeypatch):
    from tools import configcheck

    monkeypatch.setattr(zones, "future_gaps", lambda name, rule, **kw: [(1796126400, 1805000400)])
    _, problems, said = configcheck.review({"board": "unix", "tz": "America/Havana"})
    assert said == ["tz: America/Havana is %s on the board" % read_tzif("America/Havana")[1]]
    assert problems == ["tz: America/Havana has announced changes no POSIX rule can hold: the clock would be an hour off "
                        "from 2026-12-01 to 2027-03-14; deploy again after that, or --force"]
