"""The API's part of tracing (netprov.tracing): a server span per request, and its trace id in the
answer's `X-Trace-Id` header, so that a slow or failed request can be found in the trace backend.

Probes and scrapes (/healthz, /metrics) make no spans; an event stream is one span (no span per
message sent).
"""

from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from netprov.tracing import current_ids, tracer_provider

TRACE_HEADER = b"x-trace-id"
UNTRACED = "healthz,metrics"


class TraceIdHeader:
    """ASGI middleware (inside the instrumentation's): adds `X-Trace-Id` to every traced answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        trace_id = current_ids().get("trace_id")

        async def send_with_trace_id(message: Message) -> None:
            if message["type"] == "http.response.start" and trace_id:
                message = {**message, "headers": [*message.get("headers", ()), (TRACE_HEADER, trace_id.encode())]}
            await send(message)

        await self.app(scope, receive, send_with_trace_id if trace_id else send)


def instrument(app: FastAPI) -> None:
    app.add_middleware(TraceIdHeader)
    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=tracer_provider(), excluded_urls=UNTRACED, exclude_spans=["receive", "send"]
    )
