"""The SNTP command line (DESIGN.md section 6), on both runtimes:

    python -m firmware.sntp HOST[:PORT] [--timeout-ms N]
    micropython -m firmware.sntp HOST[:PORT] [--timeout-ms N]

prints one JSON object (`sample_dict`) on stdout and exits 0, or one line
on stderr (exit 1: no valid reply; exit 2: bad arguments). Also the
blocking `query()` for host tools and tests. Apart from firmware/sntp.py so
that a board, which never runs it, never loads it.
"""

from firmware.names import resolve
from firmware.sntp import MAX_TIMEOUT_MS, TIMEOUT_MS, Query, SntpError, refid_text, short_us, split_host_port


def query(host_port, timeout_ms=TIMEOUT_MS, clock=None, nonce=None):
    """Blocking query of "host[:port]" (or a (host, port) tuple): a Sample,
    or SntpError. For the command line and host tools, not the device loop."""
    if isinstance(host_port, tuple):
        host, port = host_port
        name = "%s:%d" % (host, port)
    else:
        host, port = split_host_port(host_port)
        name = host_port
    addr = resolve(host, port)
    q = Query(addr, nonce, clock, timeout_ms, name)
    q.send()
    try:
        while True:
            sample = q.poll(timeout_ms)
            if sample is not None:
                return sample
    finally:
        q.close()


def sample_dict(self):
    """A Sample as the JSON object the command line prints."""
    f = self.fields
    return {
        "server": self.server,
        "address": self.address,
        "offset_ms": self.offset_ms,
        "delay_ms": self.delay_ms,
        "offset_us": self.offset_us,
        "delay_us": self.delay_us,
        "stratum": f[1],
        "leap": f[0] >> 6,
        "version": (f[0] >> 3) & 7,
        "poll": f[2],
        "precision": f[3],
        "refid": refid_text(f[6], f[1]),
        "root_delay_us": short_us(f[4]),
        "root_dispersion_us": short_us(f[5]),
        "t1_ms": self.t1_ms,
        "t4_ms": self.t4_ms,
        "utc_ms": self.utc_ms(),
    }


_USAGE = "usage: sntp HOST[:PORT] [--timeout-ms N]"


def _timeout_arg(text):
    try:
        value = int(text)
    except ValueError:
        raise ValueError("--timeout-ms needs an integer, got %r" % text)
    # Capped here, not left to ticks_add: MicroPython raises beyond 2**29 ms.
    if not 0 < value <= MAX_TIMEOUT_MS:
        raise ValueError("--timeout-ms must be 1..%d, got %d" % (MAX_TIMEOUT_MS, value))
    return value


def main(argv):
    """Command line: one JSON object on stdout, or one line on stderr (exit
    1: no valid reply; exit 2: bad arguments)."""
    import json
    import sys

    server = None
    timeout_ms = TIMEOUT_MS
    i = 0
    try:
        while i < len(argv):
            arg = argv[i]
            if arg == "--timeout-ms":
                i += 1
                if i >= len(argv):
                    raise ValueError("--timeout-ms needs a value")
                timeout_ms = _timeout_arg(argv[i])
            elif arg.startswith("--timeout-ms="):
                timeout_ms = _timeout_arg(arg[len("--timeout-ms=") :])
            elif arg.startswith("-"):
                raise ValueError("unknown option " + arg)
            elif server is None:
                server = arg
            else:
                raise ValueError("one server only")
            i += 1
        if server is None:
            raise ValueError("no server given")
        split_host_port(server)
    except ValueError as e:
        sys.stderr.write("sntp: %s (%s)\n" % (e, _USAGE))
        return 2
    try:
        sample = query(server, timeout_ms)
    except SntpError as e:
        sys.stderr.write("sntp: %s: %s\n" % (server, e.reason))
        return 1
    sys.stdout.write(json.dumps(sample_dict(sample)) + "\n")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
