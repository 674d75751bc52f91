"""docker/mosquitto: the shipped entrypoint, configuration and accounts on a real mosquitto.

The broker runs on free local ports with the container paths rendered to a temporary folder;
everything else (no anonymous access, the dynamic-security plugin denying what no role
grants, the admin's, gateway's and simulator's accounts, the TLS listener) is the shipped
files' own. Hub accounts are provisioned the way the backend does it (sst_backend.broker).
"""

from __future__ import annotations

import asyncio
import os
import queue
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from sst_backend.broker.accounts import DeviceAccount, DeviceKind, issue_credentials
from sst_backend.broker.admin import BrokerAdmin
from tests.deploy.conftest import REPO, require_tool
from tests.ports import free_port

SOURCE = REPO / "docker/mosquitto"
ADMIN_PASSWORD = "admin-" + uuid.uuid4().hex
GATEWAY_PASSWORD = "gateway-" + uuid.uuid4().hex
SIM_PASSWORD = "sim-" + uuid.uuid4().hex
HUB_A, HUB_B = f"DEP-A-{uuid.uuid4().hex[:8]}", f"DEP-B-{uuid.uuid4().hex[:8]}"
HUB_PASSWORD = "hub-" + uuid.uuid4().hex


@dataclass
class Broker:
    """Where the rendered broker listens and keeps its files."""

    root: Path
    plain_port: int
    tls_port: int
    cert: Path


def render(root: Path, plain_port: int, tls_port: int) -> Path:
    """Copy the shipped folder, moving container paths and ports to local ones."""
    config = root / "config"
    shutil.copytree(SOURCE, config)
    text = (config / "mosquitto.conf").read_text()
    for pattern, replacement in (
        (r"/mosquitto/data/", f"{root}/data/"),
        (r"^listener 1883$", f"listener {plain_port} 127.0.0.1"),
        (r"^listener 8883$", f"listener {tls_port} 127.0.0.1"),
        (r"^plugin /usr/lib/mosquitto_dynamic_security.so$", f"plugin {dynsec_plugin()}"),
    ):
        text, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
        assert count, f"mosquitto.conf no longer matches {pattern!r}"
    (config / "mosquitto.conf").write_text(text)
    return config


def dynsec_plugin() -> str:
    """Where this machine's mosquitto keeps the dynamic-security plugin."""
    for found in sorted(Path("/usr/lib").glob("**/mosquitto_dynamic_security.so")):
        return str(found)
    pytest.fail("mosquitto's dynamic-security plugin is not installed", pytrace=False)


def start(broker: Broker, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Run the shipped entrypoint (it writes the accounts, then execs mosquitto)."""
    require_tool("mosquitto", "/usr/sbin/mosquitto")
    for tool in ("mosquitto_ctrl", "mosquitto_rr", "mosquitto_sub"):
        require_tool(tool)
    full_env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "MOSQUITTO_CONFIG_DIR": str(broker.root / "config"),
        "MOSQUITTO_DATA_DIR": str(broker.root / "data"),
        "MOSQUITTO_CERT_DIR": str(broker.cert.parent),
        "MOSQUITTO_BOOTSTRAP_PORT": str(free_port()),
        "MQTT_ADMIN_PASSWORD": ADMIN_PASSWORD,
        **env,
    }
    log = (broker.root / "broker.log").open("ab")
    with log:
        process = subprocess.Popen(
            ["sh", str(broker.root / "config/entrypoint.sh")],
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", broker.tls_port), timeout=1).close()
            return process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait()
                pytest.fail("broker did not start: " + (broker.root / "broker.log").read_text())
            time.sleep(0.1)


def stop(process: subprocess.Popen[bytes]) -> None:
    """End the broker this test started."""
    process.terminate()
    process.wait(timeout=10)


def provision_hubs(broker: Broker, *serials: str) -> None:
    """Give hubs their logins through the admin API, as the backend does."""

    async def run() -> None:
        admin = BrokerAdmin(
            host="127.0.0.1", port=broker.plain_port, username="sst-admin", password=ADMIN_PASSWORD
        )
        async with admin:
            for serial in serials:
                await issue_credentials(admin, DeviceAccount(DeviceKind.HUB, serial), HUB_PASSWORD)

    asyncio.run(run())


@pytest.fixture(scope="module")
def broker(dev_cert: Path) -> Iterator[Broker]:
    """The shipped broker, with two hubs provisioned through its admin API."""
    # mosquitto drops root for its own user, which must reach these files: a world-traversable
    # folder, not pytest's private one.
    root = Path(tempfile.mkdtemp(prefix="sst-mosquitto-"))
    root.chmod(0o755)
    plain_port, tls_port = free_port(), free_port()
    config = render(root, plain_port, tls_port)
    for path in (config, *config.iterdir()):
        path.chmod(0o755 if path.is_dir() else 0o644)
    state = Broker(root, plain_port, tls_port, dev_cert / "fullchain.pem")
    process = start(
        state, {"MQTT_GATEWAY_PASSWORD": GATEWAY_PASSWORD, "MQTT_SIM_PASSWORD": SIM_PASSWORD}
    )
    try:
        provision_hubs(state, HUB_A, HUB_B)
        yield state
    finally:
        stop(process)
        shutil.rmtree(root, ignore_errors=True)


def close(client: mqtt.Client) -> None:
    """Disconnect, stop the network thread and close paho's wake-up sockets."""
    client.disconnect()
    client.loop_stop()
    # paho-mqtt 2.1 leaves the socket pair of loop_start() open until garbage collection,
    # which warnings-as-errors reports in whichever test happens to collect it.
    client._reset_sockets(sockpair_only=True)


def connect_code(
    broker: Broker, username: str | None, password: str | None, *, tls: bool = False
) -> int:
    """The CONNACK reason code the broker gives these credentials (0 is accepted)."""
    codes: queue.Queue[int] = queue.Queue()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"dep-{uuid.uuid4().hex}")
    if username is not None:
        client.username_pw_set(username, password)
    if tls:
        client.tls_set(ca_certs=str(broker.cert), cert_reqs=ssl.CERT_REQUIRED)
    client.on_connect = lambda c, u, f, reason, p: codes.put(reason.value)
    port = broker.tls_port if tls else broker.plain_port
    client.connect("localhost" if tls else "127.0.0.1", port, keepalive=10)
    client.loop_start()
    try:
        return codes.get(timeout=10)
    finally:
        close(client)


class Session:
    """A logged-in client that collects what it receives."""

    def __init__(self, broker: Broker, username: str, password: str) -> None:
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.granted: queue.Queue[list[int]] = queue.Queue()
        connected: queue.Queue[int] = queue.Queue()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"dep-{uuid.uuid4().hex}"
        )
        self.client.username_pw_set(username, password)
        self.client.on_connect = lambda c, u, f, reason, p: connected.put(reason.value)
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic, bytes(m.payload)))
        self.client.on_subscribe = lambda c, u, mid, codes, p: self.granted.put(
            [code.value for code in codes]
        )
        self.client.connect("127.0.0.1", broker.plain_port, keepalive=10)
        self.client.loop_start()
        assert connected.get(timeout=10) == 0

    def subscribe(self, topic: str) -> list[int]:
        """Subscribe and return the reason codes of the SUBACK."""
        self.client.subscribe(topic, qos=1)
        return self.granted.get(timeout=10)

    def publish(self, topic: str, payload: bytes) -> None:
        """Publish at QoS 1 and wait for the broker's acknowledgement."""
        self.client.publish(topic, payload, qos=1).wait_for_publish(timeout=10)

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        close(self.client)


def test_anonymous_clients_are_refused(broker: Broker) -> None:
    assert connect_code(broker, None, None) != 0


def test_wrong_password_is_refused(broker: Broker) -> None:
    assert connect_code(broker, "sst-gateway", "not-the-password") != 0
    assert connect_code(broker, HUB_A, "not-the-password") != 0


def test_service_and_provisioned_hub_accounts_log_in(broker: Broker) -> None:
    assert connect_code(broker, "sst-admin", ADMIN_PASSWORD) == 0
    assert connect_code(broker, "sst-gateway", GATEWAY_PASSWORD) == 0
    assert connect_code(broker, "sst-sim", SIM_PASSWORD) == 0
    assert connect_code(broker, HUB_A, HUB_PASSWORD) == 0


def test_hubs_connect_over_tls_with_the_proxy_certificate(broker: Broker) -> None:
    assert connect_code(broker, HUB_A, HUB_PASSWORD, tls=True) == 0


def test_a_hub_reaches_the_gateway_only_through_its_own_topics(broker: Broker) -> None:
    gateway = Session(broker, "sst-gateway", GATEWAY_PASSWORD)
    hub_a = Session(broker, HUB_A, HUB_PASSWORD)
    try:
        # The gateway's own subscription: shared, so several gateways split the hubs.
        assert gateway.subscribe("$share/sst-gateways/sst/v1/hubs/+/telemetry") == [1]
        hub_a.publish(f"sst/v1/hubs/{HUB_B}/telemetry", b"forged")
        hub_a.publish(f"sst/v1/hubs/{HUB_A}/telemetry", b"own")
        topic, payload = gateway.messages.get(timeout=10)
        # The forged message, sent first, was dropped: the first to arrive is the hub's own.
        assert (topic, payload) == (f"sst/v1/hubs/{HUB_A}/telemetry", b"own")
        time.sleep(0.3)
        assert gateway.messages.empty()
    finally:
        gateway.close()
        hub_a.close()


def test_a_hub_cannot_listen_to_another_hub(broker: Broker) -> None:
    hub_a = Session(broker, HUB_A, HUB_PASSWORD)
    hub_b = Session(broker, HUB_B, HUB_PASSWORD)
    try:
        # MQTT 3.1.1 denies a subscription quietly (SUBACK 0x80): what counts is delivery.
        for topic in ("#", "sst/v1/hubs/#", f"sst/v1/hubs/{HUB_B}/#", "$share/x/sst/v1/hubs/#"):
            hub_a.subscribe(topic)
        hub_a.subscribe(f"sst/v1/hubs/{HUB_A}/#")
        hub_b.publish(f"sst/v1/hubs/{HUB_B}/events", b"not for hub A")
        hub_a.publish(f"sst/v1/hubs/{HUB_A}/events", b"own")
        assert hub_a.messages.get(timeout=10) == (f"sst/v1/hubs/{HUB_A}/events", b"own")
        time.sleep(0.3)
        assert hub_a.messages.empty()
    finally:
        hub_a.close()
        hub_b.close()


def test_the_gateway_sends_commands_down_to_a_hub(broker: Broker) -> None:
    gateway = Session(broker, "sst-gateway", GATEWAY_PASSWORD)
    hub_a = Session(broker, HUB_A, HUB_PASSWORD)
    try:
        topic = f"sst/v1/hubs/{HUB_A}/robot/commands"
        assert hub_a.subscribe(topic) == [1]
        gateway.publish(topic, b"dock")
        assert hub_a.messages.get(timeout=10) == (topic, b"dock")
    finally:
        gateway.close()
        hub_a.close()


def test_without_a_sim_password_the_sim_account_is_gone(broker: Broker) -> None:
    # A second broker on a copy of the first one's data: a production start after a demo.
    root = Path(tempfile.mkdtemp(prefix="sst-mosquitto-"))
    root.chmod(0o755)
    try:
        plain_port, tls_port = free_port(), free_port()
        render(root, plain_port, tls_port)
        for path in (root / "config", *(root / "config").iterdir()):
            path.chmod(0o755 if path.is_dir() else 0o644)
        (root / "data").mkdir()
        shutil.copy2(broker.root / "data/dynsec.json", root / "data/dynsec.json")
        second = Broker(root, plain_port, tls_port, broker.cert)
        process = start(second, {"MQTT_GATEWAY_PASSWORD": GATEWAY_PASSWORD})
        try:
            assert connect_code(second, "sst-sim", SIM_PASSWORD) != 0
            # Hub logins the backend made survive the restart; the service accounts work.
            assert connect_code(second, HUB_A, HUB_PASSWORD) == 0
            assert connect_code(second, "sst-gateway", GATEWAY_PASSWORD) == 0
            dynsec = (root / "data/dynsec.json").read_text()
            assert '"sst-sim"' not in dynsec
            assert oct((root / "data/dynsec.json").stat().st_mode & 0o777) == "0o600"
        finally:
            stop(process)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("missing", ["MQTT_ADMIN_PASSWORD", "MQTT_GATEWAY_PASSWORD"])
def test_entrypoint_refuses_to_start_without_a_service_password(
    tmp_path: Path, missing: str
) -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "MOSQUITTO_DATA_DIR": str(tmp_path),
        "MQTT_ADMIN_PASSWORD": "admin",
        "MQTT_GATEWAY_PASSWORD": "gateway",
    }
    del env[missing]
    result = subprocess.run(
        ["sh", str(SOURCE / "entrypoint.sh")], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode != 0
    assert missing in result.stderr
