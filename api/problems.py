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
    parts = []
    for e in errors[:5]:
        location = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
        parts.append(f"{location or 'body'}: {e.get('msg', 'invalid')}")
    return InvalidBody("; ".join(parts), errors=[{"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg")} for e in errors[:20]])


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
        problem = Problem(str(error.detail))
        problem.status = error.status_code  # type: ignore[misc]
        return problem_response(problem)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return problem_response(InternalError("The server hit an unexpected error; it has been logged."))


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": title, "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    for status, title in [
        (400, "Bad request (malformed JSON, bad id, unknown query parameter)"),
        (401, "Missing or unknown token"),
        (403, "Token not allowed here"),
        (404, "Not found"),
        (409, "Conflict"),
        (413, "Request too large"),
        (422, "Invalid request body"),
        (503, "Workflow engine or database unreachable"),
    ]
}
