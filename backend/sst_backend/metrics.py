"""Prometheus metrics of the backend, served at GET /metrics (not under /api, not in OpenAPI)."""

from __future__ import annotations

import logging
import time

from fastapi import APIRouter, Response
from fastapi.routing import iter_route_contexts
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sst_backend.auth.dependencies import PUBLIC

HTTP_REQUESTS = Counter(
    "sst_http_requests_total",
    "HTTP requests answered, by route template and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "sst_http_request_duration_seconds",
    "Time from request to the end of the response, by route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SOCKET_CONNECTIONS = Gauge("sst_socketio_connections", "Socket.IO clients connected here.")
SOCKET_REFUSALS = Counter(
    "sst_socketio_refused_total", "Socket.IO connections refused, by reason.", ["reason"]
)
LOGIN_REFUSALS = Counter(
    "sst_login_rate_limited_total", "Login attempts refused by a rate limit.", ["limit"]
)
LOGIN_FAILURES = Counter("sst_login_failures_total", "Logins with wrong credentials.")
LIVE_RELAYED = Counter(
    "sst_live_relayed_total",
    "Stream entries this instance took from its consumer group and published to the feed.",
    ["stream"],
)
REFRESH_REUSE = Counter(
    "sst_refresh_token_reuse_total", "Rotated refresh tokens presented again (family revoked)."
)

log = logging.getLogger("sst.backend.http")

router = APIRouter(include_in_schema=False)


@router.get("/metrics", dependencies=[PUBLIC])
async def metrics() -> Response:
    """Every metric of this process in the Prometheus text format."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def route_templates(routes: list[BaseRoute]) -> dict[int, str]:
    """Full path template (with the router prefixes) of each route object the router selects."""
    return {
        id(context.original_route): context.path
        for context in iter_route_contexts(routes)
        if context.path
    }


class MetricsMiddleware:
    """Counts and times each HTTP request under its route template (never the raw path)."""

    def __init__(self, app: ASGIApp, routes: list[BaseRoute]) -> None:
        self.app = app
        # Read at the first request: routers may still be included after the middleware.
        self._routes = routes
        self._templates: dict[int, str] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Time the request and label it once the router has matched a route."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            # The router records the matched route in the (shared) scope; unmatched paths are
            # one label so random URLs cannot blow up the number of series.
            if self._templates is None:
                self._templates = route_templates(self._routes)
            route = scope.get("route")
            template = self._templates.get(id(route)) or getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            HTTP_REQUESTS.labels(method, template, str(status)).inc()
            elapsed = time.perf_counter() - started
            HTTP_LATENCY.labels(method, template).observe(elapsed)
            # The access log line: it carries the request id like every other line here.
            log.info("%s %s %d %.1f ms", method, template, status, elapsed * 1000)
