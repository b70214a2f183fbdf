"""MQTT and Home Assistant, without sockets: the topics, the discovery
payloads, and what an incoming message does. The client that carries them
over a connection comes next (issue 13); this is its pure core, driven by
tests in virtual time as the page's core is.

    core = Mqtt(clock, cfg["mqtt"], uid)
    core.subscriptions()                 # the topics to subscribe to
    core.will()                          # (topic, payload, retain): the last will
    core.on_connect(now)                 # (topic, payload, retain) to publish, one at a time
    core.on_message(topic, payload, now) # the same, after a command (payload: bytes, or
                                         # the size of one the client skipped)
    core.poll(now)                       # the status: on a change, else once a minute

With `B` the config's `topic` (default "irregular-clock"):
- B/availability: "online" / "offline" (the will), retained;
- B/mode: the mode in effect, retained; B/mode/set takes a mode name;
- B/hands/set: "HH:MM:SS", what the hands show now (as on the page);
- B/zone/set: a zone name from the table on flash, or a POSIX rule;
- B/status: firmware/remote.py's status as JSON, retained;
- discovery (unless `discovery` is false), retained, on connect and again
  when <discovery>/status says "online": one device with a select for the
  mode, a text for "hands show" and sensors for the lead, the last sync,
  the error bound and the state, in Home Assistant's single-component
  form (<discovery>/<component>/<uid>/<object>/config).

A command that cannot be taken is ignored with a log line; under a flood
the lines are counted, and said at most once a minute.
"""

import json

from firmware import VERSION, remote
from firmware.main import log
from firmware.ticks import ticks_diff

_STATUS_EVERY_MS = 60000  # the status at most this often, unless something changed
_STATUS_GAP_MS = 1000  # ... and changes at most this often: a state that flaps is said as it ends up
_SAY_EVERY_MS = 60000  # ignored commands: one line, then a count at most this often
_REDISCOVER_MS = 10000  # discovery sent again at most this often
PAYLOAD_MAX = 256  # bytes of a command: a zone rule or a time is far less
_COMMANDS = {"mode/set": "mode", "hands/set": "hands", "zone/set": "zone"}
# (component, object id, name, the status field it shows, unit, device class)
_SENSORS = (
    ("lead", "Lead", "lead_s", "s", "duration"),
    ("last_sync", "Last sync", "synced_ago_s", "s", "duration"),
    ("error_bound", "Error bound", "error_bound_ms", "ms", "duration"),
    ("state", "State", "state", None, None),
)


class Mqtt:
    def __init__(self, clock, cfg, uid):
        self.clock = clock
        self.base = cfg.get("topic") or "irregular-clock"
        self.prefix = cfg.get("discovery", "homeassistant")
        self.uid = uid
        self._sent = None  # (state, mode) of the last status published
        self._sent_at = None  # ticks of it
        self._ignored = 0  # commands ignored since the last line said so
        self._said_at = None
        self._rediscovered = None  # ticks of the last discovery sent again

    def topic(self, name):
        return self.base + "/" + name

    def subscriptions(self):
        out = [self.topic(name) for name in _COMMANDS]
        if self.prefix:
            out.append(self.prefix + "/status")
        return out

    def will(self):
        return self.topic("availability"), b"offline", True

    def on_connect(self, now):
        """Online, the discovery payloads, the mode and the status: made one
        at a time as they are sent (a generator), not all at once."""
        yield self.topic("availability"), b"online", True
        for item in self.discovery():
            yield item
        for item in self.state(now):
            yield item

    def state(self, now):
        """The mode and the status, as they are now."""
        ctl = self.clock.ctl
        self._sent = (ctl.state, ctl.mode.name)
        self._sent_at = now
        return [(self.topic("mode"), ctl.mode.name.encode(), True),
                (self.topic("status"), json.dumps(remote.status(self.clock, now)).encode(), True)]

    def poll(self, now):
        """The status when the state or the mode changed, and once a minute."""
        ctl = self.clock.ctl
        if self._sent is None:
            return []  # not connected yet: on_connect sends it
        since = ticks_diff(now, self._sent_at)
        if since >= _STATUS_EVERY_MS or (since >= _STATUS_GAP_MS and self._sent != (ctl.state, ctl.mode.name)):
            return self.state(now)
        return []

    def on_message(self, topic, payload, now):
        if self.prefix and topic == self.prefix + "/status":
            if payload != b"online" or (self._rediscovered is not None and ticks_diff(now, self._rediscovered) < _REDISCOVER_MS):
                return []  # (a flood of "online" is answered once in 10 s)
            self._rediscovered = now
            return self.rediscover(now)
        what = _COMMANDS.get(topic[len(self.base) + 1:]) if topic.startswith(self.base + "/") else None
        if what is None:
            return []  # not ours (a wildcard elsewhere): nothing to say
        size = payload if isinstance(payload, int) else len(payload)  # the client's size of one it skipped
        if size > PAYLOAD_MAX:
            return self.ignore(topic, "%d bytes, over %d" % (size, PAYLOAD_MAX), now)
        try:
            text = payload.decode().strip()
        except UnicodeError:
            return self.ignore(topic, "not UTF-8 text", now)
        why = remote.change(self.clock, what, text, now)
        if why is not None:
            return self.ignore(topic, why, now)
        log("mqtt: %s taken" % topic)
        return self.state(now)

    def ignore(self, topic, why, now):
        """One log line for an ignored command; under a flood, a count at
        most once a minute (a line costs time on a board's serial port)."""
        self._ignored += 1
        if self._said_at is None or ticks_diff(now, self._said_at) >= _SAY_EVERY_MS:
            more = " (and %d more ignored in the last minute)" % (self._ignored - 1) if self._ignored > 1 else ""
            log("mqtt: %s ignored: %s%s" % (topic, why, more))
            self._said_at = now
            self._ignored = 0
        return []

    # -- Home Assistant --------------------------------------------------

    def device(self):
        return {"identifiers": [self.uid], "name": "Irregular clock", "model": "Irregular clock",
                "manufacturer": "irregular-clock", "sw_version": VERSION}

    def _entity(self, component, obj, name, extra):
        config = {"name": name, "unique_id": "%s_%s" % (self.uid, obj),
                  "availability_topic": self.topic("availability"), "device": self.device()}
        config.update(extra)
        return ("%s/%s/%s/%s/config" % (self.prefix, component, self.uid, obj), json.dumps(config).encode(), True)

    def rediscover(self, now):
        for item in self.discovery():
            yield item
        for item in self.state(now):
            yield item

    def discovery(self):
        """(topic, payload, retain) of every entity, one at a time (a
        generator: each payload is some 450 bytes); none with discovery off."""
        if not self.prefix:
            return
        status = self.topic("status")
        # The button's choice, one of the options (B/mode is the mode playing:
        # a schedule's, or shuffle's of the hour, perhaps none of them).
        yield self._entity("select", "mode", "Mode", {"command_topic": self.topic("mode/set"), "state_topic": status,
                                                      "value_template": "{{ value_json.choice }}",
                                                      "options": list(self.clock.ctl.cycle)})
        yield self._entity("text", "hands", "Hands show", {"command_topic": self.topic("hands/set"), "state_topic": status,
                                                           "value_template": "{{ value_json.hands }}", "min": 7, "max": 8,
                                                           "pattern": "^[0-9]{1,2}:[0-9]{2}:[0-9]{2}$"})
        for obj, name, field, unit, device_class in _SENSORS:
            extra = {"state_topic": status, "value_template": "{{ value_json.%s }}" % field}
            if unit is not None:
                extra["unit_of_measurement"] = unit
                extra["device_class"] = device_class
                extra["state_class"] = "measurement"
            yield self._entity("sensor", obj, name, extra)
