"""Hypothesis strategies for MQTT messages a hub might send, good and bad, with their fate.

Every generated `Case` says what the gateway must make of it: the readings it must store,
and the refusal class of the one dead letter it must write (or none). The class is known
by construction (the strategy built that fault), not by asking the code under test.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from hypothesis import strategies as st

from sst_core.const import hub_topic

TELEMETRY_KEYS = (
    "bedroom-motion",
    "bed-pressure",
    "bathroom-motion",
    "toilet-flush",
    "kitchen-motion",
    "kettle-plug",
    "living-motion",
    "living-temp",
    "front-door",
)
EVENT_KEYS = ("fall-1", "button-1", "smoke-1")
NEIGHBOUR_KEY = "garage-door"  # registered on another hub only
DAY_MS = 86_400_000
NON_FINITE = (b"NaN", b"Infinity", b"-Infinity", b"1e999", b"-1e999", b"1E400")
# Refusals the parser decides alone; the rest need the hub directory or the clock.
MESSAGE_CLASSES = frozenset(
    {
        "bad_topic",
        "too_large",
        "malformed_json",
        "not_utf8",
        "too_deep",
        "huge_number",
        "non_finite",
        "duplicate_key",
        "schema",
    }
)

Reading = tuple[str, int, float]


@dataclass(frozen=True)
class Case:
    """One MQTT message and what must become of it."""

    topic: str
    payload: bytes
    hub: str | None  # the serial dead letters are filed under (None: topic names no hub)
    refusal: str | None  # class of the expected dead letter
    parsed: tuple[Reading, ...] = ()  # readings the parser must return (valid or not)
    stored: tuple[Reading, ...] = ()  # readings that must become rows
    deliverable: bool = True  # False: the gateway never subscribes to such a topic


@dataclass
class World:
    """Hubs and clock the cases are built for; timestamps are handed out unique."""

    tag: str
    hubs: list[str]
    now_ms: int
    max_payload_bytes: int
    _next: int = 0
    _strategies: dict[Any, st.SearchStrategy[Any]] = field(default_factory=dict)

    def ts(self) -> int:
        """A fresh, valid timestamp: no two readings of a run share one."""
        self._next += 1
        return self.now_ms - 3_600_000 + self._next

    def strategy(self, key: Any, build: Callable[[], st.SearchStrategy[Any]]) -> Any:
        """A strategy built once per world (building one per draw is Hypothesis's slow path)."""
        if key not in self._strategies:
            self._strategies[key] = build()
        return self._strategies[key]

    def ghost(self, i: int) -> str:
        """A hub serial SST does not know."""
        return f"ghost-{self.tag}-{i}"


def _dumps(body: Any, pretty: bool) -> bytes:
    try:
        return orjson.dumps(body, option=orjson.OPT_INDENT_2 if pretty else 0)
    except orjson.JSONEncodeError:  # integers beyond 64 bits (absurd timestamps)
        return json.dumps(body, indent=2 if pretty else None).encode()


def _reading_obj(key: str, ts: int, value: float, order: list[int]) -> dict[str, Any]:
    items = [("sensor", key), ("ts", ts), ("value", value)]
    return dict(items[i] for i in order)


@st.composite
def _telemetry_parts(draw: st.DrawFn, world: World, most: int = 120) -> dict[str, Any]:
    """Valid readings for a telemetry message, as parts a case can still spoil."""
    n = draw(st.integers(1, most))
    rng = _rng(draw)
    edge = draw(st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=min(n, 2)))
    values = edge + [
        rng.choice((0.0, 1.0, round(rng.uniform(-50, 3000), 3))) for _ in range(n - len(edge))
    ]
    readings = [(rng.choice(TELEMETRY_KEYS), world.ts(), v) for v in values]
    return {
        "readings": readings,
        "order": rng.sample([0, 1, 2], 3),
        "with_v": rng.random() < 0.5,
        "pretty": rng.random() < 0.2,
    }


def _parts(world: World, most: int) -> st.SearchStrategy[dict[str, Any]]:
    built = world.strategy(("parts", most), lambda: _telemetry_parts(world, most))
    return built


def _telemetry_bytes(parts: dict[str, Any], readings: list[Reading] | None = None) -> bytes:
    rows = [_reading_obj(k, t, v, parts["order"]) for k, t, v in readings or parts["readings"]]
    body: dict[str, Any] = {"v": 1, "readings": rows} if parts["with_v"] else {"readings": rows}
    return _dumps(body, parts["pretty"])


def _rng(draw: st.DrawFn) -> random.Random:
    """Details of a case from one draw: Hypothesis's cost is per draw, not per byte."""
    return random.Random(draw(st.integers(0, 2**32 - 1)))


def _hub(draw: st.DrawFn, world: World) -> str:
    return world.hubs[draw(st.integers(0, len(world.hubs) - 1))]


@st.composite
def valid_telemetry(draw: st.DrawFn, world: World) -> Case:
    """A well-formed batch of readings from registered sensors: all stored."""
    serial = _hub(draw, world)
    parts = draw(_parts(world, 120))
    readings = tuple(parts["readings"])
    payload = _telemetry_bytes(parts)
    return Case(hub_topic(serial, "telemetry"), payload, serial, None, readings, readings)


@st.composite
def partly_refused_telemetry(draw: st.DrawFn, world: World) -> Case:
    """Good readings with some from an unknown or foreign sensor or at an impossible time."""
    serial = _hub(draw, world)
    parts = draw(_parts(world, 60))
    good: list[Reading] = parts["readings"]
    faults = draw(
        st.lists(
            st.sampled_from(["unknown_sensor", "neighbour", "future", "too_old", "epoch"]),
            min_size=1,
            max_size=5,
        )
    )
    rng = _rng(draw)
    spoiled: list[tuple[Reading, str]] = []
    for fault in faults:
        ts, key = world.ts(), rng.choice(TELEMETRY_KEYS)
        if fault == "unknown_sensor":
            reading, code = (f"attic-{rng.randrange(100)}", ts, 1.0), "unknown_sensor"
        elif fault == "neighbour":
            reading, code = (NEIGHBOUR_KEY, ts, 1.0), "unknown_sensor"
        elif fault == "future":
            ahead = rng.choice([rng.randint(DAY_MS, 1000 * 365 * DAY_MS), 10**4000])
            reading, code = (key, world.now_ms + ahead, 1.0), "future"
        elif fault == "too_old":
            age = rng.randint(400 * DAY_MS, 50 * 365 * DAY_MS)
            reading, code = (key, world.now_ms - age, 1.0), "too_old"
        else:
            reading, code = (key, rng.randint(0, DAY_MS), 1.0), "too_old"
        spoiled.append((reading, code))
    mixed: list[tuple[Reading, str | None]] = [(r, None) for r in good]
    for item in spoiled:
        mixed.insert(rng.randint(0, len(mixed)), item)
    first = next(code for _, code in mixed if code is not None)
    everything = [r for r, _ in mixed]
    payload = _telemetry_bytes(parts, everything)
    return Case(
        hub_topic(serial, "telemetry"), payload, serial, first, tuple(everything), tuple(good)
    )


@st.composite
def valid_event(draw: st.DrawFn, world: World) -> Case:
    """An urgent reading (fall, button, smoke): stored."""
    serial, rng = _hub(draw, world), _rng(draw)
    reading = (rng.choice(EVENT_KEYS), world.ts(), float(rng.randint(0, 1)))
    body: dict[str, Any] = {"sensor": reading[0], "ts": reading[1], "value": reading[2]}
    if rng.random() < 0.5:
        body = {"v": 1, **body}
    return Case(
        hub_topic(serial, "events"), orjson.dumps(body), serial, None, (reading,), (reading,)
    )


_PRINTABLE = st.characters(
    exclude_categories=["Cs"], exclude_characters="".join(map(chr, [*range(32), 127]))
)


@st.composite
def valid_status(draw: st.DrawFn, world: World) -> Case:
    """Presence: no reading, no dead letter."""
    serial, rng = _hub(draw, world), _rng(draw)
    body: dict[str, Any] = {"online": rng.random() < 0.5}
    firmware = draw(st.none() | st.text(_PRINTABLE, max_size=64))
    if firmware is not None or rng.random() < 0.5:
        body["firmware"] = firmware
    if rng.random() < 0.5:
        body["ts"] = world.ts()
    return Case(hub_topic(serial, "status"), orjson.dumps(body), serial, None)


def _refused(serial: str, kind: str, payload: bytes, code: str) -> Case:
    return Case(hub_topic(serial, kind), payload, serial, code)


@st.composite
def malformed_json(draw: st.DrawFn, world: World) -> Case:
    """A message cut short, or with garbage after it."""
    serial = _hub(draw, world)
    whole, rng = _telemetry_bytes(draw(_parts(world, 5))), _rng(draw)
    if rng.random() < 0.5:
        payload = whole[: rng.randrange(len(whole))]
    else:
        payload = whole + rng.choice([b"x", b"}", b",", b"]", b"{}", b" null"])
    return _refused(serial, "telemetry", payload, "malformed_json")


@st.composite
def binary_garbage(draw: st.DrawFn, world: World) -> Case:
    """Bytes that are not UTF-8 at all (NUL bytes included)."""
    serial = _hub(draw, world)
    noise = draw(st.binary(max_size=300))
    rng = _rng(draw)
    at = rng.randint(0, len(noise))
    payload = (
        noise[:at] + draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80"])) + noise[at:]
    )
    return _refused(
        serial, draw(st.sampled_from(["telemetry", "events", "status"])), payload, "not_utf8"
    )


@st.composite
def control_garbage(draw: st.DrawFn, world: World) -> Case:
    """UTF-8 text starting with NUL: not JSON, and an excerpt PostgreSQL cannot store as is."""
    serial = _hub(draw, world)
    text = draw(
        st.text(st.characters(exclude_categories=["Cs"], exclude_characters="[]{}"), max_size=200)
    )
    return _refused(serial, "telemetry", b"\x00" + text.encode(), "malformed_json")


@st.composite
def deeply_nested(draw: st.DrawFn, world: World) -> Case:
    """Arrays or objects nested far beyond the contract's three levels."""
    serial = _hub(draw, world)
    depth = draw(st.integers(9, 3000))
    shape = draw(st.sampled_from(["arrays", "objects", "inside"]))
    if shape == "arrays":
        payload = b"[" * depth + b"]" * depth
    elif shape == "objects":
        payload = b'{"a":' * depth + b"1" + b"}" * depth
    else:
        extra = b"[" * depth + b"]" * depth
        payload = b'{"readings":[{"sensor":"kitchen-motion","ts":1,"value":1}],"x":' + extra + b"}"
    return _refused(serial, "telemetry", payload, "too_deep")


@st.composite
def huge_number(draw: st.DrawFn, world: World) -> Case:
    """A number with thousands of digits: beyond any parser's integers, or beyond a double."""
    serial = _hub(draw, world)
    key = draw(st.sampled_from(TELEMETRY_KEYS))
    if draw(st.booleans()):
        digits = b"9" * draw(st.integers(4400, 6000))
        payload = b'{"readings":[{"sensor":"%s","ts":%s,"value":1}]}' % (key.encode(), digits)
        return _refused(serial, "telemetry", payload, "huge_number")
    digits = b"9" * draw(st.integers(310, 4000))
    payload = b'{"readings":[{"sensor":"%s","ts":%d,"value":%s}]}' % (
        key.encode(),
        world.ts(),
        digits,
    )
    return _refused(serial, "telemetry", payload, "non_finite")


@st.composite
def non_finite(draw: st.DrawFn, world: World) -> Case:
    """NaN or an infinity in any numeric position of any message kind."""
    serial = _hub(draw, world)
    token = draw(st.sampled_from(NON_FINITE))
    ts = b"%d" % world.ts()
    templates = {
        "telemetry": [
            b'{"readings":[{"sensor":"kitchen-motion","ts":' + ts + b',"value":@}]}',
            b'{"readings":[{"sensor":"kitchen-motion","ts":@,"value":1}]}',
            b'{"v":@,"readings":[{"sensor":"kitchen-motion","ts":' + ts + b',"value":1}]}',
        ],
        "events": [
            b'{"sensor":"fall-1","ts":' + ts + b',"value":@}',
            b'{"sensor":"fall-1","ts":@,"value":1}',
            b'{"v":@,"sensor":"fall-1","ts":' + ts + b',"value":1}',
        ],
        "status": [b'{"online":true,"ts":@}', b'{"v":@,"online":true}'],
    }
    kind = draw(st.sampled_from(sorted(templates)))
    payload = draw(st.sampled_from(templates[kind])).replace(b"@", token)
    return _refused(serial, kind, payload, "non_finite")


@st.composite
def duplicate_key(draw: st.DrawFn, world: World) -> Case:
    """A JSON object naming a key twice, plainly or with an escaped name."""
    serial = _hub(draw, world)
    parts = draw(_parts(world, 5))
    rows = [
        b'{"sensor":"%s","ts":%d,"value":%s}' % (k.encode(), t, orjson.dumps(v))
        for k, t, v in parts["readings"]
    ]
    key = draw(st.sampled_from([b"sensor", b"ts", b"value", b"v", b"readings"]))
    escape = draw(st.booleans())
    name = b'"\\u%04x%s"' % (key[0], key[1:]) if escape else b'"%s"' % key
    if key in (b"v", b"readings"):
        extra = b"1" if key == b"v" else b"[" + rows[0] + b"]"
        payload = b'{"v":1,' + name + b":" + extra + b',"readings":[' + b",".join(rows) + b"]}"
        if key == b"readings":
            payload = b'{"readings":[' + b",".join(rows) + b"]," + name + b":" + extra + b"}"
    else:
        i = _rng(draw).randrange(len(rows))
        again = b"1" if key != b"sensor" else b'"kitchen-motion"'
        rows[i] = rows[i][:-1] + b"," + name + b":" + again + b"}"
        payload = b'{"readings":[' + b",".join(rows) + b"]}"
    return _refused(serial, "telemetry", payload, "duplicate_key")


@st.composite
def too_large(draw: st.DrawFn, world: World) -> Case:
    """A valid message padded past the payload limit."""
    serial = _hub(draw, world)
    whole = _telemetry_bytes(draw(_parts(world, 5)))
    size = world.max_payload_bytes + _rng(draw).randint(1, 2000)
    return _refused(serial, "telemetry", whole + b" " * (size - len(whole)), "too_large")


_SCHEMA_FAULTS = {
    "telemetry": [
        b'{"readings":[]}',
        b'{"readings":[{"sensor":"kitchen-motion","ts":@}]}',
        b'{"readings":[{"sensor":"kitchen-motion","ts":@,"value":1,"unit":"C"}]}',
        b'{"readings":[{"sensor":"kitchen-motion","ts":"@","value":1}]}',
        b'{"readings":[{"sensor":"kitchen-motion","ts":@.5,"value":1}]}',
        b'{"readings":[{"sensor":"kitchen-motion","ts":@,"value":"1"}]}',
        b'{"readings":[{"sensor":"kitchen-motion","ts":@,"value":true}]}',
        b'{"readings":[{"sensor":"kitchen-motion","ts":@,"value":null}]}',
        b'{"readings":[{"sensor":"kitchen motion","ts":@,"value":1}]}',
        b'{"readings":[{"sensor":"' + b"k" * 65 + b'","ts":@,"value":1}]}',
        b'{"readings":[{"sensor":"kitchen-motion","ts":-@,"value":1}]}',
        b'{"v":2,"readings":[{"sensor":"kitchen-motion","ts":@,"value":1}]}',
        b'{"v":0,"readings":[{"sensor":"kitchen-motion","ts":@,"value":1}]}',
        b'{"readings":{"sensor":"kitchen-motion","ts":@,"value":1}}',
        b'[{"sensor":"kitchen-motion","ts":@,"value":1}]',
        b"@",
        b'"@"',
        b"null",
    ],
    "events": [
        b'{"sensor":"fall-1","value":1}',
        b'{"sensor":"fall-1","ts":@,"value":1,"room":"bath"}',
        b'{"readings":[{"sensor":"fall-1","ts":@,"value":1}]}',
    ],
    "status": [
        b"{}",
        b'{"online":"true"}',
        b'{"online":1}',
        b'{"online":true,"firmware":"' + b"f" * 65 + b'"}',
        b'{"online":true,"firmware":"1.0\\u0000"}',
        b'{"online":true,"firmware":"1.0\\n2"}',
        b'{"online":true,"battery":12}',
    ],
}


@st.composite
def wrong_schema(draw: st.DrawFn, world: World) -> Case:
    """Well-formed JSON that breaks the contract: missing, extra or mistyped fields."""
    serial = _hub(draw, world)
    kind = draw(st.sampled_from(sorted(_SCHEMA_FAULTS)))
    payload = draw(st.sampled_from(_SCHEMA_FAULTS[kind])).replace(b"@", b"%d" % world.ts())
    return _refused(serial, kind, payload, "schema")


@st.composite
def bad_topic(draw: st.DrawFn, world: World) -> Case:
    """A valid payload on a topic whose serial is not a serial, or of the wrong shape."""
    payload = _telemetry_bytes(draw(_parts(world, 3)))
    serial = draw(
        st.sampled_from(
            [f"bad serial {world.tag}", "x" * 60 + world.tag, f"hüb-{world.tag}", f"{world.tag}!x"]
        )
    )
    shape = draw(st.sampled_from(["serial", "serial", "serial", "kind", "deeper", "version"]))
    if shape == "serial":
        return Case(f"sst/v1/hubs/{serial}/telemetry", payload, None, "bad_topic")
    # The gateway's subscription never matches these: the parser alone must refuse them.
    good = world.hubs[0]
    topic = {
        "kind": f"sst/v1/hubs/{good}/video",
        "deeper": f"sst/v1/hubs/{good}/telemetry/extra",
        "version": f"sst/v2/hubs/{good}/telemetry",
    }[shape]
    return Case(topic, payload, None, "bad_topic", deliverable=False)


@st.composite
def unknown_hub(draw: st.DrawFn, world: World) -> Case:
    """A well-formed message from a hub SST does not know."""
    rng = _rng(draw)
    serial = world.ghost(rng.randrange(10))
    parts = draw(_parts(world, 10))
    kind = rng.choice(["telemetry", "events", "status"])
    if kind == "telemetry":
        readings = tuple(parts["readings"])
        return Case(
            hub_topic(serial, kind), _telemetry_bytes(parts), serial, "unknown_hub", readings
        )
    if kind == "events":
        reading = ("fall-1", world.ts(), 1.0)
        body = orjson.dumps({"sensor": reading[0], "ts": reading[1], "value": reading[2]})
        return Case(hub_topic(serial, kind), body, serial, "unknown_hub", (reading,))
    return Case(hub_topic(serial, kind), b'{"online":true}', serial, "unknown_hub")


# Valid messages are the bulk of real traffic and of this mix, every fault has its share.
BUILDERS: list[tuple[int, Callable[[World], st.SearchStrategy[Case]]]] = [
    (30, valid_telemetry),
    (8, partly_refused_telemetry),
    (8, valid_event),
    (4, valid_status),
    (5, malformed_json),
    (4, binary_garbage),
    (2, control_garbage),
    (4, deeply_nested),
    (3, huge_number),
    (5, non_finite),
    (5, duplicate_key),
    (2, too_large),
    (6, wrong_schema),
    (3, bad_topic),
    (4, unknown_hub),
]


def messages(world: World) -> st.SearchStrategy[Case]:
    """Any message a hub might send, weighted as BUILDERS says."""
    built = [builder(world) for _, builder in BUILDERS]
    weighted = [i for i, (weight, _) in enumerate(BUILDERS) for _ in range(weight)]
    return st.sampled_from(weighted).flatmap(built.__getitem__)
