"""The test run's own accounts on SST's authenticated broker (scripts/broker.sh).

Made at session start through the broker's admin API, with fresh passwords, and deleted at
the end: a gateway account with the production gateway's role, and a "devices" account that
may publish for every hub (as the demo simulator's does) for tests about something other
than broker security. The security tests make real per-hub accounts instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from sst_backend.broker.accounts import DeviceAccount, revoke_credentials
from sst_backend.broker.admin import BrokerAdmin

DEVICES_ROLE = "sst-test-devices"
GATEWAY_ROLE = "sst-gateway"  # made by docker/mosquitto/accounts.sh, as in production
BACKEND_ROLE = "sst-backend"  # likewise: the backend's video signaling
_TREES = ("sst/v1/hubs/#", "sst/v1/robots/#")
_ACLTYPES = ("publishClientSend", "publishClientReceive", "subscribePattern")


@dataclass(frozen=True)
class Login:
    """A user name and password."""

    username: str
    password: str


def _admin(host: str, port: int, admin: Login) -> BrokerAdmin:
    return BrokerAdmin(
        host=host, port=port, username=admin.username, password=admin.password, timeout_s=10
    )


async def _ensure(broker: BrokerAdmin, login: Login, role: str) -> None:
    user = {"username": login.username}
    # Left over from an interrupted run, the login exists: it then gets this run's password.
    await broker.execute([{"command": "createClient", **user}], check=False)
    await broker.execute(
        [
            {"command": "setClientPassword", **user, "password": login.password},
            {"command": "enableClient", **user},
        ]
    )
    await broker.execute([{"command": "addClientRole", **user, "rolename": role}], check=False)


def create_accounts(
    host: str, port: int, admin: Login, gateway: Login, devices: Login, backend: Login
) -> None:
    """Make (or reset) the run's gateway, devices and backend (video) accounts."""

    async def run() -> None:
        async with _admin(host, port, admin) as broker:
            acls = [
                {"acltype": acltype, "topic": tree, "allow": True}
                for tree in _TREES
                for acltype in _ACLTYPES
            ]
            await broker.execute(
                [
                    {"command": "createRole", "rolename": DEVICES_ROLE},
                    *({"command": "addRoleACL", "rolename": DEVICES_ROLE, **a} for a in acls),
                ],
                check=False,
            )
            await _ensure(broker, gateway, GATEWAY_ROLE)
            await _ensure(broker, devices, DEVICES_ROLE)
            await _ensure(broker, backend, BACKEND_ROLE)

    asyncio.run(run())


def delete_accounts(host: str, port: int, admin: Login, *logins: Login) -> None:
    """Remove the run's accounts."""

    async def run() -> None:
        async with _admin(host, port, admin) as broker:
            commands = [{"command": "deleteClient", "username": x.username} for x in logins]
            await broker.execute(commands, check=False)

    asyncio.run(run())


async def delete_device_accounts(
    host: str, port: int, admin: Login, accounts: Sequence[DeviceAccount]
) -> list[str]:
    """Delete devices' logins and roles (as a revocation does); returns user names still there."""
    if not accounts:
        return []
    async with _admin(host, port, admin) as broker:
        for account in accounts:
            await revoke_credentials(broker, account)
        found = await broker.execute(
            [{"command": "getClient", "username": a.username} for a in accounts], check=False
        )
    return [
        a.username
        for a, f in zip(accounts, found, strict=True)
        if (f.get("data") or {}).get("client")
    ]
