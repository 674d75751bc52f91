"""Serving the built dashboard at "/" without shadowing the API."""

from __future__ import annotations

from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from fastapi.staticfiles import StaticFiles
from starlette.routing import Match, Mount
from starlette.types import Scope

# Paths the API and the framework own: a wrong method there must stay a 405, and an unknown
# path a JSON 404, never the dashboard's HTML.
_NOT_THE_DASHBOARD = ("/api/", "/socket.io", "/metrics", "/health", "/ready", "/openapi.json")


class DashboardMount(Mount):
    """A static mount at "/" that never matches what belongs to the API."""

    def matches(self, scope: Scope) -> tuple[Match, MutableMapping[str, Any]]:
        """No match for API paths, so the router's own 404/405 answer them."""
        if scope["type"] == "http" and scope["path"].startswith(_NOT_THE_DASHBOARD):
            return Match.NONE, {}
        return super().matches(scope)


def dashboard_mount(directory: Path) -> DashboardMount:
    """The built dashboard (index.html and its assets) as the app's last route."""
    return DashboardMount("/", app=StaticFiles(directory=directory, html=True), name="dashboard")
