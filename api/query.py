"""Query parameters shared by the list endpoints."""

from enum import StrEnum

from fastapi import Request

from api.problems import BadRequest


def detail_flag(request: Request) -> bool:
    value = request.query_params.get("detail")
    if value is None:
        return False
    if value.lower() not in ("true", "false", "1", "0"):
        raise BadRequest(f"detail must be true or false, not {value[:40]!r}.")
    return value.lower() in ("true", "1")


def status_filter(request: Request, statuses: type[StrEnum]) -> list[str]:
    """Values of `?status=` (repeatable, or comma-separated), each a valid status."""
    wanted: list[str] = []
    for value in request.query_params.getlist("status"):
        for part in value.split(","):
            part = part.strip().upper()
            if part not in statuses.__members__:
                allowed = ", ".join(statuses.__members__)
                raise BadRequest(f"status {part[:40]!r} is not one of {allowed}.")
            wanted.append(part)
    return wanted
