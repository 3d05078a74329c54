"""One trace per request: the HTTP request's span, the workflow it starts, each activity of that
workflow and the plugin call inside it, all with one trace id, which the response names in
`X-Trace-Id` and the log lines carry. Real parts: the Temporal dev server, a worker and the API on
this loop, with the tracing wired as the processes wire it (netprov.temporal_connection), and an
in-memory span exporter in place of OTLP."""

import asyncio
import json
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from api.app import create_app
from netprov import tracing
from netprov.logging_setup import JsonFormatter
from netprov.temporal_connection import connect
from worker.build import MAX_CONCURRENT_ACTIVITIES, central_worker


@pytest.fixture
async def traced(settings):
    """The API and a worker on a task queue of their own, tracing into memory."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    before = tracing._provider
    tracing.use_provider(provider)
    own = settings.model_copy(update={"task_queue": f"traced-{uuid.uuid4().hex[:8]}"})
    client = await connect(own)
    executor = ThreadPoolExecutor(max_workers=MAX_CONCURRENT_ACTIVITIES)
    app = create_app(own, client, sweeper=False)
    try:
        async with central_worker(client, own, executor), app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://netprov.test",
                                         timeout=60) as http:
                yield http, exporter
    finally:
        tracing.use_provider(before)
        executor.shutdown(wait=False, cancel_futures=True)


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter("test"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


async def test_one_trace_from_the_request_through_the_workflow_to_the_plugin(traced, admin):
    http, exporter = traced
    lines = Lines()
    logging.getLogger().addHandler(lines)
    previous_level = logging.getLogger("netprov").level
    logging.getLogger("netprov").setLevel(logging.DEBUG)
    try:
        response = await http.post(f"{admin.base}/networks", headers={**admin.headers, "Prefer": "wait=20"},
                                   json={"network": {"name": "traced"}})
        assert response.status_code == 201, response.text
        network_id = response.json()["network"]["id"]
        trace_id = response.headers["x-trace-id"]
        assert len(trace_id) == 32 and int(trace_id, 16)

        def names(spans) -> set[str]:
            return {s.name for s in spans}

        # Activity spans end once the activity answered: within moments of the response.
        deadline = time.monotonic() + 10
        while True:
            mine = [s for s in exporter.get_finished_spans() if format(s.context.trace_id, "032x") == trace_id]
            if any(n.startswith("plugin fake.create_network") for n in names(mine)) and any(
                    n.startswith("RunActivity:") for n in names(mine)):
                break
            assert time.monotonic() < deadline, sorted(names(exporter.get_finished_spans()))
            await asyncio.sleep(0.1)
    finally:
        logging.getLogger().removeHandler(lines)
        logging.getLogger("netprov").setLevel(previous_level)

    by_id = {s.context.span_id: s for s in mine}
    server = [s for s in mine if s.kind == SpanKind.SERVER and s.parent is None]
    assert len(server) == 1 and server[0].name == "POST /v1.1/tenants/{tenant_id}/networks"
    start = [s for s in mine if s.name.startswith(("StartWorkflow:", "SignalWithStartWorkflow:"))]
    assert start and start[0].name.endswith(":NetworkWorkflow")
    run = [s for s in mine if s.name == "RunWorkflow:NetworkWorkflow"]
    activity = [s for s in mine if s.name == "RunActivity:fake.create_network"]
    plugin = [s for s in mine if s.name == "plugin fake.create_network"]
    assert run and activity and plugin, sorted(names(mine))
    assert plugin[0].attributes["netprov.resource_id"] == network_id

    def ancestors(span) -> list[str]:
        chain = []
        while span.parent is not None and span.parent.span_id in by_id:
            span = by_id[span.parent.span_id]
            chain.append(span.name)
        return chain

    # The plugin call's span descends from the activity, its scheduling by the workflow, the workflow's
    # start and the request (the SDK's interceptor hangs the workflow's own spans, which last no time,
    # off the start too).
    assert ancestors(plugin[0]) == [
        "RunActivity:fake.create_network", "StartActivity:fake.create_network", start[0].name,
        "POST /v1.1/tenants/{tenant_id}/networks",
    ]
    assert ancestors(run[0])[-1] == "POST /v1.1/tenants/{tenant_id}/networks"

    # Log lines logged inside the trace carry its id: the API's access line among them.
    logged = [json.loads(line) for line in lines.lines]
    access = [e for e in logged if e["logger"] == "netprov.api.access" and e.get("resource_id") == network_id]
    assert access and access[0]["trace_id"] == trace_id and len(access[0]["span_id"]) == 16


async def test_probes_make_no_spans_and_carry_no_trace_id(traced):
    http, exporter = traced
    response = await http.get("/healthz")
    assert response.status_code == 200 and "x-trace-id" not in response.headers
    assert not [s for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER]
