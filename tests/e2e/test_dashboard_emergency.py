"""The emergency panel and the live resident page in a real browser, on the real services.

The gateway and the backend (serving the dashboard just built) run as processes, the camera
agent too (`sst-camera`, started by the backend over MQTT, media relayed by the checkout's
coturn); the reference robot agent answers over MQTT. Debian's Chromium plays the camera's
frames through TURN (relay only), sends robot commands and sees their progress live, and
sees a room light up from a sensor reading without a reload.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sst_core.const import robot_topic
from sst_core.db.models import Alert, Robot, VideoSession
from sst_devices.robot_agent import RobotAgent
from tests.conftest import MQTT_HOST, MQTT_PASSWORD, MQTT_PORT, MQTT_USERNAME
from tests.devices.conftest import clear_retained
from tests.e2e.browser import (
    DESKTOP,
    assert_accessible,
    close_page,
    new_page,
    shoot,
    sign_in,
    signed_in,
)
from tests.e2e.hubs import gateway_listening
from tests.e2e.processes import Service, eventually, start_platform, wait_ready
from tests.factories import HomeFixture, make_home
from tests.ports import free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ALL_CAPABILITIES = ["move", "check", "speak", "dock"]


@pytest.fixture(scope="module")
def turn() -> None:
    """The checkout's coturn (scripts/turn.sh starts it or keeps it)."""
    result = subprocess.run(
        ["bash", "scripts/turn.sh"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, f"coturn did not start: {result.stderr}{result.stdout}"


@pytest.fixture(scope="module")
async def home(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[HomeFixture, int, int]:
    """A home with two robots: one that can do everything, one that can only move."""
    built = await make_home(sessionmaker)
    ids = []
    async with sessionmaker() as session, session.begin():
        for capabilities in (ALL_CAPABILITIES, ["move"]):
            robot = Robot(
                home_id=built.home_id,
                serial=f"robot-{uuid.uuid4().hex[:10]}",
                model="SafeBot",
                capabilities=capabilities,
            )
            session.add(robot)
            await session.flush()
            ids.append(robot.id)
    return built, ids[0], ids[1]


@pytest.fixture(scope="module")
async def platform(
    test_env: dict[str, str],
    database_url: str,
    dashboard_dist: Path,
    turn: None,
    home: tuple[HomeFixture, int, int],
) -> AsyncIterator[dict[str, Service]]:
    """Gateway, backend (serving the build) and the home's camera agent, as processes."""
    built, _, _ = home
    run_id = uuid.uuid4().hex[:8]
    port = free_port()
    env = {
        **test_env,
        "SST_PORT": str(port),
        "SST_MQTT_CLIENT_ID": f"e2e-emergency-gateway-{run_id}",
        "SST_MQTT_SHARE_GROUP": f"e2e-emergency-{run_id}",
        "SST_ROBOT_SWEEP_INTERVAL_S": "0.2",
        "SST_DASHBOARD_DIR": str(dashboard_dist),
        "SST_LOG_LEVEL": "INFO",
    }
    camera_env = {
        **env,
        "SST_MQTT_USERNAME": MQTT_USERNAME,
        "SST_MQTT_PASSWORD": MQTT_PASSWORD,
        "SST_MQTT_CLIENT_ID": f"e2e-camera-{run_id}",
    }
    services = {
        "gateway": Service("emergency-gateway", ["sst-hub-gateway"], env),
        "backend": Service("emergency-backend", ["sst-backend", "serve"], env),
        "camera": Service(
            "emergency-camera", ["sst-camera", "--hub", built.hub_serial], camera_env
        ),
    }
    await start_platform(services, port)

    async def camera_waiting() -> bool:
        services["camera"].assert_running()
        return "waiting for video requests" in services["camera"].tail()

    await eventually(camera_waiting, 30, "the camera agent to wait for requests")
    yield services
    for service in reversed(services.values()):
        service.stop()


@pytest.fixture
async def robot_agent(
    home: tuple[HomeFixture, int, int], sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[RobotAgent]:
    """The reference robot agent of the first robot (0.5 s a room), online."""
    async with sessionmaker() as session:
        robot = await session.get(Robot, home[1])
        assert robot is not None
        serial = robot.serial
    agent = RobotAgent(
        serial,
        host=MQTT_HOST,
        port=MQTT_PORT,
        username=MQTT_USERNAME,
        password=MQTT_PASSWORD,
        client_id=f"{serial}-{uuid.uuid4().hex[:6]}",
        seconds_per_room=0.5,
    )
    await asyncio.to_thread(agent.connect)
    yield agent
    agent.disconnect()
    clear_retained(robot_topic(serial, "status"))


async def fall(sessionmaker: async_sessionmaker[AsyncSession], built: HomeFixture) -> int:
    """The resident's open fall alert in the Bathroom (the video's basis; one at a time)."""
    now = datetime.now(UTC)
    async with sessionmaker() as session, session.begin():
        open_id = await session.scalar(
            select(Alert.id).where(
                Alert.resident_id == built.resident_id, Alert.kind == "fall", Alert.state == "open"
            )
        )
        if open_id is not None:
            return int(open_id)
        alert = Alert(
            resident_id=built.resident_id,
            kind="fall",
            severity="critical",
            state="open",
            title="Fall detected",
            explanation="Fall detected in the Bathroom.",
            count=1,
            sensor_id=built.sensors["fall-1"],
            opened_at=now,
            last_seen_at=now,
        )
        session.add(alert)
        await session.flush()
        return int(alert.id)


async def emergency_panel(page: Page, alert_id: int) -> Locator:
    """The alert's emergency panel, opened from its card."""
    card = page.locator(f'[data-alert-id="{alert_id}"]')
    await card.get_by_role("button", name="Emergency panel").click()
    return card.get_by_role("dialog")


async def test_staff_watches_the_camera_live_and_stops_it(
    platform: dict[str, Service],
    browser: Browser,
    home: tuple[HomeFixture, int, int],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    built, _, _ = home
    alert_id = await fall(sessionmaker, built)
    page = await signed_in(browser, platform, built.staff_email, built.password)
    panel = await emergency_panel(page, alert_id)
    status = panel.get_by_test_id("video-status")
    await expect(status).to_have_text("Video is off.")
    started = time.monotonic()
    await panel.get_by_role("button", name="Start live video").click()
    await expect(status).to_have_attribute("data-phase", "live", timeout=30_000)
    print(f"\nclick -> video playing in the page: {(time.monotonic() - started) * 1000:.0f} ms")
    await expect(status).to_have_text("Live")
    video = panel.get_by_test_id("emergency-video")
    # Real frames: a picture size, and the clock of the stream advancing.
    width = await video.evaluate("v => v.videoWidth")
    assert width > 0
    first = await video.evaluate("v => v.currentTime")
    await page.wait_for_timeout(1500)
    later = await video.evaluate("v => v.currentTime")
    assert later > first, f"the video does not advance ({first} -> {later})"
    frames = await video.evaluate("v => v.getVideoPlaybackQuality().totalVideoFrames")
    assert frames > 10
    await shoot(page, "emergency-video-live")
    await assert_accessible(page, "emergency panel with live video")
    async with sessionmaker() as session:
        row = await session.scalar(select(VideoSession).where(VideoSession.alert_id == alert_id))
    assert row is not None and row.state == "connected" and row.basis == "alert"

    await panel.get_by_role("button", name="Stop video").click()
    await expect(status).to_have_text("Video ended. You stopped it.")
    # The same button, now Start again, keeps the focus (keyboard users are not lost).
    await expect(panel.get_by_role("button", name="Start live video")).to_be_focused()

    async def ended() -> bool:
        async with sessionmaker() as session:
            stored = await session.get(VideoSession, row.id, populate_existing=True)
        return stored is not None and stored.state == "ended" and stored.end_reason == "hangup"

    await eventually(ended, 10, "the session to end as a hang-up")
    assert await video.evaluate("v => v.srcObject") is None
    await close_page(page)


async def test_robot_commands_show_live_progress_and_refusals_in_words(
    platform: dict[str, Service],
    browser: Browser,
    home: tuple[HomeFixture, int, int],
    sessionmaker: async_sessionmaker[AsyncSession],
    robot_agent: RobotAgent,
) -> None:
    built, robot_id, mover_id = home
    alert_id = await fall(sessionmaker, built)
    page = await signed_in(browser, platform, built.staff_email, built.password)
    panel = await emergency_panel(page, alert_id)
    robot = panel.locator(f'[data-robot-id="{robot_id}"]')
    await expect(robot.get_by_test_id("robot-status")).to_contain_text("docked")

    await panel.get_by_label("Message to speak").fill("Help is on the way.")
    await robot.get_by_role("button", name="Speak").click()
    progress = panel.get_by_test_id("robot-progress")
    await expect(progress.locator("li").first).to_have_text(
        re.compile(r"^Speak: done"), timeout=20_000
    )

    await robot.get_by_role("button", name="Send to the room").click()
    step = progress.locator("li").first
    await expect(step).to_contain_text("Go to a room:")
    # Live progress, step by step, and the robot's room as it moves (0.5 s a room).
    await expect(step).to_have_text(re.compile(r"^Go to a room: running"), timeout=20_000)
    await expect(robot.get_by_test_id("robot-status")).to_contain_text("moving")
    await shoot(page, "emergency-robot-running")
    await expect(step).to_have_text(
        re.compile(r"^Go to a room: done — arrived in the Bathroom"), timeout=20_000
    )
    await expect(robot.get_by_test_id("robot-status")).to_contain_text("Bathroom")
    assert robot_agent.position == "Bathroom"

    # A robot that cannot speak: the server's refusal, in its own words.
    mover = panel.locator(f'[data-robot-id="{mover_id}"]')
    await mover.get_by_role("button", name="Speak").click()
    problem = panel.get_by_test_id("robot-problem")
    await expect(problem).to_contain_text("Refused:")
    await expect(problem).to_contain_text("speak")
    await expect(robot.get_by_role("button", name="Return to dock")).to_be_enabled()
    await robot.get_by_role("button", name="Return to dock").focus()
    await page.keyboard.press("Enter")
    await expect(step).to_have_text(
        re.compile("Return to dock: (waiting|sent|received|running|done)")
    )
    await expect(robot.get_by_role("button", name="Return to dock")).to_be_focused()
    await shoot(page, "emergency-robot")
    await assert_accessible(page, "emergency panel with robot progress")
    await close_page(page)


async def test_a_sensor_reading_lights_its_room_without_reload(
    platform: dict[str, Service],
    browser: Browser,
    home: tuple[HomeFixture, int, int],
    engine: AsyncEngine,
) -> None:
    built, _, _ = home
    page = await signed_in(browser, platform, built.staff_email, built.password)
    await page.goto(f"/#/residents/{built.resident_id}")
    kitchen = page.locator('.room[data-room="Kitchen"]')
    await expect(kitchen).to_have_class(re.compile(r"room--quiet"))
    await page.evaluate("window.sstNoReload = true")
    agent = await gateway_listening(platform, engine, built)
    try:
        agent.publish_readings([("kitchen-motion", int(time.time() * 1000), 1.0)])
        agent.flush()
        await expect(kitchen).to_have_class(re.compile(r"room--active"))
        await expect(kitchen).to_have_attribute("data-live", "active")
    finally:
        agent.disconnect()
    assert await page.evaluate("window.sstNoReload") is True
    await expect(page.locator('.room[data-room="Bedroom"]')).to_have_class(
        re.compile(r"room--quiet")
    )
    await shoot(page, "resident-live-room")
    await close_page(page)


async def test_a_role_without_the_right_sees_the_refusal(
    platform: dict[str, Service],
    browser: Browser,
    home: tuple[HomeFixture, int, int],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    built, _, _ = home
    alert_id = await fall(sessionmaker, built)
    # Admins run the facility; looking into homes is for members of staff (docs/video.md).
    page = await signed_in(browser, platform, built.admin_email, built.password)
    panel = await emergency_panel(page, alert_id)
    sessions_before = await _sessions(sessionmaker, alert_id)
    await panel.get_by_role("button", name="Start live video").click()
    status = panel.get_by_test_id("video-status")
    await expect(status).to_have_attribute("data-phase", "refused")
    await expect(status).to_have_text("Video refused: Your role does not allow this.")
    await expect(panel.get_by_role("button", name="Start live video")).to_be_visible()
    await shoot(page, "emergency-video-refused")
    assert await _sessions(sessionmaker, alert_id) == sessions_before
    await close_page(page)


async def _sessions(sessionmaker: async_sessionmaker[AsyncSession], alert_id: int) -> int:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(VideoSession.id).where(VideoSession.alert_id == alert_id)
        )
        return len(rows.all())


async def test_after_a_backend_restart_the_page_catches_up_without_reloading(
    platform: dict[str, Service],
    browser: Browser,
    home: tuple[HomeFixture, int, int],
    engine: AsyncEngine,
) -> None:
    built, _, _ = home
    base = platform["backend"].env["_BASE_URL"]
    page = await new_page(browser, base, DESKTOP)
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(str(f))))
    await sign_in(page, built.staff_email, built.password)
    await expect(page.locator(".conn--connected")).to_be_visible()
    await page.evaluate("window.sstNoReload = true")
    hub = page.locator(".resident").first.locator("dd").nth(2)
    # The hub comes online: the overview says so live (hub_presence), and the page now
    # holds an event id to resume from.
    agent = await gateway_listening(platform, engine, built)
    connected = True
    try:
        await expect(hub).to_have_text("online")
        lists: list[str] = []
        page.on(
            "request",
            lambda r: (
                lists.append(r.url) if re.search(r"/api/v1/(alerts\?|residents$)", r.url) else None
            ),
        )
        platform["backend"].stop()
        await expect(page.locator(".banner--warning")).to_contain_text(
            "Live updates are interrupted"
        )
        # The hub drops off while the backend is away: the gateway queues the news on its
        # stream, the restarted backend logs it, and the page gets it on reconnecting.
        agent.disconnect()
        connected = False
        platform["backend"].start()

        await wait_ready(platform["backend"], base, 60, "the backend to be back")
        await expect(page.locator(".conn--connected")).to_be_visible(timeout=30_000)
        await expect(hub).to_contain_text("offline")
    finally:
        if connected:
            agent.disconnect()
    caught_up = [f for f in frames if '"caught_up"' in f]
    assert caught_up and '"complete":true' in caught_up[-1], caught_up
    await page.wait_for_timeout(1000)
    assert lists == [], f"the page reloaded its lists after a complete catch-up: {lists}"
    assert await page.evaluate("window.sstNoReload") is True
    await shoot(page, "overview-caught-up")
    await close_page(page)
