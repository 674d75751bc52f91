"""docker/<service>.Dockerfile: one per service, built from the frozen lock, run unprivileged.

Without a Docker engine here, the build stage's COPY steps are replayed into a folder and
its `uv sync` steps run there as written: the lock and the workspace must really install
the service, its entry point and its data files from exactly what the Dockerfile copies.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.deploy.conftest import REPO, require_tool

# Dockerfile name -> (workspace package, its folder)
SERVICES = {
    "backend": ("sst-backend", "backend"),
    "hub_gateway": ("sst-hub-gateway", "hub_gateway"),
    "ai_inference": ("sst-ai-inference", "ai_inference"),
    "ai_training": ("sst-ai-training", "ai_training"),
    "devices": ("sst-devices", "devices"),
}
VENV = "/app/.venv"


@dataclass
class Stage:
    """One FROM ... of a Dockerfile with its instructions."""

    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        """Arguments of every instruction with this keyword, in order."""
        return [args for key, args in self.instructions if key == keyword]


def parse(path: Path) -> list[Stage]:
    """The stages of a Dockerfile (continuation lines joined, comments dropped)."""
    logical: list[str] = []
    pending = ""
    for line in path.read_text().splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        logical.append(pending.strip())
        pending = ""
    stages: list[Stage] = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            base, _, name = args.partition(" AS ")
            stages.append(Stage(base.strip(), name.strip() or None))
        elif stages:
            stages[-1].instructions.append((keyword, args.strip()))
    return stages


def dockerfile(service: str) -> Path:
    """Path of a service's Dockerfile."""
    return REPO / "docker" / f"{service}.Dockerfile"


def uv_syncs(stage: Stage) -> list[list[str]]:
    """The `uv sync` commands a stage runs, as argument lists."""
    commands = []
    for run in stage.all("RUN"):
        for part in re.split(r"&&|;", run):
            words = [w for w in shlex.split(part) if not w.startswith("--mount=")]
            if words[:2] == ["uv", "sync"]:
                commands.append(words)
    return commands


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_runs_as_an_unprivileged_user(service: str) -> None:
    final = parse(dockerfile(service))[-1]
    users = final.all("USER")
    assert users, f"{service} runs as root"
    assert users[-1].split(":")[0] not in {"root", "0"}
    keywords = [key for key, _ in final.instructions]
    last_user = len(keywords) - 1 - keywords[::-1].index("USER")
    assert "CMD" in keywords[last_user:], "CMD must come after USER"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_installs_from_the_frozen_lock_without_dev_tools(service: str) -> None:
    package, _ = SERVICES[service]
    stages = parse(dockerfile(service))
    build = next(stage for stage in stages if uv_syncs(stage))
    syncs = uv_syncs(build)
    assert syncs, f"{service} does not install with uv sync"
    for command in syncs:
        assert "--frozen" in command or "--locked" in command, command
        assert "--no-dev" in command, command
        assert command[command.index("--package") + 1] == package, command
    copies = " ".join(build.all("COPY"))
    assert "uv.lock" in copies
    first_sync = next(i for i, (k, a) in enumerate(build.instructions) if "uv sync" in a)
    lock_copy = next(i for i, (k, a) in enumerate(build.instructions) if "uv.lock" in a)
    assert lock_copy < first_sync
    # uv comes from its official image, not from a script piped off the network.
    assert any(stage.base.startswith("ghcr.io/astral-sh/uv:") for stage in stages)
    assert not re.search(r"curl|wget", dockerfile(service).read_text())


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_final_image_holds_only_the_environment(service: str) -> None:
    stages = parse(dockerfile(service))
    build, final = stages[-2], stages[-1]
    env = " ".join(build.all("ENV"))
    assert f"UV_PROJECT_ENVIRONMENT={VENV}" in env
    copies = final.all("COPY")
    assert copies == [f"--from={build.name} {VENV} {VENV}"]
    assert f"PATH={VENV}/bin:$PATH" in " ".join(final.all("ENV"))
    assert any("--no-editable" in command for command in uv_syncs(build))


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_command_is_the_package_entry_point(service: str) -> None:
    package, folder = SERVICES[service]
    manifest = tomllib.loads((REPO / folder / "pyproject.toml").read_text())
    assert manifest["project"]["name"] == package
    scripts = set(manifest["project"]["scripts"])
    final = parse(dockerfile(service))[-1]
    command = shlex.split(final.all("CMD")[-1].strip("[]").replace(",", " "))
    assert command[0] in scripts


def test_backend_image_checks_its_health() -> None:
    final = parse(dockerfile("backend"))[-1]
    healthchecks = final.all("HEALTHCHECK")
    assert healthchecks and "http://127.0.0.1:8000/health" in healthchecks[-1]
    env = " ".join(final.all("ENV"))
    assert "SST_HOST=0.0.0.0" in env
    assert final.all("EXPOSE") == ["8000"]


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_build_context_is_limited_to_what_the_image_needs(service: str) -> None:
    ignore = dockerfile(service).with_name(f"{service}.Dockerfile.dockerignore")
    rules = [
        line.strip()
        for line in ignore.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules[0] == "*", "exclude everything, then allow what the build copies"
    allowed = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    assert allowed == {"pyproject.toml", "uv.lock", "*/pyproject.toml", "core", service}
    assert "**/__pycache__" in rules


def replay_build(service: str, context: Path, venv: Path) -> list[subprocess.CompletedProcess[str]]:
    """Apply the build stage's COPY steps in `context` and run each `uv sync` there."""
    uv = require_tool("uv")
    build = parse(dockerfile(service))[-2]
    env = {
        k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT"}
    }
    env.update(UV_PROJECT_ENVIRONMENT=str(venv), UV_PYTHON_DOWNLOADS="never")
    results = []
    for keyword, args in build.instructions:
        if keyword == "COPY" and not args.startswith("--from"):
            *sources, destination = shlex.split(args)
            for source in sources:
                origin = REPO / source
                target = context / destination
                if origin.is_dir():
                    shutil.copytree(
                        origin,
                        target,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
                        dirs_exist_ok=True,  # Docker merges into what an earlier COPY made
                    )
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(origin, target if not destination.endswith("/") else context)
        elif keyword == "RUN":
            for command in uv_syncs(Stage("", None, [(keyword, args)])):
                results.append(
                    subprocess.run(
                        [uv, *command[1:]],
                        cwd=context,
                        env=env,
                        capture_output=True,
                        text=True,
                        timeout=300,
                    )
                )
    return results


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_build_steps_install_the_service_from_the_lock(service: str, tmp_path: Path) -> None:
    package, folder = SERVICES[service]
    context, venv = tmp_path / "src", tmp_path / "venv"
    context.mkdir()
    try:
        dependencies, workspace = replay_build(service, context, venv)
        assert dependencies.returncode == 0, dependencies.stderr
        assert workspace.returncode == 0, workspace.stderr
        # The dependency layer needs no project code: it installs no workspace package.
        assert "+ sst-" not in dependencies.stderr
        assert f"+ {package}==" in workspace.stderr
        assert "+ sst-core==" in workspace.stderr
        installed = {path.name.split("-")[0] for path in venv.glob("lib/python*/site-packages/*")}
        assert not installed & {"pytest", "ruff", "mypy"}, "dev tools in the image"
        # Installed, not linked to the build folder: the image drops /src.
        shutil.rmtree(context)
        command = shlex.split(
            parse(dockerfile(service))[-1].all("CMD")[-1].strip("[]").replace(",", " ")
        )
        assert (venv / "bin" / command[0]).is_file()
        assert (venv / "bin/sst-db").is_file()
        module = folder if folder.startswith("sst_") else "sst_" + folder
        check = subprocess.run(
            [str(venv / "bin/python"), "-c",
             f"import {module}, sst_core.migrations, pathlib; "
             "print(pathlib.Path(sst_core.migrations.__file__).parent)"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert check.returncode == 0, check.stderr
        migrations = Path(check.stdout.strip())
        assert migrations.is_relative_to(venv), "sst_core must be installed, not editable"
        assert (migrations / "env.py").is_file() and any((migrations / "versions").glob("*.py"))
    finally:
        shutil.rmtree(venv, ignore_errors=True)
