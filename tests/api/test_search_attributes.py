"""The Temporal UI explains itself: workflows found by tenant, resource type and status (search
attributes, kept current), each with a summary in words; and `netprov admin setup-temporal`."""

import asyncio
import time
import uuid

from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from google.protobuf.duration_pb2 import Duration
from typer.testing import CliRunner

from cli.main import app as cli_app
from netprov.naming import SEARCH_ATTRIBUTES, network_workflow_id, port_workflow_id


async def _find(stack, query: str, expected: set[str], timeout: float = 15.0) -> set[str]:
    """Workflow ids matching `query`, polled until they include `expected` (visibility lags)."""
    deadline = time.monotonic() + timeout
    while True:
        found = {w.id async for w in stack.client.list_workflows(query)}
        if expected <= found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)


async def test_filter_by_tenant_type_and_status(api, stack):
    good = await api.create_network("sa-good")
    port = await api.create_port(good["id"], state="ACTIVE")
    bad = await api.create_network("fail-sa-bad")
    doomed = await api.create_port(bad["id"])  # queued on a network that fails: ends in ERROR too
    await api.settle(f"networks/{good['id']}/ports/{port['id']}", "port")
    await api.settle(f"networks/{bad['id']}/ports/{doomed['id']}", "port")

    tenant = api.tenant
    ports = {port_workflow_id(port["id"]), port_workflow_id(doomed["id"])}
    found = await _find(stack, f'NetprovTenant = "{tenant}" AND NetprovResourceType = "port"', ports)
    assert found == ports
    networks = {network_workflow_id(good["id"]), network_workflow_id(bad["id"])}
    assert await _find(stack, f'NetprovTenant = "{tenant}" AND NetprovResourceType = "network"', networks) == networks

    # NetprovStatus follows the status: the failed ones are found as ERROR, the good ones as settled.
    in_error = {network_workflow_id(bad["id"]), port_workflow_id(doomed["id"])}
    assert await _find(stack, f'NetprovTenant = "{tenant}" AND NetprovStatus = "ERROR"', in_error) == in_error
    ports_in_error = await _find(
        stack, f'NetprovTenant = "{tenant}" AND NetprovResourceType = "port" AND NetprovStatus = "ERROR"', {port_workflow_id(doomed["id"])}
    )
    assert ports_in_error == {port_workflow_id(doomed["id"])}
    settled = {network_workflow_id(good["id"]), port_workflow_id(port["id"])}
    assert await _find(stack, f'NetprovTenant = "{tenant}" AND NetprovStatus IN ("AVAILABLE", "ACTIVE")', settled) == settled
    assert await _find(stack, f'NetprovTenant = "{tenant}" AND NetprovStatus = "PROVISIONING"', set(), timeout=0) == set()
    assert await _find(stack, f'NetprovTenant = "t-{uuid.uuid4().hex[:8]}"', set(), timeout=0) == set()


async def test_each_workflow_says_what_it_provisions(api, stack):
    network = await api.create_network("explained")
    port = await api.create_port(network["id"])
    await api.settle(f"networks/{network['id']}/ports/{port['id']}", "port")
    described = await stack.client.get_workflow_handle(network_workflow_id(network["id"])).describe()
    summary, details = await described.static_summary(), await described.static_details()
    assert "network 'explained'" in summary and api.tenant in summary and "fake" in summary
    assert "operations" in details
    port_description = await stack.client.get_workflow_handle(port_workflow_id(port["id"])).describe()
    port_summary = await port_description.static_summary()
    assert port["id"] in port_summary and "network 'explained'" in port_summary
    # The workflow upserts NetprovStatus right after it records the status: a moment later than the row.
    wanted = {"NetprovTenant": api.tenant, "NetprovResourceType": "port", "NetprovStatus": "DOWN"}
    deadline = time.monotonic() + 10
    while True:
        attributes = port_description.typed_search_attributes
        values = {pair.key.name: pair.value for pair in attributes if pair.key.name.startswith("Netprov")}
        if values == wanted or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
        port_description = await stack.client.get_workflow_handle(port_workflow_id(port["id"])).describe()
    assert values == wanted


async def test_setup_temporal_registers_the_attributes_on_a_new_namespace(stack, settings):
    namespace = f"ns-{uuid.uuid4().hex[:8]}"
    await stack.client.workflow_service.register_namespace(
        RegisterNamespaceRequest(namespace=namespace, workflow_execution_retention_period=Duration(seconds=86400))
    )

    async def present() -> set[str]:
        listed = await stack.client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=namespace))
        return set(listed.custom_attributes) & set(SEARCH_ATTRIBUTES)

    deadline = time.monotonic() + 10
    runner = CliRunner()
    args = ["admin", "setup-temporal", "--address", settings.temporal_address, "--namespace", namespace]
    while True:  # a namespace just registered takes a moment to be served
        first = await asyncio.to_thread(runner.invoke, cli_app, args)
        if first.exit_code == 0 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert first.exit_code == 0, first.stdout + first.stderr
    assert first.stdout.count("registered now") == 3
    assert await present() == set(SEARCH_ATTRIBUTES)
    again = await asyncio.to_thread(runner.invoke, cli_app, [*args, "--json"])
    assert again.exit_code == 0
    assert '"registered": []' in again.stdout and again.stdout.count("Netprov") == 3
    unreachable = await asyncio.to_thread(runner.invoke, cli_app, ["admin", "setup-temporal", "--address", "127.0.0.1:9"])
    assert unreachable.exit_code == 1 and "cannot register" in unreachable.stderr
