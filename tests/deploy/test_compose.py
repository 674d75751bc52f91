"""docker-compose.yml: it parses, runs every part of the system, and keeps secrets out."""

from __future__ import annotations

import importlib
import importlib.util
import ipaddress
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from tests.deploy.conftest import REPO, REQUIRED_SECRETS

COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / "docker/sst.env.example"
DEPLOYMENT_DOC = REPO / "docs/deployment.md"

STORES = {"postgres", "redis", "mosquitto", "coturn", "nginx", "minio", "minio-setup"}
SST_SERVICES = {"migrate", "backend", "hub_gateway", "ai_inference", "ai_training"}
DEMO = {"simulator", "demo-seed"}
APP_SERVICES = {"backend", "hub_gateway", "ai_inference", "ai_training", "simulator", "demo-seed"}
# Only these face the outside world: the proxy, the broker's TLS listener, the TURN relay.
PUBLISHED = {"nginx", "mosquitto", "coturn"}

# Settings the brief of this deployment names whose services may not declare them yet
# (TURN credentials in the backend, object storage in training/inference). Every other
# SST_* variable must be a field of a settings class in the workspace.
AGREED_SETTINGS = {
    "SST_TURN_SECRET",
    "SST_TURN_URLS",
    "SST_S3_ENDPOINT_URL",
    "SST_S3_BUCKET",
    "SST_S3_ACCESS_KEY_ID",
    "SST_S3_SECRET_ACCESS_KEY",
}
PACKAGES = (
    "sst_core",
    "sst_backend",
    "sst_hub_gateway",
    "sst_ai_inference",
    "sst_ai_training",
    "sst_devices",
)


def compose_command() -> list[str]:
    """`docker compose` when the plugin is there, else Debian's `docker-compose` 1.29."""
    try:
        probe = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, text=True, timeout=30
        )
        if probe.returncode == 0:
            return ["docker", "compose"]
    except FileNotFoundError:
        pass
    try:
        subprocess.run(["docker-compose", "version"], capture_output=True, timeout=30, check=True)
        return ["docker-compose"]
    except (FileNotFoundError, subprocess.CalledProcessError):
        pytest.fail(
            "neither `docker compose` nor `docker-compose` is installed; "
            "scripts/setup-system.sh installs the docker-compose package",
            pytrace=False,
        )


def run_config(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`compose config` on the real file with exactly `env` as its .env, all profiles on."""
    env_file = tmp_path / "compose.env"
    env_file.write_text("".join(f"{key}={value}\n" for key, value in env.items()))
    command = [*compose_command(), "--env-file", str(env_file), "-f", str(COMPOSE_FILE)]
    # A clean environment: a developer's shell must not fill in what .env lacks.
    process_env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "COMPOSE_PROFILES": "demo,training,scale",
    }
    return subprocess.run(
        [*command, "config", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=process_env,
        timeout=120,
    )


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The file as compose resolves it, with throwaway secrets."""
    result = run_config(tmp_path_factory.mktemp("compose"), REQUIRED_SECRETS)
    assert result.returncode == 0, result.stderr
    loaded: dict[str, Any] = yaml.safe_load(result.stdout)
    return loaded


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    """The file as written, before interpolation."""
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a mapping, whichever form the file uses."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def test_config_validates_quietly(tmp_path: Path) -> None:
    result = run_config(tmp_path, REQUIRED_SECRETS, "-q")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("secret", sorted(REQUIRED_SECRETS))
def test_missing_secret_stops_compose(tmp_path: Path, secret: str) -> None:
    env = {key: value for key, value in REQUIRED_SECRETS.items() if key != secret}
    result = run_config(tmp_path, env, "-q")
    assert result.returncode != 0, f"compose ran without {secret}"
    assert secret in result.stderr


def test_example_env_lists_every_required_secret_and_fills_none(tmp_path: Path) -> None:
    text = COMPOSE_FILE.read_text()
    required = set(re.findall(r"\$\{(\w+):\?", text))
    assert required == set(REQUIRED_SECRETS)
    example = dict(
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert required <= set(example)
    # Shipped as is, the example must not start a system with known passwords.
    result = run_config(tmp_path, example, "-q")
    assert result.returncode != 0


def test_every_part_of_the_system_is_a_service(config: dict[str, Any]) -> None:
    assert set(config["services"]) >= STORES | SST_SERVICES | DEMO


def test_demo_and_training_are_profiles(config: dict[str, Any]) -> None:
    services = config["services"]
    assert services["simulator"]["profiles"] == ["demo"]
    assert services["demo-seed"]["profiles"] == ["demo"]
    assert "profiles" in services["ai_training"]
    for name in STORES | SST_SERVICES - {"ai_training"}:
        assert not services[name].get("profiles"), f"{name} would not start with `up`"


def test_the_scale_profile_runs_two_of_each_service_behind_the_proxy(
    config: dict[str, Any],
) -> None:
    services = config["services"]
    pairs = {
        "backend": "backend-2",
        "hub_gateway": "hub_gateway-2",
        "ai_inference": "ai_inference-2",
    }
    for first, second in pairs.items():
        assert services[second]["profiles"] == ["scale"], second
        assert services[second]["image"] == services[first]["image"], second
    # nginx reaches both backends under the one upstream name.
    aliases = services["backend-2"]["networks"]["default"]["aliases"]
    assert "backend" in aliases
    assert "server backend:8000" in (REPO / "proxy/nginx.conf").read_text()
    # Two gateways, two session identities; two workers, two consumer names.
    gateways = [environment(services[n]) for n in ("hub_gateway", "hub_gateway-2")]
    assert len({g["SST_MQTT_CLIENT_ID"] for g in gateways}) == 2
    workers = [environment(services[n]) for n in ("ai_inference", "ai_inference-2")]
    assert len({w["SST_INFERENCE_CONSUMER_NAME"] for w in workers}) == 2


def test_images_are_the_repository_dockerfiles(config: dict[str, Any]) -> None:
    built = {
        name: service["build"]["dockerfile"]
        for name, service in config["services"].items()
        if "build" in service
    }
    assert built["backend"] == built["migrate"] == "docker/backend.Dockerfile"
    assert built["hub_gateway"] == "docker/hub_gateway.Dockerfile"
    assert built["ai_inference"] == "docker/ai_inference.Dockerfile"
    assert built["ai_training"] == "docker/ai_training.Dockerfile"
    assert built["simulator"] == "docker/devices.Dockerfile"
    for dockerfile in built.values():
        assert (REPO / dockerfile).is_file()


def test_migrate_is_a_one_shot_the_services_wait_for(config: dict[str, Any]) -> None:
    services = config["services"]
    migrate = services["migrate"]
    assert migrate["command"] == ["sst-db", "setup"]
    assert environment(migrate)["SST_DATABASE_ADMIN_URL"].startswith("postgresql://postgres:")
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in APP_SERVICES:
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", name
    # Only the one-shot holds the superuser's URL.
    for name, service in services.items():
        if name != "migrate":
            assert "SST_DATABASE_ADMIN_URL" not in environment(service), name


def test_every_awaited_health_has_a_healthcheck(config: dict[str, Any]) -> None:
    services = config["services"]
    awaited = {
        target
        for service in services.values()
        for target, rule in (service.get("depends_on") or {}).items()
        if rule.get("condition") == "service_healthy"
    }
    assert {"postgres", "redis", "mosquitto", "minio", "backend"} <= awaited
    for target in awaited:
        assert services[target].get("healthcheck", {}).get("test"), target
    assert services["nginx"]["depends_on"]["backend"]["condition"] == "service_healthy"


def test_the_simulator_publishes_once_the_gateway_is_subscribed(config: dict[str, Any]) -> None:
    # What hubs publish before the gateway's first subscription is lost: the demo's hubs
    # wait for the gateway's /ready (200 once subscribed), which its health check probes.
    services = config["services"]
    assert services["simulator"]["depends_on"]["hub_gateway"]["condition"] == "service_healthy"
    probe = " ".join(services["hub_gateway"]["healthcheck"]["test"])
    assert "http://127.0.0.1:9464/ready" in probe
    assert environment(services["hub_gateway"])["SST_METRICS_HOST"] == "0.0.0.0"
    procfile = (REPO / "Procfile").read_text()
    [simulator] = [line for line in procfile.splitlines() if line.startswith("simulator:")]
    assert '--wait-for "http://127.0.0.1:${SST_METRICS_PORT:-9464}/ready"' in simulator


def test_minio_bucket_is_made_before_services_use_it(config: dict[str, Any]) -> None:
    services = config["services"]
    assert services["minio-setup"]["depends_on"]["minio"]["condition"] == "service_healthy"
    for name in ("backend", "ai_inference", "ai_training"):
        env = environment(services[name])
        assert env["SST_S3_ENDPOINT_URL"] == "http://minio:9000"
        rule = services[name]["depends_on"]["minio-setup"]
        assert rule["condition"] == "service_completed_successfully"
    setup = environment(services["minio-setup"])
    assert setup["SST_S3_ACCESS_KEY_ID"] == environment(services["backend"])["SST_S3_ACCESS_KEY_ID"]
    assert (REPO / "docker/minio/setup.sh").is_file()


def test_only_the_edge_is_published_on_the_host(config: dict[str, Any]) -> None:
    services = config["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == PUBLISHED
    nginx_targets = {int(port["target"]) for port in services["nginx"]["ports"]}
    assert nginx_targets == {80, 443}
    assert {int(port["target"]) for port in services["mosquitto"]["ports"]} == {8883}
    assert "network_mode" not in services["backend"]


def test_no_service_uses_anonymous_mqtt(config: dict[str, Any]) -> None:
    services = config["services"]
    clients = {name for name, s in services.items() if "SST_MQTT_HOST" in environment(s)}
    assert clients >= {"hub_gateway", "simulator", "backend"}
    logins = (
        ("SST_MQTT_USERNAME", "SST_MQTT_PASSWORD"),
        ("SST_MQTT_ADMIN_USERNAME", "SST_MQTT_ADMIN_PASSWORD"),
    )
    for name in clients:
        env = environment(services[name])
        assert any(env.get(user) and password in env for user, password in logins), name
    assert environment(services["hub_gateway"])["SST_MQTT_PASSWORD"] == "gateway-secret-1"
    # The backend provisions hub logins as the broker admin the broker itself was given.
    admin = environment(services["backend"])
    assert admin["SST_MQTT_ADMIN_USERNAME"] == "sst-admin"
    assert admin["SST_MQTT_ADMIN_PASSWORD"] == "mqtt-admin-secret-1"
    assert environment(services["mosquitto"])["MQTT_ADMIN_PASSWORD"] == "mqtt-admin-secret-1"
    conf = (REPO / "docker/mosquitto/mosquitto.conf").read_text()
    directives = [line.split() for line in conf.splitlines() if line.strip() and line[0] != "#"]
    assert ["allow_anonymous", "false"] in directives
    assert ["per_listener_settings", "false"] in directives
    assert not any(d[0] == "allow_anonymous" and d[1] != "false" for d in directives)
    # One source of accounts: the dynamic-security plugin, its file in the data volume.
    plugins = [d[1] for d in directives if d[0] == "plugin"]
    assert len(plugins) == 1 and plugins[0].endswith("/mosquitto_dynamic_security.so")
    assert ["plugin_opt_config_file", "/mosquitto/data/dynsec.json"] in directives
    assert not any(d[0] in {"password_file", "acl_file", "psk_file"} for d in directives)
    volumes = " ".join(str(v) for v in services["mosquitto"]["volumes"])
    assert "docker/mosquitto" in volumes
    assert "mosquitto-data:/mosquitto/data" in volumes


def test_broker_denies_whatever_no_role_grants() -> None:
    script = (REPO / "docker/mosquitto/accounts.sh").read_text()
    for acltype in ("publishClientSend", "publishClientReceive", "subscribe"):
        assert f'{{"acltype":"{acltype}","allow":false}}' in script, acltype
    # No service role is granted the whole broker; hubs get their own role per serial.
    grants = re.findall(r"acl \w+ ['\"]?([^'\";]+)", script)
    assert grants and not [topic for topic in grants if topic in {"#", "+/#", "$share/+/#"}]


def test_turn_uses_shared_secret_credentials_only(config: dict[str, Any]) -> None:
    conf = (REPO / "docker/turn/turnserver.conf").read_text()
    options = [line.strip() for line in conf.splitlines() if line.strip() and line[0] != "#"]
    names = {option.split("=", 1)[0] for option in options}
    assert "use-auth-secret" in names
    assert "realm" in names
    assert not names & {"no-auth", "static-auth-secret", "user", "lt-cred-mech"}
    command = config["services"]["coturn"]["command"]
    assert "--static-auth-secret=turn-secret-1" in command
    backend_env = environment(config["services"]["backend"])
    assert backend_env["SST_TURN_SECRET"] == "turn-secret-1"


def test_turn_refuses_to_relay_into_private_networks() -> None:
    conf = (REPO / "docker/turn/turnserver.conf").read_text()
    denied = []
    for line in conf.splitlines():
        if line.startswith("denied-peer-ip="):
            low, _, high = line.split("=", 1)[1].partition("-")
            denied.append((ipaddress.ip_address(low), ipaddress.ip_address(high or low)))
    for probe in ("10.1.2.3", "127.0.0.1", "169.254.169.254", "172.17.0.1", "192.168.1.10",
                  "100.64.0.1", "0.0.0.0", "::1", "fd00::1", "fe80::1"):  # fmt: skip
        address = ipaddress.ip_address(probe)
        assert any(
            low.version == address.version and low <= address <= high  # type: ignore[operator]
            for low, high in denied
        ), probe
    assert not [line for line in conf.splitlines() if line.startswith("allowed-peer-ip")]


def test_turn_relay_ports_match_what_compose_publishes(config: dict[str, Any]) -> None:
    conf = dict(
        line.split("=", 1)
        for line in (REPO / "docker/turn/turnserver.conf").read_text().splitlines()
        if line[:1].isalpha() and "=" in line
    )
    relay = range(int(conf["min-port"]), int(conf["max-port"]) + 1)
    udp = set()
    for port in config["services"]["coturn"]["ports"]:
        if port.get("protocol") == "udp":
            published = str(port["published"])
            low, _, high = published.partition("-")
            udp |= set(range(int(low), int(high or low) + 1))
    assert set(relay) <= udp
    assert 3478 in udp


def test_no_secret_is_written_into_the_file(raw: dict[str, Any]) -> None:
    secretish = re.compile(r"PASSWORD|SECRET|ACCESS_KEY|TOKEN", re.IGNORECASE)
    for name, service in raw["services"].items():
        for key, value in environment(service).items():
            if secretish.search(key):
                assert value == "" or "${" in value, f"{name}.{key} is hard-coded"
            for password in re.findall(r"://[^:/@]+:([^@]+)@", value):
                assert password.startswith("${"), f"{name}.{key} embeds a password"
        for arg in service.get("command") or []:
            if secretish.search(str(arg).split("=", 1)[0]):
                assert "${" in str(arg), f"{name} command has a literal secret"


@cache
def declared_settings() -> frozenset[str]:
    """Environment names of every pydantic-settings field declared in the workspace."""
    names: set[str] = set()
    for package in PACKAGES:
        spec = importlib.util.find_spec(package)
        assert spec is not None and spec.origin is not None, package
        root = Path(spec.origin).parent
        for path in root.rglob("*.py"):
            if not re.search(r"^class \w+\(.*Settings\)", path.read_text(), re.MULTILINE):
                continue
            parts = path.relative_to(root.parent).with_suffix("").parts
            module = importlib.import_module(".".join(parts))
            for value in vars(module).values():
                if isinstance(value, type) and issubclass(value, BaseSettings):
                    prefix = str(value.model_config.get("env_prefix", ""))
                    names.update((prefix + field).upper() for field in value.model_fields)
                    # Fields read under an alias (AliasChoices) answer to those names too.
                    for info in value.model_fields.values():
                        alias = info.validation_alias
                        choices = getattr(alias, "choices", [alias] if alias else [])
                        names.update(c.upper() for c in choices if isinstance(c, str))
    return frozenset(names)


def test_settings_discovery_sees_the_core_settings() -> None:
    assert {
        "SST_DATABASE_URL",
        "SST_DATABASE_ADMIN_URL",
        "SST_MQTT_PASSWORD",
    } <= declared_settings()


def test_every_sst_variable_compose_sets_is_known(config: dict[str, Any]) -> None:
    used = {
        key
        for service in config["services"].values()
        for key in environment(service)
        if key.startswith("SST_")
    }
    used |= set(re.findall(r"\$\{(SST_\w+?)[:}]", COMPOSE_FILE.read_text()))
    assert "SST_DATABASE_URL" in used
    unknown = used - declared_settings() - AGREED_SETTINGS
    assert not unknown, f"no service reads {sorted(unknown)}"


def test_deployment_doc_names_every_variable_an_operator_sets() -> None:
    doc = DEPLOYMENT_DOC.read_text()
    interpolated = set(re.findall(r"\$\{(\w+)", COMPOSE_FILE.read_text()))
    missing = sorted(name for name in interpolated if name not in doc)
    assert not missing, f"docs/deployment.md does not mention {missing}"


def test_turn_over_tls_is_published_and_handed_out(config: dict[str, Any]) -> None:
    conf = dict(
        line.split("=", 1)
        for line in (REPO / "docker/turn/turnserver.conf").read_text().splitlines()
        if line[:1].isalpha() and "=" in line
    )
    coturn = config["services"]["coturn"]
    tcp = {int(port["target"]) for port in coturn["ports"] if port.get("protocol", "tcp") == "tcp"}
    assert int(conf["tls-listening-port"]) in tcp
    mounts = {
        volume["target"] if isinstance(volume, dict) else str(volume).split(":")[1]
        for volume in coturn["volumes"]
    }
    assert conf["cert"].startswith("/certs/") and conf["pkey"].startswith("/certs/")
    assert "/certs" in mounts
    urls = config["services"]["backend"]["environment"]["SST_TURN_URLS"]
    assert f"turns:localhost:{conf['tls-listening-port']}?transport=tcp" in urls
