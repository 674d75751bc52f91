"""Settings of the backend, read once at start-up."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator

from sst_backend.notifications.settings import AlertingSettings
from sst_core.objects import ObjectStoreSettings


class BackendSettings(AlertingSettings, ObjectStoreSettings):
    """HTTP, token and Socket.IO settings of the backend."""

    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest request body accepted (413 above)."
    )
    jwt_secret: SecretStr = Field(description="HMAC key for access tokens; required.")
    jwt_previous_secrets: list[SecretStr] = Field(
        default_factory=list,
        description=(
            "Keys being rotated out (JSON list): tokens they signed are still accepted until "
            "they expire; new tokens are signed with jwt_secret only (docs/operations.md)."
        ),
    )
    jwt_ttl_s: int = Field(default=900, ge=60, le=86_400)
    jwt_issuer: str = "sst"
    refresh_ttl_s: int = Field(
        default=14 * 86_400, ge=300, le=90 * 86_400, description="Lifetime of a refresh token."
    )
    login_window_s: int = Field(default=900, ge=1, description="Window of the login limits.")
    login_max_failures_per_account: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)
    dashboard_dir: Path | None = Field(
        default=None, description="Built dashboard to serve at /; default: dashboard/dist."
    )
    cors_origins: list[str] = Field(default_factory=list)
    ws_compression: bool = Field(
        default=False,
        description=(
            "Accept permessage-deflate on dashboard WebSockets. Off: each message to each "
            "socket would be compressed on its own (+20% CPU per socket and event, +46 KiB "
            "per socket in bench/fanout.py), and the feed's messages are small."
        ),
    )
    gc_deep_every_s: float = Field(
        default=600,
        ge=0,
        description=(
            "Freeze the heap after each full garbage collection so the next one walks only "
            "newer objects, and unfreeze + collect fully this often (sst_core.heap); "
            "0 leaves the collector as Python has it."
        ),
    )
    socketio_redis: bool = Field(
        default=True, description="Share Socket.IO rooms over Redis between backend instances."
    )
    mqtt_admin_username: str = Field(
        default="sst-admin", description="The broker's dynamic-security admin account."
    )
    mqtt_admin_password: SecretStr | None = Field(
        default=None, description="Its password; unset, hub/robot provisioning answers 503."
    )
    mqtt_admin_timeout_s: float = Field(default=5.0, gt=0, le=60)

    # -- emergency video (docs/video.md) --
    turn_secret: SecretStr | None = Field(
        default=None, description="coturn's static-auth-secret; unset, video answers 503."
    )
    turn_port: int = Field(default=3478, ge=1, le=65535, description="The local coturn's port.")
    turn_urls: list[str] = Field(
        default_factory=list,
        description="TURN/STUN URLs handed out; default: turn:127.0.0.1:TURN_PORT over UDP.",
    )
    video_mqtt_username: str = Field(
        default="sst-backend", description="The backend's broker account for video signaling."
    )
    video_mqtt_password: SecretStr | None = Field(
        default=None, description="Its password; unset, video answers 503."
    )
    video_connect_timeout_s: float = Field(
        default=30.0, gt=0, le=300, description="A session not connected by then ends."
    )
    video_max_s: int = Field(
        default=600,
        ge=10,
        le=3600,
        description="Longest session; its TURN credential lasts 60 s more.",
    )
    video_relay_only: bool = Field(
        default=True,
        description="Media only through TURN: neither side learns the other's addresses.",
    )
    video_sweep_interval_s: float = Field(default=1.0, gt=0, le=60)
    video_share_group: str = Field(
        default="sst-backends",
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description="Shared subscription group of the backends that share one database.",
    )

    video_recording: bool = Field(
        default=False,
        description="Record emergency video sessions where the facility or the resident's "
        "consent asks for it (docs/video.md, Recording); off: nothing is ever recorded.",
    )
    video_recording_retention_days: int = Field(
        default=30, ge=1, le=3650, description="Recordings are deleted this many days after."
    )
    video_recording_sweep_interval_s: float = Field(
        default=300.0, gt=0, le=86_400, description="How often expired recordings are deleted."
    )
    video_recording_spares: int = Field(
        default=1,
        ge=0,
        le=8,
        description="Recorder processes kept started, aiortc loaded, so that a recording "
        "begins with the call rather than seconds later (each ~90 MB; only with recording on).",
    )
    video_recording_tmp_dir: Path | None = Field(
        default=None, description="Where recordings are written before upload; default: the OS's."
    )

    rollup_interval_s: float = Field(
        default=60.0,
        ge=0,
        le=86_400,
        description="How often the hourly rollups are refreshed on plain PostgreSQL; 0: never.",
    )

    live_throttle_s: float = Field(
        default=0.25,
        ge=0.01,
        le=60,
        description="Live sensor state: at most one update per resident this often (seconds).",
    )
    live_retention_s: float = Field(
        default=86_400.0,
        ge=60,
        description="How long live events are kept for clients that reconnect (seconds).",
    )
    live_prune_interval_s: float = Field(
        default=60.0,
        gt=0,
        le=86_400,
        description="How often old events and superseded sensor states are deleted (seconds).",
    )
    live_replay_limit: int = Field(
        default=5000, ge=1, le=100_000, description="Most events one catch-up replays."
    )

    @field_validator("jwt_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        # HS256 keys shorter than the hash are guessable (RFC 7518, section 3.2).
        if len(value.get_secret_value()) < 32:
            raise ValueError("SST_JWT_SECRET must be at least 32 characters")
        return value
