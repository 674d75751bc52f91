"""Broker accounts of hubs and robots: one login and one role per device, in its own subtree.

Mosquitto 2.0's dynamic-security plugin has no %u/%c substitution in role ACLs (it came
with 2.1), so each device gets a role of its own, named after it, granting exactly its
subtree. The broker's default ACL access denies everything else (docker/mosquitto/accounts.sh).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from sst_backend.broker.admin import BrokerAdmin, BrokerCommandError, Command
from sst_core.const import HUB_TOPIC_PREFIX, MQTT_ROOT

# Robots that connect on their own log in to this subtree (docs/mqtt.md, "Security").
ROBOT_TOPIC_PREFIX: Final = f"{MQTT_ROOT}/robots"
PASSWORD_BYTES: Final = 32  # 256 bits: a device password is never typed, only pasted


class DeviceKind(StrEnum):
    """What a broker account belongs to."""

    HUB = "hub"
    ROBOT = "robot"


@dataclass(frozen=True, slots=True)
class DeviceAccount:
    """The broker login of one device: user name = serial, and the subtree it owns."""

    kind: DeviceKind
    serial: str

    @property
    def username(self) -> str:
        """The MQTT user name (the serial, as the device is registered)."""
        return self.serial

    @property
    def rolename(self) -> str:
        """The dynsec role holding this device's ACLs."""
        return f"sst-{self.kind.value}:{self.serial}"

    @property
    def topic_root(self) -> str:
        """The subtree the device may publish and subscribe in (without the trailing /#)."""
        prefix = HUB_TOPIC_PREFIX if self.kind is DeviceKind.HUB else ROBOT_TOPIC_PREFIX
        return f"{prefix}/{self.serial}"


def new_password() -> str:
    """A fresh random device password (URL-safe, 43 characters)."""
    return secrets.token_urlsafe(PASSWORD_BYTES)


def _acls(account: DeviceAccount) -> list[Command]:
    subtree = f"{account.topic_root}/#"
    return [
        {"acltype": acltype, "topic": subtree, "allow": True}
        for acltype in ("publishClientSend", "publishClientReceive", "subscribePattern")
    ]


async def issue_credentials(admin: BrokerAdmin, account: DeviceAccount, password: str) -> None:
    """Create the device's role and login, or give its existing login this new password.

    A new password disconnects a session opened with the old one (the broker kicks it),
    so the old password stops working at once. A login of that name that is not this
    device's (a service account, say) is refused, never taken over.
    """
    role = {"rolename": account.rolename}
    (found,) = await admin.execute(
        [{"command": "getClient", "username": account.username}], check=False
    )
    existing = (found.get("data") or {}).get("client")
    if existing is not None:
        roles = {r.get("rolename") for r in existing.get("roles") or []}
        if roles - {account.rolename} or existing.get("groups"):
            raise BrokerCommandError("createClient", "that user name belongs to another account")
    # The role may exist from an earlier issue; adding what it already has is harmless.
    await admin.execute(
        [
            {"command": "createRole", **role},
            *({"command": "addRoleACL", **role, **acl} for acl in _acls(account)),
        ],
        check=False,
    )
    if existing is None:
        await admin.execute(
            [
                {
                    "command": "createClient",
                    "username": account.username,
                    "password": password,
                    "textname": f"SST {account.kind.value} {account.serial}",
                    "roles": [role],
                }
            ]
        )
        return
    await admin.execute(
        [{"command": "addClientRole", "username": account.username, **role}], check=False
    )
    await admin.execute(
        [
            {"command": "setClientPassword", "username": account.username, "password": password},
            {"command": "enableClient", "username": account.username},
        ]
    )


async def revoke_credentials(admin: BrokerAdmin, account: DeviceAccount) -> None:
    """Delete the device's login and role; a connected device is disconnected at once."""
    responses = await admin.execute(
        [
            {"command": "deleteClient", "username": account.username},
            {"command": "deleteRole", "rolename": account.rolename},
        ],
        check=False,
    )
    for response in responses:
        error = str(response.get("error") or "")
        # Revoking twice is not an error: what matters is that the login is gone.
        if error and "not found" not in error.lower():
            raise BrokerCommandError(str(response.get("command")), error)
