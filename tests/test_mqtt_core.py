"""MQTT's pure core (firmware/mqtt.py): topics, Home Assistant discovery and
commands, over the real controller in virtual time (sim/world.py through
sim/web.py's WorldClock), as the page's core is tested. No broker here:
tests/test_mqtt_client.py and tests/test_mqtt_e2e.py have one.
"""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware import VERSION, remote
from firmware.mqtt import PAYLOAD_MAX, Mqtt
from firmware.tz import Zone
from sim.web import WorldClock, zone_table
from sim.world import World
from tests.test_flash_faults import wrong_boundaries

CET = "CET-1CEST,M3.5.0,M10.5.0/3"
START = 1780308000000  # 2026-06-01 10:00Z
CYCLE = ("normal", "vetinari", "rush")
B = "irregular-clock"


@pytest.fixture(scope="module", autouse=True)
def table(tmp_path_factory):
    saved = remote.ZONES
    remote.ZONES = zone_table(str(tmp_path_factory.mktemp("zones")))
    yield
    remote.ZONES = saved


def make(cfg=None):
    world = World(START, tz=CET, mode="normal", cycle=CYCLE)
    clock = WorldClock(world, CET)
    return world, Mqtt(clock, cfg or {"host": "192.168.1.10"}, "c0ffee01")


def published(out):
    return {topic: (payload, retain) for topic, payload, retain in out}


def test_the_topics_and_the_will():
    world, core = make()
    assert core.subscriptions() == [B + "/mode/set", B + "/hands/set", B + "/zone/set", "homeassistant/status"]
    assert core.will() == (B + "/availability", b"offline", True)
    _, other = make({"host": "h", "topic": "hall/clock", "discovery": False})
    assert other.subscriptions() == ["hall/clock/mode/set", "hall/clock/hands/set", "hall/clock/zone/set"]
    assert list(other.discovery()) == []


def test_on_connect_it_says_online_its_mode_its_status_and_every_entity():
    world, core = make()
    world.run_until(START + 90000)
    out = published(core.on_connect(world.ticks()))
    assert out[B + "/availability"] == (b"online", True)
    assert out[B + "/mode"] == (b"normal", True)
    status = json.loads(out[B + "/status"][0])
    assert out[B + "/status"][1] and status["mode"] == "normal" and status["state"] == "run" and status["lead_s"] in range(-1, 2)
    configs = {t: json.loads(p) for t, (p, retain) in out.items() if t.endswith("/config") and retain}
    assert sorted(configs) == sorted("homeassistant/%s/c0ffee01/%s/config" % pair for pair in [
        ("select", "mode"), ("text", "hands"), ("sensor", "lead"), ("sensor", "last_sync"), ("sensor", "error_bound"), ("sensor", "state")])
    unique = set()
    for topic, config in configs.items():
        assert config["availability_topic"] == B + "/availability"
        assert config["device"] == {"identifiers": ["c0ffee01"], "name": "Irregular clock", "model": "Irregular clock",
                                    "manufacturer": "irregular-clock", "sw_version": VERSION}
        unique.add(config["unique_id"])
        if "value_template" in config:  # each names a field the status has
            field = config["value_template"].split("value_json.")[1].split()[0]
            assert field in status, field
    assert len(unique) == 6
    select = configs["homeassistant/select/c0ffee01/mode/config"]
    # The select shows the button's choice (one of its options), not the mode a schedule plays.
    assert select["options"] == list(CYCLE) and select["command_topic"] == B + "/mode/set"
    assert select["state_topic"] == B + "/status" and select["value_template"] == "{{ value_json.choice }}"
    text = configs["homeassistant/text/c0ffee01/hands/config"]
    assert text["command_topic"] == B + "/hands/set" and text["pattern"] == "^[0-9]{1,2}:[0-9]{2}:[0-9]{2}$"
    assert configs["homeassistant/sensor/c0ffee01/error_bound/config"]["unit_of_measurement"] == "ms"


def test_home_assistant_coming_online_gets_the_discovery_again():
    world, core = make()
    list(core.on_connect(world.ticks()))
    again = published(core.on_message("homeassistant/status", b"online", world.ticks()))
    assert "homeassistant/select/c0ffee01/mode/config" in again and B + "/status" in again
    assert list(core.on_message("homeassistant/status", b"online", world.ticks())) == []  # a flood of it: once in 10 s
    world.run_until(world.true_ms + 10001)
    assert published(core.on_message("homeassistant/status", b"online", world.ticks()))
    assert list(core.on_message("homeassistant/status", b"offline", world.ticks())) == []


def test_a_mode_command_plays_and_is_published(capsys):
    world, core = make()
    world.run_until(START + 30000)
    list(core.on_connect(world.ticks()))
    out = published(core.on_message(B + "/mode/set", b"rush", world.ticks()))
    assert out[B + "/mode"] == (b"rush", True) and json.loads(out[B + "/status"][0])["mode"] == "rush"
    assert world.controller.choice == "rush" and world.store.settings["mode"] == "rush"
    assert "mqtt: irregular-clock/mode/set taken" in capsys.readouterr().out


def test_hands_and_zone_commands_take_effect_and_the_minutes_stay_right():
    world, core = make()
    world.run_until(START + 30000)
    list(core.on_connect(world.ticks()))
    shown = (world.controller.p - 120) % 43200  # the hands really show two minutes less
    world.rotor.shown = shown
    out = published(core.on_message(B + "/hands/set", ("%d:%02d:%02d" % (shown // 3600 or 12, shown // 60 % 60, shown % 60)).encode(), world.ticks()))
    assert json.loads(out[B + "/status"][0])["state"] == "race"
    world.run_until(START + 240000)
    assert wrong_boundaries(world, Zone(CET), START + 120000, START + 240000) == []
    assert world.rotor.shown == world.controller.p
    out = published(core.on_message(B + "/zone/set", b"Europe/Paris", world.ticks()))
    assert json.loads(out[B + "/status"][0])["zone"] == "Europe/Paris"


@pytest.mark.parametrize("topic, payload, why", [
    (B + "/mode/set", b"warp", "'warp' is not one of normal, vetinari, rush"),
    (B + "/mode/set", b"\xff\xfe", "not UTF-8 text"),
    (B + "/mode/set", b"x" * 65536, "65536 bytes, over %d" % PAYLOAD_MAX),
    (B + "/hands/set", b"25:00:00", "not a time on a dial"),
    (B + "/zone/set", b"Mars/Olympus", "not in the zone table"),
])
def test_a_command_that_cannot_be_taken_is_ignored_with_one_line(capsys, topic, payload, why):
    world, core = make()
    list(core.on_connect(world.ticks()))
    before = (world.controller.choice, world.controller.p)
    assert core.on_message(topic, payload, world.ticks()) == []
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mqtt: %s ignored: " % topic) and why in lines[0], lines
    assert (world.controller.choice, world.controller.p) == before


def test_a_flood_of_bad_commands_costs_a_line_a_minute(capsys):
    world, core = make()
    list(core.on_connect(world.ticks()))
    for i in range(100 * 90):  # 100 a second for a minute and a half
        world.run_until(START + i * 10)
        core.on_message(B + "/mode/set", b"nope", world.ticks())
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and "and 5999 more ignored in the last minute" in lines[1], lines


def test_the_status_goes_out_on_a_change_and_otherwise_once_a_minute():
    world, core = make()
    assert core.poll(world.ticks()) == []  # not connected yet
    world.run_until(START + 1000)
    list(core.on_connect(world.ticks()))
    sent = []
    for t in range(START + 1000, START + 300000, 250):
        world.run_until(t)
        if t == START + 100000:
            world.press()  # a new mode: published at once
        sent += [(t, topic) for topic, _, _ in core.poll(world.ticks()) if topic.endswith("/status")]
    times = [t for t, _ in sent]
    assert len(times) <= 6 and any(START + 100000 <= t <= START + 100250 for t in times), times
    gaps = [b - a for a, b in zip([START + 1000] + times, times)]
    assert all(g >= 60000 or START + 100000 <= b <= START + 100250 for g, b in zip(gaps, times)), gaps


class FlappingClock:
    """Just what Mqtt.poll and state() read: a controller whose state the test sets."""

    def __init__(self):
        from types import SimpleNamespace

        self.ctl = SimpleNamespace(state=1, cycle=CYCLE, mode=SimpleNamespace(name="normal"))


@given(flips=st.lists(st.integers(min_value=1, max_value=3000), min_size=1, max_size=60))
@settings(max_examples=100, deadline=None)
def test_a_state_that_flaps_is_published_at_most_once_a_second_and_as_it_ends_up(flips):
    saved = remote.status
    remote.status = lambda clock, now: {"state": clock.ctl.state}
    try:
        clock = FlappingClock()
        core = Mqtt(clock, {"host": "h"}, "c0ffee01")
        list(core.on_connect(0))
        changes = set()
        t, sent = 0, []
        for gap in flips:  # the state changes after each gap (ms), polled every 50 ms as mqttlink does
            for _ in range(gap // 50 + 1):
                t += 50
                sent += [(t, json.loads(p)["state"]) for topic, p, _ in core.poll(t) if topic.endswith("/status")]
            clock.ctl.state = 1 - clock.ctl.state
            changes.add(t)
        for _ in range(1100 // 50):  # then it stays
            t += 50
            sent += [(t, json.loads(p)["state"]) for topic, p, _ in core.poll(t) if topic.endswith("/status")]
        times = [0] + [at for at, _ in sent]
        assert all(b - a >= 1000 for a, b in zip(times, times[1:])), times
        assert (sent[-1][1] if sent else 1) == clock.ctl.state  # what it ended as was said
    finally:
        remote.status = saved


@given(topic=st.sampled_from([B + "/mode/set", B + "/hands/set", B + "/zone/set", "homeassistant/status", B + "/other", "x"]) | st.text(max_size=30),
       payload=st.binary(max_size=300))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
def test_any_message_is_taken_or_ignored_and_never_raises(topic, payload):
    world, core = make()
    list(core.on_connect(world.ticks()))
    for t, p, retain in core.on_message(topic, payload, world.ticks()):
        assert isinstance(p, bytes) and retain is True and t.startswith((B + "/", "homeassistant/"))


def test_a_payload_the_client_skipped_comes_as_its_size_and_is_ignored(capsys):
    world, core = make()
    list(core.on_connect(world.ticks()))
    assert core.on_message(B + "/mode/set", 65536, world.ticks()) == []
    assert "ignored: 65536 bytes, over 256" in capsys.readouterr().out


class TightClient:
    """firmware/mqttclient.py's Client over a list of written parts, whose
    first `short` headers, or a write once `cut` parts are out, find no
    room on the heap."""

    def __init__(self, short=0, cut=None):
        from firmware.mqttclient import Client

        self.client = Client("t")
        self.short = short
        self.cut = cut
        self.wire = []
        self.client.stream = self
        self.client.drain = self.drain

    def header(self, topic, payload, retain=False):
        if self.short:
            self.short -= 1
            raise MemoryError("memory allocation failed, allocating 515 bytes")
        return self.client.header(topic, payload, retain)

    async def put(self, head, payload):
        await self.client.put(head, payload)

    def write(self, data):  # the stream's
        if self.cut is not None and len(self.wire) == self.cut:
            raise MemoryError("memory allocation failed, allocating 460 bytes")
        self.wire.append(bytes(data))

    async def drain(self):
        pass


ITEMS = [(B + "/availability", b"online", True), (B + "/mode", b"rush", True)]


def run_send(monkeypatch, client):
    import asyncio

    from firmware.mqttlink import Link

    async def sleep(ms):
        await asyncio.sleep(0)

    monkeypatch.setattr(asyncio, "sleep_ms", sleep, raising=False)
    link = Link.__new__(Link)  # its send() alone: no clock, no board
    link.short = 0
    asyncio.run(link.send(client, ITEMS))
    return link


def packets(wire):
    """The PUBLISH packets on the wire, as (topic, payload, retain), read back."""
    data, out = b"".join(wire), []
    while data:
        first, n = data[0], data[1]  # (these are short: a one-byte length)
        body, data = data[2 : 2 + n], data[2 + n :]
        length = body[0] << 8 | body[1]
        out.append((body[2 : 2 + length].decode(), body[2 + length :], bool(first & 1)))
    return out


@pytest.mark.parametrize("short", [0, 2])
def test_a_header_that_finds_no_room_is_made_again_and_the_packets_are_whole(monkeypatch, short):
    client = TightClient(short=short)
    link = run_send(monkeypatch, client)
    assert packets(client.wire) == ITEMS and link.short == short


def test_a_header_that_finds_no_room_three_times_ends_the_connection_with_nothing_written(monkeypatch):
    client = TightClient(short=3)
    with pytest.raises(MemoryError):  # the connection starts again (mqttlink's session)
        run_send(monkeypatch, client)
    assert client.wire == []


@pytest.mark.parametrize("cut", [1, 3])
def test_no_memory_between_a_header_and_its_payload_ends_the_connection_never_retried(monkeypatch, cut):
    from firmware.mqttclient import MqttError

    client = TightClient(cut=cut)
    with pytest.raises(MqttError, match="middle of a packet"):
        run_send(monkeypatch, client)
    assert len(client.wire) == cut  # a header without its payload: never sent again after it
