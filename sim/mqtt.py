"""The simulated clock on an MQTT broker: `python -m sim --mqtt HOST[:PORT]`.

The board's own MQTT core (firmware/mqtt.py: topics, Home Assistant
discovery, commands) over the simulated clock (sim/web.py's WorldClock),
carried by paho-mqtt on the laptop instead of the board's small client.
Home Assistant finds "Irregular clock (simulated)" with its mode selector
and sensors, and its commands change the clock in the window, so a
dashboard can be tried before a board is on the wall.

paho-mqtt runs its network loop on a thread of its own (it reconnects by
itself); every message and the status once a second are taken under the
preview's lock, the world run up to now first, as the page's requests are.
"""

import os
import sys
import tempfile
import threading

from firmware import remote
from firmware.mqtt import Mqtt
from sim.web import WorldClock, zone_table

UID = "simulated"  # the board's unique id stands here: one simulated clock per broker
_POLL_S = 1.0


class SimMqtt(Mqtt):
    def device(self):
        device = Mqtt.device(self)
        device["name"] += " (simulated)"
        return device


class MqttBridge:
    """`cfg` is the board's "mqtt" section (host, port, user, password,
    topic, discovery)."""

    def __init__(self, preview, cfg):
        try:
            import paho.mqtt.client as paho
        except ImportError:
            raise RuntimeError("--mqtt needs paho-mqtt: `make sim` installs it (or pip install paho-mqtt)") from None
        self.preview = preview
        self.cfg = cfg
        self.clock = WorldClock(preview.world, preview.tz)
        self.core = SimMqtt(self.clock, cfg, UID)
        self._tmp = tempfile.TemporaryDirectory(prefix="sim-mqtt-")
        self._saved = remote.ZONES
        remote.ZONES = zone_table(self._tmp.name)  # the table deploy would install, for B/zone/set
        self.status_topic = self.core.prefix + "/status" if self.core.prefix else None  # Home Assistant's
        self.powered = preview.world.powered
        self.connected = threading.Event()
        self.refused = None  # the broker's reason, when it refused us
        self._stopped = threading.Event()
        client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="clock-sim-%d" % os.getpid())
        if cfg.get("user"):
            client.username_pw_set(cfg["user"], cfg.get("password"))
        topic, payload, retain = self.core.will()
        client.will_set(topic, payload, retain=retain)
        client.reconnect_delay_set(5, 25)  # as the board: from 5 s, back within 30 s of the broker's return
        client.on_connect = self._on_connect
        client.on_disconnect = lambda *a: self.connected.clear()
        client.on_message = self._on_message
        self.client = client
        self._poller = threading.Thread(target=self._poll, name="sim-mqtt-status", daemon=True)

    def start(self):
        """Connect (the first attempt's errors are the caller's to say:
        OSError for a name or port that does not answer) and go on."""
        self.client.connect(self.cfg["host"], self.cfg.get("port", 1883), keepalive=60)
        self.client.loop_start()
        self._poller.start()
        return self

    def stop(self):
        """Offline, then a clean goodbye (which sends no will: so we say
        it ourselves); a goodbye that does not get out in 2 s is cut off,
        and the broker sends the will."""
        self._stopped.set()  # no callback publishes after this (each looks under the lock)
        if self._poller.is_alive():
            self._poller.join()
        with self.preview.lock:
            pass  # a message being taken has finished
        said = None
        if self.connected.is_set():
            try:
                said = self.client.publish(*self.core.will()[:2], retain=True)
                said.wait_for_publish(2)
            except (RuntimeError, ValueError):  # the connection went meanwhile: the broker sends the will
                said = None
        if said is not None and said.is_published():
            self.client.disconnect()
            self.client.loop_stop()
        else:
            self.client.loop_stop()
            sock = self.client.socket()
            if sock is not None:
                sock.close()  # cut off, no goodbye: the broker sends the will
        remote.ZONES = self._saved
        self._tmp.cleanup()

    def _now(self):
        """The world run up to the clock's time; its ticks (under the lock)."""
        p = self.preview
        p.world.run_until(p.clock.now())
        self.clock.world = p.world
        return p.world.ticks()

    def _send(self, items):
        for topic, payload, retain in items:
            self.client.publish(topic, payload, retain=retain)

    def _on_connect(self, client, userdata, flags, reason, properties=None):
        self._guarded(self._connected, client, reason)

    def _guarded(self, body, *args):
        """A callback's body: paho's network thread would end on an
        exception (and the window go on with no broker), so it is said
        and the bridge goes on, as the board's task does."""
        try:
            body(*args)
        except Exception as e:
            print("sim: MQTT: %s failed (%s: %s)" % (body.__name__.strip("_"), type(e).__name__, e), file=sys.stderr)

    def _connected(self, client, reason):
        if reason.is_failure:
            if self.refused != str(reason):  # said once, not at every retry
                print("sim: the MQTT broker refused us: %s" % reason, file=sys.stderr)
            self.refused = str(reason)
            return
        self.refused = None
        client.subscribe([(topic, 0) for topic in self.core.subscriptions()])
        with self.preview.lock:
            if self._stopped.is_set():
                return
            now = self._now()
            self.powered = self.preview.world.powered
            self._send(self.core.on_connect(now) if self.powered else [self.core.will()])
        self.connected.set()

    def _on_message(self, client, userdata, message):
        self._guarded(self._message, message)

    def _message(self, message):
        if message.retain and message.topic != self.status_topic:
            return  # a command left retained: stale by now (the board ignores them too)
        with self.preview.lock:
            if self._stopped.is_set():
                return
            now = self._now()
            if self.preview.world.powered:  # (a clock with its power cut hears nothing)
                self._send(self.core.on_message(message.topic, message.payload, now))

    def _poll(self):
        """The status when it changes and once a minute; a power cut in the
        window (P) is the board's last will, the power back its connect."""
        while not self._stopped.wait(_POLL_S):
            if self.connected.is_set():
                self._guarded(self._status)

    def _status(self):
        with self.preview.lock:
            if self._stopped.is_set():
                return
            now = self._now()
            powered = self.preview.world.powered
            if powered != self.powered:
                self.powered = powered
                self._send(self.core.on_connect(now) if powered else [self.core.will()])
            elif powered:
                self._send(self.core.poll(now))
