"""Metrics and structured logs of the API, in process (the real-process versions, and the worker's,
are in test_scale_out.py): /metrics counts requests by route template and status, and every log
line written while a request is handled names its tenant, resource and workflow."""

import io
import json
import logging
import re

import pytest

from api.metrics import path_context
from netprov.logging_setup import JsonFormatter, log_context, resource_of_workflow


def sample(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"^{re.escape(name)}\{{(.*)\}} (\S+)$", line)
        if match and all(f'{k}="{v}"' in match.group(1) for k, v in labels.items()):
            total += float(match.group(2))
    return total


# Known flaky under load (a first write after start once got a 503 from the engine probe): rerun, see the wave-2 note.
@pytest.mark.flaky(reruns=2)
async def test_metrics_count_requests_by_route_template_and_status(api, stack):
    network = await api.create_network("metered")
    route = "/v1.1/tenants/{tenant_id}/networks/{network_id}"
    before = (await stack.http.get("/metrics")).text

    await api.request("GET", f"networks/{network['id']}")
    await api.request("GET", "networks/00000000-0000-0000-0000-000000000000")
    await api.request("GET", "/no/such/route")
    await api.request("POST", "networks", content=b"x" * (65 * 1024), headers={"Content-Type": "application/json"})

    response = await stack.http.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    after = response.text

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("netprov_api_requests_total", method="GET", route=route, status="200") == 1
    assert delta("netprov_api_requests_total", method="GET", route=route, status="404") == 1
    assert delta("netprov_api_requests_total", method="GET", route="unmatched", status="404") == 1
    assert delta("netprov_api_requests_total", method="POST", status="413") == 1
    assert delta("netprov_api_request_duration_seconds_count", method="GET", route=route, status="200") == 1
    assert network["id"] not in after and "/no/such/route" not in after


async def test_log_lines_of_a_request_name_its_tenant_resource_and_workflow(api):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("api"))
    access = logging.getLogger("netprov.api.access")
    access.addHandler(handler)
    level = access.level
    access.setLevel(logging.INFO)
    try:
        network = await api.create_network("logged")
        await api.request("GET", f"networks/{network['id']}")
    finally:
        access.removeHandler(handler)
        access.setLevel(level)

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    create, show = lines[-2], lines[-1]
    for line in (create, show):
        assert line["tenant_id"] == api.tenant
        assert line["resource_type"] == "network" and line["resource_id"] == network["id"]
        assert line["workflow_id"] == f"network-{network['id']}"
        assert line["service"] == "api" and line["level"] == "INFO"
    # The create's id is only known from its answer (Location): it is on the line all the same.
    assert (create["method"], create["route"], create["status"]) == ("POST", "/v1.1/tenants/{tenant_id}/networks", 202)


def test_context_helpers():
    assert path_context("/v1.1/tenants/t1/networks/n1/ports/p1/attachment") == {
        "tenant_id": "t1", "resource_type": "port", "resource_id": "p1", "workflow_id": "port-p1",
    }
    assert path_context("/v1.1/tokens") == {}
    assert resource_of_workflow("network-abc") == {"resource_type": "network", "resource_id": "abc"}
    assert resource_of_workflow("something-else") == {}

    stream = io.StringIO()
    logger = logging.getLogger("netprov.test.context")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("worker"))
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with log_context(tenant_id="t9", resource_id=None):
            logger.warning("inside", extra={"step": "create_network"})
        logger.warning("outside")
    finally:
        logger.removeHandler(handler)
    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert inside["tenant_id"] == "t9" and "resource_id" not in inside and inside["step"] == "create_network"
    assert "tenant_id" not in outside
