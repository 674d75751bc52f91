"""Real per-device broker accounts, made and removed through the backend's admin client."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from sst_backend.broker.accounts import (
    DeviceAccount,
    DeviceKind,
    issue_credentials,
    new_password,
    revoke_credentials,
)
from sst_backend.broker.admin import BrokerAdmin
from tests.broker_accounts import Login
from tests.conftest import MQTT_ADMIN, MQTT_HOST, MQTT_PORT

Provision = Callable[[DeviceKind], Awaitable[tuple[DeviceAccount, Login]]]


@pytest.fixture
async def broker_admin() -> AsyncIterator[BrokerAdmin]:
    """An admin session on the test broker."""
    admin = BrokerAdmin(
        host=MQTT_HOST, port=MQTT_PORT, username=MQTT_ADMIN.username, password=MQTT_ADMIN.password
    )
    async with admin:
        yield admin


@pytest.fixture
async def provision(broker_admin: BrokerAdmin) -> AsyncIterator[Provision]:
    """Make a device account with a fresh serial; every one made is revoked at the end."""
    made: list[DeviceAccount] = []

    async def make(kind: DeviceKind = DeviceKind.HUB) -> tuple[DeviceAccount, Login]:
        account = DeviceAccount(kind, f"sec-{kind.value}-{uuid.uuid4().hex[:10]}")
        password = new_password()
        await issue_credentials(broker_admin, account, password)
        made.append(account)
        return account, Login(account.username, password)

    yield make
    for account in made:
        await revoke_credentials(broker_admin, account)
