"""The gateway's Prometheus metrics, served on their own port (`SST_METRICS_PORT`).

The same port answers `/ready`: 200 once the gateway is subscribed to the hubs' topics,
503 before. What a hub publishes before the gateway's first subscription has nobody to
queue it for (the broker keeps a session's messages only once it exists), so whatever
starts publishing with the platform (the demo simulator, a compose health check) waits
for it.

Counters move once per batch, never per message, so the hot path pays nothing for them.
Labels are small closed sets (message kind, refusal class, reading outcome): a hub serial
is never a label, since thousands of hubs would make thousands of series. Which hub sent
what stays in the dead-letter rows.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter as Tally
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app

from sst_core.const import HUB_TOPIC_KINDS
from sst_hub_gateway.batch import ParsedMessage

log = logging.getLogger("sst.gateway.metrics")

# Every refusal class the gateway can give (docs/mqtt.md, "Bad input"); listed up front so a
# dashboard sees a 0 rather than no series at all.
REFUSAL_CLASSES = (
    "bad_topic",
    "too_large",
    "malformed_json",
    "not_utf8",
    "too_deep",
    "huge_number",
    "non_finite",
    "duplicate_key",
    "schema",
    "unknown_hub",
    "unknown_sensor",
    "future",
    "too_old",
    "db_refused",
    "rate_limited",
)
READING_OUTCOMES = ("stored", "duplicate", "refused")
MESSAGE_KINDS = (*HUB_TOPIC_KINDS, "bad_topic")
_BATCH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class GatewayTelemetry:
    """Counters, histogram and gauge of one gateway process, in its own registry."""

    def __init__(self, queue_depth: Callable[[], int]) -> None:
        # A registry per gateway: tests run several gateways in one process.
        self.registry = CollectorRegistry()
        r = self.registry
        self.messages = Counter(
            "sst_gateway_messages", "MQTT messages handled, by topic kind.", ["kind"], registry=r
        )
        self.readings = Counter(
            "sst_gateway_readings",
            "Readings handled: stored (new row), duplicate (already stored), refused.",
            ["outcome"],
            registry=r,
        )
        self.dead_letters = Counter(
            "sst_gateway_dead_letters",
            "Messages refused, by class (rate_limited counts every refused message).",
            ["reason"],
            registry=r,
        )
        self.batch_seconds = Histogram(
            "sst_gateway_batch_seconds",
            "Time to store, stream and acknowledge one batch (retries included).",
            buckets=_BATCH_BUCKETS,
            registry=r,
        )
        self.queue_depth = Gauge(
            "sst_gateway_queue_depth", "Messages received and waiting for a batch.", registry=r
        )
        self.queue_depth.set_function(lambda: float(queue_depth()))
        for kind in MESSAGE_KINDS:
            self.messages.labels(kind)
        for outcome in READING_OUTCOMES:
            self.readings.labels(outcome)
        for reason in REFUSAL_CLASSES:
            self.dead_letters.labels(reason)
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def serve(self, host: str, port: int, ready: Callable[[], bool] = lambda: True) -> None:
        """Serve /metrics and /ready (`ready()`) on a thread of their own; port 0: neither."""
        if port == 0:
            return
        metrics = make_wsgi_app(self.registry)

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            if environ.get("PATH_INFO") != "/ready":
                return metrics(environ, start_response)
            subscribed = ready()
            start_response(
                "200 OK" if subscribed else "503 Service Unavailable",
                [("Content-Type", "text/plain; charset=utf-8")],
            )
            return [b"subscribed\n" if subscribed else b"not subscribed yet\n"]

        try:
            server = make_server(host, port, app, _Server, handler_class=_Quiet)
        except OSError as exc:  # metrics must never keep readings out
            log.error("cannot serve metrics on %s:%s (%s); running without them", host, port, exc)
            return
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="gateway-metrics", daemon=True
        )
        self._thread.start()
        log.info("metrics on http://%s:%s/metrics, readiness on /ready", host, port)

    def close(self) -> None:
        """Stop serving /metrics."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def observe_batch(
        self,
        batch: list[ParsedMessage],
        refused: Tally[str],
        *,
        accepted: int,
        stored: int,
        duplicates: int,
        seconds: float,
    ) -> None:
        """Count one handled batch: its messages by kind, readings by outcome, refusals."""
        kinds: Tally[str] = Tally()
        offered = 0
        for parsed in batch:
            kinds[_kind(parsed)] += 1
            if parsed.readings is not None:  # accepted telemetry or event
                offered += len(parsed.readings)
        for kind, n in kinds.items():
            self.messages.labels(kind).inc(n)
        self.readings.labels("stored").inc(stored)
        self.readings.labels("duplicate").inc(duplicates)
        # Readings of well-formed messages that were not taken (a message refused whole for
        # its form has no readings one could count).
        self.readings.labels("refused").inc(max(0, offered - accepted))
        for reason, n in refused.items():
            if n:
                self.dead_letters.labels(reason).inc(n)
        self.batch_seconds.observe(seconds)


def _kind(parsed: ParsedMessage) -> str:
    if parsed.kind is not None:  # accepted: telemetry, events or status
        return parsed.kind
    if parsed.hub_serial is None:
        return "bad_topic"
    kind = parsed.inbound.topic.rsplit("/", 1)[-1]
    return kind if kind in HUB_TOPIC_KINDS else "bad_topic"


class _Server(ThreadingMixIn, WSGIServer):
    """A thread per request, none kept when the gateway stops."""

    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    """No log line per scrape."""

    def log_message(self, format: str, *args: Any) -> None:
        return
