"""Windowed rules: a condition that lasted too long, judged at an instant on the home's clock.

Each rule is a pure function of a `HomeView`, an instant and the resident's parameters
(sst_core.thresholds, defaults with overrides) and returns a `Finding`:

* RAISE: the condition holds past its limit (with the moment the limit was passed, which
  is the episode's identity, and the words of the alert);
* CLEAR: the condition is clearly over;
* STAY: neither (under the limit, or inside a hysteresis band);
* UNKNOWN: not enough data to judge (a gap, an offline hub): keep whatever was decided.

hysteresis.py turns findings into raised and resolved alerts. The rules about the
resident are here; those about the home (temperature, silent sensors) in home_rules.py;
`WINDOWED_RULES` lists them all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from sst_ai_inference.findings import (
    STAY,
    UNKNOWN_HUB_OFFLINE,
    UNKNOWN_NO_DATA,
    Finding,
    FixedWakeTimes,
    Verdict,
    WakeTimes,
    cleared,
    raised,
)
from sst_ai_inference.home_rules import high_temperature, low_temperature, sensor_silent
from sst_ai_inference.timeline import Event, HomeView, clock, minutes
from sst_core.domain import AlertKind, RoomKind, SensorKind, Severity
from sst_core.texts import AlertText, phrase
from sst_core.thresholds import RuleName

__all__ = ["WINDOWED_RULES", "Finding", "FixedWakeTimes", "Verdict", "WakeTimes", "WindowedRule"]

BACK_HOME_GRACE = timedelta(minutes=2)  # movement just after the door opened is the leaving
UP_EARLIEST = timedelta(hours=4)  # "up today" counts from this long before the wake time
# Getting out of bed (and moving) counts as up from this long before the wake time: a
# night trip to the toilet earlier does not.
BED_EXIT_EARLIEST = timedelta(hours=1)


def _last(events: list[Event], test: Callable[[Event], bool]) -> Event | None:
    for event in reversed(events):
        if test(event):
            return event
    return None


def _away(events: list[Event]) -> Event | None:
    """The door opening after which nobody was seen inside: the resident went out."""
    door = _last(events, lambda e: e.is_door_open)
    if door is None:
        return None
    after = door.at + BACK_HOME_GRACE
    if any(e.inside and e.at > after for e in events):
        return None
    return door


def _up(event: Event) -> bool:
    """A sign of being up for the day: moving in a day room (a night trip to the toilet is not)."""
    return event.moves and event.room_kind not in (RoomKind.BEDROOM, RoomKind.BATHROOM)


def _bed_exit(events: list[Event], *, since: datetime) -> Event | None:
    """The bed left (occupied, then empty) since `since`, still empty, and moving after it."""
    bed = [e for e in events if e.sensor_kind == SensorKind.BED]
    if len(bed) < 2 or bed[-1].value >= 1:
        return None
    exit_ = None
    for previous, current in pairwise(bed):
        if previous.value >= 1 and current.value < 1 and current.at >= since:
            exit_ = current
    if exit_ is None or not any(e.moves and e.at > exit_.at for e in events):
        return None
    return exit_


def inactivity(view: HomeView, t: datetime, p: dict[str, Any], _: WakeTimes) -> Finding:
    """No movement anywhere at home for too long during waking hours."""
    h = view.horizon(t)
    if h is None:
        return UNKNOWN_NO_DATA
    events = view.upto(h)
    limit = timedelta(hours=p["max_hours_without_motion"])
    last = _last(events, lambda e: e.moves and not e.is_door_open)
    if last is not None and h - last.at < limit:
        return cleared(phrase("resolved.movement_at", time=clock(last.at, view.timezone)))
    if (door := _away(events)) is not None:
        return cleared(phrase("resolved.went_out_at", time=clock(door.at, view.timezone)))
    day = view.local(h).date()
    waking_from = view.at_local(day, p["waking_from_hour"])
    waking_until = view.at_local(day, p["waking_until_hour"])
    if not waking_from <= h < waking_until:
        return STAY
    # Up today? Otherwise it is no_wake_up's to say (one situation, one alert).
    early = waking_from - timedelta(hours=6)
    if last is None or not any(_up(e) and e.at >= early for e in events):
        return STAY
    since = max(last.at, waking_from)
    if h - since < limit:
        return STAY
    name, zone = view.resident_name, view.timezone
    since_words = (
        phrase(
            "alert.inactivity.since_last", time=clock(last.at, zone), for_min=minutes(h - last.at)
        )
        if last.at >= waking_from
        else phrase(
            "alert.inactivity.since_day_start",
            time=clock(waking_from, zone),
            for_min=minutes(h - waking_from),
        )
    )
    return raised(
        episode_at=since + limit,
        words=AlertText(
            title=phrase("alert.inactivity.title", name=name, for_min=minutes(h - since)),
            explanation=phrase(
                "alert.inactivity.explanation",
                name=name,
                since=since_words,
                limit_min=minutes(limit),
                waking_from=clock(waking_from, zone),
                waking_until=clock(waking_until, zone),
                room=last.room_name,
                room_kind=last.room_kind,
            ),
        ),
        sensor_id=last.sensor_id,
        room=last.room_name,
    )


def long_bathroom_stay(view: HomeView, t: datetime, p: dict[str, Any], _: WakeTimes) -> Finding:
    """In the bathroom, and nowhere else, for too long."""
    h = view.horizon(t)
    if h is None:
        return UNKNOWN_NO_DATA
    events = view.upto(h)
    last = _last(events, lambda e: e.inside or e.is_door_open)
    if last is None or last.room_kind != RoomKind.BATHROOM or not last.inside:
        if last is None:
            return cleared(phrase("resolved.seen_elsewhere"))
        return cleared(phrase("resolved.seen_in", room=last.room_name, room_kind=last.room_kind))
    entered = last
    for event in reversed(events):
        if not (event.inside or event.is_door_open):
            continue
        if event.room_kind != RoomKind.BATHROOM or not event.inside:
            break
        entered = event
    limit = timedelta(minutes=p["max_minutes"])
    if h - entered.at < limit:
        return STAY
    name, zone = view.resident_name, view.timezone
    room = {"room": last.room_name, "room_kind": last.room_kind}
    stayed = minutes(h - entered.at)
    return raised(
        episode_at=entered.at + limit,
        words=AlertText(
            title=phrase("alert.long_bathroom_stay.title", name=name, for_min=stayed, **room),
            explanation=phrase(
                "alert.long_bathroom_stay.explanation",
                name=name,
                since=clock(entered.at, zone),
                for_min=stayed,
                limit=int(p["max_minutes"]),
                **room,
            ),
        ),
        sensor_id=last.sensor_id,
        room=last.room_name,
    )


def _at_night(view: HomeView, t: datetime, p: dict[str, Any]) -> bool:
    hour = view.local(t).hour
    start, end = p["night_start_hour"], p["night_end_hour"]
    return start <= hour < end if start < end else hour >= start or hour < end


def night_exit(view: HomeView, t: datetime, p: dict[str, Any], _: WakeTimes) -> Finding:
    """The front door opened at night and the resident is not back in time."""
    h = view.horizon(t)
    if h is None:
        return UNKNOWN_NO_DATA
    events = view.upto(h)
    door = _last(events, lambda e: e.is_door_open)
    if door is None or not _at_night(view, door.at, p):
        return cleared(phrase("resolved.no_night_exit"))
    back = _last(events, lambda e: e.inside and e.at > door.at + BACK_HOME_GRACE)
    if back is not None:
        return cleared(phrase("resolved.back_at", time=clock(back.at, view.timezone)))
    limit = timedelta(minutes=p["back_within_minutes"])
    if h - door.at < limit:
        return STAY
    name, zone = view.resident_name, view.timezone
    return raised(
        episode_at=door.at + limit,
        words=AlertText(
            title=phrase("alert.night_exit.title", name=name),
            explanation=phrase(
                "alert.night_exit.explanation",
                name=name,
                time=clock(door.at, zone),
                for_min=minutes(h - door.at),
                limit=int(p["back_within_minutes"]),
            ),
        ),
        sensor_id=door.sensor_id,
        room=door.room_name,
    )


def no_wake_up(view: HomeView, t: datetime, p: dict[str, Any], wake: WakeTimes) -> Finding:
    """Not up by the usual wake time plus a margin."""
    h = view.horizon(t)
    if h is None:
        return UNKNOWN_NO_DATA
    day = view.local(h).date()
    day_start = view.at_local(day, 0)
    wake_hour = wake.usual_wake_hour(view, day_start, p)
    usual = view.at_local(day, wake_hour)
    deadline = usual + timedelta(minutes=p["margin_minutes"])
    events = view.upto(h)
    up = _last(events, lambda e: _up(e) and e.at >= usual - UP_EARLIEST)
    if up is not None:
        return cleared(phrase("resolved.up_at", time=clock(up.at, view.timezone)))
    if (left := _bed_exit(events, since=usual - BED_EXIT_EARLIEST)) is not None:
        return cleared(phrase("resolved.out_of_bed_at", time=clock(left.at, view.timezone)))
    if (door := _away(events)) is not None:
        return cleared(phrase("resolved.out_since", time=clock(door.at, view.timezone)))
    if h < deadline:
        return STAY
    if view.offline_during(usual - BED_EXIT_EARLIEST, deadline):
        # The hub was away while she would have got up: no sign of it proves nothing
        # (a hub back mid-morning after a night offline would otherwise mean "not up").
        return UNKNOWN_HUB_OFFLINE
    name, zone = view.resident_name, view.timezone
    last = _last(events, lambda e: e.moves)
    seen = (
        phrase(
            "alert.no_wake_up.seen",
            time=clock(last.at, zone),
            room=last.room_name,
            room_kind=last.room_kind,
        )
        if last
        else None
    )
    return raised(
        episode_at=deadline,
        words=AlertText(
            title=phrase("alert.no_wake_up.title", name=name),
            explanation=phrase(
                "alert.no_wake_up.explanation",
                name=name,
                since=clock(usual - UP_EARLIEST, zone),
                seen=seen,
                usual=clock(usual, zone),
                now=clock(h, zone),
                margin_min=minutes(timedelta(minutes=p["margin_minutes"])),
            ),
        ),
        sensor_id=last.sensor_id if last else None,
        room=last.room_name if last else None,
    )


Rule = Callable[[HomeView, datetime, dict[str, Any], WakeTimes], Finding]


@dataclass(frozen=True)
class WindowedRule:
    """A windowed rule: its alert kind, tunable parameters, severity and hysteresis hold."""

    kind: AlertKind
    params: RuleName
    severity: Severity
    judge: Rule
    # A raised alert clears only after the rule said CLEAR for this long without a break.
    clear_hold: timedelta


WINDOWED_RULES: tuple[WindowedRule, ...] = (
    WindowedRule(
        AlertKind.INACTIVITY, RuleName.INACTIVITY, Severity.HIGH, inactivity, timedelta(0)
    ),
    WindowedRule(
        AlertKind.LONG_BATHROOM_STAY,
        RuleName.LONG_BATHROOM_STAY,
        Severity.HIGH,
        long_bathroom_stay,
        timedelta(minutes=3),
    ),
    WindowedRule(
        AlertKind.NIGHT_EXIT, RuleName.NIGHT_EXIT, Severity.HIGH, night_exit, timedelta(0)
    ),
    WindowedRule(
        AlertKind.NO_WAKE_UP, RuleName.NO_WAKE_UP, Severity.HIGH, no_wake_up, timedelta(0)
    ),
    WindowedRule(
        AlertKind.LOW_TEMPERATURE,
        RuleName.LOW_TEMPERATURE,
        Severity.MEDIUM,
        low_temperature,
        timedelta(minutes=15),
    ),
    WindowedRule(
        AlertKind.HIGH_TEMPERATURE,
        RuleName.HIGH_TEMPERATURE,
        Severity.MEDIUM,
        high_temperature,
        timedelta(minutes=15),
    ),
    WindowedRule(
        AlertKind.SENSOR_SILENT,
        RuleName.SENSOR_SILENT,
        Severity.MEDIUM,
        sensor_silent,
        timedelta(minutes=10),
    ),
)
