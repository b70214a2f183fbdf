"""The memory figures `make bench` measured, kept for deploy to quote.

tools/memory.json holds the smallest heap the clock runs in on the 32-bit
unix port (.mpy files and frozen), each device module's retained bytes,
and a hash of the device code they were measured for, so deploy can tell
a user the margin before the board is plugged in, and say when the
figures are older than the code.
"""

import hashlib
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def path(root=ROOT):
    return Path(root) / "tools" / "memory.json"


def device_hash(root=ROOT):
    """A short hash of every device source file, names and contents."""
    from tools.deploy import device_files

    digest = hashlib.sha256()
    for rel in device_files(root):
        digest.update(rel.encode() + b"\0" + (Path(root) / rel).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def load(root=ROOT):
    """The figures, or None when never measured (or unreadable)."""
    try:
        return json.loads(path(root).read_text())
    except (OSError, ValueError):
        return None


def save(figures, root=ROOT):
    figures = dict(figures, device_hash=device_hash(root))
    path(root).write_text(json.dumps(figures, indent=1, sort_keys=True) + "\n")
