"""Field types and the PATCH body base shared by the care-data endpoints."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, ClassVar
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _known_zone(value: str) -> str:
    # A set lookup, not ZoneInfo(value): a user's string never reaches the file system.
    if value not in _zones():
        raise ValueError("not an IANA time zone name (e.g. 'Asia/Seoul', 'Europe/London')")
    return value


TimeZoneName = Annotated[
    str,
    Field(min_length=1, max_length=64, examples=["Asia/Seoul"]),
    AfterValidator(_known_zone),
]
Label = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]
PersonName = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]


class Body(BaseModel):
    """A request body: unknown fields are refused, so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid")


class PatchBody(Body):
    """A partial update: absent fields stay; null is only accepted where `NULLABLE` says."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_null_where_required(self) -> PatchBody:
        for name in self.model_fields_set:
            if getattr(self, name) is None and name not in self.NULLABLE:
                raise ValueError(f"{name} cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields the client sent, with their new values."""
        return {name: getattr(self, name) for name in self.model_fields_set}
