"""Tracing with OpenTelemetry: one trace per request, from the API through the workflow to each
activity and plugin call.

- The API's FastAPI app is instrumented (api/tracing.py): each request is a server span, whose trace
  id the response carries as `X-Trace-Id`.
- The Temporal clients of the API and the workers carry `temporal_interceptor()` (the SDK's
  TracingInterceptor): starting a workflow, signalling or updating it continues the request's trace
  into the workflow (in its headers), and every activity it runs is a span of that trace.
- `plugin_span(...)` wraps each plugin call (activities/plugin_steps.py).
- Every log line logged inside a span carries its `trace_id` and `span_id` (netprov.logging_setup).

The process's tracer provider is made on first use. Spans are exported over OTLP/HTTP only when
`OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, with the standard
OTEL_* settings (service name from `OTEL_SERVICE_NAME`, else the process's own); otherwise spans are
made (for the ids in logs and headers) and dropped at once: no exporter, no queue, no thread.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from typing import TYPE_CHECKING

from opentelemetry import trace

if TYPE_CHECKING:  # the SDK and the interceptor are imported where used: logging needs neither
    from opentelemetry.sdk.trace import TracerProvider
    from temporalio.contrib.opentelemetry import TracingInterceptor

_ENDPOINT_SETTINGS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
_provider: TracerProvider | None = None


def exporting() -> bool:
    """True when spans leave the process (an OTLP endpoint is set)."""
    return any(os.environ.get(name) for name in _ENDPOINT_SETTINGS)


def configure_tracing(service: str) -> TracerProvider:
    """Make this process's tracer provider (once) and make it the global one too, for any other
    instrumentation; `service` names the process when OTEL_SERVICE_NAME does not."""
    global _provider
    if _provider is None:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider

        resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or f"netprov-{service}"})
        provider = TracerProvider(resource=resource)
        if exporting():
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.trace.export import BatchSpanProcessor

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        _provider = provider
        trace.set_tracer_provider(provider)
    return _provider


def use_provider(provider: TracerProvider | None) -> None:
    """Replace this process's tracer provider (tests give one with an in-memory exporter)."""
    global _provider
    _provider = provider


def tracer_provider() -> TracerProvider:
    return _provider if _provider is not None else configure_tracing(os.environ.get("NETPROV_SERVICE", "process"))


def tracer(name: str) -> trace.Tracer:
    return tracer_provider().get_tracer(name)


def temporal_interceptor() -> TracingInterceptor:
    """For `Client.connect(interceptors=[...])`: the client's calls and its workers' workflows and
    activities continue the caller's trace."""
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return TracingInterceptor(tracer("temporalio"))


@contextlib.contextmanager
def plugin_span(plugin: str, action: str, **attributes: str | None) -> Iterator[trace.Span]:
    """A span around one plugin call, `plugin <name>.<action>`; None attributes are left out."""
    fields = {"netprov.plugin": plugin, "netprov.plugin_action": action}
    fields.update({f"netprov.{k}": v for k, v in attributes.items() if v is not None})
    with tracer("netprov.plugins").start_as_current_span(f"plugin {plugin}.{action}", attributes=fields) as span:
        yield span


def current_ids() -> dict[str, str]:
    """trace_id and span_id (hex) of the current span; {} outside any span."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": format(context.trace_id, "032x"), "span_id": format(context.span_id, "016x")}
