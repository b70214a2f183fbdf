"""Memory on the 32-bit MicroPython unix port, the stand-in for a board's
RAM (tools/micropython32.py): its objects are a board's size and
`-X heapsize=N` is a heap that never grows. Saved to tools/memory.json,
which deploy quotes (tools/deploy.py, ram_line).

- min heap: the smallest heap, to within 1,000 bytes, in which the
  deployed clock boots, syncs with a real chronyd and pulses (judged by
  tools/heapcap.py), with .mpy files and with the clock frozen in; each
  with the NTP server by address, by name (the DNS client loaded too, as
  for the default pool.ntp.org), and with the page and MQTT on.
- import: each device module's retained bytes after import from .mpy
  files (gc.mem_alloc() after a collection, before and after), imported
  one by one after the modules it imports.
- day: the live heap (gc.mem_alloc() right after gc.collect(), once per
  simulated minute) while the controller plays a whole virtual day
  (tests/portable_day.py) from source: that is the device code compiled
  in RAM, the day's harness and the controller's own data together, so
  its growth over the start is what a day adds, and the high-water what
  a heap must hold at once.

Real time: a few minutes (each passing heap runs the firmware 15 s).

    .venv/bin/python -m bench memory_bench
"""

import ast
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.chronyd import Chronyd, chronyd_binary
from tests.peers import MicroPython
from tools import heapcap, memory
from tools.deploy import ROOT, device_files
from tools.micropython32 import VERSION, BuildError, build, frozen_binary, plain_binary

RUNTIME = "micropython32"
LOW, HIGH, STEP = 16000, 200000, 1000  # the search range and resolution, bytes


def smallest_heap(passes):
    """The smallest heap in (LOW, HIGH] that `passes`, to within STEP; None
    when HIGH fails too. Bisection assumes more heap never hurts, which
    holds but near the edge: there a run may pass and the next fail (the
    collector scans the C stack conservatively; the network's timing
    varies), so the answer must pass a second time, or it moves up."""
    lo, hi = LOW, HIGH
    while hi - lo > STEP:
        mid = (lo + hi) // 2 // STEP * STEP  # round figures, as quoted
        if passes(mid):
            hi = mid
        else:
            lo = mid
    while not passes(hi):
        hi += STEP
        if hi > HIGH:
            return None
    return hi


def min_heaps(tmp, server):
    """{"mpy", "frozen", "named", "frozen-named", "networked",
    "frozen-networked": bytes} (None: not even HIGH; "named" with the NTP
    server given by name, through a resolver on loopback; the networked
    ones with the page and MQTT on, connected to a mosquitto, and missing
    without one)."""
    from tests.mosquitto import Mosquitto, mosquitto_binary
    from tests.test_dns import Resolver
    from tests.webclient import free_tcp_port

    found = {}
    broker = Mosquitto(tmp / "broker").start() if mosquitto_binary() else None
    # The NTP server by name (as the default pool.ntp.org is): the clock then
    # loads its DNS client (firmware/names.py, firmware/dns.py) as well.
    try:
        with Resolver({"ntp.test": [127, 0, 0, 1]}) as resolver:
            named = {"ntp": ["ntp.test:%s" % server.address.rsplit(":", 1)[1]], "dns": resolver.address}
            kinds = [("mpy", plain_binary(), {}, ()), ("frozen", frozen_binary(), {}, ()),
                     ("named", plain_binary(), named, ()), ("frozen-named", frozen_binary(), named, ())]
            if broker is not None:
                more = {"web": {"password": "bench-password", "port": free_tcp_port()}, "mqtt": {"host": "127.0.0.1", "port": broker.port}}
                said = ("web: the page is on port", "mqtt: connected")
                kinds += [("networked", plain_binary(), more, said), ("frozen-networked", frozen_binary(), more, said)]
            for kind, binary, more, said in kinds:
                coil = tmp / ("%s.coil.log" % kind)
                folder = heapcap.deploy_unix(tmp / kind, server.address, coil, frozen=kind.startswith("frozen"), more=more)

                def passes(heap):
                    ok, why = heapcap.run_capped(binary, folder, heap, coil, said=said)
                    print("  min heap, %s: %d B %s (%s)" % (kind, heap, "passes" if ok else "fails", why), file=sys.stderr, flush=True)
                    return ok

                found[kind] = smallest_heap(passes)
    finally:
        if broker is not None:
            broker.stop()
    return found


# -- import: each module's own bytes ------------------------------------------


def module_name(rel):
    """'modes/__init__.py' -> 'modes' (the package's __init__ is the package)."""
    parts = rel[: -len(".py")].split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level(node):
    # Statements run at import: everything but function bodies (an import
    # inside a function, as `import machine` in the board functions, waits)
    # and `if __name__ == "__main__":` (firmware.sntp's command line).
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) or _is_main_guard(child):
            continue
        yield child
        yield from _top_level(child)


def _is_main_guard(node):
    return isinstance(node, ast.If) and ast.unparse(node.test) == "__name__ == '__main__'"


def import_order(root=ROOT):
    """(device modules, each after those its file imports at top level;
    the other modules those files import at top level)."""
    names = {module_name(rel): rel for rel in device_files(root)}
    deps, others = {}, set()
    for name, rel in names.items():
        package = name if rel.endswith("__init__.py") else name.rpartition(".")[0]
        found = set()
        for node in _top_level(ast.parse((Path(root) / rel).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                wanted = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the package, up level - 1
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                wanted = [base] + [base + "." + alias.name for alias in node.names]  # a name may be a submodule
            else:
                continue
            for target in wanted:
                if target in names:
                    found.add(target)
                elif "." not in target:  # json, asyncio: not "time.ticks_ms"
                    others.add(target)
        deps[name] = found - {name}

    def reaches(a, b, seen=()):
        return a == b or any(reaches(d, b, seen + (a,)) for d in deps[a] if d not in seen)

    # A package before its submodules, as Python imports them, unless it
    # imports them itself (then the stand-in in IMPORT_SCRIPT is needed).
    for name in names:
        parent = name.rpartition(".")[0]
        if parent in names and not reaches(parent, name):
            deps[name].add(parent)
    order = []

    def visit(name, seen=()):
        if name not in order and name not in seen:
            for dep in sorted(deps[name]):
                visit(dep, seen + (name,))
            order.append(name)

    for name in sorted(names):
        visit(name)
    return order, sorted(others)


# Run in the deployed folder. Importing a submodule first runs its package's
# __init__, which may import submodules of its own (modes imports
# modes.rng): then the package would be charged with them, or they with the
# package. So a submodule whose package is not imported yet goes in under a
# stand-in, an empty package whose __path__ points at the real folder; the
# real package replaces it at its turn and gets its submodules as
# attributes, as a real import leaves them.
IMPORT_SCRIPT = """
import gc, sys
sys.path.append(%(standin_dir)r)

def used():
    gc.collect()
    return gc.mem_alloc()

before = used()
for name in %(others)r:
    try:
        __import__(name)
    except ImportError:
        pass
print("others", used() - before)
standins = []
for name in %(order)r:
    parts = name.split(".")
    for i in range(1, len(parts)):
        parent = ".".join(parts[:i])
        if parent not in sys.modules:
            standin = __import__("_standin")
            del sys.modules["_standin"]
            standin.__path__ = parent.replace(".", "/")
            sys.modules[parent] = standin
            standins.append(parent)
    if name in standins:
        del sys.modules[name]
    before = used()
    __import__(name)
    module = sys.modules[name]
    for sub in list(sys.modules):
        if sub.startswith(name + ".") and "." not in sub[len(name) + 1:]:
            setattr(module, sub[len(name) + 1:], sys.modules[sub])
    print(name, used() - before)
"""


def module_bytes(folder, tmp, binary):
    """({device module: retained bytes}, bytes of the port's modules they
    import), from the .mpy files deployed in `folder`."""
    (tmp / "standin" / "_standin").mkdir(parents=True)
    order, others = import_order()
    script = IMPORT_SCRIPT % {"standin_dir": str(tmp / "standin"), "others": others, "order": order}
    # '.frozen': the port's own frozen modules (asyncio), as on the board.
    env = dict(os.environ, MICROPYPATH=".:.frozen")
    proc = subprocess.run([binary, "-c", script], cwd=folder, env=env, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError("import measure failed: %s" % (proc.stderr or proc.stdout).strip()[-500:])
    got = {line.split()[0]: int(line.split()[1]) for line in proc.stdout.splitlines() if line.strip()}
    return {name: got[name] for name in order}, got["others"]


# -- day: the live heap over a virtual day ------------------------------------

DAY_SCRIPT = """
import gc, json
from tests import portable_day as pd
day = pd.Day(lambda line: None)
start = day.true_ms
events = [(start + at, kind) for at, kind in pd.PRESSES]
gc.collect()
first = high = gc.mem_alloc()
i = 0
for minute in range(1, 24 * 60 + 1):
    end = start + minute * 60000
    j = i
    while j < len(events) and events[j][0] <= end:
        j += 1
    day.run_until(end, events[i:j])
    i = j
    gc.collect()
    high = max(high, gc.mem_alloc())
print(json.dumps({"start": first, "high": high, "pulses": day.pulses}))
"""


def day_heap(binary):
    got = json.loads(MicroPython(binary, bits=32).run(DAY_SCRIPT, timeout=1800))
    if got["pulses"] < 86400:  # every mode makes 60 a minute: the day ran
        raise RuntimeError("the virtual day made only %d pulses" % got["pulses"])
    return got


def rows():
    binary = plain_binary()
    if binary is None:
        return [("memory (32-bit MicroPython unix port missing)", RUNTIME, "-", "skipped")]
    if chronyd_binary() is None:
        return [("memory (chronyd missing)", RUNTIME, "-", "skipped")]
    try:
        build(frozen=True, log=lambda text: None)  # the frozen image must hold today's device code
    except BuildError as e:
        return [("memory (frozen build: %s)" % e, RUNTIME, "-", "skipped")]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        with Chronyd(str(tmp / "chrony"), offset_s=0) as server:
            heaps = min_heaps(tmp, server)
        modules, others = module_bytes(tmp / "mpy", tmp, binary)
    day = day_heap(binary)
    memory.save(
        {
            "min_heap": heaps,
            "modules": modules,
            "port_modules": others,
            "day_high_water": day["high"],
            "day_start": day["start"],
            "port": "MicroPython %s unix, 32-bit" % VERSION,
        }
    )
    out = []
    for kind, label in (("mpy", ".mpy files"), ("frozen", "frozen"), ("named", ".mpy, NTP server by name"),
                        ("frozen-named", "frozen, NTP server by name"), ("networked", ".mpy, page and MQTT on"),
                        ("frozen-networked", "frozen, page and MQTT on")):
        if kind not in heaps:
            out.append(("min heap (%s: mosquitto missing)" % label, RUNTIME, "-", "skipped"))
            continue
        value = heaps[kind] if heaps[kind] is not None else "> %d" % HIGH
        out.append(("min heap: boots, syncs, pulses (%s)" % label, RUNTIME, value, "B"))
    for name, used in modules.items():
        out.append(("import: %s" % name, RUNTIME, used, "B"))
    out.append(("import: all device modules (total)", RUNTIME, sum(modules.values()), "B"))
    out.append(("import: the port's modules they use (asyncio...)", RUNTIME, others, "B"))
    out.append(("day: live heap high-water (per minute, after gc)", RUNTIME, day["high"], "B"))
    out.append(("day: growth over the live heap at the start", RUNTIME, day["high"] - day["start"], "B"))
    return out


if __name__ == "__main__":
    for row in rows():
        print("%-52s %-12s %10s  %s" % row)
