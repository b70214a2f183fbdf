"""The README's command lines, run as a newcomer would type them: the
safe ones as written (files they write go to a temporary folder), the ones
that need a board with --help, so a renamed module or option shows here."""

import os
import re
import shlex
import subprocess
import sys

import pytest

from tests.peers import ROOT

README = (ROOT / "README.md").read_text()


def commands():
    """Every `.venv/bin/python -m ...` or `python -m ...` line in a shell
    block, and every inline `python -m ...` span."""
    found = []
    for block in re.findall(r"```sh\n(.*?)```", README, re.S):
        for line in block.splitlines():
            line = line.split("#")[0].strip()
            if line:
                found.append(line)
    found += re.findall(r"`((?:\.venv/bin/)?python -m [^`]+)`", README)
    # A synopsis ("--tz ZONE", "[--out REPORT.json]") is no command to type.
    return sorted({c for c in found if "[" not in c and not PLACEHOLDER.search(c)})


PLACEHOLDER = re.compile(r"\b(FILE|ZONE|NAME|ISO_UTC|POSIX|PORT|HOST|DEST|TEXT|REPORT|N|CLOCK|PASSWORD)\b")


def argv(line):
    words = shlex.split(line)
    if words[0] in ("python", ".venv/bin/python"):
        words[0] = sys.executable
    return words


NEEDS_A_BOARD = ("/dev/tty", "COM")


def test_the_readme_has_the_two_commands_and_the_makefile_them():
    found = commands()
    assert "make sim" in found and "make test" in found
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^sim:", makefile, re.M) and re.search(r"^test:", makefile, re.M)


@pytest.mark.parametrize("line", [c for c in commands() if not c.startswith("make ")])
def test_a_readme_command_runs(line, tmp_path):
    words = argv(line)
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    if any(word.startswith(NEEDS_A_BOARD) for word in words):
        # It needs a board on a port: the command and its options exist.
        module = words[words.index("-m") + 1]
        proc = subprocess.run([sys.executable, "-m", module, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
        assert proc.returncode == 0, proc.stderr
        for option in (word for word in words if word.startswith("--")):
            assert option in proc.stdout, (option, line)
        return
    for flag in ("--out", "--screenshot"):
        if flag in words:  # what it writes goes to a temporary folder
            i = words.index(flag) + 1
            words[i] = str(tmp_path / os.path.basename(words[i]))
    picture = None
    if "tools.page_shot" in words:  # its one argument is the picture it writes
        import shutil

        from tests.conftest import need

        need(shutil.which("chromium") and shutil.which("chromedriver"), "Chromium for the page's picture (Debian packages chromium, chromium-driver)")
        picture = tmp_path / os.path.basename(words[-1])
        words[-1] = str(picture)
    if words[2] == "sim" and "scenario" not in words and "--screenshot" not in words:
        words.append("--frames=3")  # the window: a few frames, then it closes
    proc = subprocess.run(words, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, (line, proc.stderr[-2000:])
    for flag in ("--out", "--screenshot"):
        if flag in words:
            assert (tmp_path / os.path.basename(words[words.index(flag) + 1])).stat().st_size > 0
    if picture is not None:
        assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_under_make_test_the_steady_tests_are_one_group_on_one_worker(request):
    """`make test` runs pytest-xdist with --dist loadgroup: the tests that
    keep a core busy must stay in one group (tests/conftest.py), or they
    would share the machine with several real-time firmware runs at once."""
    if not (os.environ.get("PYTEST_XDIST_WORKER") and request.config.getvalue("loadgroup")):
        pytest.skip("not under pytest-xdist --dist loadgroup (make test runs it so)")
    assert request.node.nodeid.endswith("@steady"), request.node.nodeid
