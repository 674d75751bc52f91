"""A free TCP port, for the tests' and the benches' own servers (bench scripts put the
checkout on sys.path to import it); nothing else here, so that importing it is cheap."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
