"""E-mail over SMTP (aiosmtplib: never blocks the event loop)."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from sst_backend.notifications.errors import DeliveryError
from sst_backend.notifications.settings import AlertingSettings


async def send_email(settings: AlertingSettings, *, to: str, subject: str, body: str) -> None:
    """Send a plain-text message; a refused recipient is final, a dead server is retried."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = settings.mail_from, to, subject
    message.set_content(body)
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    try:
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=password,
            start_tls=settings.smtp_starttls,
            use_tls=settings.smtp_tls,
            timeout=settings.delivery_timeout_s,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(f"recipient refused: {exc}", permanent=True) from exc
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP: {type(exc).__name__}: {exc}") from exc
