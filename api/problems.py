"""Errors as RFC 9457 problem documents, through one table of exception types.

Problem, with one subclass per row of the problem table (netprov/problems.py: code, HTTP status, title;
`from api.problems import NetworkNotFound` names them), plus InvalidBody (422 with code BadRequest).

`code` is the Quantum fault name; `detail` says what to do about it. No traceback ever leaves.
"""

import logging
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from netprov.problems import PROBLEMS, ProblemType, codes_by_status, problem_classes

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("netprov.api")


class Problem(Exception):
    """Base of the server's problems; one subclass per row of netprov.problems.PROBLEMS."""

    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"
    problem_type: ClassVar[ProblemType | None] = None

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None, retry_after: int | None = None,
                 **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = dict(headers or {})
        retry_after = retry_after if retry_after is not None else getattr(self.problem_type, "retry_after", None)
        if retry_after is not None:
            self.headers["Retry-After"] = str(retry_after)
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


_CLASSES = problem_classes(Problem, __name__)
globals().update(_CLASSES)
_FOR_STATUS: dict[int, type[Problem]] = {status: _CLASSES[row.code] for row in PROBLEMS for status in row.stands_for}


class InvalidBody(_CLASSES["BadRequest"]):  # type: ignore[misc]
    """Well-formed JSON that does not match the schema: 422, code BadRequest."""

    status, title = 422, "Invalid request body"

    @property
    def code(self) -> str:
        return "BadRequest"


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
    if status in _FOR_STATUS:
        return _FOR_STATUS[status](detail)
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


_WHEN = {
    400: "Bad request (malformed JSON, bad id, unknown query parameter, bad Prefer value)",
    401: "Missing or unknown token",
    403: "Token not allowed here",
    404: "Not found (also another tenant's resource)",
    409: "Conflict (in use, already attached, resource not available)",
    413: "Request body over 64 KiB",
    415: "Request body not sent as application/json",
    422: "Invalid request body, or Idempotency-Key reused with another body",
    503: "Workflow engine or database unreachable; retry later",
}
# The documented error answers of every route: per status, when, and which codes (from the problem table).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: _error_response(f"{_WHEN[status]}. code: {', '.join(codes)}")
    for status, codes in codes_by_status().items()
    if status in _WHEN
}
ERROR_RESPONSES[503]["headers"] = {
    "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}
}
