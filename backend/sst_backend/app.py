"""The backend application: FastAPI for HTTP, python-socketio for live events, one ASGI app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import socketio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from redis.asyncio import BlockingConnectionPool, Redis

from sst_backend.alerts.endpoints import router as alerts_router
from sst_backend.analytics.endpoints import router as analytics_router
from sst_backend.auditlog.endpoints import router as audit_router
from sst_backend.auth.endpoints import router as auth_router
from sst_backend.body_limit import BodyLimitMiddleware
from sst_backend.broker.admin import BrokerAdmin
from sst_backend.dashboard_mount import dashboard_mount
from sst_backend.devices.endpoints import router as devices_router
from sst_backend.erasure.endpoints import router as erasure_router
from sst_backend.errors import install_error_handlers
from sst_backend.escalation.endpoints import router as escalation_router
from sst_backend.facilities.endpoints import router as facilities_router
from sst_backend.health import router as health_router
from sst_backend.homes.endpoints import router as homes_router
from sst_backend.metrics import MetricsMiddleware
from sst_backend.metrics import router as metrics_router
from sst_backend.notifications.endpoints import router as notifications_router
from sst_backend.provisioning.endpoints import router as provisioning_router
from sst_backend.realtime.devices import relay_presence, relay_robots
from sst_backend.realtime.feed import LiveFeed, server_emit
from sst_backend.realtime.followed import Followed
from sst_backend.realtime.relay import relay_alerts
from sst_backend.realtime.retention import run_retention
from sst_backend.realtime.rule_checks import relay_rule_checks
from sst_backend.realtime.sensor_state import SensorStateFeed
from sst_backend.realtime.server import close_server, make_server, register_handlers
from sst_backend.request_id import RequestIdMiddleware
from sst_backend.residents.endpoints import router as residents_router
from sst_backend.risk.endpoints import router as risk_router
from sst_backend.robots.actions import register_robot_actions
from sst_backend.robots.endpoints import router as robots_router
from sst_backend.rollup_job import run_rollups
from sst_backend.rule_checks.endpoints import router as rule_checks_router
from sst_backend.scheduler import Scheduler
from sst_backend.settings import BackendSettings
from sst_backend.summaries.endpoints import router as summaries_router
from sst_backend.thresholds.endpoints import router as thresholds_router
from sst_backend.users.endpoints import router as users_router
from sst_backend.video.endpoints import router as video_router
from sst_backend.video.recording_endpoints import router as recordings_router
from sst_backend.video.runtime import VideoRuntime
from sst_core.db.session import make_engine, make_sessionmaker
from sst_core.heap import HeapKeeper

log = logging.getLogger("sst.backend")

API_PREFIX = "/api/v1"
_DEFAULT_DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard" / "dist"


def create_fastapi(settings: BackendSettings) -> FastAPI:
    """The HTTP application alone (used for the OpenAPI document too)."""
    app = FastAPI(
        title="SST API",
        version="1.0.0",
        description="Care staff and guardians watching over older adults who live alone.",
    )
    app.state.settings = settings
    app.state.broker_admin = None  # set in the lifespan when provisioning is configured
    app.state.video = None  # set in the lifespan
    install_error_handlers(app)
    app.include_router(health_router)
    app.include_router(metrics_router)
    for router in (auth_router, residents_router, alerts_router, provisioning_router, users_router):
        app.include_router(router, prefix=API_PREFIX)
    for router in (audit_router,):
        app.include_router(router, prefix=API_PREFIX)
    for router in (escalation_router, notifications_router, summaries_router, risk_router):
        app.include_router(router, prefix=API_PREFIX)
    care_routers = (facilities_router, homes_router, devices_router, thresholds_router)
    for router in (*care_routers, erasure_router, analytics_router, robots_router, video_router):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(recordings_router, prefix=API_PREFIX)
    app.include_router(rule_checks_router, prefix=API_PREFIX)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    # Added last, so outermost: the request id is set before anything else logs.
    app.add_middleware(MetricsMiddleware, routes=app.routes)
    app.add_middleware(RequestIdMiddleware)
    # Outermost: an oversized body is refused before anything reads it.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    dashboard = settings.dashboard_dir or _DEFAULT_DASHBOARD
    if (dashboard / "index.html").is_file():
        app.router.routes.append(dashboard_mount(dashboard))
    return app


def make_broker_admin(settings: BackendSettings) -> BrokerAdmin | None:
    """The broker's control-API client for provisioning, if an admin password is set."""
    if settings.mqtt_admin_password is None:
        return None
    return BrokerAdmin(
        host=settings.mqtt_host,
        port=settings.mqtt_port,
        username=settings.mqtt_admin_username,
        password=settings.mqtt_admin_password.get_secret_value(),
        tls=settings.mqtt_tls,
        timeout_s=settings.mqtt_admin_timeout_s,
    )


def create_app(settings: BackendSettings | None = None) -> socketio.ASGIApp:
    """The full ASGI app: HTTP + Socket.IO, engines made in the lifespan."""
    settings = settings or BackendSettings()
    sio = make_server(settings)
    api = create_fastapi(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        # Blocking pool: a burst of connects waits for a connection instead of failing.
        redis = Redis.from_pool(
            BlockingConnectionPool.from_url(settings.redis_url, max_connections=100, timeout=10)
        )
        sessionmaker = make_sessionmaker(engine)
        api.state.engine, api.state.redis, api.state.sessionmaker = engine, redis, sessionmaker
        follower = register_handlers(sio, settings, sessionmaker, redis)
        feed = LiveFeed(sessionmaker, server_emit(sio))
        api.state.feed = feed  # the one way to put an event on the live feed (video too)
        register_robot_actions(sio, follower, feed, redis)
        broker = make_broker_admin(settings)
        if broker is not None:
            await broker.start()  # connects in the background: a broker that is down is no crash
        api.state.broker_admin = broker
        stop = asyncio.Event()
        video = VideoRuntime(
            settings=settings, sessionmaker=sessionmaker, redis=redis, sio=sio, feed=feed
        )
        await video.start(stop)
        api.state.video = video
        followed = Followed(sio, redis)
        sensor_state = SensorStateFeed(
            feed, sessionmaker, redis, interval_s=settings.live_throttle_s, followed=followed
        )
        background = [
            asyncio.create_task(followed.run(stop), name="followed-rooms"),
            asyncio.create_task(relay_alerts(feed, redis, stop), name="alerts-relay"),
            asyncio.create_task(relay_presence(feed, sessionmaker, redis, stop), name="presence"),
            asyncio.create_task(relay_robots(feed, sessionmaker, redis, stop), name="robots"),
            asyncio.create_task(relay_rule_checks(feed, redis, stop), name="rule-checks"),
            asyncio.create_task(sensor_state.run(stop), name="sensor-state"),
            asyncio.create_task(
                run_retention(
                    sessionmaker,
                    redis,
                    stop,
                    retention_s=settings.live_retention_s,
                    interval_s=settings.live_prune_interval_s,
                ),
                name="live-retention",
            ),
        ]
        if settings.scheduler_enabled:

            async def emit(event: str, data: dict[str, Any], room: str) -> None:
                await sio.emit(event, data, to=room)

            scheduler = Scheduler(settings=settings, sessionmaker=sessionmaker, emit=emit)
            background.append(asyncio.create_task(scheduler.run(stop), name="scheduler"))
        if settings.rollup_interval_s > 0:
            background.append(
                asyncio.create_task(
                    run_rollups(engine, stop, interval_s=settings.rollup_interval_s),
                    name="rollups",
                )
            )
        keeper = None
        if settings.gc_deep_every_s > 0:
            keeper = HeapKeeper(deep_every_s=settings.gc_deep_every_s)
            keeper.start()
            background.append(asyncio.create_task(keeper.run(stop), name="heap-keeper"))
        try:
            yield
        finally:
            stop.set()
            if keeper is not None:
                keeper.close()
            for task in background:
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(task, timeout=10)
            await video.close()
            await close_server(sio)
            if broker is not None:
                await broker.close()
            await redis.aclose()
            await engine.dispose()

    api.router.lifespan_context = lifespan
    api.state.sio = sio
    return socketio.ASGIApp(sio, other_asgi_app=api)
