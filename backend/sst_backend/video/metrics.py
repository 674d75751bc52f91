"""Prometheus metrics of emergency video."""

from __future__ import annotations

from prometheus_client import Counter

VIDEO_SESSIONS_ENDED = Counter(
    "sst_video_sessions_ended_total", "Video sessions ended, by reason.", ["reason"]
)
VIDEO_REFUSALS = Counter(
    "sst_video_refused_total", "Video signaling messages refused, by reason.", ["reason"]
)
