"""The daily summary in plain words, for a guardian: one structured text per part of the day."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sst_backend.notifications.texts import Words
from sst_backend.summaries.calculation import DayFigures
from sst_core.localized import DEFAULT_LANGUAGE, render
from sst_core.texts import Text, english, phrase


def summary_texts(figures: DayFigures) -> list[Text]:
    """One sentence per part of the day, as message keys with raw values."""
    lines = []
    if figures.sleep_hours is None:
        lines.append(phrase("summary.sleep_none"))
    else:
        woke = phrase("summary.woke", time=figures.got_up_at) if figures.got_up_at else None
        lines.append(
            phrase(
                "summary.sleep",
                hours=figures.sleep_hours,
                times_up=figures.times_up_at_night,
                woke=woke,
            )
        )
    if figures.kitchen_motion:
        lines.append(
            phrase("summary.meals", visits=figures.kitchen_visits, motion=figures.kitchen_motion)
        )
    else:
        lines.append(phrase("summary.meals_none"))
    lines.append(phrase("summary.activity", hours=figures.active_hours))
    if figures.outings:
        lines.append(
            phrase("summary.out", outings=figures.outings, minutes=figures.time_out_minutes)
        )
    elif figures.door_pairs:
        lines.append(phrase("summary.out_door_only", doors=figures.door_pairs))
    else:
        lines.append(phrase("summary.home"))
    if figures.alerts:
        listed = [
            phrase(
                "summary.alert",
                title=alert.title_text or phrase("plain", text=alert.title),
                state=alert.state,
            )
            for alert in figures.alerts
        ]
        lines.append(phrase("summary.alerts", count=len(figures.alerts), alerts=listed))
    else:
        lines.append(phrase("summary.alerts_none"))
    return lines


def summary_lines(figures: DayFigures, *, name: str) -> list[str]:
    """One plain English sentence per part of the day."""
    return [english(line) for line in summary_texts(figures)]


def summary_opening(figures: DayFigures, *, name: str) -> Text:
    """The summary's first line: whose day, which day, and until when if it is not over."""
    until = figures.until.astimezone(ZoneInfo(figures.timezone))
    return phrase(
        "summary.opening",
        name=name,
        weekday=figures.day.weekday(),
        date=figures.day.isoformat(),
        until=None if figures.complete else phrase("summary.until", time=until.strftime("%H:%M")),
    )


def summary_text(figures: DayFigures, *, name: str, language: str = DEFAULT_LANGUAGE) -> Words:
    """Subject and body of the summary e-mail, in `language`."""
    subject = phrase(
        "summary.subject", name=name, weekday=figures.day.weekday(), date=figures.day.isoformat()
    )
    lines = [summary_opening(figures, name=name), *summary_texts(figures)]
    body = render(lines[0], language) + "\n\n"
    body += "".join(f"- {render(line, language)}\n" for line in lines[1:])
    # Summaries go by e-mail only, which has no use for the body's structured form; the API
    # (summaries/endpoints.py) gives the opening and every sentence as texts.
    return Words(render(subject, language), body, language, subject_text=subject)
