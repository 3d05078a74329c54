"""The client's exceptions: one tree, the problem classes built from the problem table.

    NetprovError
    ├── ApiUnreachable                no answer from the API (connection refused, timed out)
    ├── WaitTimeout                   wait_until: not reached in time (also a TimeoutError)
    ├── ResourceFailed                wait_until: the resource went to ERROR instead
    └── ProblemError                  an application/problem+json answer: .status .title .detail .code
        └── one class per row of netprov/problems.py, named by its `code`, under its family:
            BadRequest, Unauthorized, Forbidden, NotFound (NetworkNotFound, PortNotFound,
            QosPolicyNotFound, ...), Conflict (NetworkInUse, PortInUse, AlreadyAttached,
            QosPolicyInUse, ...), ServiceUnavailable
            (.retry_after: seconds, from Retry-After), ...

An answer whose `code` the table does not know is raised as the class standing for its status.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from pydantic import BaseModel

from netprov.problems import PROBLEMS, problem_classes


class NetprovError(Exception):
    """Base of every error this client raises."""


class ApiUnreachable(NetprovError):
    """The API did not answer: nothing is known about the request's effect."""


class WaitTimeout(NetprovError, TimeoutError):
    """wait_until gave up; `resource` is the last state seen."""

    def __init__(self, message: str, resource: BaseModel | None = None) -> None:
        super().__init__(message)
        self.resource = resource


class ResourceFailed(NetprovError):
    """wait_until saw the resource (or its attachment) reach ERROR, which was not asked for."""

    def __init__(self, message: str, resource: BaseModel) -> None:
        super().__init__(message)
        self.resource = resource


class ProblemError(NetprovError):
    """The API answered with a problem document (RFC 9457)."""

    def __init__(
        self,
        *,
        status: int,
        title: str,
        detail: str,
        code: str,
        type: str | None = None,
        body: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{title}: {detail}")
        self.status, self.title, self.detail, self.code = status, title, detail, code
        self.type = type
        self.body = body or {}
        self.retry_after = retry_after


PROBLEM_CLASSES: dict[str, type[ProblemError]] = problem_classes(ProblemError, __name__)
globals().update(PROBLEM_CLASSES)
_FOR_STATUS: dict[int, type[ProblemError]] = {
    status: PROBLEM_CLASSES[row.code] for row in PROBLEMS for status in row.stands_for
}


def problem_from(response: httpx.Response) -> ProblemError:
    """The typed exception for an error answer (any body: a proxy's HTML page too)."""
    try:
        body = response.json()
        if not isinstance(body, dict):
            body = {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = {}
    code = str(body.get("code") or "")
    cls = PROBLEM_CLASSES.get(code) or _FOR_STATUS.get(response.status_code) or ProblemError
    retry_after = response.headers.get("Retry-After")
    return cls(
        status=int(body.get("status") or response.status_code),
        title=str(body.get("title") or response.reason_phrase or "Error"),
        detail=str(body.get("detail") or response.text[:300] or f"HTTP {response.status_code}"),
        code=code or cls.__name__,
        type=body.get("type"),
        body=body,
        retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
    )
