"""The Temporal search that tells operators which resources are in ERROR now. A closed run keeps the
NetprovStatus it ended with, so `NetprovStatus = "ERROR"` alone also finds deleted resources and
resources recovered since in a later run (runs closed before this rule, runs that continued as new);
a run in ERROR stays open until the next operation, so `ExecutionStatus = "Running" AND
NetprovStatus = "ERROR"` finds exactly the current ones. Against the session's real Temporal dev
server."""

import asyncio
import time

from netprov.naming import network_workflow_id, port_workflow_id

IN_ERROR_NOW = 'ExecutionStatus = "Running" AND NetprovStatus = "ERROR"'


async def _ids(stack, query: str, until, timeout: float = 15.0) -> set[str]:
    """Workflow ids matching `query`, polled until `until(ids)` (visibility lags a little)."""
    deadline = time.monotonic() + timeout
    while True:
        ids = {w.id async for w in stack.client.list_workflows(query)}
        if until(ids) or time.monotonic() > deadline:
            return ids
        await asyncio.sleep(0.2)


async def test_in_error_now_lists_current_errors_only(api, stack):
    tenant = f'NetprovTenant = "{api.tenant}"'
    broken = await api.create_network("fail-recovers")
    doomed = await api.create_port(broken["id"])
    stays = await api.create_network("fail-stays")
    fine = await api.create_network("fine")
    for network in (broken, stays, fine):
        await api.settle(f"networks/{network['id']}", "network")
    await api.settle(f"networks/{broken['id']}/ports/{doomed['id']}", "port")
    broken_wf, stays_wf, port_wf = (network_workflow_id(broken["id"]), network_workflow_id(stays["id"]),
                                    port_workflow_id(doomed["id"]))

    now = await _ids(stack, f"{tenant} AND {IN_ERROR_NOW}", lambda ids: {broken_wf, stays_wf, port_wf} <= ids)
    assert now == {broken_wf, stays_wf, port_wf}

    # The operator fixes the network (a name the fake plugin accepts) and retries it.
    assert (await api.request("PUT", f"networks/{broken['id']}", json={"network": {"name": "recovered"}})).status_code == 204
    retried = await api.request("POST", f"networks/{broken['id']}/actions/retry", headers={"Prefer": "wait=20"})
    assert retried.status_code == 200 and retried.json()["network"]["status"] == "AVAILABLE", retried.text
    # ... and deletes the port that failed with it.
    deleted = await api.request("DELETE", f"networks/{broken['id']}/ports/{doomed['id']}")
    assert deleted.status_code in (202, 204)
    await api.gone(f"networks/{broken['id']}/ports/{doomed['id']}")

    now = await _ids(stack, f"{tenant} AND {IN_ERROR_NOW}", lambda ids: ids == {stays_wf})
    assert now == {stays_wf}
    # The naive search still finds the deleted port: its last run closed in ERROR (as do runs that
    # continued as new, and runs of before this rule).
    naive = await _ids(stack, f'{tenant} AND NetprovStatus = "ERROR"', lambda ids: port_wf in ids)
    assert port_wf in naive and stays_wf in naive
    # The recovered network's retry ran in the run that had stayed open: it carries AVAILABLE.
    assert broken_wf not in naive
    described = await stack.client.get_workflow_handle(broken_wf).describe()
    assert {p.key.name: p.value for p in described.typed_search_attributes}["NetprovStatus"] == "AVAILABLE"
    # Every resource in ERROR by the API is in the truthful search, and nothing else.
    listed = (await api.get("networks?status=ERROR"))["networks"]
    assert {network_workflow_id(n["id"]) for n in listed} == now
