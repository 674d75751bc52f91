"""Fixtures of the browser tests: the dashboard built once per run, and one Chromium per module."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from tests.e2e.browser import build_dashboard, chromium_path


@pytest.fixture(scope="session")
def dashboard_dist() -> Path:
    """The dashboard built from the current sources, exactly as `make run` builds it."""
    return build_dashboard()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium_path())
        yield launched
        await launched.close()
