"""In-memory counters of what the gateway accepted and refused, logged periodically."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class GatewayMetrics:
    """Monotonic counters since the process started."""

    messages: int = 0
    accepted: int = 0  # readings that passed validation (new or redelivered)
    inserted: int = 0  # readings that became new rows
    duplicates: int = 0  # accepted readings already stored (a redelivery)
    statuses: int = 0
    batches: int = 0
    db_retries: int = 0
    redis_retries: int = 0
    urgent_flushes: int = 0  # batches cut short for an urgent event
    dead_letters: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        """One log line with every counter."""
        refused = ", ".join(f"{code}={n}" for code, n in sorted(self.dead_letters.items()))
        return (
            f"messages={self.messages} accepted={self.accepted} inserted={self.inserted} "
            f"duplicates={self.duplicates} statuses={self.statuses} batches={self.batches} "
            f"db_retries={self.db_retries} redis_retries={self.redis_retries} "
            f"urgent_flushes={self.urgent_flushes} "
            f"dead_letters={sum(self.dead_letters.values())} [{refused}]"
        )
