"""NeutronError bodies for everything under /v2.0.

The code raises the same problems as v1.1 (api/problems.py): one exception tree, one place that
decides status codes. At the edge, a problem+json answer to a /v2.0 request is rewritten as
Neutron's `{"NeutronError": {"type", "message", "detail": ""}}`: `type` is the problem's code
where Neutron has the same fault (NetworkNotFound, PortInUse, QosPolicyNotFound, ...), else the
webob class Neutron's fault map answers with (HTTPBadRequest, ...). A schema error (422 on v1.1)
is 400 here, as Neutron has no 422. Covered: exceptions raised by handlers and dependencies,
framework errors (404 route, 405), the body-size limit (a middleware), and unexpected errors
(Starlette's outermost handler, wrapped in `install`).
"""

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import PROBLEM_MEDIA_TYPE

PREFIX = "/v2.0"
# Problem codes that become another Neutron type; any other code is kept as it is.
_WEBOB_TYPES = {
    "BadRequest": "HTTPBadRequest",
    "RequestedStateInvalid": "HTTPBadRequest",
    "Unauthorized": "HTTPUnauthorized",
    "Forbidden": "HTTPForbidden",
    "NotFound": "HTTPNotFound",
    "TokenNotFound": "HTTPNotFound",
    "MethodNotAllowed": "HTTPMethodNotAllowed",
    "Conflict": "HTTPConflict",
    "RequestTooLarge": "HTTPRequestEntityTooLarge",
    "UnsupportedMediaType": "HTTPUnsupportedMediaType",
    "TooManyRequests": "HTTPTooManyRequests",
    "ServiceUnavailable": "HTTPServiceUnavailable",
    "InternalError": "HTTPInternalServerError",
}


def is_neutron_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def neutron_error(problem: dict[str, Any], status: int) -> tuple[dict[str, Any], int]:
    """The NeutronError body and status for a problem document."""
    code = str(problem.get("code") or "InternalError")
    if status == 422 and code == "BadRequest":
        status = 400
    message = str(problem.get("detail") or problem.get("title") or "")
    return {"NeutronError": {"type": _WEBOB_TYPES.get(code, code), "message": message, "detail": ""}}, status


class NeutronErrorBodies:
    """ASGI middleware: problem+json answers under /v2.0 leave as NeutronError bodies."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_neutron_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def rewrite(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = dict((k.lower(), v) for k, v in message.get("headers", []))
                if headers.get(b"content-type", b"").startswith(PROBLEM_MEDIA_TYPE.encode()):
                    start = message  # held until the whole body is here
                    return
                await send(message)
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            try:
                problem = json.loads(b"".join(chunks))
            except ValueError:
                problem = {}
            body, status = neutron_error(problem, start["status"])
            encoded = json.dumps(body).encode()
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() not in (b"content-type", b"content-length")]
            headers += [(b"content-type", b"application/json"), (b"content-length", str(len(encoded)).encode())]
            await send({**start, "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": encoded})

        await self.app(scope, receive, rewrite)


def install(app: FastAPI) -> None:
    """Add the middleware, and wrap the catch-all handler, which Starlette runs outside every
    middleware (ServerErrorMiddleware), so its 500 would otherwise stay problem+json."""
    app.add_middleware(NeutronErrorBodies)
    unexpected = app.exception_handlers.get(Exception)
    if unexpected is None:
        return

    async def handler(request: Request, error: Exception):
        response = await unexpected(request, error)
        if not is_neutron_path(request.url.path):
            return response
        body, status = neutron_error(json.loads(response.body), response.status_code)
        return JSONResponse(body, status_code=status)

    app.exception_handlers[Exception] = handler
