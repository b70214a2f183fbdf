"""The simulated clock on a real broker (`python -m sim --mqtt`): mosquitto
on loopback, paho-mqtt as Home Assistant's side. The discovery arrives, a
mode and typed hands sent as commands change the simulated clock, a power
cut in the window is the last will, and the CLI says a bad broker in one
line."""

import json
import subprocess
import sys
import time

import pytest

from sim.preview import Clock, Preview
from tests.conftest import need
from tests.mosquitto import Mosquitto, mosquitto_binary
from tests.peers import ROOT
from tests.test_mqtt_e2e import COMPONENTS, HomeAssistant

CET = "CET-1CEST,M3.5.0,M10.5.0/3"
START = 1780308000000  # 2026-06-01 10:00Z
B = "irregular-clock"


@pytest.fixture
def broker(tmp_path):
    need(mosquitto_binary(), "an MQTT broker (Debian package mosquitto)")
    server = Mosquitto(tmp_path / "broker", users={"clock": "broker-secret-9"}).start()
    yield server
    server.stop()


@pytest.mark.peer
def test_the_simulated_clock_is_found_commanded_and_goes_offline(broker):
    from sim.mqtt import MqttBridge

    preview = Preview(Clock(start_ms=START), tz=CET, mode="normal")
    ha = HomeAssistant(broker.port)
    ha.client.publish(B + "/mode/set", b"gravity", retain=True).wait_for_publish(5)  # left on the broker: stale
    t0 = time.monotonic()
    bridge = MqttBridge(preview, {"host": "127.0.0.1", "port": broker.port, "user": "clock", "password": "broker-secret-9",
                                  "topic": B})
    try:
        bridge.start()
        ha.wait(t0, B + "/availability", lambda p: p == b"online", timeout_s=10)
        time.sleep(0.5)
        found, configs, uid = ha.discovery(t0)
        assert found == COMPONENTS and uid == "simulated", (found, uid)
        assert all(config["device"]["name"] == "Irregular clock (simulated)" for config in configs.values())
        with preview.lock:
            assert preview.world.controller.mode.name == "normal"  # the retained command was not taken
        ha.send(B + "/mode/set", b"rush")
        ha.wait(t0, B + "/mode", lambda p: p == b"rush", timeout_s=5)
        with preview.lock:
            assert preview.world.controller.mode.name == "rush"
        ha.send(B + "/hands/set", b"10:07:31")
        status = ha.wait(t0, B + "/status", lambda p: json.loads(p)["hands"].startswith("10:07:3"), timeout_s=5)[1]
        assert json.loads(status)["state"] in ("race", "wait", "run")
        ha.send(B + "/mode/set", b"warp")  # not a mode: ignored, and the next command still taken
        ha.send(B + "/mode/set", b"vetinari")
        ha.wait(t0, B + "/mode", lambda p: p == b"vetinari", timeout_s=5)
        assert [p for _, _, p in ha.since(t0, B + "/mode")][-2:] == [b"rush", b"vetinari"]
        with preview.lock:
            preview.world.power_off()
        ha.wait(t0, B + "/availability", lambda p: p == b"offline", timeout_s=5)
        with preview.lock:
            preview.world.power_on()
        back = time.monotonic()
        ha.wait(back, B + "/availability", lambda p: p == b"online", timeout_s=5)
    finally:
        bridge.stop()
    try:
        gone = time.monotonic()
        ha.wait(gone - 0.5, B + "/availability", lambda p: p == b"offline", timeout_s=5)  # its goodbye
    finally:
        ha.close()


@pytest.mark.peer
def test_a_broker_that_is_not_there_is_one_line(tmp_path):
    from tests.webclient import free_tcp_port

    port = free_tcp_port()  # nobody listens
    env = {"SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "sim", "--mqtt", "127.0.0.1:%d" % port, "--frames=1"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1].startswith("python -m sim: error: --mqtt: cannot reach 127.0.0.1:%d" % port), proc.stderr
    bad = subprocess.run([sys.executable, "-m", "sim", "--mqtt", "host:port"], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert bad.returncode == 2 and "want HOST or HOST:PORT" in bad.stderr, bad.stderr
