"""Query parameters shared by the list endpoints: declared (so the OpenAPI document shows them)
as plain strings, and checked here so that a bad value is a BadRequest problem naming it."""

from enum import StrEnum
from typing import Annotated

from fastapi import Query

from api.problems import BadRequest

DetailQuery = Annotated[str | None, Query(description="`true`: full resource bodies instead of summaries.")]
StatusQuery = Annotated[
    list[str] | None,
    Query(description="Only resources in these statuses (repeat the parameter, or separate values by commas)."),
]


def detail_flag(value: str | None) -> bool:
    if value is None:
        return False
    if value.lower() not in ("true", "false", "1", "0"):
        raise BadRequest(f"detail must be true or false, not {value[:40]!r}.")
    return value.lower() in ("true", "1")


def status_filter(values: list[str] | None, statuses: type[StrEnum]) -> list[str]:
    """Values of `?status=` (repeatable, or comma-separated), each a valid status."""
    wanted: list[str] = []
    for value in values or []:
        for part in value.split(","):
            part = part.strip().upper()
            if part not in statuses.__members__:
                allowed = ", ".join(statuses.__members__)
                raise BadRequest(f"status {part[:40]!r} is not one of {allowed}.")
            wanted.append(part)
    return wanted
