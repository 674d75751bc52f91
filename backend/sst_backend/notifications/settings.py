"""Settings of escalation, notification channels and daily summaries (part of BackendSettings)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from sst_core.settings import SSTSettings


class AlertingSettings(SSTSettings):
    """Scheduler, SMTP, webhook, Web Push and daily-summary settings."""

    scheduler_enabled: bool = Field(
        default=True, description="Run the escalation/notification scheduler in this process."
    )
    scheduler_interval_s: float = Field(default=1.0, gt=0, le=60)
    public_url: str = Field(
        default="http://127.0.0.1:8000", description="Dashboard address put in notifications."
    )
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_tls: bool = False
    mail_from: str = "SST <alerts@sst.invalid>"
    vapid_private_key: SecretStr | None = Field(
        default=None, description="Web Push VAPID private key (base64url or PEM)."
    )
    vapid_public_key: str | None = None
    vapid_subject: str = "mailto:alerts@sst.invalid"
    sms_webhook_url: str | None = Field(
        default=None, description="SMS gateway for emergency contacts (signed webhook)."
    )
    sms_webhook_secret: SecretStr | None = None
    webhook_allow_private: bool = Field(
        default=False, description="Allow webhooks and push to private/loopback addresses."
    )
    delivery_timeout_s: float = Field(default=10.0, gt=0, le=120)
    delivery_max_attempts: int = Field(default=6, ge=1, le=50)
    delivery_backoff_s: float = Field(default=30.0, gt=0)
    delivery_backoff_max_s: float = Field(default=3600.0, gt=0)
    daily_summary_enabled: bool = Field(
        default=True, description="Queue guardians' daily summaries (off: none are sent)."
    )
    daily_summary_hour: int = Field(
        default=20, ge=0, le=23, description="Local hour of the home at which guardians get it."
    )
