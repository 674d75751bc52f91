"""What a notification says: why, in plain words, and what to do; gentler for families.

Each message is a pair of server texts (sst_core.texts: key + raw params, catalog keys
"notify.*") rendered in the recipient's language (sst_core.localized); the alert's own
title and explanation go in as nested texts, so they are translated too. The structured
form travels with the words: webhooks carry it for receivers that word messages their way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sst_backend.escalation.repository import AlertContext
from sst_core.localized import DEFAULT_LANGUAGE, render
from sst_core.texts import AlertText, Text, TextError, phrase, stored_alert_text

log = logging.getLogger("sst.backend.notifications")


@dataclass(frozen=True)
class Words:
    """Subject line and body of one message, in one language, with their structured form."""

    subject: str
    body: str
    language: str = DEFAULT_LANGUAGE
    subject_text: Text | None = None
    body_text: Text | None = None

    def structured(self) -> dict[str, Any]:
        """The language and key + params of subject and body (for webhook receivers)."""
        return {
            "language": self.language,
            "subject": self.subject_text.model_dump(mode="json") if self.subject_text else None,
            "body": self.body_text.model_dump(mode="json") if self.body_text else None,
        }


def words(subject: Text, body: Text, language: str) -> Words:
    """A message rendered in `language`."""
    return Words(render(subject, language), render(body, language), language, subject, body)


def alert_link(public_url: str, alert_id: int) -> str:
    """Where the dashboard shows this alert."""
    return f"{public_url.rstrip('/')}/#/alerts/{alert_id}"


def home_clock(moment: datetime, timezone: str) -> Text:
    """A moment as the home's clock shows it, "3 Nov 14:03" (clock.day)."""
    local = moment.astimezone(ZoneInfo(timezone))
    return phrase("clock.day", date=local.date().isoformat(), time=local.strftime("%H:%M"))


def _alert_words(ctx: AlertContext, language: str) -> AlertText:
    """The alert's structured title and explanation; its English words as plain texts when it
    has none, or when they use a key or param this server cannot say (a newer inference): a
    message must always go out."""
    stored = stored_alert_text(ctx.alert.text)
    if stored is not None:
        try:
            for part in (stored.title, stored.explanation):
                render(part, language)
            return stored
        except TextError:
            log.warning("alert %s: its text cannot be said in %s", ctx.alert.id, language)
    return AlertText(
        title=phrase("plain", text=ctx.alert.title),
        explanation=phrase("plain", text=ctx.alert.explanation),
    )


def alert_text(
    ctx: AlertContext,
    *,
    audience: str,
    escalated: bool,
    public_url: str,
    contact_phone: str | None,
    language: str = DEFAULT_LANGUAGE,
) -> Words:
    """The message for an alert, worded for staff, a guardian or an emergency contact."""
    alert, name = ctx.alert, ctx.resident_name
    said = _alert_words(ctx, language)
    when = home_clock(alert.opened_at, ctx.timezone)
    link = alert_link(public_url, alert.id)
    if audience == "staff":
        subject = phrase(
            "notify.staff.subject",
            severity=phrase(f"notify.severity.{alert.severity}"),
            title=said.title,
            name=name,
        )
        body = phrase(
            "notify.staff.body",
            title=said.title,
            name=name,
            when=when,
            explanation=said.explanation,
            repeats=phrase("notify.repeats", count=alert.count) if alert.count > 1 else None,
            urgency=phrase("notify.staff.urgency") if escalated else None,
            link=link,
        )
        return words(subject, body, language)
    if audience == "guardian":
        team = "notify.guardian.team_silent" if escalated else "notify.guardian.team_told"
        subject = phrase("notify.guardian.subject", name=name, title=said.title)
        body = phrase(
            "notify.guardian.body",
            name=name,
            when=when,
            explanation=said.explanation,
            team=phrase(team),
            link=link,
        )
        return words(subject, body, language)
    reach = phrase("notify.contact.reach", phone=contact_phone) if contact_phone else None
    subject = phrase("notify.contact.subject", name=name)
    body = phrase(
        "notify.contact.body", reach=reach, name=name, when=when, explanation=said.explanation
    )
    return words(subject, body, language)


def reminder_text(
    ctx: AlertContext,
    *,
    acknowledged_at: datetime,
    public_url: str,
    language: str = DEFAULT_LANGUAGE,
) -> Words:
    """A reminder to whoever acknowledged an alert that is still not resolved."""
    said = _alert_words(ctx, language)
    name = ctx.resident_name
    subject = phrase("notify.reminder.subject", title=said.title, name=name)
    body = phrase(
        "notify.reminder.body",
        title=said.title,
        name=name,
        when=home_clock(acknowledged_at, ctx.timezone),
        explanation=said.explanation,
        link=alert_link(public_url, ctx.alert.id),
    )
    return words(subject, body, language)
