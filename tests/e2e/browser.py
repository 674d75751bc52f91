"""The dashboard in Debian's headless Chromium, driven by Playwright: shared by the browser
tests. Pages fail their test on an uncaught error or a request to another origin; screenshots
go to test-artifacts/screenshots/ (`make docs-img` copies the main ones into docs/img/)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from tests.e2e.processes import Service

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
DESKTOP: ViewportSize = {"width": 1366, "height": 768}
PHONE: ViewportSize = {"width": 390, "height": 844}
# The browser waits this long for what a person would see at once (the machine is shared).
SEEN_MS = 15_000
expect.set_options(timeout=SEEN_MS)
AXE = ROOT / "dashboard" / "node_modules" / "axe-core" / "axe.min.js"


def chromium_path() -> str:
    """Debian's chromium (scripts/setup-system.sh installs it); no browser is downloaded."""
    path = os.environ.get("SST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file():
        pytest.fail(f"Chromium not found at {path}: run scripts/setup-system.sh (apt chromium)")
    return path


def build_dashboard() -> Path:
    """The dashboard built from the current sources, exactly as `make run` builds it."""
    subprocess.run(["bash", str(ROOT / "scripts" / "build-dashboard.sh")], check=True)
    dist = ROOT / "dashboard" / "dist"
    assert (dist / "index.html").is_file()
    return dist


async def new_page(browser: Browser, base: str, viewport: ViewportSize) -> Page:
    """A fresh browser context (no session) whose uncaught page errors fail the test."""
    context = await browser.new_context(
        viewport=viewport, base_url=base, locale="en-GB", timezone_id="UTC"
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # Nothing in the page may need the internet: every request stays on the backend's origin.
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith((base, "data:", "blob:"))
            else errors.append(f"request to another origin: {request.url}")
        ),
    )
    page.set_default_timeout(SEEN_MS)
    page.sst_errors = errors  # type: ignore[attr-defined]
    return page


async def close_page(page: Page) -> None:
    errors = page.sst_errors  # type: ignore[attr-defined]
    await page.context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


async def shoot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)


async def assert_accessible(page: Page, what: str) -> None:
    """axe-core (from the dashboard's locked dev dependencies) finds no WCAG 2 A/AA violation."""
    await page.add_script_tag(path=str(AXE))
    violations = await page.evaluate(
        """async () => (await axe.run(document, {
            runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21aa"]},
        })).violations.map(v => `${v.impact} ${v.id}: ${v.help} (${v.nodes.length}x, e.g. `
            + `${v.nodes[0].target.join(" ")})`)"""
    )
    assert not violations, f"{what}: " + "\n".join(violations)


async def sign_in(page: Page, email: str, password: str) -> None:
    await page.goto("/")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def signed_in(
    browser: Browser,
    platform: dict[str, Service],
    email: str,
    password: str,
    viewport: ViewportSize = DESKTOP,
    *,
    connected: bool = True,
) -> Page:
    """A fresh page (see new_page) on the platform's backend, signed in; with `connected`, once
    the page says its live feed is connected."""
    page = await new_page(browser, platform["backend"].env["_BASE_URL"], viewport)
    await sign_in(page, email, password)
    if connected:
        await expect(page.locator(".conn--connected")).to_be_visible()
    return page
