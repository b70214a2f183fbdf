"""The clock's MQTT task: firmware/mqtt.py's core over firmware/mqttclient.py,
connected to the broker and kept so.

    await run(clock, cfg["mqtt"])        # the clock's "mqtt" task, for good

- The broker's name is looked up as NTP servers' are, without blocking
  (Clock.lookup, firmware/dns.py).
- A connection that fails or goes quiet (no packet for 1.5 keepalives: a
  half-open TCP connection) is closed and tried again after 5 s, doubling
  to 25 s (so the clock is back within 30 s of a broker's return); one the
  broker refuses (a wrong password) doubles up to 5 minutes. A connection
  that lasted a minute starts again at 5 s. Each ending is one log line,
  never a credential. Retained commands are not taken: stale by then.
- One task reads (firmware/mqttclient.py's message(), into a small inbox);
  this one writes: the publications of the core, the status, the pings.
  Commands are taken in a quiet moment (no pulse running, none due within
  60 ms), as the page's are.
"""

import asyncio  # MicroPython 1.22 or newer (hardware/README.md): no uasyncio

from firmware.main import load_module, log
from firmware.mqtt import Mqtt
from firmware.mqttclient import PAYLOAD_MAX, Client, MqttError
from firmware.sntp import is_ipv4, socket_address
from firmware.ticks import ticks_diff, ticks_ms

_FIRST_WAIT_MS = 5000
_SOON_MS = 25000  # the longest wait while the broker is away: back within 30 s of its return
_MAX_WAIT_MS = 300000  # ... and while it refuses us (a wrong password does not mend itself)
_STEADY_MS = 60000  # a connection that lasted this long was no failure
_CONNECT_MS = 10000  # CONNECT to CONNACK at most
_KEEPALIVE_S = 60
_STEP_MS = 50  # how often this task looks at its connection
_INBOX = 4  # messages waiting at most (each up to PAYLOAD_MAX bytes); more are ignored and counted
_QUIET_MS = 60
_QUIET_WAIT_MS = 2000
_TRIES = 3  # a publication that meets MemoryError, at most this often


class Link:
    def __init__(self, clock, cfg):
        self.clock = clock
        self.cfg = cfg
        uid = clock.board.uid()
        self.core = Mqtt(clock, cfg, uid)
        self.client_id = "clock-" + uid[:16]  # MQTT 3.1.1 brokers must take 23 characters; not all take more
        self.inbox = []
        self.dropped = 0
        self.error = None  # why the reader stopped

    async def read(self, client, address):
        """Connect, then read until the connection fails: the reader task.
        It ends quietly, its error kept in `error` (a task that raises with
        nobody awaiting it yet gets its traceback printed by asyncio)."""
        status = self.core.prefix + "/status" if self.core.prefix else None
        try:
            await client.connect(address)
            client.up = True
            while True:
                topic, payload, retained = await client.message()
                if retained and topic != status:
                    continue  # a command left retained on the broker: stale by now (typed hands above all)
                if isinstance(payload, int) or len(self.inbox) >= _INBOX:
                    self.dropped += 1  # skipped as too big, or no room: counted, said by the other task
                else:
                    self.inbox.append((topic, payload))
        except Exception as e:
            self.error = e

    async def send(self, client, items):
        """Publish each item as it is made, and let it out before the next.
        A header that finds no free block (the reader's messages in flight
        cut the heap into pieces under a flood) is made again a moment
        later, when they are gone, before the connection is given up for
        it; nothing of that packet was written yet (Client.header)."""
        for topic, payload, retain in items:
            for attempt in range(_TRIES):
                try:
                    head = client.header(topic, payload, retain)
                    break
                except MemoryError:
                    if attempt == _TRIES - 1:
                        raise
                    if not self.short:
                        log("mqtt: no room on the heap for a packet; made again in %d ms (said once a connection)" % _STEP_MS)
                    self.short += 1
                    await asyncio.sleep_ms(_STEP_MS)
            await client.put(head, payload)

    def quiet(self, now):
        clock = self.clock
        return not clock.board.motor.busy and ticks_diff(clock.wake, now) > _QUIET_MS

    async def session(self, address):
        """One connection, until it ends; why it ended."""
        cfg = self.cfg
        core = self.core
        client = Client(self.client_id, _KEEPALIVE_S, cfg.get("user"), cfg.get("password"), core.will())
        client.up = False
        self.inbox = []
        self.error = None
        self.short = 0  # headers made again for want of memory, this connection
        reader = asyncio.create_task(self.read(client, address))
        started = ticks_ms()
        connected = False
        waiting_since = None
        pinged = started
        try:
            while True:
                await asyncio.sleep_ms(_STEP_MS)
                now = ticks_ms()
                if reader.done():
                    e = self.error
                    if isinstance(e, EOFError):
                        return "the broker closed the connection"
                    if isinstance(e, MqttError):
                        return str(e)
                    return "%s: %s" % (type(e).__name__, e) if e is not None else "the connection ended"
                if not client.up:
                    if ticks_diff(now, started) > _CONNECT_MS:
                        return "no answer to CONNECT in %d s" % (_CONNECT_MS // 1000)
                    continue
                if not connected:
                    connected = True
                    await client.subscribe(core.subscriptions())
                    await self.send(client, core.on_connect(now))
                    log("mqtt: connected to %s as %s" % (cfg["host"], self.client_id))
                if self.inbox:
                    if waiting_since is None:
                        waiting_since = now
                    taken = 0
                    while self.inbox and taken < 4 and (self.quiet(ticks_ms()) or ticks_diff(now, waiting_since) > _QUIET_WAIT_MS):
                        waiting_since = None
                        taken += 1
                        topic, payload = self.inbox.pop(0)
                        if topic is None:
                            continue
                        try:
                            await self.send(client, core.on_message(topic, payload, now))
                        except (MemoryError, MqttError):
                            raise  # the connection starts again (with the heap it frees; a packet cut short)
                        except Exception as e:  # a bug of ours: said, and the connection goes on
                            log("mqtt: %s failed (%s: %s)" % (topic[:60], type(e).__name__, e))
                if self.dropped:
                    core.ignore(core.topic("*"), "%d messages over %d bytes or with the inbox full" % (self.dropped, PAYLOAD_MAX), now)
                    self.dropped = 0
                await self.send(client, core.poll(now))
                # A ping when we have sent nothing for half a keepalive (the
                # broker's rule), and when we have heard nothing for as long:
                # a clock that publishes often still learns that the broker
                # is there (its answer), or that it is not (none in 1.5).
                if ticks_diff(now, client.last_tx) > _KEEPALIVE_S * 500 or (
                        ticks_diff(now, client.last_rx) > _KEEPALIVE_S * 500 and ticks_diff(now, pinged) > _KEEPALIVE_S * 500):
                    client.ping()
                    pinged = now
                    await client.drain()
                if ticks_diff(now, client.last_rx) > _KEEPALIVE_S * 1500:
                    return "no packet from the broker in %d s" % (_KEEPALIVE_S * 3 // 2)
        finally:
            reader.cancel()
            client.close()
            self.connected_for = ticks_diff(ticks_ms(), started) if connected else 0

    async def address(self, host, port):
        if is_ipv4(host):
            return socket_address(host, port)
        return await load_module("firmware.names").lookup(self.clock, host, port)  # only for a broker given by name

    async def run(self):
        cfg = self.cfg
        wait = _FIRST_WAIT_MS
        wifi = self.clock.board.wifi
        while True:
            if wifi is not None and not wifi.connected():
                await asyncio.sleep_ms(1000)
                continue
            self.connected_for = 0
            try:
                address = await self.address(cfg["host"], cfg["port"])
                why = await self.session(address)
            except Exception as e:  # a lookup that failed, a socket error before the session ran
                why = "%s: %s" % (type(e).__name__, e)
            if self.connected_for >= _STEADY_MS:
                wait = _FIRST_WAIT_MS
            log("mqtt: %s: %s; again in %d s" % (cfg["host"], why, wait // 1000))
            await asyncio.sleep_ms(wait)
            cap = _MAX_WAIT_MS if why.startswith("the broker refused us") else _SOON_MS
            wait = wait * 2 if wait * 2 < cap else cap


async def run(clock, cfg):
    await Link(clock, cfg).run()
