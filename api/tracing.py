"""The API's part of tracing (netprov.tracing): a server span per request, whose trace id the answer
carries in `X-Trace-Id` (api/metrics.py), so that a slow or failed request can be found in the
trace backend.

Probes and scrapes (/healthz, /metrics) make no spans; an event stream is one span (no span per
message sent).
"""

from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

from netprov.tracing import tracer_provider

UNTRACED = "healthz,metrics"


def instrument(app: FastAPI) -> None:
    """Outermost middleware: the request's span is current in every other (RequestTelemetry adds
    the `X-Trace-Id` header from it)."""
    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=tracer_provider(), excluded_urls=UNTRACED, exclude_spans=["receive", "send"]
    )
