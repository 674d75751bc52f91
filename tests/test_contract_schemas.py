"""docs/schemas is generated from the contract models and stays in step with them."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from pydantic import ValidationError

from sst_core.contract_schemas import CONTRACT, render, schemas

SCHEMAS = Path(__file__).resolve().parents[1] / "docs" / "schemas"
REGENERATE = "regenerate with `uv run python -m sst_core.contract_schemas`"


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_schema_file_matches_the_model(name: str) -> None:
    path = SCHEMAS / f"{name}.schema.json"
    assert path.exists(), f"{path} is missing: {REGENERATE}"
    assert path.read_bytes() == render(schemas()[name]), f"{path} is stale: {REGENERATE}"


def test_no_schema_file_without_a_model() -> None:
    files = {p.name for p in SCHEMAS.glob("*.schema.json")}
    assert files == {f"{name}.schema.json" for name in CONTRACT}


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_examples_are_valid_messages(name: str) -> None:
    _, adapter, examples = CONTRACT[name]
    schema = orjson.loads((SCHEMAS / f"{name}.schema.json").read_bytes())
    assert schema["examples"] == examples
    for example in examples:
        adapter.validate_json(orjson.dumps(example))


@pytest.mark.parametrize(
    ("name", "payload"),
    [
        ("hub-status", {"v": 1, "online": True, "batteries": {"front-door": 101}}),
        ("hub-status", {"v": 1, "online": True, "batteries": {"bad key": 50}}),
        ("robot-command", {"v": 1, "id": 1, "command": "fly", "args": {}, "expires_at": 0}),
        ("robot-command", {"v": 1, "id": 1, "command": "move_to", "args": {}, "expires_at": 0}),
        (
            "robot-command",
            {"v": 1, "id": 1, "command": "speak", "args": {"text": ""}, "expires_at": 0},
        ),
        ("robot-ack", {"v": 1, "id": 0, "ts": 1}),
        ("robot-ack", {"v": 2, "id": 5, "ts": 1}),
        ("robot-progress", {"v": 1, "id": 5, "state": "acknowledged", "ts": 1}),
        ("robot-status", {"v": 1, "online": True, "battery": -1}),
        ("robot-status", {"v": 1, "online": True, "state": "dancing"}),
        ("robot-status", {"v": 1, "online": True, "extra": 1}),
    ],
)
def test_bad_messages_are_refused(name: str, payload: dict[str, object]) -> None:
    _, adapter, _ = CONTRACT[name]
    with pytest.raises(ValidationError):
        adapter.validate_json(orjson.dumps(payload))
