"""What keeps the board's heap small, checked on the real ports.

The figures themselves are measured by `make bench` (memory_bench) and the
end-to-end run holds the firmware to a hard cap (test_firmware_e2e.py);
these check the mechanisms: boot-only modules really leave, only the
played mode is loaded, and the frozen image holds what deploy leaves out.
"""

import ast
import json
import subprocess
import sys

import pytest

from tests.conftest import need
from tests.peers import ROOT
from tools.deploy import HOST_ONLY

BOOT_ONLY = ("firmware.boot", "firmware.config", "firmware.tzparse", "hardware.boards", "hardware.boards_unix")

# Boot as main.py does, but stop where the clock would start running, and
# say what is loaded then.
AFTER_BOOT = """
import gc, sys
from firmware import clock, main
def stop(self, problems=(), running=None):
    gc.collect()
    print(" ".join(sorted(k for k in sys.modules if k.split(".")[0] in ("modes", "firmware", "hardware"))))
    print(gc.mem_alloc())
    raise SystemExit(0)  # main.run() would reset the board if the clock returned
clock.Clock.start = stop
main.run()
"""


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("memory")
    config = tmp / "config.json"
    config.write_text(json.dumps({"board": "unix", "ntp": ["127.0.0.1:9"], "mode": "rush", "unix": {"coil_log": "coil.log", "button": None}}))
    proc = subprocess.run([sys.executable, "-m", "firmware.deploy", str(tmp / "board"), "--config", str(config)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return tmp / "board"


def boot(micropython, folder):
    proc = subprocess.run([micropython.binary, *micropython.heap_args(), "-c", AFTER_BOOT], cwd=folder, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    return lines[-2].split(), int(lines[-1])


def test_boot_only_modules_leave_and_only_the_played_mode_is_loaded(micropython, deployed):
    loaded, _ = boot(micropython, deployed)
    assert "firmware.clock" in loaded and "firmware.controller" in loaded  # it did boot
    for name in BOOT_ONLY:
        assert name not in loaded, name
    assert [m for m in loaded if m.startswith("modes.") and m not in ("modes.rng", "modes.base", "modes.shape")] == ["modes.rush"]
    assert "firmware.sntp_cli" not in loaded


def test_released_modules_are_really_freed(micropython, deployed):
    # If something kept a function of a released module alive, its code
    # would stay: importing it again after boot must cost its full size.
    _, after_boot = boot(micropython, deployed)
    code = AFTER_BOOT.replace("print(gc.mem_alloc())", "a = gc.mem_alloc(); import firmware.config, hardware.boards; gc.collect(); print(gc.mem_alloc() - a)")
    proc = subprocess.run([micropython.binary, *micropython.heap_args(), "-c", code], cwd=deployed, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    again = int(proc.stdout.strip().splitlines()[-1])
    assert again > 8000, again  # their code came back in: it had left


def test_a_mode_change_forgets_the_old_mode_on_micropython(micropython):
    out = micropython.run("""
import sys, modes
a = modes.get("vetinari")
b = modes.get("gravity")
print(sorted(k for k in sys.modules if k.startswith("modes.")))
print(modes.get("vetinari").name, a.plan(0, 0, modes.Rng(1), 125) == modes.get("vetinari").plan(0, 0, modes.Rng(1), 125))
""")
    lines = out.splitlines()
    assert lines[0] == "['modes.base', 'modes.gravity', 'modes.rng', 'modes.shape']"
    assert lines[1] == "vetinari True"


def test_the_manifest_freezes_what_deploy_installs():
    tree = ast.parse((ROOT / "manifest.py").read_text())
    names = [node for node in ast.walk(tree) if isinstance(node, ast.Assign) and node.targets[0].id == "HOST_ONLY"]
    frozen_out = set(ast.literal_eval(names[0].value))
    assert {"firmware/" + name for name in frozen_out} == set(HOST_ONLY)


@pytest.mark.peer
def test_the_frozen_image_holds_the_device_code(tmp_path):
    from tests.peers import micropython32_frozen_binary

    binary = need(micropython32_frozen_binary(), "the 32-bit port with the clock frozen in (make test builds it)")
    code = "import modes, firmware.main, firmware.clock, hardware.boards; print(modes.__file__)"
    # From an empty folder, with no MICROPYPATH: only the image can answer.
    env = {"PATH": "/usr/bin:/bin"}
    proc = subprocess.run([binary, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "modes/__init__.py", proc.stdout + proc.stderr
    gone = subprocess.run([binary, "-c", "import firmware.sntp_cli"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert "ImportError" in gone.stdout + gone.stderr  # the laptop-only CLI is not in the image


# After boot, every mode in turn as the button plays them, then the table
# of interned names: a loaded .mpy interns all its names for good, and the
# table grows in pools that double; pools 1-5 hold 620 names, the sixth is
# 4,480 bytes in one block. Found at a 72,000 cap: after three mode
# switches the sixth pool found no block, and no further mode loaded.
# Servers given by address, as here: a server by name loads the DNS client
# (firmware/names.py, firmware/dns.py), whose names take the table into
# its sixth pool at the first lookup (ARCHITECTURE.md, Memory).
EVERY_MODE = AFTER_BOOT.replace(
    "print(gc.mem_alloc())",
    "import modes, micropython\n"
    "    for name in modes.NAMES:\n"
    "        modes.get(name)\n"
    "    micropython.qstr_info()",
)


def test_every_mode_fits_the_name_tables_five_pools(micropython, deployed):
    # A first boot: after three boots that never ran, the next is in safe
    # mode, with the config checker (and its names) loaded.
    (deployed / "boots.txt").unlink(missing_ok=True)
    proc = subprocess.run([micropython.binary, *micropython.heap_args(), "-c", EVERY_MODE], cwd=deployed, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "safe mode" not in proc.stdout, proc.stdout + proc.stderr
    line = [text for text in proc.stdout.splitlines() if text.startswith("qstr pool:")][-1]
    fields = dict(part.strip().split("=") for part in line.split(":", 1)[1].split(","))
    # Room left for the names a running clock still adds (attributes and
    # short strings first met at run time): at least 8.
    assert int(fields["n_pool"]) <= 5 and int(fields["n_qstr"]) <= 612, line


def test_releasing_a_module_never_loaded_interns_nothing(micropython):
    # release() drops a boot-only module; for one never loaded (the other
    # board's builders, the TZ parser with checked.json) it must not intern
    # the module's name on the way (delattr would), and load_module() makes
    # a module's name only when it runs.
    out = micropython.run("""
import micropython, sys
from firmware import main
micropython.qstr_info()
main.release("firmware.never_loaded_here")
micropython.qstr_info()
print(main.load_module("firmware.wall") is sys.modules["firmware.wall"])
""")
    counts = [line.split("n_qstr=")[1].split(",")[0] for line in out.splitlines() if line.startswith("qstr pool:")]
    assert len(counts) == 2 and counts[0] == counts[1], out
    assert out.strip().endswith("True"), out
