"""What every request leaves behind: Prometheus metrics, one access log line, the log context
(tenant, resource, workflow) of every line logged while it is handled, and its trace id in the
answer's `X-Trace-Id` header (when traced: api/tracing.py).

Metrics (GET /metrics, Prometheus text format, no auth: scrape it from inside the deployment):

- `netprov_api_requests_total{method, route, status}`: requests answered;
- `netprov_api_request_duration_seconds{method, route, status}`: time to the last byte;
- `netprov_api_requests_in_progress{method}`.

`route` is the route's template (`/v1.1/tenants/{tenant_id}/networks/{network_id}`), never the raw
path, so a label cannot take a value per resource; paths that match no route count as `unmatched`.
"""

import logging
import re
import time

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import PROCESS_COLLECTOR, PLATFORM_COLLECTOR
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import allow_query
from api.problems import ERROR_RESPONSES
from netprov.logging_setup import bind, log_context
from netprov.naming import batch_workflow_id, network_workflow_id, port_workflow_id
from netprov.tracing import current_ids

TRACE_HEADER = b"x-trace-id"

REGISTRY = CollectorRegistry(auto_describe=True)
REGISTRY.register(PROCESS_COLLECTOR)
REGISTRY.register(PLATFORM_COLLECTOR)

REQUESTS = Counter(
    "netprov_api_requests", "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"], registry=REGISTRY,
)
DURATION = Histogram(
    "netprov_api_request_duration_seconds", "Time from request to the last byte of the response",
    ["method", "route", "status"], registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
IN_PROGRESS = Gauge("netprov_api_requests_in_progress", "Requests being handled", ["method"], registry=REGISTRY)

UNMATCHED = "unmatched"
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
# Requests logged at DEBUG only: probes and scrapes would drown the rest.
_QUIET_PATHS = {"/healthz", "/metrics"}
_RESOURCE_PATH = re.compile(
    r"^/v1\.1/tenants/(?P<tenant_id>[^/]+)"
    r"(?:/networks/(?P<network_id>[^/]+)(?:/ports/(?P<port_id>[^/]+))?|/batches/(?P<batch_id>[^/]+))?"
)

log = logging.getLogger("netprov.api.access")
router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    response_class=Response,
    dependencies=[allow_query(public=True)],
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format (no auth)."},
               400: ERROR_RESPONSES[400]},
)
def metrics() -> Response:
    """The API's Prometheus metrics: requests by method, route template and status, their latency,
    the requests in progress, and the process's own."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def path_context(path: str) -> dict[str, str]:
    """tenant_id, resource_type, resource_id and workflow_id named by an API path (or Location)."""
    match = _RESOURCE_PATH.match(path)
    if not match:
        return {}
    ids = match.groupdict()
    fields = {"tenant_id": ids["tenant_id"]}
    if ids["port_id"]:
        fields.update(resource_type="port", resource_id=ids["port_id"], workflow_id=port_workflow_id(ids["port_id"]))
    elif ids["network_id"]:
        fields.update(
            resource_type="network", resource_id=ids["network_id"], workflow_id=network_workflow_id(ids["network_id"])
        )
    elif ids["batch_id"]:
        fields.update(resource_type="batch", resource_id=ids["batch_id"], workflow_id=batch_workflow_id(ids["batch_id"]))
    return fields


class RequestTelemetry:
    """ASGI middleware; install it outermost so that every answer is counted, 413s included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"] if scope["method"] in _METHODS else "OTHER"
        path = scope["path"]
        status, location = 500, None

        async def observed_send(message: Message) -> None:
            nonlocal status, location
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", ()):
                    if name == b"location":
                        location = value.decode("latin-1")
                trace_id = current_ids().get("trace_id")  # the request's server span (api/tracing.py)
                if trace_id:
                    message = {**message, "headers": [*message.get("headers", ()), (TRACE_HEADER, trace_id.encode())]}
            await send(message)

        start = time.perf_counter()
        IN_PROGRESS.labels(method).inc()
        with log_context(**path_context(path)):
            try:
                await self.app(scope, receive, observed_send)
            finally:
                elapsed = time.perf_counter() - start
                IN_PROGRESS.labels(method).dec()
                route = getattr(scope.get("route"), "path", None) or UNMATCHED
                REQUESTS.labels(method, route, str(status)).inc()
                DURATION.labels(method, route, str(status)).observe(elapsed)
                if location:
                    bind(**path_context(location))
                log.log(
                    logging.DEBUG if path in _QUIET_PATHS else logging.INFO,
                    "%s %s %d", method, path, status,
                    extra={"method": method, "route": route, "status": status, "duration_ms": round(elapsed * 1000, 1)},
                )
