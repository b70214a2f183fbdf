"""The MQTT client (firmware/mqttclient.py) on the 32-bit MicroPython unix
port against a real broker (mosquitto on loopback), with paho-mqtt as the
other side: connect, subscribe, retained publishes, the last will, a wrong
password said in words, and a flood of 64 KB messages under a 40,000-byte
heap (a skipped payload costs no heap).
"""

import subprocess
import threading
import time

import pytest

from tests.conftest import need
from tests.mosquitto import Mosquitto, mosquitto_binary
from tests.peers import ROOT, micropython32_binary

# The device side: echo each message on t/echo as "<topic> <payload or its size>".
PROBE = """
import sys
sys.path.insert(0, %r)
import asyncio
import socket
from firmware.mqttclient import Client, MqttError

async def main():
    c = Client("probe", keepalive_s=5, user=%r, password=%r, will=("t/availability", b"offline", True))
    try:
        await c.connect(socket.getaddrinfo("127.0.0.1", %d)[0][-1])
    except MqttError as e:
        print(e)
        return
    await c.subscribe(["t/in/#"])
    c.publish("t/availability", b"online", True)
    await c.drain()

    async def pinger():  # the keepalive (the clock's MQTT task does this)
        while True:
            await asyncio.sleep(2)
            c.ping()

    asyncio.create_task(pinger())
    print("ready")
    while True:
        topic, payload, retained = await c.message()
        if payload == b"bye":
            break
        c.publish("t/echo", (topic or "?").encode() + b" " + (str(payload).encode() if isinstance(payload, int) else payload))
        await c.drain()
    c.close()
    print("done")

asyncio.run(main())
"""


def paho():
    try:
        import paho.mqtt.client as mqtt
    except ImportError:
        mqtt = None
    return need(mqtt, "paho-mqtt (pip; make test installs it)")


def start_probe(tmp_path, port, user=None, password=None, heap=40000):
    binary = need(micropython32_binary(), "the 32-bit MicroPython unix port (make test builds it; needs gcc-multilib)")
    script = tmp_path / "probe.py"
    script.write_text(PROBE % (str(ROOT), user, password, port))
    out = tmp_path / "probe.out"
    proc = subprocess.Popen([binary, "-X", "heapsize=%d" % heap, str(script)], stdout=open(out, "w"), stderr=subprocess.STDOUT)
    return proc, out


def wait_for(out, text, proc, timeout_s=10):
    deadline = time.monotonic() + timeout_s
    while text not in out.read_text():
        assert time.monotonic() < deadline, out.read_text()
        time.sleep(0.05)


class Listener:
    """paho-mqtt on the broker: what arrives on t/echo and t/availability."""

    def __init__(self, port, user=None, password=None):
        mqtt = paho()
        self.got = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        if user:
            self.client.username_pw_set(user, password)
        self.client.on_message = self.on_message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe("t/echo")
        self.client.subscribe("t/availability")
        self.client.loop_start()

    def on_message(self, client, userdata, message):
        with self.lock:
            self.got.append((message.topic, message.payload, message.retain))

    def until(self, count, timeout_s=20):
        deadline = time.monotonic() + timeout_s
        while len(self.got) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.got)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def broker(tmp_path):
    need(mosquitto_binary(), "an MQTT broker (Debian package mosquitto)")
    with Mosquitto(tmp_path / "broker", users={"clock": "broker-pw-1"}) as b:
        yield b


def test_messages_both_ways_a_flood_of_64_kb_and_the_will(broker, tmp_path):
    proc, out = start_probe(tmp_path, broker.port, "clock", "broker-pw-1")
    try:
        wait_for(out, "ready", proc)
        listener = Listener(broker.port, "clock", "broker-pw-1")
        time.sleep(0.3)
        assert ("t/availability", b"online", True) in listener.got  # retained: there before we listened
        listener.client.publish("t/in/a", b"hello")
        for _ in range(100):
            listener.client.publish("t/in/big", b"x" * 65536)
        listener.client.publish("t/in/" + "y" * 200, b"a long topic")
        listener.client.publish("t/in/a", b"\xff\xfe")
        got = listener.until(1 + 104)
        echoes = [payload for topic, payload, _ in got if topic == "t/echo"]
        assert echoes == [b"t/in/a hello"] + [b"t/in/big 65536"] * 100 + [b"? a long topic", b"t/in/a \xff\xfe"], echoes[:5]
        assert b"Traceback" not in out.read_bytes()
        cut = time.monotonic()
        proc.kill()  # a power cut: the broker says so for it, at once (the socket closed)
        got = listener.until(len(got) + 1)
        assert got[-1][:2] == ("t/availability", b"offline") and time.monotonic() - cut < 3
        listener.close()
    finally:
        proc.kill()
        proc.wait()
    assert "MemoryError" not in out.read_text(), out.read_text()


def test_a_wrong_password_is_said_in_words_and_never_echoed(broker, tmp_path):
    proc, out = start_probe(tmp_path, broker.port, "clock", "not-the-password")
    proc.wait(20)
    said = out.read_text()
    assert said.startswith("the broker refused us: not authorised (") and "wrong user name or password" in said, said
    assert "not-the-password" not in said
