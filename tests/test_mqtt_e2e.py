"""The clock on a broker: the firmware on the 32-bit unix port under the
heap cap for the page and MQTT together (112,000), a real chronyd, a real
mosquitto (with a password), paho-mqtt as Home Assistant's side. The
discovery payloads arrive and parse; a mode and typed hands sent as
commands show in the coil log; a flood of 100 messages a second (some of
64 KB, some garbage) is ignored; the broker killed and started again gets
the clock back and everything republished within 30 s; every minute is
right throughout. Then the other ways a broker fails: a name that does not
resolve, a wrong password, a half-open connection (a relay that goes
silent): each said in the log, tried again with backoff, and no minute lost.
"""

import json
import re
import threading
import time

import pytest

from tests import test_firmware_e2e as e2e
from tests.conftest import need
from tests.mosquitto import Mosquitto, Proxy, mosquitto_binary, set_users
from tests.test_firmware_e2e import (  # noqa: F401 (board: the fixture)
    Rotor,
    assert_motor_limits,
    board,
    check_boundaries,
    minute_gaps,
    next_boundary,
    replay,
    true_ms,
    wait_for_console,
    wait_until_true,
)
from tests.test_web_e2e import WEB_HEAP_CAP
from tests.webclient import free_tcp_port

B = "irregular-clock"
USER, PASSWORD = "clock", "broker-secret-9"
COMPONENTS = {"select": {"mode"}, "text": {"hands"}, "sensor": {"lead", "last_sync", "error_bound", "state"}}


class HomeAssistant:
    """paho-mqtt subscribed to everything, as Home Assistant's broker view."""

    def __init__(self, port, user=USER, password=PASSWORD):
        try:
            import paho.mqtt.client as mqtt
        except ImportError:
            mqtt = None
        mqtt = need(mqtt, "paho-mqtt (pip; make test installs it)")
        self.got = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.username_pw_set(user, password)
        self.client.on_message = self.on_message
        self.client.on_connect = lambda c, u, f, rc, p=None: c.subscribe("#")
        self.client.reconnect_delay_set(1, 2)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def on_message(self, client, userdata, message):
        with self.lock:
            self.got.append((time.monotonic(), message.topic, message.payload, message.retain))

    def since(self, t, topic=None):
        with self.lock:
            return [(at, tp, p) for at, tp, p, _ in self.got if at >= t and (topic is None or tp == topic)]

    def wait(self, t, topic, test=lambda payload: True, timeout_s=30):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for at, tp, p in self.since(t, topic):
                if test(p):
                    return at, p
            time.sleep(0.05)
        raise AssertionError("nothing on %s in %d s" % (topic, timeout_s))

    def discovery(self, t):
        """The discovery payloads heard since `t`, each checked for the shape
        Home Assistant's MQTT documentation gives (unique_id, the
        availability topic, the device by its identifiers and version):
        ({component: {object ids}}, {topic: config}, the device's uid)."""
        configs = {tp: json.loads(p) for _, tp, p in self.since(t) if tp.startswith("homeassistant/") and tp.endswith("/config")}
        found, uid = {}, None
        for topic, config in configs.items():
            _, component, uid, obj, _ = topic.split("/")
            found.setdefault(component, set()).add(obj)
            assert config["availability_topic"] == B + "/availability" and config["unique_id"] == "%s_%s" % (uid, obj)
            assert config["device"]["identifiers"] == [uid] and config["device"]["sw_version"]
        return found, configs, uid

    def send(self, topic, payload):
        self.client.publish(topic, payload)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def console_without_faults(board, *secrets):
    """The console after a run, asserted free of tracebacks, MemoryError,
    failed tasks and `secrets`; (console, its tail for messages)."""
    console = open(board.log).read()
    tail = console[-3000:]
    assert "Traceback" not in console and "MemoryError" not in console and "task failed" not in console, tail
    assert not any(secret in console for secret in secrets), tail
    return console, tail


class Flood(threading.Thread):
    """100 messages a second at the clock's command topics: garbage, unknown
    modes, and one in ten of 64 KB."""

    def __init__(self, ha):
        super().__init__(daemon=True)
        self.ha = ha
        self.stopped = False
        self.sent = 0

    def run(self):
        junk = [b"warp", b"\xff\xfe\x00", b"", b"99:99:99", b"Mars/Olympus", b"x" * 65536]
        topics = [B + "/mode/set", B + "/hands/set", B + "/zone/set"]
        while not self.stopped:
            i = self.sent
            payload = junk[5] if i % 10 == 0 else junk[i % 5]
            self.ha.send(topics[i % 3] if payload != b"99:99:99" else B + "/hands/set", payload)
            self.sent += 1
            time.sleep(0.01)


@pytest.mark.parametrize("board", ["32bit"], indirect=True)
@pytest.mark.timeout(1200)
def test_the_clock_on_a_broker_discovered_commanded_flooded_and_back_after_the_broker_returns(board, tmp_path):
    need(mosquitto_binary(), "an MQTT broker (Debian package mosquitto)")
    board.heap_cap = WEB_HEAP_CAP
    broker = Mosquitto(tmp_path / "broker", users={USER: PASSWORD}).start()
    ha = HomeAssistant(broker.port)
    flood = Flood(ha)
    try:
        hands = e2e.target(true_ms() + 3000)
        board.deploy("normal", e2e.hms(hands), web={"password": "page-password-1", "port": free_tcp_port()},
                     mqtt={"host": "127.0.0.1", "port": broker.port, "user": USER, "password": PASSWORD})
        t0 = time.monotonic()
        board.start()
        boot_rotor = (hands, (hands - 1) % 2)
        # Discovery: every entity of one device, as Home Assistant reads it.
        ha.wait(t0, B + "/availability", lambda p: p == b"online")
        time.sleep(1)
        found, configs, uid = ha.discovery(t0)
        assert found == COMPONENTS, found
        assert configs["homeassistant/select/%s/mode/config" % uid]["options"] == ["normal", "vetinari", "hesitate", "rush", "stumble", "gravity"]
        first = next_boundary(true_ms() + 30000)
        wait_until_true(first + 1000)
        status = json.loads(ha.wait(t0, B + "/status", lambda p: json.loads(p)["state"] == "run")[1])
        assert status["mode"] == "normal" and status["synced_ago_s"] is not None
        # A mode from Home Assistant, a second into a minute: the rest is rush.
        ha.send(B + "/mode/set", b"rush")
        ha.wait(t0, B + "/mode", lambda p: p == b"rush", timeout_s=5)
        rush_minute = first + 60000
        # Typed hands in rush's wait at :59 (no pulse then): the knob turned back five minutes.
        wait_until_true(rush_minute + 45000)
        shown = replay(board.watcher.pulses(), Rotor(*boot_rotor)).shown
        knob = true_ms()
        typed = (shown - 300) % 43200
        ha.send(B + "/hands/set", ("%d:%02d:%02d" % (typed // 3600 or 12, typed // 60 % 60, typed % 60)).encode())
        wait_for_console(board, "hands %d:%02d:%02d" % (typed // 3600 or 12, typed // 60 % 60, typed % 60), after="clock: run, mode rush", timeout_s=5)
        # The flood, from here to the end.
        flood.start()
        after_hands = [next_boundary(true_ms() + 45000)]  # one minute checked: CI time is short
        wait_until_true(after_hands[-1] + 1000)
        # The broker killed and started again: back, and everything republished, within 30 s.
        broker.stop()
        time.sleep(8)
        back = time.monotonic()
        broker.start()
        ha.wait(back, "homeassistant/select/%s/mode/config" % uid, timeout_s=30)
        online_at, _ = ha.wait(back, B + "/availability", lambda p: p == b"online", timeout_s=30)
        ha.wait(back, B + "/mode", lambda p: p == b"rush", timeout_s=30)
        after_broker = [next_boundary(true_ms() + 2000)]  # one minute checked: CI time is short
        wait_until_true(after_broker[-1] + 1000)
    finally:
        flood.stopped = True
        ha.close()
        broker.stop()
    board.stop()
    pulses = board.watcher.pulses()
    console, tail = console_without_faults(board, PASSWORD)
    assert "failed (" not in console, tail
    assert console.count("ignored") < 40, tail  # a flood: a line a minute, not a line a message
    assert_motor_limits(pulses)
    before = [p for p in pulses if p[0] < knob]
    assert check_boundaries(before, Rotor(*boot_rotor), [first, rush_minute]) == [], tail
    rotor = replay(before, Rotor(*boot_rotor))
    assert check_boundaries([p for p in pulses if p[0] >= knob], Rotor((rotor.shown - 300) % 43200, rotor.last), after_hands + after_broker) == [], tail
    rush = minute_gaps(pulses, rush_minute)
    assert sum(1 for g in rush if 480 <= g <= 520) >= 40 and max(rush) > 20000, rush
    assert flood.sent > 100 * 60, flood.sent
    print("mqtt e2e: %d flood messages; online again %.1f s after the broker's return" % (flood.sent, online_at - back))


@pytest.mark.parametrize("board", ["32bit"], indirect=True)
@pytest.mark.timeout(900)
def test_a_name_that_does_not_resolve_a_wrong_password_and_a_half_open_connection_cost_no_minute(board, tmp_path):
    from tests.test_dns import Resolver

    need(mosquitto_binary(), "an MQTT broker (Debian package mosquitto)")
    board.heap_cap = WEB_HEAP_CAP
    broker = Mosquitto(tmp_path / "broker", users={USER: "not-the-clocks-1"}).start()
    relay = Proxy(broker.port)
    relay.start()
    ha = HomeAssistant.__new__(HomeAssistant)
    with Resolver({}) as resolver:
        try:
            hands = e2e.target(true_ms() + 3000)
            board.deploy("normal", e2e.hms(hands), dns=resolver.address,
                         mqtt={"host": "broker.test", "port": relay.port, "user": USER, "password": PASSWORD})
            board.start()
            wait_for_console(board, "ntp: time from", after="clock: board", timeout_s=30)
            first = next_boundary(true_ms() + 5000)
            # A name the resolver does not answer: said, and tried again after 5 s, then 10.
            wait_for_console(board, "mqtt: broker.test: ", after="clock: board", timeout_s=30)
            wait_for_console(board, "again in 10 s", after="clock: board", timeout_s=30)
            resolver.names["broker.test"] = [127, 0, 0, 1]
            # A wrong password: the broker's refusal said in words, the password never.
            wait_for_console(board, "the broker refused us", after="clock: board", timeout_s=40)
            set_users(broker, {USER: PASSWORD})
            wait_for_console(board, "mqtt: connected to broker.test", after="the broker refused us", timeout_s=60)
            ha.__init__(broker.port)
            # A half-open connection: the relay carries nothing, the socket stays open.
            time.sleep(2)
            relay.silent = True
            silent_at = time.monotonic()
            wait_for_console(board, "no packet from the broker in 90 s", after="mqtt: connected to broker.test", timeout_s=150)
            found_at = time.monotonic()
            relay.silent = False
            back = time.monotonic()
            ha.wait(back, B + "/availability", lambda p: p == b"online", timeout_s=40)
            wait_for_console(board, "mqtt: connected to broker.test", after="no packet from the broker", timeout_s=5)
            last = next_boundary(true_ms())
            wait_until_true(last + 1000)
        finally:
            if ha.__dict__:
                ha.close()
            relay.stop()
            broker.stop()
    board.stop()
    pulses = board.watcher.pulses()
    console, tail = console_without_faults(board, PASSWORD, "not-the-clocks-1")
    waits = [int(w) for w in re.findall(r"^mqtt: broker\.test: .*; again in (\d+) s$", console, re.M)]
    assert waits[:2] == [5, 10] and all(5 <= w <= 300 for w in waits) and all(b >= a or b == 5 for a, b in zip(waits, waits[1:])), waits
    assert 85 <= found_at - silent_at <= 125, found_at - silent_at  # 1.5 keepalives, and a step
    boundaries = list(range(first, last + 1, 60000))
    assert len(boundaries) >= 3, boundaries
    assert_motor_limits(pulses)
    assert check_boundaries(pulses, Rotor(hands, (hands - 1) % 2), boundaries) == [], tail
