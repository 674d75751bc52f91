"""What a notification says, in the recipient's language, without a database."""

from __future__ import annotations

from datetime import UTC, datetime

from sst_backend.escalation.repository import AlertContext
from sst_backend.notifications.texts import alert_text, reminder_text
from sst_core.db.models import Alert
from sst_core.localized import render
from sst_core.texts import AlertText, phrase

ROOM = {"room": "Bathroom", "room_kind": "bathroom", "time": "14:03", "name": "Kim"}
WORDS = AlertText(
    title=phrase("alert.fall.title", **ROOM), explanation=phrase("alert.fall.explanation", **ROOM)
)


def _context(text: object, count: int = 1) -> AlertContext:
    alert = Alert(
        id=7,
        resident_id=1,
        kind="fall",
        severity="critical",
        state="open",
        title="Fall detected in the Bathroom",
        explanation="Fall detected in the Bathroom at 14:03 (home time).",
        text=text,
        count=count,
        opened_at=datetime(2026, 11, 3, 5, 3, tzinfo=UTC),
    )
    return AlertContext(
        alert=alert, facility_id=1, resident_name="Kim", timezone="Asia/Seoul", room="Bathroom"
    )


def test_staff_get_english_and_a_korean_guardian_korean_with_the_home_s_clock() -> None:
    ctx = _context(WORDS.model_dump(mode="json"), count=3)
    staff = alert_text(
        ctx, audience="staff", escalated=True, public_url="https://c.example", contact_phone=None
    )
    assert staff.subject == "[CRITICAL] Fall detected in the Bathroom: Kim"
    assert staff.body.startswith("Fall detected in the Bathroom for Kim (since 3 Nov 14:03,")
    assert "It has happened 3 times since." in staff.body
    assert "Nobody has acknowledged it yet." in staff.body
    guardian = alert_text(
        ctx,
        audience="guardian",
        escalated=False,
        public_url="https://c.example",
        contact_phone=None,
        language="ko",
    )
    assert guardian.subject == "Kim 님 관련: 낙상 감지: 욕실"
    assert "(11월 3일 14:03, 집 시각)" in guardian.body and "돌봄 팀에 알렸습니다." in guardian.body
    assert guardian.body_text is not None and render(guardian.body_text, "ko") == guardian.body
    assert guardian.structured()["language"] == "ko"
    contact = alert_text(
        ctx,
        audience="contact",
        escalated=True,
        public_url="https://c.example",
        contact_phone="010-1234-5678",
        language="ko",
    )
    assert contact.subject == "Kim 님을 확인해 주세요"
    assert "비상 연락처(010-1234-5678)" in contact.body


def test_an_alert_without_words_this_server_can_say_still_goes_out_in_english_words() -> None:
    newer = {
        "title": {"key": "alert.teleport.title", "params": {}},
        "explanation": {"key": "alert.teleport.explanation", "params": {}},
    }
    for stored in (None, newer):
        words = reminder_text(
            _context(stored),
            acknowledged_at=datetime(2026, 11, 3, 5, 30, tzinfo=UTC),
            public_url="https://c.example",
            language="ko",
        )
        assert words.subject == "아직 처리 중: Kim 님의 Fall detected in the Bathroom"
        assert "Fall detected in the Bathroom at 14:03 (home time)." in words.body
        assert "11월 3일 14:30(집 시각)" in words.body
