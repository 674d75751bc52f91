"""Outgoing URLs users give us (webhooks, push endpoints) must not reach inside the platform."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from sst_backend.notifications.errors import DeliveryError


async def check_public_url(url: str, *, allow_private: bool) -> None:
    """Refuse URLs that are not http(s) or resolve to private, loopback or link-local hosts.

    A guardian's webhook pointing at 127.0.0.1:6379 would otherwise turn SST into a proxy
    into its own network (SSRF). Operators testing locally set SST_WEBHOOK_ALLOW_PRIVATE.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeliveryError(f"not an http(s) URL: {url[:100]}", permanent=True)
    if allow_private:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            parts.hostname, parts.port or 443, type=socket.SOCK_STREAM
        )
    except socket.gaierror as exc:
        raise DeliveryError(f"cannot resolve {parts.hostname}: {exc}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise DeliveryError(
                f"{parts.hostname} resolves to a non-public address ({address})", permanent=True
            )
