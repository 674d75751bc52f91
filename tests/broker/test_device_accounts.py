"""Per-device security on SST's real broker: each hub and robot only in its own subtree.

Every account here is made the way the backend provisions one (sst_backend.broker). MQTT
3.1.1 refuses a forbidden publish or subscription silently (a PUBACK all the same, a SUBACK
with 0x80 or even 0x01), so these tests assert on what is delivered.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from sst_backend.broker.accounts import (
    DeviceAccount,
    DeviceKind,
    issue_credentials,
    revoke_credentials,
)
from sst_backend.broker.admin import BrokerAdmin, BrokerCommandError
from sst_core.const import hub_topic
from tests.broker.conftest import Provision
from tests.broker.helpers import Device, connect_code
from tests.conftest import MQTT_DEVICES, MQTT_GATEWAY


async def device(username: str, password: str) -> Device:
    """A connected client (connecting blocks, so off the event loop)."""
    return await asyncio.to_thread(Device, username, password)


async def test_a_hub_cannot_publish_into_another_hubs_subtree(provision: Provision) -> None:
    a, a_login = await provision(DeviceKind.HUB)
    b, b_login = await provision(DeviceKind.HUB)
    gateway = await device(MQTT_GATEWAY.username, MQTT_GATEWAY.password)
    hub_a = await device(a_login.username, a_login.password)
    hub_b = await device(b_login.username, b_login.password)
    try:
        assert gateway.subscribe(f"sst/v1/hubs/{b.serial}/#") == [1]
        assert gateway.subscribe(f"sst/v1/hubs/{a.serial}/#") == [1]
        assert hub_b.subscribe(f"sst/v1/hubs/{b.serial}/#") == [1]
        for kind in ("telemetry", "events", "status", "robot/commands"):
            hub_a.publish(hub_topic(b.serial, kind), b"forged by A")
        hub_a.publish(hub_topic(b.serial, "status"), b"forged retained", retain=True)
        hub_a.publish(hub_topic(a.serial, "telemetry"), b"A's own")
        seen = await asyncio.to_thread(gateway.received)
        assert seen == [(hub_topic(a.serial, "telemetry"), b"A's own")]
        assert await asyncio.to_thread(hub_b.received) == []
    finally:
        for client in (gateway, hub_a, hub_b):
            client.close()
    # Nothing A sent was kept as B's retained status either.
    late = await device(MQTT_DEVICES.username, MQTT_DEVICES.password)
    try:
        late.subscribe(hub_topic(b.serial, "status"))
        assert await asyncio.to_thread(late.received) == []
    finally:
        late.close()


async def test_a_hub_listening_widely_hears_nothing_of_another_hub(provision: Provision) -> None:
    a, a_login = await provision(DeviceKind.HUB)
    b, b_login = await provision(DeviceKind.HUB)
    hub_b = await device(b_login.username, b_login.password)
    try:
        # Retained before A even subscribes: a wildcard must not hand it to A either.
        hub_b.publish(hub_topic(b.serial, "status"), b"B online", retain=True)
        hub_a = await device(a_login.username, a_login.password)
        try:
            for topic in (
                "#",
                "+/#",
                "sst/#",
                "sst/v1/hubs/#",
                "sst/v1/hubs/+/telemetry",
                f"sst/v1/hubs/{b.serial}/#",
                f"$share/snoop/sst/v1/hubs/{b.serial}/#",
                "$share/snoop/#",
                "$SYS/#",
                "$CONTROL/dynamic-security/#",
            ):
                hub_a.subscribe(topic)
            assert hub_a.subscribe(f"sst/v1/hubs/{a.serial}/#") == [1]
            hub_b.publish(hub_topic(b.serial, "telemetry"), b"B's reading")
            hub_b.publish(hub_topic(b.serial, "events"), b"B's fall")
            hub_a.publish(hub_topic(a.serial, "events"), b"A's own")
            seen = await asyncio.to_thread(hub_a.received, 1.0)
            assert seen == [(hub_topic(a.serial, "events"), b"A's own")]
        finally:
            hub_a.close()
        hub_b.publish(hub_topic(b.serial, "status"), b"", retain=True)
    finally:
        hub_b.close()


async def test_strangers_wrong_passwords_and_anonymous_clients_cannot_connect(
    provision: Provision,
) -> None:
    a, a_login = await provision(DeviceKind.HUB)
    b, _ = await provision(DeviceKind.HUB)

    def codes() -> list[int]:
        return [
            connect_code(None, None),  # anonymous
            connect_code(f"hub-{uuid.uuid4().hex[:8]}", "whatever"),  # never provisioned
            connect_code(a.username, "not-the-password"),
            connect_code(a.username, ""),
            connect_code(b.username, a_login.password),  # another hub's password
            connect_code(MQTT_GATEWAY.username, a_login.password),
        ]

    assert all(code != 0 for code in await asyncio.to_thread(codes))
    assert await asyncio.to_thread(connect_code, a.username, a_login.password) == 0


async def test_revoking_disconnects_the_hub_and_keeps_it_out(
    provision: Provision, broker_admin: BrokerAdmin
) -> None:
    a, a_login = await provision(DeviceKind.HUB)
    gateway = await device(MQTT_GATEWAY.username, MQTT_GATEWAY.password)
    hub_a = await device(a_login.username, a_login.password)
    try:
        gateway.subscribe(f"sst/v1/hubs/{a.serial}/#")
        started = time.monotonic()
        await revoke_credentials(broker_admin, a)
        assert await asyncio.to_thread(hub_a.dropped.wait, 5), "the revoked hub stayed connected"
        assert time.monotonic() - started < 5
        # Whatever it still sends goes nowhere, and it cannot log in again.
        hub_a.client.publish(hub_topic(a.serial, "telemetry"), b"after revocation", qos=1)
        assert await asyncio.to_thread(connect_code, a_login.username, a_login.password) != 0
        assert await asyncio.to_thread(gateway.received) == []
    finally:
        gateway.close()
        hub_a.close()


async def test_rotating_the_password_ends_the_old_one_at_once(
    provision: Provision, broker_admin: BrokerAdmin
) -> None:
    a, old = await provision(DeviceKind.HUB)
    hub_a = await device(old.username, old.password)
    try:
        await issue_credentials(broker_admin, a, "a-new-password-" + uuid.uuid4().hex)
        assert await asyncio.to_thread(hub_a.dropped.wait, 5), "the old session survived"
    finally:
        hub_a.close()
    assert await asyncio.to_thread(connect_code, old.username, old.password) != 0
    new = "a-newer-password-" + uuid.uuid4().hex
    await issue_credentials(broker_admin, a, new)
    assert await asyncio.to_thread(connect_code, a.username, new) == 0


async def test_a_robot_owns_its_subtree_and_nothing_of_hubs_or_other_robots(
    provision: Provision,
) -> None:
    robot, robot_login = await provision(DeviceKind.ROBOT)
    other, other_login = await provision(DeviceKind.ROBOT)
    hub, hub_login = await provision(DeviceKind.HUB)
    assert robot.topic_root == f"sst/v1/robots/{robot.serial}"
    gateway = await device(MQTT_GATEWAY.username, MQTT_GATEWAY.password)
    me = await device(robot_login.username, robot_login.password)
    neighbour = await device(other_login.username, other_login.password)
    hub_client = await device(hub_login.username, hub_login.password)
    try:
        for topic in ("#", "sst/v1/robots/#", f"sst/v1/hubs/{hub.serial}/#"):
            me.subscribe(topic)
        assert me.subscribe(f"sst/v1/robots/{robot.serial}/#") == [1]
        assert gateway.subscribe("$share/sst-test-robots/sst/v1/robots/+/status") == [1]
        # The gateway sends a command down; the robot reports up; others are shut out.
        gateway.publish(f"sst/v1/robots/{robot.serial}/commands", b"dock")
        neighbour.publish(f"sst/v1/robots/{robot.serial}/commands", b"forged command")
        hub_client.publish(f"sst/v1/robots/{robot.serial}/commands", b"forged by a hub")
        neighbour.publish(f"sst/v1/robots/{other.serial}/status", b"neighbour status")
        hub_client.publish(hub_topic(hub.serial, "telemetry"), b"hub reading")
        me.publish(f"sst/v1/hubs/{hub.serial}/telemetry", b"robot forging a hub")
        me.publish(f"sst/v1/robots/{robot.serial}/status", b"docked")
        mine = await asyncio.to_thread(me.received)
        assert mine == [
            (f"sst/v1/robots/{robot.serial}/commands", b"dock"),
            (f"sst/v1/robots/{robot.serial}/status", b"docked"),
        ]
        statuses = set(await asyncio.to_thread(gateway.received))
        assert (f"sst/v1/robots/{robot.serial}/status", b"docked") in statuses
        assert (f"sst/v1/robots/{other.serial}/status", b"neighbour status") in statuses
    finally:
        for client in (gateway, me, neighbour, hub_client):
            client.close()


async def test_a_device_login_cannot_take_over_a_service_account(
    broker_admin: BrokerAdmin,
) -> None:
    hijack = DeviceAccount(DeviceKind.HUB, MQTT_GATEWAY.username)
    with pytest.raises(BrokerCommandError, match="another account"):
        await issue_credentials(broker_admin, hijack, "hijacked")
    assert await asyncio.to_thread(connect_code, MQTT_GATEWAY.username, "hijacked") != 0
    assert await asyncio.to_thread(connect_code, MQTT_GATEWAY.username, MQTT_GATEWAY.password) == 0
