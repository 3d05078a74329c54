"""Request body limit (64 KiB), enforced before the body is parsed, streamed or not.

A declared `Content-Length` over the limit is refused at once. Otherwise the body is read here,
at most limit + 1 bytes of it, and replayed to the application: a chunked body that grows past
the limit is refused the same way (413 RequestTooLarge), never half-parsed by a handler.

One documented exception: POST .../batches takes up to 4 MiB (a topology of thousands of items).
"""

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import BadRequest, RequestTooLarge, problem_response

MAX_BODY_BYTES = 64 * 1024
# Paths with a larger limit than MAX_BODY_BYTES.
PATH_LIMITS: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(r"^/v1\.1/tenants/[^/]+/batches/?$"), 4 * 1024 * 1024),
)


def limit_for(path: str, default: int = MAX_BODY_BYTES) -> int:
    return next((limit for pattern, limit in PATH_LIMITS if pattern.match(path)), default)


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope.get("path", ""), self.limit)
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                if not value.isdigit():
                    await problem_response(BadRequest("Content-Length is not a number."))(scope, receive, send)
                    return
                if int(value) > limit:
                    await self._too_large(scope, receive, send, limit)
                    return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client went away before sending its body: nothing to answer.
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._too_large(scope, receive, send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            # Later reads wait for the disconnect, as Starlette expects.
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        problem = RequestTooLarge(f"The request body is over {limit // 1024} KiB.")
        await problem_response(problem)(scope, receive, send)
