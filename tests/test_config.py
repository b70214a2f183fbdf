"""config.json at boot: every bad value costs one line and its default."""

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import modes
from firmware import config
from firmware.config import KEYS, check, defaults, load
from tests.peers import ROOT

PASSWORD = "hunter2-SECRET-pw"


def run_load(tmp_path, content, **kwargs):
    """load() on a file holding `content` (an object is written as JSON)."""
    path = tmp_path / "config.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content)
    else:
        path.write_text(json.dumps(content))
    lines = []
    clean = load(str(path), log=lines.append, **kwargs)
    return clean, lines


def assert_one_line_each(lines):
    for line in lines:
        assert "\n" not in line and "\r" not in line
        assert line.startswith("config: ")
        # Short, apart from the file's own path (a test's is long).
        assert len(re.sub(r"/\S*config\.json", "config.json", line)) <= 200, line


def test_a_full_good_config_is_kept(tmp_path):
    raw = {
        "board": "esp32c3",
        "wifi": {"ssid": "home", "password": PASSWORD},
        "ntp": ["pool.ntp.org", "192.168.1.1:1123"],
        "dns": "192.168.1.1",
        "tz": "CET-1CEST,M3.5.0,M10.5.0/3",
        "mode": "rush",
        "modes": ["normal", "rush", "shuffle"],
        "hands": "03:15:00",
        "pulse_ms": 40,
        "min_gap_ms": 200,
        "pulse_duty": 60,
        "watchdog_ms": 0,
        "schedule": [{"from": "23:00", "to": "07:00", "mode": "normal"}],
        "seed": 42,
        "unix": {"coil_log": "/tmp/coil", "button": "/tmp/button", "store_dir": "/tmp/s", "led_log": "led.log"},
        "pins": {"coil_a": 5, "coil_b": 6, "button": 9, "led": 8, "button_active_low": True, "led_active_low": False},
        "web": {"password": "a page password", "port": 8080},
        "mqtt": {"host": "192.168.1.10", "port": 1883, "user": "clock", "password": "broker-pw", "topic": "home/clock", "discovery": "homeassistant"},
    }
    clean, lines = run_load(tmp_path, raw)
    assert clean == raw
    assert lines == []


def test_the_example_config_is_clean():
    # As deploy reads it: the zone's name becomes the board's POSIX rule.
    from tools.deploy import DeployError, read_config

    said = []
    raw = json.loads((ROOT / "config.example.json").read_text())
    assert raw["wifi"] == {"ssid": "your-network", "password": "your-password"}  # placeholders, refused as they are
    path = ROOT / "config.example.json"
    assert raw["web"]["password"] == "your-page-password"
    mine = dict(raw, wifi={"ssid": "home", "password": "s3cret-pw"}, web={"password": "page-s3cret", "port": 80})
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:  # the page's placeholder is refused too
        path = Path(tmp) / "config.json"
        path.write_text(json.dumps(dict(mine, web=raw["web"])))
        with pytest.raises(DeployError, match="web.password: still the example's placeholder"):
            read_config(path)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.json"
        path.write_text(json.dumps(mine))
        raw, notes = read_config(path, said=said)
    assert notes == [] and said == ["tz: Europe/Berlin is CET-1CEST,M3.5.0,M10.5.0/3 on the board"]
    clean, problems = check(raw)
    assert problems == []
    assert clean["board"] == raw["board"] and clean["tz"] == "CET-1CEST,M3.5.0,M10.5.0/3"


def test_missing_file_gives_every_default(tmp_path):
    lines = []
    clean = load(str(tmp_path / "nope.json"), log=lines.append)
    assert clean == defaults()
    assert lines[0] == "config: no %s; using every default" % (tmp_path / "nope.json")
    assert_one_line_each(lines)


@pytest.mark.parametrize(
    "content, says",
    [
        ("{", "not valid JSON"),
        ("", "not valid JSON"),
        ('{"tz": "UTC0",}', "not valid JSON"),
        (b"\xff\xfe\x00garbage", "config.json"),
        ("[1, 2]", "not a JSON object but a list"),
        ('"just a string"', "not a JSON object but a string"),
        ("null", "not a JSON object but null"),
        ("42", "not a JSON object but a number"),
    ],
)
def test_garbled_file_gives_every_default_and_one_line_why(tmp_path, content, says):
    clean, lines = run_load(tmp_path, content)
    assert clean == defaults()
    assert says in lines[0]
    assert "using every default" in lines[0]
    assert_one_line_each(lines)
    # Then only the note about the board chosen by platform.
    assert [line for line in lines[1:] if not line.startswith("config: board: not set")] == []


def test_a_directory_instead_of_a_file(tmp_path):
    lines = []
    clean = load(str(tmp_path), log=lines.append)
    assert clean == defaults()
    assert "using every default" in lines[0]


BASE = {"board": "unix"}  # so the only lines are about the key under test

# (key, bad value, the key named in the line)
BAD = [
    ("board", "esp8266", "board"),
    ("board", 3, "board"),
    ("board", ["rp2"], "board"),
    ("wifi", "home", "wifi"),
    ("wifi", ["home", PASSWORD], "wifi"),
    ("wifi", {"ssid": "", "password": PASSWORD}, "wifi.ssid"),
    ("wifi", {"ssid": "x" * 33, "password": PASSWORD}, "wifi.ssid"),
    ("wifi", {"ssid": 5, "password": PASSWORD}, "wifi.ssid"),
    ("wifi", {"password": PASSWORD}, "wifi.ssid"),
    ("wifi", {"ssid": "home", "password": 12345678}, "wifi.password"),
    ("wifi", {"ssid": "home", "password": PASSWORD * 5}, "wifi.password"),
    ("ntp", "pool.ntp.org", "ntp"),
    ("ntp", [], "ntp"),
    ("ntp", {}, "ntp"),
    ("tz", "bogus", "tz"),
    ("tz", "", "tz"),
    ("tz", 1, "tz"),
    ("tz", ":Europe/Paris", "tz"),
    ("tz", "CET-1CEST,M13.5.0,M10.5.0/3", "tz"),
    ("mode", "fast", "mode"),
    ("mode", 2, "mode"),
    ("modes", "normal", "modes"),
    ("modes", [], "modes"),
    ("hands", "12:00", "hands"),
    ("hands", "24:00:00", "hands"),
    ("hands", "12:60:00", "hands"),
    ("hands", "1:2:3:4", "hands"),
    ("hands", "aa:bb:cc", "hands"),
    ("hands", "-1:00:00", "hands"),
    ("hands", 43200, "hands"),
    ("pulse_ms", 4, "pulse_ms"),
    ("pulse_ms", 201, "pulse_ms"),
    ("pulse_ms", 31.5, "pulse_ms"),
    ("pulse_ms", "31", "pulse_ms"),
    ("pulse_ms", True, "pulse_ms"),
    ("min_gap_ms", 25, "min_gap_ms"),
    ("min_gap_ms", 501, "min_gap_ms"),
    ("min_gap_ms", 125.0, "min_gap_ms"),
    ("min_gap_ms", 31, "min_gap_ms"),  # must exceed pulse_ms
    ("pulse_duty", 0, "pulse_duty"),
    ("pulse_duty", 101, "pulse_duty"),
    ("pulse_duty", 50.5, "pulse_duty"),
    ("watchdog_ms", -1, "watchdog_ms"),
    ("watchdog_ms", 8001, "watchdog_ms"),
    ("watchdog_ms", False, "watchdog_ms"),
    ("schedule", {"from": "23:00"}, "schedule"),
    ("schedule", [{"from": "23:00", "to": "07:00", "mode": "fast"}], "schedule[0].mode"),
    ("schedule", [{"from": "23:00", "to": "23:00", "mode": "normal"}], "schedule[0]"),
    ("schedule", [{"from": "25:00", "to": "07:00", "mode": "normal"}], "schedule[0].from"),
    ("schedule", ["23:00-07:00"], "schedule[0]"),
    ("seed", -1, "seed"),
    ("seed", 2**32, "seed"),
    ("seed", "7", "seed"),
    ("seed", 1.5, "seed"),
    ("unix", "coil.log", "unix"),
    ("unix", {"coil_log": ""}, "unix.coil_log"),
    ("unix", {"button": 3}, "unix.button"),
    ("unix", {"store_dir": ""}, "unix.store_dir"),
    ("unix", {"led_log": []}, "unix.led_log"),
    ("unix", {"coil_log": None, "button": "button", "x": 1}, "unix.x"),
    ("pins", [5, 6], "pins"),
    ("pins", {"coil_a": 64}, "pins.coil_a"),
    ("pins", {"coil_a": -1}, "pins.coil_a"),
    ("pins", {"led": "no such pin!"}, "pins.led"),
    ("pins", {"led": "LED"}, "pins.led"),  # names exist on the rp2 port only
    ("pins", {"button_active_low": 1}, "pins.button_active_low"),
    ("pins", {"led_active_low": "yes"}, "pins.led_active_low"),
    ("pins", {"led": 1.5}, "pins.led"),
    ("pins", {"coil_a": 5, "coil_b": 5}, "pins"),
]


@pytest.mark.parametrize("key, value, named", BAD)
def test_a_bad_value_costs_one_line_and_its_default(tmp_path, key, value, named):
    raw = dict(BASE)
    raw[key] = value
    clean, lines = run_load(tmp_path, raw)
    expected = defaults()
    assert clean == expected
    assert len(lines) == 1, lines
    assert lines[0].startswith("config: %s: " % named), lines[0]
    assert_one_line_each(lines)
    assert "(" in lines[0] and lines[0].endswith(")")  # says what it uses instead


def test_the_tz_line_reads_well(tmp_path):
    _, lines = run_load(tmp_path, {"board": "unix", "tz": "bogus"})
    assert lines[0].startswith("config: tz: bad TZ 'bogus': ")
    assert lines[0].endswith("(using 'UTC0')")


def test_a_pulse_as_long_as_the_gap_resets_both(tmp_path):
    clean, lines = run_load(tmp_path, {"board": "unix", "pulse_ms": 150})
    assert (clean["pulse_ms"], clean["min_gap_ms"]) == (31, 125)
    assert lines == ["config: min_gap_ms: 125 must exceed pulse_ms 150 (using pulse_ms 31, min_gap_ms 125)"]


def test_bad_list_entries_are_dropped_one_line_each(tmp_path):
    raw = {"board": "unix", "ntp": ["a.example", "b:x", 7, "a.example", "c.example:1123"]}
    clean, lines = run_load(tmp_path, raw)
    assert clean["ntp"] == ["a.example", "c.example:1123"]
    assert [line.split(":")[1].strip() for line in lines] == ["ntp[1]", "ntp[2]", "ntp[3]"]
    raw = {"board": "unix", "modes": ["normal", "fast", "normal", "shuffle"], "mode": "shuffle"}
    clean, lines = run_load(tmp_path, raw)
    assert clean["modes"] == ["normal", "shuffle"] and clean["mode"] == "shuffle"
    assert [line.split(":")[1].strip() for line in lines] == ["modes[1]", "modes[2]"]


def test_no_usable_entry_falls_back_to_the_default_list(tmp_path):
    clean, lines = run_load(tmp_path, {"board": "unix", "ntp": ["x:0", "y:70000"], "modes": ["fast"]})
    assert clean["ntp"] == ["pool.ntp.org"]
    assert clean["modes"] == list(modes.NAMES)
    assert [line.split(":")[1].strip() for line in lines] == ["ntp[0]", "ntp[1]", "ntp", "modes[0]", "modes"]


def test_mode_defaults_to_the_first_of_the_cycle(tmp_path):
    clean, lines = run_load(tmp_path, {"board": "unix", "modes": ["rush", "gravity"]})
    assert clean["mode"] == "rush" and lines == []
    clean, lines = run_load(tmp_path, {"board": "unix", "modes": ["rush", "gravity"], "mode": "normal"})
    assert clean["mode"] == "rush"
    assert lines == ["config: mode: 'normal' is not in modes (using 'rush')"]


def test_unknown_keys_are_named_and_ignored(tmp_path):
    raw = {"board": "unix", "tz": "UTC0", "timezone": "CET", "wifi": {"ssid": "a", "password": "", "hidden": PASSWORD},
           "unix": {"coil": "x"}, "pins": {"servo": 3}, "schedule": [{"from": "1:00", "to": "2:00", "mode": "rush", "x": 1}]}
    clean, lines = run_load(tmp_path, raw)
    assert lines == [
        "config: timezone: unknown key (ignored)",
        "config: wifi.hidden: unknown key (ignored)",
        "config: schedule[0].x: unknown key (ignored)",
        "config: unix.coil: unknown key (ignored)",
        "config: pins.servo: unknown key (ignored)",
    ]
    assert clean["wifi"] == {"ssid": "a", "password": ""}
    assert clean["schedule"] == [{"from": "1:00", "to": "2:00", "mode": "rush"}]
    assert PASSWORD not in "".join(lines)


def test_null_means_default_without_a_word(tmp_path):
    raw = dict.fromkeys(KEYS)
    raw["board"] = "unix"
    clean, lines = run_load(tmp_path, raw)
    assert clean == defaults()
    assert lines == []


def test_board_defaults_by_platform_and_says_so(tmp_path):
    for platform, board in (("esp32", "esp32"), ("rp2", "rp2"), ("linux", "unix"), ("darwin", "unix")):
        clean, lines = run_load(tmp_path, {"tz": "UTC0"}, platform=platform)
        assert clean["board"] == board
        assert lines[0] == "config: board: not set; using %r (from sys.platform)" % board
    assert config.default_board("esp32", "ESP32C3 module with ESP32C3") == "esp32c3"
    assert config.default_board("esp32", "Generic ESP32 module with ESP32") == "esp32"


def test_no_led_and_no_button_are_kept(tmp_path):
    raw = {"board": "unix", "pins": {"led": None, "coil_a": 3}, "unix": {"button": None, "led_log": None}}
    clean, lines = run_load(tmp_path, raw)
    assert clean["pins"] == {"led": None, "coil_a": 3}
    assert clean["unix"] == {"coil_log": "coil.log", "button": None, "store_dir": "data", "led_log": None}
    assert lines == []


def test_the_boards_read_the_clean_config():
    # hardware/boards.py takes load()'s dict: every key it reads is there.
    from hardware import boards_mcu as boards

    for key in boards.PIN_KEYS:
        assert key in config.PIN_NAMES + config.PIN_FLAGS, key
    board = boards.pin_map("rp2", check({"board": "rp2", "pins": {"led": None, "button": "BOOTSEL"}})[0]["pins"])
    assert board["led"] is None and board["button"] == "BOOTSEL"


def test_a_board_without_wifi_is_told(tmp_path):
    _, lines = run_load(tmp_path, {"board": "rp2"})
    assert lines == ["config: wifi: not set; no network, so the hands wait for a time"]


def test_pins_accept_names_and_the_board_range(tmp_path):
    raw = {"board": "rp2", "wifi": {"ssid": "a"}, "pins": {"led": "LED", "coil_a": 29, "button": "BOOTSEL"}}
    clean, lines = run_load(tmp_path, raw)
    assert clean["pins"] == raw["pins"] and lines == []
    clean, lines = run_load(tmp_path, {"board": "esp32c3", "wifi": {"ssid": "a"}, "pins": {"coil_a": 22}})
    assert clean["pins"] == {}
    assert lines[0].startswith("config: pins.coil_a: GPIO 22 does not exist on esp32c3")


WIFI_SHAPES = [
    {"ssid": "home", "password": PASSWORD},
    {"ssid": PASSWORD, "password": "home"},  # swapped by mistake
    {"ssid": "home", "password": PASSWORD, "pasword": PASSWORD},
    {"ssid": PASSWORD * 3, "password": 1},
    {"ssid": 1, "password": PASSWORD},
    {"ssid": "home", "password": PASSWORD * 9},
    [PASSWORD],
    PASSWORD,
]


@pytest.mark.parametrize("wifi", WIFI_SHAPES)
def test_the_password_never_reaches_the_log(tmp_path, wifi):
    raw = {"board": "esp32", "wifi": wifi, "tz": "bogus", "pins": {"coil_a": 99}}
    _, lines = run_load(tmp_path, raw)
    assert lines
    assert PASSWORD not in "\n".join(lines)
    assert PASSWORD[:8] not in "\n".join(lines)


def test_check_reports_without_logging():
    clean, problems = check({"board": "unix", "tz": "bogus", "foo": 1})
    assert clean == defaults()
    assert len(problems) == 2 and problems[0] == "foo: unknown key (ignored)"
    assert problems[1].startswith("tz: bad TZ 'bogus'")
    assert check(clean) == (clean, [])


def test_long_values_are_cut_short(tmp_path):
    _, lines = run_load(tmp_path, {"board": "unix", "tz": "X" * 5000, "x" * 500: 1, "hands": "9" * 1000})
    assert len(lines) == 3
    assert_one_line_each(lines)


# -- the same under MicroPython ----------------------------------------------

CASES = [{"board": "unix"}, {"board": "rp2", "wifi": {"ssid": "a", "password": PASSWORD}}]
CASES += [dict(BASE, **{key: value}) for key, value, _ in BAD]
CASES += [{"board": "unix", "ntp": ["a.example", "b:x", 7, "a.example"], "modes": ["normal", "fast", "normal"]},
          {"tz": "UTC0", "zzz": 1, "aaa": 2, "wifi": {"ssid": "a", "x": PASSWORD}},
          [1, 2], "text", None, 5,
          # Where the runtimes' str methods differ: Unicode spaces and digits.
          {"board": "unix", "ntp": ["a\xa0b", "h:\u0661\u0662", "ok.example"], "hands": "\u0661\u0662:00:00",
           "tz": "X\u20280", "foo\u2028bar": 1}]

# One result per line, so a long batch never holds every answer at once.
_MP_CHECK = """
import sys, json
from firmware.config import check, notes
for raw in json.loads(sys.stdin.read()):
    clean, problems = check(raw)
    print(json.dumps([clean, problems, notes(raw, clean)]))
"""


def check_under_micropython(micropython, cases):
    # Raw UTF-8, as in a real file: the port's json joins no surrogate pairs
    # (an escaped emoji "\\ud83d\\ude00" would come back as two halves).
    out = micropython.run(_MP_CHECK, stdin=json.dumps(cases, ensure_ascii=False))
    return [json.loads(line) for line in out.split("\n") if line]  # not splitlines: U+2028 is no end of line here


def test_check_agrees_under_micropython(micropython):
    theirs = check_under_micropython(micropython, CASES)
    ours = [list(check(raw)) + [config.notes(raw, check(raw)[0])] for raw in CASES]
    assert json.loads(json.dumps(ours)) == theirs


_MP_LOAD = """
import sys, json
from firmware.config import load
out = []
for path in json.loads(sys.stdin.read()):
    lines = []
    clean = load(path, log=lines.append)
    out.append([clean, lines])
print(json.dumps(out))
"""


def test_load_agrees_under_micropython(micropython, tmp_path):
    files = {
        "good.json": json.dumps({"board": "unix", "tz": "EST5EDT,M3.2.0,M11.1.0", "mode": "gravity", "seed": 9}),
        "bad.json": json.dumps({"board": "unix", "tz": "bogus", "pulse_ms": 0, "wifi": {"ssid": PASSWORD}}),
        "list.json": "[1]",
    }
    paths = []
    for name, text in files.items():
        (tmp_path / name).write_text(text)
        paths.append(str(tmp_path / name))
    paths.append(str(tmp_path / "missing.json"))
    theirs = micropython.call_json(_MP_LOAD, paths)
    ours = []
    for path in paths:
        lines = []
        ours.append([load(path, log=lines.append), lines])
    assert json.loads(json.dumps(ours)) == theirs
    assert PASSWORD not in json.dumps(theirs[1][1])


def test_garbled_json_under_micropython(micropython, tmp_path):
    (tmp_path / "c.json").write_text('{"tz": ')
    clean, lines = micropython.call_json(_MP_LOAD, [str(tmp_path / "c.json")])[0]
    assert clean == json.loads(json.dumps(defaults()))
    assert lines[0].startswith("config: %s is not valid JSON (" % (tmp_path / "c.json"))
    assert lines[0].endswith("using every default")


# -- properties --------------------------------------------------------------

# What a JSON file can hold: no NaN or infinities, no lone surrogates.
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
json_scalars = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False, allow_infinity=False) | texts
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)
WEB_SECRET = "page-secret-Q7"  # never in a log line
# Near-valid values reach the deeper checks more often than noise does.
plausible = {
    "board": st.sampled_from(config.BOARDS + ("esp8266", "")),
    "wifi": st.fixed_dictionaries({"ssid": st.text(st.characters(exclude_categories=("Cs",)), max_size=40), "password": st.just(PASSWORD)}),
    "ntp": st.lists(st.sampled_from(["pool.ntp.org", "a:123", "b:0", "c:x", "", ":1", "h:65536"]), max_size=4),
    "dns": st.sampled_from(["192.168.1.1", "127.0.0.1:5353", "1.1.1.1:0", "dns.example", "300.1.1.1", "1.2.3", ""]),
    "tz": st.sampled_from(["UTC0", "CET-1CEST,M3.5.0,M10.5.0/3", "bogus", "<+0330>-3:30", "EST5EDT,0/0,J365/25", "X"]),
    "mode": st.sampled_from(modes.NAMES + ("shuffle", "fast")),
    "modes": st.lists(st.sampled_from(modes.NAMES + ("shuffle", "fast")), max_size=8),
    "hands": st.sampled_from(["12:00:00", "00:00:00", "23:59:59", "24:00:00", "1:2:3", "12:00"]),
    "pulse_ms": st.integers(-10, 600),
    "min_gap_ms": st.integers(-10, 600),
    "pulse_duty": st.integers(-1, 101),
    "watchdog_ms": st.integers(-1, 9000),
    "schedule": st.lists(
        st.fixed_dictionaries({"from": st.sampled_from(["23:00", "7:00", "25:00", 5]),
                               "to": st.sampled_from(["07:00", "23:00", "x"]),
                               "mode": st.sampled_from(modes.NAMES + ("shuffle", "fast"))}), max_size=3),
    "seed": st.integers(-5, 2**33),
    "unix": st.dictionaries(st.sampled_from(config.UNIX_KEYS + ("x",)), st.none() | texts | st.integers(), max_size=3),
    "pins": st.dictionaries(st.sampled_from(config.PIN_NAMES + config.PIN_FLAGS + ("servo",)),
                            st.none() | st.booleans() | st.integers(-2, 70) | texts, max_size=5),
    "web": st.fixed_dictionaries({"password": st.sampled_from(["", "short", WEB_SECRET, "x" * 64, "x" * 65]) | texts},
                                 optional={"port": st.integers(-1, 70000) | json_values, "user": texts}),
    "mqtt": st.fixed_dictionaries({"host": st.sampled_from(["192.168.1.10", "broker.lan", "", "a b"]) | texts},
                                  optional={"port": st.integers(-1, 70000) | json_values,
                                            "user": st.sampled_from(["clock", WEB_SECRET]) | json_values,
                                            "password": st.sampled_from([WEB_SECRET, "x" * 65]) | json_values,
                                            "topic": st.sampled_from(["irregular-clock", "home/clock", "a/#", "/x", "a//b", ""]) | json_values,
                                            "discovery": st.sampled_from(["homeassistant", False, True, "ha/+"]) | json_values}),
}
configs = st.dictionaries(
    st.sampled_from(KEYS) | texts,
    json_values,
    max_size=10,
) | st.fixed_dictionaries({}, optional={key: plausible[key] | json_values for key in KEYS})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=configs)
@example(raw={"pulse_ms": 200, "min_gap_ms": 200})
@example(raw={"wifi": {"ssid": "x" * 32, "password": PASSWORD}})
@example(raw={"modes": ["shuffle"], "mode": "shuffle"})
@example(raw={"web": {"password": WEB_SECRET, "port": 8080}})
@example(raw={"web": {"password": "short"}})
def test_any_json_object_gives_a_complete_valid_config(raw):
    # Through a real file, as the board reads it.
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.json"
        path.write_text(json.dumps(raw))
        lines = []
        clean = load(str(path), log=lines.append)
    assert set(clean) == set(KEYS)
    # Clean values are a fixed point: checked again, nothing to say.
    assert check(clean) == (clean, [])
    assert clean["mode"] in clean["modes"]
    assert clean["min_gap_ms"] > clean["pulse_ms"]
    assert_one_line_each(lines)
    wifi = raw.get("wifi")
    if isinstance(wifi, dict) and wifi.get("password") == PASSWORD:
        assert PASSWORD not in "\n".join(lines)
    assert WEB_SECRET not in "\n".join(lines)
    mq = clean["mqtt"]
    if mq is not None:
        assert mq["host"] and 0 < mq["port"] < 65536 and "#" not in mq["topic"] and "+" not in mq["topic"]
        assert mq["discovery"] is False or isinstance(mq["discovery"], str)
    elif isinstance(raw.get("mqtt"), dict):
        assert any(line.startswith("config: mqtt") for line in lines), lines
    web = raw.get("web")
    if clean["web"] is not None:
        assert 8 <= len(clean["web"]["password"]) <= 64 and 0 < clean["web"]["port"] < 65536
    elif isinstance(web, dict):
        assert any(line.startswith("config: web") for line in lines), lines


def test_arbitrary_configs_agree_under_micropython(micropython):
    """Hypothesis draws the configs; both interpreters check them all at once."""
    drawn = []

    @settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(raw=configs)
    def collect(raw):
        drawn.append(raw)

    collect()
    theirs = check_under_micropython(micropython, drawn)
    assert len(theirs) == len(drawn)
    for raw, (clean, problems, said) in zip(drawn, theirs):
        ours_clean, ours_problems = check(raw)
        assert (json.loads(json.dumps(ours_clean)), ours_problems) == (clean, problems), raw
        assert config.notes(raw, ours_clean) == said


@pytest.mark.parametrize(
    "content, count",
    [
        ({"board": "unix", "tz": "UTC0"}, 0),
        ({"board": "unix", "colour": "red", "tz": "bogus"}, 2),
        ('{"board": "unix",', 1),
        (b"\xff\xfe", 1),
    ],
)
def test_load_hands_its_problems_to_found(tmp_path, content, count):
    found = []
    _, lines = run_load(tmp_path, content, found=found)
    assert len(found) == count
    # Each one was logged too: found is for the LED, not instead of the log.
    assert len([line for line in lines if "board: not set" not in line]) >= count


def test_no_config_file_is_no_problem(tmp_path):
    found = []
    clean = load(str(tmp_path / "absent.json"), log=lambda line: None, found=found)
    assert found == [] and clean == defaults()


@pytest.mark.parametrize("value, ok", [
    ("192.168.1.1", True), ("127.0.0.1:5353", True), ("dns.example", False), ("300.1.1.1", False),
    ("1.2.3", False), ("1.1.1.1:0", False), ("", False), (53, False),
])
def test_dns_is_a_resolver_address_never_a_name(value, ok):
    clean, problems = check({"board": "unix", "dns": value})
    if ok:
        assert clean["dns"] == value and problems == []
    else:
        assert clean["dns"] is None
        assert len(problems) == 1 and problems[0].startswith("dns: must be a resolver's IPv4 address"), problems
        assert problems[0].endswith("(using the network's)")
