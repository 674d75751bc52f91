"""Settings of the reference devices and the simulator, read once from SST_* variables."""

from __future__ import annotations

from pydantic import Field

from sst_core.settings import SSTSettings


class DevicesSettings(SSTSettings):
    """Broker and database come from SSTSettings; these tune the agents and the simulator."""

    hub_keepalive_s: int = Field(default=30, ge=5, description="MQTT keepalive of a hub.")
    hub_firmware: str = Field(default="sst-reference-0.1", max_length=64)
    hub_heartbeat_s: float = Field(
        default=60.0, gt=0, description="A hub's heartbeat period (its status, with batteries)."
    )
    sim_seed: int = Field(default=1, description="Same seed, same simulated lives.")
    sim_tick_s: float = Field(default=1.0, gt=0, description="Wall seconds between bursts.")
    camera_device: str | None = Field(
        default=None,
        description="V4L2 device of the camera agent (default /dev/video0 if present); "
        "without one it sends a synthetic moving test pattern.",
    )
