"""`sst-backend`: serve the API, write the OpenAPI document, or seed the demo facility."""

from __future__ import annotations

import argparse
import asyncio
import sys

import uvicorn
import yaml

from sst_core.logs import setup_logging


def main(argv: list[str] | None = None) -> None:
    """Entry point of `sst-backend`."""
    parser = argparse.ArgumentParser(prog="sst-backend")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="serve HTTP and Socket.IO (default)")
    sub.add_parser("openapi", help="print the OpenAPI document as YAML")
    seed = sub.add_parser("seed-demo", help="create the demo facility (idempotent)")
    seed.add_argument("--password", default=None, help="password of the demo logins")
    args = parser.parse_args(argv)
    if args.command == "openapi":
        sys.stdout.write(openapi_yaml())
        return
    from sst_backend.settings import BackendSettings

    settings = BackendSettings()
    setup_logging(settings.log_level, json_lines=settings.log_json)
    if args.command == "seed-demo":
        from sst_backend.seed import seed_demo

        asyncio.run(seed_demo(settings, password=args.password))
        return
    from sst_backend.app import create_app

    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
        # The backend logs each request itself, with its request id (sst.backend.http).
        access_log=False,
        ws_per_message_deflate=settings.ws_compression,
    )


def openapi_yaml() -> str:
    """The OpenAPI document of the HTTP API, as committed in sst_api.yml."""
    from pydantic import SecretStr

    from sst_backend.app import create_fastapi
    from sst_backend.settings import BackendSettings

    # The document does not depend on secrets or servers; placeholders keep it reproducible.
    settings = BackendSettings(
        jwt_secret=SecretStr("openapi-document-needs-no-real-secret-000"), dashboard_dir=None
    )
    document = create_fastapi(settings).openapi()
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


if __name__ == "__main__":
    main()
