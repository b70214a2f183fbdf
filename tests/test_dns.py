"""firmware/dns.py: the lookup that never blocks. Replies are parsed the
same on CPython and both MicroPython ports, garbage only ever gives a
DnsError, and a resolver on loopback that answers, or never does, is
asked without stopping the event loop.
"""

import asyncio
import socket
import struct
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware import dns


def encode_name(name):
    out = b""
    for label in name.split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def reply(ident, name, answers=(), rcode=0, compress=True):
    """A resolver's reply: `answers` are (type, rdata) for `name`, a CNAME
    target's records named by a pointer to the question (or spelt out)."""
    head = struct.pack("!HHHHHH", ident, 0x8180 | rcode, 1, len(answers), 0, 0)
    question = encode_name(name) + struct.pack("!HH", 1, 1)
    body = b""
    for kind, rdata in answers:
        owner = b"\xc0\x0c" if compress else encode_name(name)
        body += owner + struct.pack("!HHIH", kind, 1, 300, len(rdata)) + rdata
    return head + question + body


def test_the_query_is_a_recursive_a_question():
    q = dns.query("pool.ntp.org", 0x1234)
    assert bytes(q) == struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + encode_name("pool.ntp.org") + b"\x00\x01\x00\x01"


@pytest.mark.parametrize("name", ["", "a..b", "x" * 64 + ".com", ".".join(["abcdefghi"] * 26)])
def test_a_bad_name_is_refused_before_asking(name):
    with pytest.raises(dns.DnsError):
        dns.query(name, 1)


CASES = [
    ("one address", reply(7, "a.example", [(1, bytes([10, 0, 0, 1]))]), "10.0.0.1"),
    ("a CNAME first", reply(7, "a.example", [(5, encode_name("b.example")), (1, bytes([10, 0, 0, 2]))]), "10.0.0.2"),
    ("names spelt out", reply(7, "a.example", [(1, bytes([1, 2, 3, 4]))], compress=False), "1.2.3.4"),
    ("an IPv6 address only", reply(7, "a.example", [(28, bytes(16))]), "DnsError"),
    ("no such name", reply(7, "a.example", rcode=3), "DnsError"),
    ("refused", reply(7, "a.example", rcode=5), "DnsError"),
    ("another query's reply", reply(8, "a.example", [(1, bytes(4))]), "DnsError"),
    ("cut short", reply(7, "a.example", [(1, bytes([10, 0, 0, 1]))])[:-2], "DnsError"),
    ("empty", b"", "DnsError"),
]


def parse_here(data):
    try:
        return dns.parse(data, 7, "a.example")
    except dns.DnsError:
        return "DnsError"


@pytest.mark.parametrize("what, data, want", CASES, ids=[c[0] for c in CASES])
def test_replies(what, data, want):
    assert parse_here(data) == want


@given(st.binary(max_size=80))
@settings(max_examples=500, deadline=None)
def test_garbage_is_a_dns_error_never_a_crash(data):
    parse_here(data)  # only DnsError may come out
    parse_here(b"\x00\x07\x81\x80" + data)  # past the header check: our ident, a reply


@given(st.lists(st.sampled_from([b"\x00", b"\xc0\x0c", b"\x03abc", b"\x3f", b"\x01", b"\xff", b"\x00\x01\x00\x01"]), max_size=12))
@settings(max_examples=300, deadline=None)
def test_a_valid_header_over_broken_records_is_a_dns_error_never_a_crash(parts):
    data = struct.pack("!HHHHHH", 7, 0x8180, 1, 2, 0, 0) + b"".join(parts)
    parse_here(data)


MP_PARSE = """
import json, sys
from firmware import dns
out = []
for hexdata in json.loads(sys.stdin.read()):
    try:
        out.append(dns.parse(bytes.fromhex(hexdata), 7, "a.example"))
    except dns.DnsError:
        out.append("DnsError")
print(json.dumps(out))
"""


def test_micropython_parses_as_cpython_does(micropython):
    import random

    rnd = random.Random(5)
    datas = [c[1] for c in CASES]
    for c in CASES[:3]:  # damaged copies of the good ones
        for _ in range(30):
            d = bytearray(c[1])
            d[rnd.randrange(len(d))] = rnd.randrange(256)
            datas.append(bytes(d[: rnd.randrange(len(d) + 1)]))
    assert micropython.call_json(MP_PARSE, [d.hex() for d in datas]) == [parse_here(d) for d in datas]


def test_is_ipv4():
    assert dns.is_ipv4("192.168.1.1") and dns.is_ipv4("0.0.0.0")
    for text in ("256.1.1.1", "1.2.3", "a.b.c.d", "1.2.3.4.5", "", "1..2.3", "01234.1.1.1", "\uff11.1.1.1"):
        assert not dns.is_ipv4(text), text


def test_the_hosts_resolver_is_read_from_resolv_conf(tmp_path):
    conf = tmp_path / "resolv.conf"
    conf.write_text("# a comment\nsearch lan\nnameserver fe80::1\nnameserver 192.168.1.1\nnameserver 8.8.8.8\n")
    assert dns.resolver_of_host(str(conf)) == "192.168.1.1"
    assert dns.resolver_of_host(str(tmp_path / "none")) is None


# -- a resolver on loopback ------------------------------------------------------


class Resolver(threading.Thread):
    """A UDP resolver on loopback: A records from `names`; silent for the rest."""

    def __init__(self, names):
        super().__init__(daemon=True)
        self.names = names
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.address = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.asked = []
        self.stopped = False

    def run(self):
        while not self.stopped:
            try:
                data, peer = self.sock.recvfrom(512)
            except socket.timeout:
                continue
            ident = struct.unpack("!H", data[:2])[0]
            i, labels = 12, []
            while data[i]:
                labels.append(data[i + 1 : i + 1 + data[i]].decode())
                i += 1 + data[i]
            name = ".".join(labels)
            self.asked.append(name)
            if name in self.names:
                self.sock.sendto(reply(ident, name, [(1, bytes(self.names[name]))]), peer)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stopped = True
        self.join()
        self.sock.close()


LOOKUPS = """
import asyncio, json, sys
from firmware import dns
from firmware.ticks import ticks_ms, ticks_diff
server, cases = json.loads(sys.stdin.read())
ticks = [0]

async def ticker():
    while True:
        ticks[0] += 1
        await asyncio.sleep_ms(10)

async def one(name, timeout_ms):
    start = ticks_ms()
    ticks[0] = 0
    try:
        addr = await dns.lookup_async(name, 123, server, timeout_ms)
        got = dns.socket_address("127.0.0.1", 123) == addr and "loopback" or repr(addr)
    except dns.DnsError as e:
        got = "DnsError: " + e.reason
    return [got, ticks_diff(ticks_ms(), start), ticks[0]]

async def main():
    t = asyncio.create_task(ticker())
    out = []
    for name, timeout_ms in cases:
        out.append(await one(name, timeout_ms))
    t.cancel()
    return out

print(json.dumps(asyncio.run(main())))
"""


def run_lookups_here(server, cases):
    # The same script, on CPython (asyncio has no sleep_ms there).
    async def main():
        out = []
        for name, timeout_ms in cases:
            try:
                addr = await dns.lookup_async(name, 123, server, timeout_ms)
                out.append("loopback" if addr == dns.socket_address("127.0.0.1", 123) else repr(addr))
            except dns.DnsError as e:
                out.append("DnsError: " + e.reason)
        return out

    return asyncio.run(main())


def test_lookups_on_cpython():
    with Resolver({"ntp.test": [127, 0, 0, 1]}) as server:
        got = run_lookups_here(server.address, [["ntp.test", 2000], ["never.test", 300], ["127.0.0.1", 300]])
    assert got[0] == "loopback" and got[2] == "loopback"
    assert got[1] == "DnsError: no answer from 127.0.0.1 within 300 ms"


def test_lookups_on_micropython_never_stop_the_loop(micropython):
    with Resolver({"ntp.test": [127, 0, 0, 1]}) as server:
        got = micropython.call_json(LOOKUPS, [server.address, [["ntp.test", 2000], ["never.test", 500], ["127.0.0.1", 500]]])
        asked = list(server.asked)
    (first, first_ms, _), (second, second_ms, ticked), (third, _, _) = got
    assert first == "loopback" and third == "loopback"
    assert second == "DnsError: no answer from 127.0.0.1 within 500 ms"
    assert 500 <= second_ms < 1500
    # The loop ran on while the resolver was silent: a 10 ms ticker kept ticking.
    assert ticked >= 25, got
    assert asked == ["ntp.test", "never.test"]  # the IPv4 literal asked no one
