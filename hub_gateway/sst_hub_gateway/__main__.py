"""`sst-hub-gateway`: run one gateway process until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import signal

from sst_core.logs import install_stack_dumps, setup_logging
from sst_hub_gateway.service import Gateway
from sst_hub_gateway.settings import GatewaySettings


async def _serve(settings: GatewaySettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    install_stack_dumps(loop)
    await Gateway(settings).run(stop)


def main() -> None:
    """Entry point of the `sst-hub-gateway` command."""
    settings = GatewaySettings()
    setup_logging(settings.log_level, json_lines=settings.log_json)
    asyncio.run(_serve(settings))


if __name__ == "__main__":
    main()
