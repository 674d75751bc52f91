"""The dashboard in a real browser (Debian's headless Chromium, driven by Playwright).

The gateway, inference and backend run as their own processes on the test database, the
backend serving the dashboard just built from dashboard/; a fall is published to the broker
as a hub would. Each test saves screenshots under test-artifacts/screenshots/ (kept by the
run; `make docs-img` copies the main ones into docs/img/).
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, expect
from redis.asyncio import Redis
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sst_core.const import RULE_CHECKS_STREAM
from sst_core.db.models import Alert, AuditEntry, Hub
from sst_core.objects import LocalStore
from sst_core.rule_checks import RuleCheck, RuleCheckMessage
from sst_core.texts import Text
from sst_core.thresholds import RuleName
from tests.e2e.browser import (
    DESKTOP,
    PHONE,
    assert_accessible,
    close_page,
    new_page,
    shoot,
    sign_in,
    signed_in,
)
from tests.e2e.hubs import gateway_listening
from tests.e2e.processes import Service, eventually, start_platform, wait_ready
from tests.factories import STANDARD_LAYOUT, HomeFixture, make_home, make_stored_recording
from tests.ports import free_port
from tests.readings_data import insert_readings, refresh, simulated_days

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
async def facility(
    sessionmaker: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> tuple[HomeFixture, HomeFixture]:
    """Two residents of one facility (the staff member and guardian follow the first), with
    four weeks of simulated life in the first home so the charts have data."""
    first = await make_home(sessionmaker)
    neighbour = await make_home(sessionmaker, facility_id=first.facility_id)
    zone = ZoneInfo(first.timezone)
    today = datetime.now(zone).date()
    now = datetime.now(UTC)
    rows = [r for r in simulated_days(first, today - timedelta(days=27), 28) if r[0] <= now]
    assert await insert_readings(engine, rows) > 1000
    await refresh(engine)
    return first, neighbour


@pytest.fixture(scope="module")
async def platform(
    test_env: dict[str, str],
    database_url: str,
    dashboard_dist: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[dict[str, Service]]:
    """Gateway, inference and backend (serving the built dashboard) as separate processes;
    the backend's object store is a folder of this run."""
    run_id = uuid.uuid4().hex[:8]
    port = free_port()
    env = {
        **test_env,
        "SST_OBJECT_STORE": "local",
        "SST_OBJECT_STORE_DIR": str(tmp_path_factory.mktemp("objects")),
        "SST_PORT": str(port),
        "SST_MQTT_CLIENT_ID": f"e2e-dash-gateway-{run_id}",
        "SST_MQTT_SHARE_GROUP": f"e2e-dash-{run_id}",
        "SST_DASHBOARD_DIR": str(dashboard_dist),
        "SST_LOG_LEVEL": "INFO",
    }
    services = {
        "gateway": Service("dash-gateway", ["sst-hub-gateway"], env),
        "inference": Service("dash-inference", ["sst-ai-inference"], env),
        "backend": Service("dash-backend", ["sst-backend", "serve"], env),
    }
    await start_platform(services, port)
    yield services
    for service in services.values():
        service.stop()


async def test_staff_signs_in_and_sees_residents_by_need(
    platform: dict[str, Service], browser: Browser, facility: tuple[HomeFixture, HomeFixture]
) -> None:
    home, neighbour = facility
    page = await new_page(browser, platform["backend"].env["_BASE_URL"], DESKTOP)
    await sign_in(page, home.staff_email, "wrong password")
    await expect(page.locator("#login-error")).to_have_text("The e-mail or password is not right.")
    await shoot(page, "login-error")
    await sign_in(page, home.staff_email, home.password)
    await expect(page.locator(".conn--connected")).to_be_visible()
    rows = page.locator(".resident")
    # The staff member is assigned to the first resident only.
    await expect(rows).to_have_count(1)
    await expect(rows.first.locator(".resident__name")).to_have_text(
        f"Resident {home.hub_serial[4:]}"
    )
    await expect(rows.first.get_by_test_id("last-activity")).to_contain_text(":00")
    await expect(rows.first.locator(".resident__risk")).to_have_text("not available")
    await expect(page.locator("main")).not_to_contain_text(f"Resident {neighbour.hub_serial[4:]}")
    await shoot(page, "overview")
    await assert_accessible(page, "overview")
    # The same page on a phone: one column, nothing wider than the screen.
    for viewport, path, drawn in (
        (PHONE, "/", ".resident"),
        (PHONE, f"/#/residents/{home.resident_id}", '[data-testid="heatmap"]'),
    ):
        await page.set_viewport_size(viewport)
        await page.goto(path)
        await expect(page.locator(".conn--connected")).to_be_visible()
        await expect(page.locator(drawn)).to_be_visible()
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{path} is {width} px wide on a phone"
    await shoot(page, "resident-phone")
    await close_page(page)


async def test_a_fall_appears_live_and_is_acknowledged_and_resolved(
    platform: dict[str, Service],
    browser: Browser,
    facility: tuple[HomeFixture, HomeFixture],
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    home, _ = facility
    page = await signed_in(browser, platform, home.staff_email, home.password)
    await expect(page.locator(".resident")).to_have_count(1)
    # A marker that a reload would wipe: the alert must arrive without one.
    await page.evaluate("window.sstNoReload = true")

    agent = await gateway_listening(platform, engine, home)
    try:
        started = time.monotonic()
        agent.publish_event("fall-1", int(time.time() * 1000), 1.0)
        agent.flush()
        banner = page.get_by_test_id("critical-banner")
        await expect(banner).to_be_visible()
        # Playwright polls the page; the figure includes up to one polling interval.
        print(
            f"\nfall published -> banner on the page: {(time.monotonic() - started) * 1000:.0f} ms"
        )
    finally:
        agent.disconnect()
    async with sessionmaker() as session:
        alert = await session.scalar(
            select(Alert).where(Alert.resident_id == home.resident_id, Alert.kind == "fall")
        )
    assert alert is not None
    card = page.locator(f'[data-alert-id="{alert.id}"]')
    await expect(card).to_have_class(re.compile(r"alert--critical"))
    await expect(card).to_contain_text("New")
    await expect(card.locator(".alert__explanation")).to_contain_text("Bathroom")
    assert await page.evaluate("window.sstNoReload") is True
    assert await page.evaluate("window.sstAlarm.rings") >= 1
    assert await page.evaluate("window.sstAlarm.sounding") is True
    await page.get_by_test_id("sound-toggle").click()
    await expect(page.get_by_test_id("sound-toggle")).to_have_text("Sound muted")
    assert await page.evaluate("window.sstAlarm.sounding") is False
    assert await page.title() == "(1) SST care dashboard"
    # The escalation line comes from the alert's escalation state (default critical policy).
    await expect(card.get_by_test_id("escalation")).to_contain_text(
        re.compile(r"will be notified in \d+ (s|min)")
    )
    await shoot(page, "alert-live")
    await assert_accessible(page, "overview with a critical alert")
    # In Korean the alert's own words are Korean too: the server sent them as message keys
    # with raw values next to its English.
    await page.get_by_label("Language").select_option("ko")
    await expect(card.locator(".alert__title")).to_have_text("낙상 감지: 욕실")
    await expect(card.locator(".alert__explanation")).to_contain_text(
        "(집 시각)에 욕실에서 낙상이 감지되었습니다."
    )
    await expect(banner).to_contain_text("낙상 감지: 욕실")
    await shoot(page, "alert-live-ko")
    await page.get_by_label("언어").select_option("en")
    await expect(card.locator(".alert__title")).to_have_text("Fall detected in the Bathroom")
    await card.get_by_role("button", name="Emergency panel").click()
    # Wired (tests/e2e/test_dashboard_emergency.py plays the camera and drives a robot):
    # this home has a hub but no robot.
    await expect(card.get_by_test_id("video-status")).to_have_text("Video is off.")
    await expect(card.get_by_role("button", name="Start live video")).to_be_enabled()
    await expect(card.get_by_test_id("robot-none")).to_have_text("This home has no robot.")
    await page.keyboard.press("Escape")
    await expect(card.get_by_role("dialog")).to_have_count(0)

    await card.get_by_role("button", name="Details and timeline").click()
    await expect(card.locator(".alert__timeline li").first).to_contain_text("raised")

    await card.get_by_role("button", name="Acknowledge").click()
    await expect(card.locator(".alert__state")).to_have_text("Being handled")
    await expect(page.get_by_test_id("critical-banner")).to_have_count(0)
    await card.get_by_role("button", name="Resolve…").click()
    await card.get_by_role("button", name="Resolve alert").click()
    await expect(card.get_by_role("alert")).to_contain_text("Please say what was done")
    await card.get_by_label("What was done? (required)").fill(
        "Found on the floor, helped up, unhurt."
    )
    await shoot(page, "alert-resolve")
    await card.get_by_role("button", name="Resolve alert").click()
    await expect(card).to_have_count(0)
    async with sessionmaker() as session:
        stored = await session.get(Alert, alert.id)
        assert stored is not None
        await session.refresh(stored)
    assert stored.state == "resolved"
    assert stored.resolution_note == "Found on the floor, helped up, unhurt."
    await close_page(page)


async def test_resident_page_draws_charts_from_the_analytics_api(
    platform: dict[str, Service], browser: Browser, facility: tuple[HomeFixture, HomeFixture]
) -> None:
    home, _ = facility
    page = await signed_in(browser, platform, home.staff_email, home.password, connected=False)
    await expect(page.locator(".resident")).to_have_count(1)
    await page.locator(".resident__name").click()
    await expect(page.locator("#resident-title")).to_have_text(f"Resident {home.hub_serial[4:]}")
    await expect(page.get_by_test_id("room-grid").locator(".room")).to_have_count(
        len(STANDARD_LAYOUT)
    )
    # The living room's thermometer shows its last hourly average.
    living = page.locator('.room[data-room="Living room"]')
    await expect(living.locator('.chip[data-kind="temperature"]')).to_contain_text(
        re.compile(r"\d+\.\d °C")
    )
    busy_cells = page.locator('[data-testid="heatmap"] rect:not([data-events="0"])')
    await expect(busy_cells.first).to_be_visible()
    assert await busy_cells.count() > 20
    line = page.get_by_test_id("trend-sleep_hours").get_by_test_id("trend-line")
    await expect(line).to_have_attribute("d", re.compile(r"^M[\d.]+,[\d.]+(L[\d.]+,[\d.]+){5,}"))
    await expect(
        page.get_by_test_id("trend-sleep_hours").get_by_test_id("trend-band")
    ).to_have_count(1)
    await expect(page.get_by_role("heading", name="Rule thresholds")).to_be_visible()
    await shoot(page, "resident")
    await assert_accessible(page, "resident page")
    await page.get_by_test_id("trend-sleep_hours").scroll_into_view_if_needed()
    await shoot(page, "resident-trends")
    await close_page(page)


async def _judged(platform: dict[str, Service], engine: AsyncEngine, home: HomeFixture) -> None:
    """Wait until the inference process has judged the resident's windowed rules (its own clock)."""

    async def judged() -> bool:
        platform["inference"].assert_running()
        async with engine.connect() as conn:
            until = await conn.scalar(
                text("SELECT evaluated_until FROM detection_schedule WHERE resident_id = :r"),
                {"r": home.resident_id},
            )
        return until is not None

    await eventually(judged, 90, "inference to judge the resident's windowed rules")


def _hub_away(home: HomeFixture, rule: RuleName, decided: datetime) -> RuleCheckMessage:
    """A check that cannot tell because the hub is not known online, as inference announces it."""
    return RuleCheckMessage(
        resident_id=home.resident_id,
        facility_id=home.facility_id,
        rule=rule,
        check=RuleCheck(
            verdict="unknown",
            reason=Text(key="unknown.hub_offline", params={}),
            decided_at=decided,
        ),
        checked_at=decided,
    )


async def test_todays_checks_show_what_inference_decided_and_change_live(
    platform: dict[str, Service],
    browser: Browser,
    facility: tuple[HomeFixture, HomeFixture],
    engine: AsyncEngine,
    redis: Redis,
) -> None:
    home, _ = facility
    await _judged(platform, engine, home)
    page = await signed_in(browser, platform, home.staff_email, home.password)
    await page.goto(f"/#/residents/{home.resident_id}")
    checks = page.get_by_test_id("rule-checks")
    await expect(checks.get_by_role("heading", name="Today's checks")).to_be_visible()
    await expect(checks.locator(".rule-checks__checked")).to_contain_text("Last checked")
    lines = checks.locator("li.rule-check")
    await expect(lines).to_have_count(len(RuleName))
    for n in range(len(RuleName)):
        # Whatever the verdict at this hour, it is said in words, not by colour alone.
        await expect(lines.nth(n).locator(".rule-check__verdict")).to_have_text(
            re.compile(r"^(Fine|Alert raised|Cannot tell|Not checked yet)$")
        )
    assert await page.evaluate("window.sstNoReload = true") is True
    # A check changes while the page is open (as inference announces it after its commit):
    # the line changes in place, with the reason in words and since when, in the home's time.
    decided = datetime.now(UTC).replace(microsecond=0)
    message = _hub_away(home, RuleName.NO_WAKE_UP, decided)
    await redis.xadd(RULE_CHECKS_STREAM, message.to_stream())
    line = checks.locator('li.rule-check[data-rule="no_wake_up"]')
    await expect(line).to_have_attribute("data-status", "unknown")
    local = decided.astimezone(ZoneInfo(home.timezone)).strftime("%H:%M")
    await expect(line).to_contain_text("Not up in the morning: Cannot tell")
    await expect(line).to_contain_text("hub not known to be online")
    await expect(line).to_contain_text(f"since {local}")
    # What needs a look comes first.
    await expect(lines.first).not_to_have_attribute("data-status", "fine")
    assert await page.evaluate("window.sstNoReload") is True
    await checks.scroll_into_view_if_needed()
    await shoot(page, "resident-checks")
    await assert_accessible(page, "resident page with checks")
    await close_page(page)


async def test_staff_download_a_recording_from_the_resident_page(
    platform: dict[str, Service],
    browser: Browser,
    facility: tuple[HomeFixture, HomeFixture],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    home, _ = facility
    film = b"\x00\x00\x00\x18ftypmp42 an emergency call"
    stored = await make_stored_recording(sessionmaker, home, size_bytes=len(film))
    store = LocalStore(Path(platform["backend"].env["SST_OBJECT_STORE_DIR"]))
    await asyncio.to_thread(store.put, stored.key, film)

    page = await signed_in(browser, platform, home.staff_email, home.password, connected=False)
    await expect(page.locator(".resident")).to_have_count(1)
    await page.goto(f"/#/residents/{home.resident_id}")
    item = page.locator(f'[data-recording="{stored.recording_id}"]')
    await expect(item).to_contain_text("Stored")
    async with page.expect_download() as downloading:
        await item.get_by_role("button", name=re.compile("^Download the recording")).click()
    download = await downloading.value
    assert download.suggested_filename == f"sst-recording-{stored.session_id}.mp4"
    assert await asyncio.to_thread(Path(await download.path()).read_bytes) == film
    await assert_accessible(page, "resident page with a recording")
    await close_page(page)

    # The server wrote the download to the audit log, with who asked.
    async with sessionmaker() as session:
        audited = (
            await session.scalars(
                select(AuditEntry).where(
                    AuditEntry.action == "video.recording_downloaded",
                    AuditEntry.details["recording"].as_integer() == stored.recording_id,
                )
            )
        ).all()
    assert len(audited) == 1 and audited[0].actor_id is not None


async def test_guardian_sees_only_their_resident_on_a_phone(
    platform: dict[str, Service],
    browser: Browser,
    facility: tuple[HomeFixture, HomeFixture],
    engine: AsyncEngine,
    redis: Redis,
) -> None:
    home, neighbour = facility
    await _judged(platform, engine, home)
    page = await signed_in(browser, platform, home.guardian_email, home.password, PHONE)
    own = f"Resident {home.hub_serial[4:]}"
    other = f"Resident {neighbour.hub_serial[4:]}"
    await expect(page.get_by_test_id("today-summary")).not_to_be_empty()

    # Today's checks in a family's words: the day in one sentence, then each check.
    checks = page.get_by_test_id("rule-checks")
    await expect(checks).to_have_count(1)  # their resident's only
    await expect(checks).to_have_attribute("data-resident", str(home.resident_id))
    await expect(checks.get_by_role("heading", name="Today's checks")).to_be_visible()
    outlook = checks.get_by_test_id("checks-outlook")
    await expect(outlook).to_have_text(
        re.compile(r"^(All is well|Something needs attention|SST cannot fully see)")
    )
    lines = checks.locator("li.rule-check")
    await expect(lines).to_have_count(len(RuleName))
    for n in range(len(RuleName)):
        await expect(lines.nth(n).locator(".rule-check__verdict")).to_have_text(
            re.compile(r"^(All well|Staff alerted|Can't tell right now|Not checked yet)$")
        )
    assert await page.evaluate("window.sstNoReload = true") is True
    # The hub drops away: the phone says so at once, without a reload, in the home's time;
    # the neighbour's checks change too, and nothing of them reaches this page. Inference
    # goes on judging this live home meanwhile: the check is dated a few minutes ahead of it,
    # so that its own next check of the rule (an older one) cannot replace it while we look.
    decided = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
    await redis.xadd(
        RULE_CHECKS_STREAM, _hub_away(neighbour, RuleName.INACTIVITY, decided).to_stream()
    )
    await redis.xadd(RULE_CHECKS_STREAM, _hub_away(home, RuleName.NO_WAKE_UP, decided).to_stream())
    line = checks.locator('li.rule-check[data-rule="no_wake_up"]')
    await expect(line).to_have_attribute("data-status", "unknown")
    await expect(line).to_contain_text("Up in the morning: Can't tell right now")
    await expect(line).to_contain_text("SST cannot reach the home's hub")
    local = decided.astimezone(ZoneInfo(home.timezone)).strftime("%H:%M")
    await expect(line).to_contain_text(f"since {local}")
    # "All is well" is never what a home SST cannot see reads.
    await expect(outlook).to_have_attribute("data-outlook", re.compile(r"^(unknown|alert)$"))
    await expect(outlook).not_to_contain_text("All is well")
    await expect(page.get_by_test_id("rule-checks")).to_have_count(1)
    assert await page.evaluate("window.sstNoReload") is True
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await checks.scroll_into_view_if_needed()
    await shoot(page, "guardian-checks")
    await assert_accessible(page, "guardian view with checks")
    # The neighbour's checks, asked for by address: refused by the server.
    refused = await page.evaluate(
        """async (id) => {
            const session = JSON.parse(sessionStorage.getItem("sst.session"));
            const r = await fetch(`/api/v1/residents/${id}/rule-checks`,
                {headers: {Authorization: `Bearer ${session.token}`}});
            return [r.status, await r.text()];
        }""",
        neighbour.resident_id,
    )
    assert refused[0] == 404, refused
    assert other not in refused[1]
    await page.evaluate("window.scrollTo(0, 0)")
    # The box opens as the daily e-mail does.
    await expect(page.get_by_test_id("today-summary")).to_contain_text(f"How {own}'s day went, ")
    await expect(page.locator("main")).to_contain_text(own)
    await expect(page.get_by_role("heading", name="How we reach you")).to_be_visible()
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await shoot(page, "guardian")
    await assert_accessible(page, "guardian view")
    # The webhook needs a full https address: checked before anything is sent.
    await page.get_by_label("Webhook (for an SMS gateway)").check()
    await page.get_by_label("Webhook address (https://…)").fill("not a url")
    await page.get_by_role("button", name="Save preferences").click()
    await expect(page.locator(".guardian__prefs [role=alert]")).to_contain_text("https://")

    # Another resident's page by URL: refused in the page, and by the server.
    await page.goto(f"/#/residents/{neighbour.resident_id}")
    await expect(page.get_by_test_id("guardian-refused")).to_be_visible()
    await expect(page.locator("body")).not_to_contain_text(other)
    status = await page.evaluate(
        """async (id) => {
            const session = JSON.parse(sessionStorage.getItem("sst.session"));
            const r = await fetch(`/api/v1/residents/${id}`,
                {headers: {Authorization: `Bearer ${session.token}`}});
            return r.status;
        }""",
        neighbour.resident_id,
    )
    assert status == 404
    await shoot(page, "guardian-refused")
    await page.goto("/#/")
    await page.get_by_label("Language").select_option("ko")
    await expect(page.get_by_role("heading", name="연락 방법")).to_be_visible()
    await expect(page.get_by_test_id("today-summary")).not_to_be_empty()
    # The day's sentences come from the server as keys with raw values: Korean here.
    await expect(page.get_by_test_id("today-summary")).to_contain_text("수면:")
    await expect(page.get_by_test_id("today-summary")).to_contain_text("활동: 하루 중")
    await expect(page.get_by_test_id("today-summary")).to_contain_text(f"{own} 님의 하루, ")
    # Today's checks too (read again from the server when the view came back: what
    # inference stored, not the check the test put on the stream alone).
    await expect(checks.get_by_role("heading", name="오늘의 확인")).to_be_visible()
    await expect(checks.locator('li.rule-check[data-rule="no_wake_up"]')).to_contain_text(
        re.compile(r"^. 아침 기상: (괜찮음|직원에게 알림|지금은 알 수 없음|아직 확인 전)")
    )
    await expect(outlook).to_have_text(
        re.compile(r"^(모두 괜찮습니다|지금까지 모두|확인이 필요한|지금 SST가)")
    )
    # The page's language is also the one the server now writes this guardian's messages in.
    me = """async () => {
        const session = JSON.parse(sessionStorage.getItem("sst.session"));
        const r = await fetch("/api/v1/me", {headers: {Authorization: `Bearer ${session.token}`}});
        return (await r.json()).language;
    }"""
    deadline = asyncio.get_running_loop().time() + 5
    while await page.evaluate(me) != "ko":
        assert asyncio.get_running_loop().time() < deadline, "the language was not saved"
        await asyncio.sleep(0.1)
    await page.evaluate("window.scrollTo(0, 0)")
    await shoot(page, "guardian-ko")
    await close_page(page)


async def test_korean_and_large_text_are_one_click_away(
    platform: dict[str, Service], browser: Browser, facility: tuple[HomeFixture, HomeFixture]
) -> None:
    home, _ = facility
    page = await signed_in(browser, platform, home.staff_email, home.password)
    await page.get_by_label("Language").select_option("ko")
    await expect(page.locator("#alerts-title")).to_contain_text("알림")
    await expect(page.locator("html")).to_have_attribute("lang", "ko")
    await page.get_by_role("button", name="큰 글씨").click()
    await expect(page.locator("html")).to_have_class(re.compile("large-type"))
    await shoot(page, "overview-ko-large")
    await assert_accessible(page, "overview in Korean, large text")
    # The choice is kept for the next visit in this browser.
    await page.reload()
    await expect(page.locator("#alerts-title")).to_contain_text("알림")
    await close_page(page)


async def test_a_lost_connection_shows_a_banner_and_recovers(
    platform: dict[str, Service], browser: Browser, facility: tuple[HomeFixture, HomeFixture]
) -> None:
    home, _ = facility
    page = await signed_in(browser, platform, home.staff_email, home.password)
    platform["backend"].stop()
    try:
        await expect(page.locator(".banner--warning")).to_contain_text(
            "Live updates are interrupted"
        )
        await shoot(page, "connection-lost")
    finally:
        platform["backend"].start()
    base = platform["backend"].env["_BASE_URL"]

    await wait_ready(platform["backend"], base, 60, "the backend to be back")
    # Socket.IO's back-off between attempts is at most 5 s; the page reconnects by itself.
    await expect(page.locator(".conn--connected")).to_be_visible(timeout=30_000)
    await expect(page.locator(".banner--warning")).to_have_count(0)
    await expect(page.locator(".resident")).to_have_count(1)
    await close_page(page)


async def test_admin_pages_check_forms_and_show_device_credentials_once(
    platform: dict[str, Service],
    browser: Browser,
    facility: tuple[HomeFixture, HomeFixture],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    home, neighbour = facility
    page = await signed_in(browser, platform, home.admin_email, home.password, connected=False)
    await page.get_by_role("link", name="Admin").click()
    await page.get_by_role("link", name="Staff and guardians").click()
    # The server's refusal, in its own words: the e-mail is taken.
    await page.get_by_label("Full name").fill("Second Staff")
    await page.get_by_label("Email", exact=True).fill(home.staff_email)
    await page.get_by_label("Initial password").fill("a long enough password 42")
    await page.get_by_role("button", name="Add").click()
    await expect(page.locator(".admin-form [role=alert]")).to_have_text(
        "This e-mail is already used by another account."
    )

    await page.get_by_role("link", name="Hubs and sensors").click()
    await page.get_by_role("button", name="Provision hub").click()
    await expect(page.locator(".admin-form [role=alert]").first).to_have_text(
        "Please fill in: Home."
    )
    serial = f"dash-{uuid.uuid4().hex[:8]}"
    await page.get_by_label("Home", exact=True).select_option(
        label=f"Flat {neighbour.hub_serial[4:]}"
    )
    await page.get_by_label("Serial (empty: generated)").fill(serial)
    await page.get_by_role("button", name="Provision hub").click()
    credentials = page.get_by_test_id("credentials")
    await expect(credentials).to_contain_text("shown once")
    await expect(credentials).to_contain_text(serial)
    await shoot(page, "admin-credentials")
    await assert_accessible(page, "admin, hub credentials")
    async with sessionmaker() as session:
        hub_id = await session.scalar(select(Hub.id).where(Hub.serial == serial))
    assert hub_id is not None
    # The password is not kept anywhere: leaving the page loses it for good.
    await page.get_by_role("link", name="Robots").click()
    await expect(page.get_by_test_id("credentials")).to_have_count(0)
    status = await page.evaluate(
        """async (id) => {
            const session = JSON.parse(sessionStorage.getItem("sst.session"));
            const r = await fetch(`/api/v1/admin/hubs/${id}/credentials`,
                {method: "DELETE", headers: {Authorization: `Bearer ${session.token}`}});
            return r.status;
        }""",
        hub_id,
    )
    assert status == 204
    await close_page(page)


async def test_thresholds_are_for_admins_and_charge_nurses(
    platform: dict[str, Service], browser: Browser, facility: tuple[HomeFixture, HomeFixture]
) -> None:
    home, _ = facility
    page = await signed_in(browser, platform, home.staff_email, home.password)
    await page.goto(f"/#/residents/{home.resident_id}")
    # Plain staff read the thresholds; the fields are locked and the page says why.
    form = page.locator("form.setting").first
    await expect(form.locator("input").first).to_be_disabled()
    await expect(
        page.get_by_text("Only an admin or the charge nurse can change these.")
    ).to_be_visible()
    await expect(form.get_by_role("button", name="Save")).to_have_count(0)
    # A resident who does not exist (or is not the user's) is a message, not a blank page.
    await page.goto("/#/residents/987654")
    await expect(page.locator("main .message--error")).to_contain_text("This page does not exist")
    await close_page(page)

    page = await signed_in(browser, platform, home.admin_email, home.password)
    await page.goto(f"/#/residents/{home.resident_id}")
    form = page.locator("form.setting").first
    field = form.locator("input").first
    current = await field.input_value()
    await field.fill("")
    await form.get_by_role("button", name="Save").click()
    await expect(form.get_by_role("alert")).to_contain_text("Please fill in")
    await field.fill(current)
    await form.get_by_role("button", name="Save").click()
    await expect(form.get_by_role("status")).to_have_text("Saved.")
    await close_page(page)


async def test_an_expired_session_is_refreshed_then_ends_at_the_sign_in_form(
    platform: dict[str, Service], browser: Browser, facility: tuple[HomeFixture, HomeFixture]
) -> None:
    home, _ = facility
    page = await signed_in(browser, platform, home.staff_email, home.password, connected=False)
    await expect(page.locator(".resident")).to_have_count(1)
    # An access token the server no longer accepts: the page exchanges its refresh token.
    spoil = """(what) => {
        const session = JSON.parse(sessionStorage.getItem("sst.session"));
        session.token = "expired." + session.token.split(".")[1] + ".x";
        if (what === "both") session.refreshToken = "used-up";
        sessionStorage.setItem("sst.session", JSON.stringify(session));
    }"""
    await page.evaluate(spoil, "access")
    await page.reload()
    await expect(page.locator(".resident")).to_have_count(1)
    await expect(page.locator(".conn--connected")).to_be_visible()
    token = await page.evaluate("JSON.parse(sessionStorage.getItem('sst.session')).token")
    assert not token.startswith("expired.")
    # Neither token works: back to the sign-in form, saying why, never a blank page.
    await page.evaluate(spoil, "both")
    await page.reload()
    await expect(page.locator(".login .message--info")).to_contain_text("Your session has ended")
    await expect(page.get_by_label("Email")).to_be_visible()
    await shoot(page, "session-ended")
    await close_page(page)
