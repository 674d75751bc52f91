"""The shared routine features on hand-built days, in the home's local time (DST included)."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sst_ai_training.fit import fit_model
from sst_core.features import DayRecord, Event, history_days
from sst_core.routine_model import deviations

LONDON = ZoneInfo("Europe/London")


def at(day: date, hhmm: str, zone: ZoneInfo = LONDON) -> int:
    """UTC ms of a local wall-clock time of a day."""
    hour, minute = (int(x) for x in hhmm.split(":"))
    return int(datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).timestamp() * 1000)


def ordinary_day(day: date, zone: ZoneInfo = LONDON) -> list[Event]:
    """A hand-built day: in bed since the evening before, one night trip, out 10:00-11:30."""
    e = [
        Event(at(day - timedelta(days=1), "22:40", zone), "bed", "bedroom", 1.0),
        Event(at(day, "00:30", zone), "motion", "bedroom", 1.0),  # turning over
        Event(at(day, "03:10", zone), "motion", "bathroom", 1.0),  # a night-time visit
        Event(at(day, "03:14", zone), "toilet", "bathroom", 1.0),
        Event(at(day, "07:05", zone), "bed", "bedroom", 0.0),  # up
        Event(at(day, "07:06", zone), "motion", "bedroom", 1.0),
        Event(at(day, "07:20", zone), "motion", "bathroom", 1.0),  # the morning wash
        Event(at(day, "07:45", zone), "motion", "kitchen", 1.0),  # breakfast: visit 1
        Event(at(day, "07:50", zone), "power", "kitchen", 2000.0),
        Event(at(day, "07:53", zone), "power", "kitchen", 0.0),  # off: not activity
        Event(at(day, "08:00", zone), "motion", "kitchen", 1.0),
        Event(at(day, "09:59", zone), "motion", "entrance", 1.0),
        Event(at(day, "10:00", zone), "door", "entrance", 1.0),  # leaves
        Event(at(day, "10:00", zone) + 20_000, "door", "entrance", 0.0),
        Event(at(day, "11:30", zone), "door", "entrance", 1.0),  # back after 90 minutes
        Event(at(day, "11:31", zone), "motion", "entrance", 1.0),
        Event(at(day, "12:30", zone), "motion", "kitchen", 1.0),  # lunch: visit 2
        Event(at(day, "13:00", zone), "chair", "living", 1.0),
        Event(at(day, "18:30", zone), "motion", "kitchen", 1.0),  # dinner: visit 3
        Event(at(day, "22:00", zone), "motion", "bathroom", 1.0),
        Event(at(day, "22:40", zone), "bed", "bedroom", 1.0),  # asleep
        Event(at(day, "23:00", zone), "temperature", "living", 21.0),  # not a feature
    ]
    return e


def days_of(events: list[Event], zone: ZoneInfo = LONDON) -> dict[date, DayRecord]:
    return {rec.day: rec for rec in history_days(events, zone)}


def three_days(middle: date, zone: ZoneInfo = LONDON) -> list[Event]:
    return [
        *ordinary_day(middle - timedelta(days=1), zone),
        *ordinary_day(middle, zone),
        *ordinary_day(middle + timedelta(days=1), zone),
    ]


def test_daily_features_of_a_hand_built_day() -> None:
    day = date(2026, 3, 25)
    rec = days_of(three_days(day))[day]
    daily = rec.daily
    assert daily["wake"] == 7 * 60 + 5
    assert daily["sleep_onset"] == 22 * 60 + 40
    assert daily["night_bathroom_visits"] == 1
    assert daily["kitchen_visits"] == 3
    assert daily["bathroom_visits"] == 3  # night, morning wash, evening
    assert daily["out_minutes"] == pytest.approx(90, abs=0.1)
    # 11 motions, a flush, the kettle on, two door openings, the chair: 16 activity readings
    assert daily["total_activity"] == 16
    assert daily["activity_kitchen"] == 5
    # Before lunch: one kitchen visit, last at 08:00; at noon that was 4 h ago, 90 min of
    # them out (10:00-11:30) and 119 min still (08:00-09:59, over the 90-minute silence
    # limit: feature version 3): 31 min at home, seen about, without the kitchen.
    noon = rec.hourly[12]
    assert noon["kitchen_visits"] == 1
    assert noon["since_last_kitchen"] == pytest.approx(240 - 90 - 119, abs=0.1)
    assert noon["out_now"] == 0
    eleven = rec.hourly[11]
    assert eleven["out_now"] == 1 and eleven["since_last_activity"] == 0
    assert eleven["out_minutes"] == pytest.approx(60, abs=0.1)
    # At 07:00 the bed exit has not happened; at 08:00 it has, 55 minutes ago.
    assert rec.hourly[7]["wake"] != rec.hourly[7]["wake"]  # NaN: not up yet
    assert rec.hourly[8]["wake"] == 425


@pytest.mark.parametrize(
    ("day", "night_minutes"),
    [
        (date(2026, 3, 29), 150),  # clocks go forward at 01:00: 00:30 -> 04:00 is 2.5 h
        (date(2026, 10, 25), 270),  # clocks go back at 02:00: 00:30 -> 04:00 is 4.5 h
    ],
)
def test_a_day_when_the_clocks_change_keeps_local_times(day: date, night_minutes: int) -> None:
    rec = days_of(three_days(day))[day]
    # Wall-clock features are what the carer's clock showed, whatever the UTC offset.
    assert rec.daily["wake"] == 425
    assert rec.daily["sleep_onset"] == 1360
    assert rec.daily["out_minutes"] == pytest.approx(90, abs=0.1)
    assert len(rec.hourly) == 25
    # Durations are real minutes: the last movement before 04:00 was at 00:30... except
    # the night visit at 03:10-03:14, so measure at 03:00.
    since_at_3 = rec.hourly[3]["since_last_activity"]
    assert since_at_3 == pytest.approx(night_minutes - 60, abs=0.1)


def test_readings_out_of_order_give_the_same_features() -> None:
    day = date(2026, 3, 25)
    events = three_days(day)
    shuffled = events[:]
    random.Random(4).shuffle(shuffled)
    # repr: NaN (not up yet) never equals itself
    assert repr(days_of(shuffled)[day]) == repr(days_of(events)[day])


def test_a_day_without_readings_is_not_history() -> None:
    first, gap = date(2026, 3, 24), date(2026, 3, 26)
    events = [
        *ordinary_day(first),
        *ordinary_day(first + timedelta(days=1)),
        # the hub was off on the 26th
        *ordinary_day(gap + timedelta(days=1)),
        *ordinary_day(gap + timedelta(days=2)),
    ]
    off = (at(gap, "00:00"), at(gap + timedelta(days=1), "00:00"))
    days = days_of([e for e in events if not off[0] <= e.ts < off[1]])
    assert gap not in days
    # The history starts with the bedtime of the 23rd: a day whose readings began late.
    assert date(2026, 3, 23) not in days
    assert {date(2026, 3, 24), date(2026, 3, 25), date(2026, 3, 27)} <= set(days)


def test_minutes_without_the_kitchen_count_only_time_at_home() -> None:
    """A day out with lunch and dinner out is not a skipped meal; a day at home without
    the kitchen is (feature version 2)."""
    day = date(2026, 3, 25)
    before = [
        Event(at(day - timedelta(days=1), "22:40"), "bed", "bedroom", 1.0),
        Event(at(day, "07:05"), "bed", "bedroom", 0.0),
        Event(at(day, "07:45"), "motion", "kitchen", 1.0),  # breakfast, then nothing
        Event(at(day, "09:00"), "motion", "living", 1.0),
    ]
    out = [
        Event(at(day, "09:30"), "door", "entrance", 1.0),  # out for the day
        Event(at(day, "19:00"), "door", "entrance", 1.0),  # back
        Event(at(day, "19:01"), "motion", "living", 1.0),
        Event(at(day, "19:50"), "motion", "living", 1.0),
    ]
    home = [Event(at(day, f"{h:02d}:30"), "motion", "living", 1.0) for h in range(10, 20)]
    tail = [*ordinary_day(day + timedelta(days=1))]
    away = days_of([*before, *out, *tail])[day].hourly
    stayed = days_of([*before, *home, *tail])[day].hourly
    # 07:45 -> 20:00 is 735 min; away 09:30-19:00 (570): 165 min at home without the kitchen.
    assert away[20]["since_last_kitchen"] == pytest.approx(165, abs=0.1)
    assert away[20]["out_minutes"] == pytest.approx(570, abs=0.1)
    # While out, the minutes away do not pile up either (out since 09:30, at 15:00).
    assert away[15]["out_now"] == 1
    assert away[15]["since_last_kitchen"] == pytest.approx(105, abs=0.1)
    # At home all day without the kitchen: all 735 minutes count.
    assert stayed[20]["since_last_kitchen"] == pytest.approx(735, abs=0.1)
    # The bathroom likewise: last used never today, so counted from the wake-up (07:05).
    assert away[20]["since_last_bathroom"] == pytest.approx(775 - 570, abs=0.1)
    assert stayed[20]["since_last_bathroom"] == pytest.approx(775, abs=0.1)


def test_words_say_when_the_kitchen_was_last_used_not_minutes_at_home_back() -> None:
    day = date(2026, 3, 25)
    usual = [e for d in range(8) for e in ordinary_day(day - timedelta(days=10 - d))]
    model = fit_model(list(history_days(usual, LONDON)), resident_id=1)
    events = [
        Event(at(day - timedelta(days=1), "22:40"), "bed", "bedroom", 1.0),
        Event(at(day, "07:05"), "bed", "bedroom", 0.0),
        Event(at(day, "07:45"), "motion", "kitchen", 1.0),
        Event(at(day, "09:00"), "door", "entrance", 1.0),  # out 09:00-11:00
        Event(at(day, "11:00"), "door", "entrance", 1.0),
        *[Event(at(day, f"{h:02d}:05"), "motion", "living", 1.0) for h in range(11, 21)],
        *ordinary_day(day + timedelta(days=1)),
    ]
    snap = days_of(events)[day].hourly[20]
    assert snap["last_kitchen_at"] == 7 * 60 + 45
    _, parts = deviations(model, snap, day=day, minute=20 * 60)
    words = {d.feature: d.words for d in parts}
    # 12 h 15 min since breakfast, 2 h of them out: the words give the wall-clock time.
    assert words["since_last_kitchen"].startswith(
        "no kitchen activity since 07:45 (10 h 15 min of it at home)"
    )


def test_a_hub_that_was_off_is_not_a_stretch_without_the_kitchen() -> None:
    """Feature version 3: no reading at all for over 90 minutes (a hub off, a long nap) is
    left out of the minutes without the kitchen, like time away (not the bathroom's: the
    model weighs only the kitchen's stretch beyond its longest, see routine_model)."""
    day = date(2026, 3, 25)
    before = [
        Event(at(day - timedelta(days=1), "22:40"), "bed", "bedroom", 1.0),
        Event(at(day, "07:05"), "bed", "bedroom", 0.0),
        Event(at(day, "07:45"), "motion", "kitchen", 1.0),
        Event(at(day, "07:50"), "motion", "bathroom", 1.0),
        Event(at(day, "08:00"), "motion", "living", 1.0),
    ]
    # The hub is off 08:00-13:00; afterwards she moves about every half hour.
    after = [
        Event(at(day, f"{h:02d}:{m:02d}"), "motion", "living", 1.0)
        for h in range(13, 20)
        for m in (0, 30)
    ]
    tail = [*ordinary_day(day + timedelta(days=1))]
    hourly = days_of([*before, *after, *tail])[day].hourly
    # 07:45 -> 20:00 is 735 min, of which 300 (08:00-13:00) unseen: 435 at home, seen about.
    assert hourly[20]["since_last_kitchen"] == pytest.approx(735 - 300, abs=0.1)
    assert hourly[20]["since_last_bathroom"] == pytest.approx(730, abs=0.1)
    # While the silence goes on (at 12:00: 4 h since 08:00) it is left out as it grows.
    assert hourly[12]["since_last_kitchen"] == pytest.approx(15, abs=0.1)
    # Stillness under 90 minutes still counts (the half-hourly moves from 13:00 on).
    assert hourly[14]["since_last_kitchen"] == pytest.approx(15 + 60, abs=0.1)
