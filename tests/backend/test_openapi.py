"""sst_api.yml is the contract: it must equal what the running app serves."""

from __future__ import annotations

from pathlib import Path

import httpx
import yaml

from sst_backend.__main__ import openapi_yaml

ROOT = Path(__file__).resolve().parents[2]


async def test_committed_openapi_matches_the_app(http: httpx.AsyncClient) -> None:
    committed = yaml.safe_load((ROOT / "sst_api.yml").read_text())
    served = (await http.get("/openapi.json")).json()
    assert committed == served, "sst_api.yml is stale: run `make openapi` and commit it"
    assert yaml.safe_load(openapi_yaml()) == committed


def test_every_operation_documents_its_errors() -> None:
    document = yaml.safe_load((ROOT / "sst_api.yml").read_text())
    for path, operations in document["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            assert "401" in operation["responses"], f"{method} {path} lacks its 401"
            assert operation.get("description"), f"{method} {path} lacks a description"
