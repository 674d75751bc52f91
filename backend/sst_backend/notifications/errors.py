"""The failure of one delivery attempt."""

from __future__ import annotations


class DeliveryError(Exception):
    """A channel could not deliver; `permanent` means retrying cannot help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
