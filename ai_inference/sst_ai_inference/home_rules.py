"""Windowed rules about the home rather than the resident: room temperature, silent sensors."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sst_ai_inference.findings import (
    STAY,
    UNKNOWN_HUB_OFFLINE,
    UNKNOWN_NO_DATA,
    Finding,
    Verdict,
    WakeTimes,
    cleared,
    raised,
)
from sst_ai_inference.timeline import PERIODIC_KINDS, Event, HomeView, clock, minutes
from sst_core.domain import SensorKind
from sst_core.texts import AlertText, phrase

TEMPERATURE_BAND = 1.0  # degrees back inside the safe range before a temperature alert clears
TEMPERATURE_MAX_GAP = timedelta(minutes=15)


def _temperature(view: HomeView, t: datetime, p: dict[str, Any], *, low: bool) -> Finding:
    limit = p["min_celsius"] if low else p["max_celsius"]
    window = timedelta(minutes=p["for_minutes"])
    outside = (lambda v: v < limit) if low else (lambda v: v > limit)
    back_in = (
        (lambda v: v >= limit + TEMPERATURE_BAND)
        if low
        else (lambda v: v <= limit - TEMPERATURE_BAND)
    )
    events = [e for e in view.upto(t) if e.sensor_kind == SensorKind.TEMPERATURE]
    if view.hub_online is False:
        return UNKNOWN_NO_DATA
    by_sensor: dict[int, list[Event]] = {}
    for event in events:
        by_sensor.setdefault(event.sensor_id, []).append(event)
    verdicts: list[Finding] = []
    for series in by_sensor.values():
        if t - series[-1].at > TEMPERATURE_MAX_GAP:
            continue  # this thermometer says nothing now
        run = [series[-1]]
        for previous in reversed(series[:-1]):
            if run[0].at - previous.at > TEMPERATURE_MAX_GAP:
                break  # a gap: what was before it does not count towards the window
            run.insert(0, previous)
        outside_run: list[Event] = []
        for event in reversed(run):
            if not outside(event.value):
                break
            outside_run.insert(0, event)
        newest = series[-1]
        if back_in(newest.value):
            verdicts.append(cleared(phrase("resolved.temperature", celsius=newest.value)))
        elif outside_run and newest.at - outside_run[0].at >= window:
            verdicts.append(_temperature_alert(view, outside_run, newest, p, low=low))
        else:
            verdicts.append(STAY)
    if not verdicts:
        return UNKNOWN_NO_DATA
    raised = [v for v in verdicts if v.verdict == Verdict.RAISE]
    if raised:
        return min(raised, key=lambda v: v.episode_at or t)
    if all(v.verdict == Verdict.CLEAR for v in verdicts):
        return verdicts[0]
    return STAY


def _temperature_alert(
    view: HomeView, run: list[Event], newest: Event, p: dict[str, Any], *, low: bool
) -> Finding:
    name, zone = view.resident_name, view.timezone
    limit = p["min_celsius"] if low else p["max_celsius"]
    since = run[0].at
    kind = "low_temperature" if low else "high_temperature"
    room = {"room": newest.room_name, "room_kind": newest.room_kind}
    return raised(
        episode_at=since + timedelta(minutes=p["for_minutes"]),
        words=AlertText(
            title=phrase(f"alert.{kind}.title", name=name, **room),
            explanation=phrase(
                f"alert.{kind}.explanation",
                name=name,
                limit=float(limit),
                since=clock(since, zone),
                for_min=minutes(newest.at - since),
                celsius=round(newest.value, 1),
                limit_min=int(p["for_minutes"]),
                **room,
            ),
        ),
        sensor_id=newest.sensor_id,
        room=newest.room_name,
    )


def low_temperature(view: HomeView, t: datetime, p: dict[str, Any], _: WakeTimes) -> Finding:
    """A room colder than the safe range for too long."""
    return _temperature(view, t, p, low=True)


def high_temperature(view: HomeView, t: datetime, p: dict[str, Any], _: WakeTimes) -> Finding:
    """A room hotter than the safe range for too long."""
    return _temperature(view, t, p, low=False)


def sensor_silent(view: HomeView, t: datetime, p: dict[str, Any], _: WakeTimes) -> Finding:
    """A sensor that reports on a schedule has sent nothing for too long, hub online."""
    if view.hub_online is not True:
        # Offline: hub_offline says so. Never seen: nothing to expect yet.
        return UNKNOWN_HUB_OFFLINE
    limit = timedelta(hours=p["max_silent_hours"])
    last: dict[int, datetime] = dict(view.last_report_before)
    for event in view.upto(t):
        last[event.sensor_id] = event.at
    silent = [
        (s, last[s.sensor_id])
        for s in view.sensors
        if s.kind in PERIODIC_KINDS and s.sensor_id in last and t - last[s.sensor_id] >= limit
    ]
    if not silent:
        return cleared(phrase("resolved.sensors_reported"))
    sensor, since = min(silent, key=lambda pair: pair[1])
    zone, name = view.timezone, view.resident_name
    where = {"sensor_kind": sensor.kind, "room": sensor.room_name, "room_kind": sensor.room_kind}
    more = phrase("alert.sensor_silent.more", count=len(silent) - 1) if len(silent) > 1 else None
    return raised(
        episode_at=since + limit,
        words=AlertText(
            title=phrase("alert.sensor_silent.title", **where),
            explanation=phrase(
                "alert.sensor_silent.explanation",
                name=name,
                since=clock(since, zone),
                for_min=minutes(t - since),
                more=more,
                limit_min=minutes(limit),
                **where,
            ),
        ),
        sensor_id=sensor.sensor_id,
        room=sensor.room_name,
    )
