"""Errors as RFC 9457 problem documents, through one table of exception types.

Problem
├── BadRequest (400)          ├── RequestedStateInvalid (400)
├── Unauthorized (401)        ├── Forbidden (403)
├── NotFound (404)            │   ├── NetworkNotFound, PortNotFound, TokenNotFound, BatchNotFound
├── MethodNotAllowed (405)    ├── Conflict (409)
│                             │   ├── NetworkInUse, PortInUse, AlreadyAttached, ResourceNotAvailable
│                             │   └── IdempotencyKeyReused
├── RequestTooLarge (413)     ├── UnsupportedMediaType (415)
├── ServiceUnavailable (503)  └── InternalError (500, never for bad input)

`code` is the Quantum fault name; `detail` says what to do about it. No traceback ever leaves.
"""

import logging
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("netprov.api")


class Problem(Exception):
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra

    @property
    def code(self) -> str:
        return type(self).__name__

    def body(self) -> dict[str, Any]:
        return {
            "type": f"https://netprov.dev/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
            **self.extra,
        }


class InternalError(Problem):
    status, title = 500, "Internal error"


class BadRequest(Problem):
    status, title = 400, "Bad request"


class InvalidBody(BadRequest):
    """Well-formed JSON that does not match the schema: 422, code BadRequest."""

    status, title = 422, "Invalid request body"

    @property
    def code(self) -> str:
        return "BadRequest"


class RequestedStateInvalid(Problem):
    status, title = 400, "Requested state invalid"


class Unauthorized(Problem):
    status, title = 401, "Unauthorized"


class Forbidden(Problem):
    status, title = 403, "Forbidden"


class NotFound(Problem):
    status, title = 404, "Not found"


class NetworkNotFound(NotFound):
    title = "Network not found"


class PortNotFound(NotFound):
    title = "Port not found"


class TokenNotFound(NotFound):
    title = "Token not found"


class BatchNotFound(NotFound):
    title = "Batch not found"


class MethodNotAllowed(Problem):
    status, title = 405, "Method not allowed"


class Conflict(Problem):
    status, title = 409, "Conflict"


class NetworkInUse(Conflict):
    title = "Network in use"


class PortInUse(Conflict):
    title = "Port in use"


class AlreadyAttached(Conflict):
    title = "Already attached"


class ResourceNotAvailable(Conflict):
    title = "Resource not available"


class IdempotencyKeyReused(Problem):
    status, title = 422, "Idempotency key reused"


class RequestTooLarge(Problem):
    status, title = 413, "Request too large"


class UnsupportedMediaType(Problem):
    status, title = 415, "Unsupported media type"


class ServiceUnavailable(Problem):
    status, title = 503, "Service unavailable"

    def __init__(self, detail: str, *, retry_after: int = 5, **extra: Any) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)}, **extra)


def problem_response(problem: Problem) -> JSONResponse:
    return JSONResponse(problem.body(), status_code=problem.status, headers=problem.headers, media_type=PROBLEM_MEDIA_TYPE)


def _validation_problem(error: RequestValidationError) -> Problem:
    errors = error.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return BadRequest("The request body is not valid JSON.")
    if any(tuple(e.get("loc", ())) == ("body",) and isinstance(e.get("input"), bytes) for e in errors):
        # FastAPI parses only JSON media types; anything else reaches validation as raw bytes.
        return UnsupportedMediaType("Send the request body as JSON, with Content-Type: application/json.")
    parts = []
    for e in errors[:5]:
        location = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
        parts.append(f"{location or 'body'}: {e.get('msg', 'invalid')}")
    return InvalidBody("; ".join(parts), errors=[{"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg")} for e in errors[:20]])


def _problem_for_status(status: int, detail: str) -> Problem:
    """A framework error (Starlette/FastAPI raised it) as the problem type of its status."""
    known = {400: BadRequest, 401: Unauthorized, 403: Forbidden, 409: Conflict, 413: RequestTooLarge,
             415: UnsupportedMediaType, 503: ServiceUnavailable}
    if status in known:
        return known[status](detail)
    problem = BadRequest(detail) if 400 <= status < 500 else InternalError(detail)
    problem.status = status  # type: ignore[misc]
    return problem


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_: Request, problem: Problem) -> JSONResponse:
        return problem_response(problem)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, error: RequestValidationError) -> JSONResponse:
        return problem_response(_validation_problem(error))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 404:
            return problem_response(NotFound("No such resource or route."))
        if error.status_code == 405:
            return problem_response(MethodNotAllowed("This method is not allowed on this resource."))
        return problem_response(_problem_for_status(error.status_code, str(error.detail)))

    @app.exception_handler(OperationalError)
    async def _database(_: Request, error: OperationalError) -> JSONResponse:
        # Unreachable, or locked for longer than the busy timeout: the same answer as for the engine.
        log.warning("database error: %s", str(error).splitlines()[0][:300])
        return problem_response(
            ServiceUnavailable("The database cannot be reached right now. Retry later.", retry_after=5)
        )

    @app.exception_handler(DataError)
    async def _unstorable(_: Request, error: DataError) -> JSONResponse:
        # A value the database refuses (e.g. NUL in text on PostgreSQL); the transaction rolled back.
        log.info("unstorable value: %s", str(error).splitlines()[0][:300])
        return problem_response(BadRequest("A value in the request cannot be stored (e.g. it contains a NUL character)."))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return problem_response(InternalError("The server hit an unexpected error; it has been logged."))


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: _error_response(title)
    for status, title in [
        (400, "Bad request (malformed JSON, bad id, unknown query parameter, bad Prefer value)"),
        (401, "Missing or unknown token"),
        (403, "Token not allowed here"),
        (404, "Not found (also another tenant's resource)"),
        (409, "Conflict (in use, already attached, resource not available)"),
        (413, "Request body over 64 KiB"),
        (415, "Request body not sent as application/json"),
        (422, "Invalid request body, or Idempotency-Key reused with another body"),
    ]
}
ERROR_RESPONSES[503] = {
    **_error_response("Workflow engine or database unreachable; retry later"),
    "headers": {"Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}},
}
