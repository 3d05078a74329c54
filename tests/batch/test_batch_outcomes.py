"""What a batch comes to, item by item, with faults injected through the fake plugin's names, and
what its resources are afterwards: ordinary resources, driven by their own workflows."""

import uuid

from batch_helpers import items_by, ledger_counts, post_batch, topology, wait_batch

from temporalio.worker import Replayer

from netprov.naming import batch_workflow_id
from plugins.qbh_sim import QbhSimPlugin
from worker.build import WORKFLOWS

PERMANENT = "create_network failed: fake plugin refuses network 'fail-net' (permanent fault injected by name)"
# Test settings: plugin_max_attempts=4.
EXHAUSTED = (
    "create_network failed after 4 attempts: fake plugin: transient fault 4 of 9 injected by name for network 'flaky9-net'"
)


async def test_mixed_faults_end_exactly_as_they_should(api, settings, stack):
    existing = await api.create_network("existing")
    await api.settle(f"networks/{existing['id']}", "network")
    tag = uuid.uuid4().hex[:8]
    body = topology(["good", "flaky2-net", "fail-net", "flaky9-net"], 3, tag=tag)
    body["batch"]["ports"][1]["state"] = "DOWN"  # p0-1 on "good"
    body["batch"]["ports"].append({"ref": "px", "network": existing["id"], "state": "ACTIVE"})
    body["batch"]["attachments"].append({"port": "px", "id": f"vif-{tag}-x", "ref": "ax"})

    created = (await post_batch(api, body))["batch"]
    assert created["status"] == "PROVISIONING"
    assert created["counts"]["port"] == {"total": 13, "PROVISIONING": 13, "DOWN": 0, "ACTIVE": 0, "ERROR": 0}
    batch = await wait_batch(api, created["id"])

    assert batch["status"] == "PARTIAL"
    assert batch["counts"] == {
        "network": {"total": 4, "PROVISIONING": 0, "AVAILABLE": 2, "ERROR": 2},
        "port": {"total": 13, "PROVISIONING": 0, "DOWN": 1, "ACTIVE": 6, "ERROR": 6},
        "attachment": {"total": 13, "PROVISIONING": 0, "AVAILABLE": 7, "ERROR": 6},
    }
    items = items_by(batch)
    ids = {ref: item["id"] for (kind, ref), item in items.items() if kind != "attachment"}
    for ref, status, error in [("n0", "AVAILABLE", None), ("n1", "AVAILABLE", None), ("n2", "ERROR", PERMANENT), ("n3", "ERROR", EXHAUSTED)]:
        assert (items["network", ref]["status"], items["network", ref]["error"]) == (status, error), ref
    for i, network_error in [(0, None), (1, None), (2, PERMANENT), (3, EXHAUSTED)]:
        for j in range(3):
            port, attachment = items["port", f"p{i}-{j}"], items["attachment", f"p{i}-{j}"]
            assert port["network_id"] == ids[f"n{i}"] and attachment["port_id"] == port["id"]
            assert attachment["id"] == f"vif-{tag}-{i}-{j}"
            if network_error is None:
                assert (port["status"], port["error"]) == ("DOWN" if (i, j) == (0, 1) else "ACTIVE", None)
                assert (attachment["status"], attachment["error"]) == ("AVAILABLE", None)
            else:
                port_error = f"network {ids[f'n{i}']} is in ERROR: {network_error}"
                assert (port["status"], port["error"]) == ("ERROR", port_error)
                assert (attachment["status"], attachment["error"]) == ("ERROR", f"port {port['id']} is in ERROR: {port_error}")
    assert items["port", "px"]["status"] == "ACTIVE" and items["attachment", "ax"]["status"] == "AVAILABLE"

    # The rows say the same, as GET shows them.
    network = await api.get(f"networks/{ids['n2']}")
    assert (network["network"]["status"], network["network"]["status_reason"]) == ("ERROR", PERMANENT)
    up = (await api.get(f"networks/{ids['n1']}/ports/{ids['p1-0']}"))["port"]
    assert (up["status"], up["link_status"], up["link_status_string"], up["attachment"]["status"]) == ("ACTIVE", "UP", None, "AVAILABLE")
    down = (await api.get(f"networks/{ids['n0']}/ports/{ids['p0-1']}"))["port"]
    assert (down["status"], down["link_status"], down["link_status_string"]) == ("DOWN", "DOWN", "port admin DOWN")
    failed = (await api.get(f"networks/{ids['n3']}/ports/{ids['p3-0']}"))["port"]
    assert failed["status"] == "ERROR" and failed["status_reason"].startswith(f"network {ids['n3']} is in ERROR")
    assert failed["attachment"]["status"] == "ERROR"

    # Every plugin action of a settled item was applied exactly once; none for the failed ones.
    applied = ledger_counts(settings, set(ids.values()))
    expected = {(ids["n0"], "create_network"), (ids["n1"], "create_network")}
    for i in (0, 1):
        for j in range(3):
            expected |= {(ids[f"p{i}-{j}"], "create_port"), (ids[f"p{i}-{j}"], "plug_interface")}
    expected |= {(ids["px"], "create_port"), (ids["px"], "plug_interface")}
    assert set(applied) == expected and set(applied.values()) == {1}

    # The workflow's own view: the `progress` query and the static summary.
    handle = stack.client.get_workflow_handle(batch_workflow_id(created["id"]))
    await handle.result()
    progress = await handle.query("progress")
    assert progress["status"] == "PARTIAL" and progress["counts"]["port"]["ERROR"] == 6 and progress["phase"] == "done"
    description = await handle.describe()
    assert (await description.static_summary()) == f"Batch of 4 networks, 13 ports, 13 attachments for tenant {api.tenant}"
    # Its history (retries, failures and all) replays without a non-determinism error.
    await Replayer(workflows=WORKFLOWS).replay_workflow(await handle.fetch_history())

    without_items = (await api.get(f"batches/{created['id']}?items=false"))["batch"]
    assert without_items["items"] is None and without_items["counts"] == batch["counts"]
    listed = (await api.get("batches"))["batches"]
    assert [(b["id"], b["status"]) for b in listed] == [(created["id"], "PARTIAL")]


async def test_batch_resources_are_ordinary_resources(api, settings):
    tag = uuid.uuid4().hex[:8]
    batch = await wait_batch(api, (await post_batch(api, topology(["web", "fail-web"], 2, tag=tag)))["batch"]["id"])
    items = items_by(batch)
    net, bad_net = items["network", "n0"]["id"], items["network", "n1"]["id"]
    port, other = items["port", "p0-0"]["id"], items["port", "p0-1"]["id"]
    wait = {"Prefer": "wait=20"}

    # Admin state, through the port's own workflow: it starts from what the batch left.
    response = await api.request("PUT", f"networks/{net}/ports/{port}", json={"port": {"state": "DOWN"}}, headers=wait)
    assert response.status_code == 200, response.text
    body = response.json()["port"]
    assert (body["status"], body["link_status"], body["link_status_string"]) == ("DOWN", "DOWN", "port admin DOWN")
    # Detach, attach another interface, back to ACTIVE: link UP.
    response = await api.request("DELETE", f"networks/{net}/ports/{port}/attachment", headers=wait)
    assert response.status_code == 204, response.text
    body = (await api.get(f"networks/{net}/ports/{port}"))["port"]
    assert body["attachment"] is None and body["link_status_string"] == "no attachment"
    response = await api.request(
        "PUT", f"networks/{net}/ports/{port}/attachment", json={"attachment": {"id": f"vif-{tag}-new", "host": "h1"}}, headers=wait
    )
    assert response.status_code == 200 and response.json()["attachment"]["status"] == "AVAILABLE"
    response = await api.request("PUT", f"networks/{net}/ports/{port}", json={"port": {"state": "ACTIVE"}}, headers=wait)
    assert response.json()["port"]["link_status"] == "UP"
    # The batch's interface is free again: another port can take it.
    fresh = await api.create_port(net, state="ACTIVE")
    assert (await api.attach(net, fresh["id"], f"vif-{tag}-0-0")).status_code == 202
    fresh = await api.settle(f"networks/{net}/ports/{fresh['id']}", "port", until=lambda p: p["attachment"]["status"] != "PROVISIONING")
    assert fresh["status"] == "ACTIVE" and fresh["attachment"]["status"] == "AVAILABLE" and fresh["link_status"] == "UP"

    # Delete: a port with its attachment removed, then the whole network.
    assert (await api.request("DELETE", f"networks/{net}/ports/{other}/attachment", headers=wait)).status_code == 204
    assert (await api.request("DELETE", f"networks/{net}/ports/{other}", headers=wait)).status_code == 204
    # The failed network and its failed ports go the same way.
    for j in range(2):
        failed_port = items["port", f"p1-{j}"]["id"]
        assert (await api.request("DELETE", f"networks/{bad_net}/ports/{failed_port}/attachment", headers=wait)).status_code == 204
    assert (await api.request("DELETE", f"networks/{bad_net}", headers=wait)).status_code == 204
    await api.gone(f"networks/{bad_net}")
    # The batch still tells what it did.
    again = await wait_batch(api, batch["id"])
    assert again["status"] == "PARTIAL" and items_by(again)["port", "p0-0"]["status"] == "ACTIVE"
    applied = ledger_counts(settings, {net, port, other})
    assert applied[(port, "create_port")] == 1 and applied[(port, "plug_interface")] == 2  # the batch's, then ours
    assert applied[(other, "delete_port")] == 1


async def test_operations_accepted_meanwhile_wait_for_the_batch(api, settings):
    """A PUT on a port the batch is still provisioning waits until the batch has settled that port,
    and the port's workflow then starts from what the batch left: here a port that failed with its
    network (`flaky9-`: retries exhausted), so the PUT changes nothing on the plugin and the port
    stays in ERROR. Run at once, the PUT would "update" a port that was never created."""
    created = (await post_batch(api, topology(["flaky9-slow"], 2)))["batch"]
    items = items_by(created)
    net, port = items["network", "n0"]["id"], items["port", "p0-0"]["id"]
    response = await api.request("PUT", f"networks/{net}/ports/{port}", json={"port": {"state": "DOWN"}})
    assert response.status_code == 204
    batch = await wait_batch(api, created["id"], timeout=60)
    assert batch["status"] == "ERROR" and items_by(batch)["port", "p0-0"]["status"] == "ERROR"
    body = await api.settle(f"networks/{net}/ports/{port}", "port", timeout=30)
    assert body["status"] == "ERROR" and body["status_reason"].startswith(f"network {net} is in ERROR")
    assert body["state"] == "DOWN"
    assert ledger_counts(settings, {port}) == {}


async def test_retry_redrives_only_the_failed_items(api, settings):
    tag = uuid.uuid4().hex[:8]
    batch = await wait_batch(api, (await post_batch(api, topology(["ok", "fail-first"], 2, tag=tag)))["batch"]["id"])
    assert batch["status"] == "PARTIAL"
    items = items_by(batch)
    ok_ids = {items[k]["id"] for k in [("network", "n0"), ("port", "p0-0"), ("port", "p0-1")]}
    before = ledger_counts(settings, ok_ids)
    # Still failing by name: the retry fails again, and nothing that succeeded is touched.
    failed_net = items["network", "n1"]["id"]
    response = await api.request("POST", f"batches/{batch['id']}/actions/retry")
    assert response.status_code == 202 and response.json()["batch"]["retries"] == 1
    batch = await wait_batch(api, batch["id"])
    assert batch["status"] == "PARTIAL" and batch["counts"]["network"]["ERROR"] == 1
    # Fixed (renamed), the retry succeeds: every item is done.
    assert (await api.request("PUT", f"networks/{failed_net}", json={"network": {"name": "fixed"}})).status_code == 204
    response = await api.request("POST", f"batches/{batch['id']}/actions/retry")
    assert response.status_code == 202
    batch = await wait_batch(api, batch["id"])
    assert batch["status"] == "COMPLETED" and batch["retries"] == 2
    assert all(item["error"] is None for item in batch["items"])
    port = (await api.get(f"networks/{failed_net}/ports/{items['port', 'p1-0']['id']}"))["port"]
    assert (port["status"], port["attachment"]["status"], port["link_status"]) == ("ACTIVE", "AVAILABLE", "UP")
    assert ledger_counts(settings, ok_ids) == before
    assert ledger_counts(settings, {failed_net}) == {(failed_net, "create_network"): 1}
    # Nothing left to retry, and a batch still provisioning cannot be retried.
    response = await api.request("POST", f"batches/{batch['id']}/actions/retry")
    assert response.status_code == 409 and response.json()["code"] == "NothingToRetry"
    busy = (await post_batch(api, topology(["flaky3-busy"], 1)))["batch"]
    response = await api.request("POST", f"batches/{busy['id']}/actions/retry")
    assert response.status_code == 409 and response.json()["code"] == "NothingToRetry"
    await wait_batch(api, busy["id"])


async def test_multi_step_plugin_compensates_per_item(api, settings):
    """qbh-sim runs three steps per network and per plug; `fail3-` fails the third (physical
    switch): the item is ERROR and the two completed steps are undone."""
    tag = uuid.uuid4().hex[:8]
    body = {"batch": {
        "networks": [{"ref": "q", "name": "qbh-ok", "plugin": "qbh-sim"}, {"ref": "f", "name": "fail3-qbh", "plugin": "qbh-sim"}],
        "ports": [{"ref": "qp", "network": "q", "state": "ACTIVE"}, {"ref": "fp", "network": "f", "state": "ACTIVE"}],
        "attachments": [{"port": "qp", "id": f"vif-{tag}-q"}, {"port": "fp", "id": f"vif-{tag}-f"}],
    }}
    batch = await wait_batch(api, (await post_batch(api, body))["batch"]["id"])
    items = items_by(batch)
    assert batch["status"] == "PARTIAL"
    assert items["network", "f"]["error"].startswith("create_network failed: qbh-sim plugin refuses network 'fail3-qbh' on the physical switch")
    assert [items[k]["status"] for k in [("network", "q"), ("port", "qp"), ("attachment", "qp")]] == ["AVAILABLE", "ACTIVE", "AVAILABLE"]
    port = (await api.get(f"networks/{items['network', 'q']['id']}/ports/{items['port', 'qp']['id']}"))["port"]
    assert port["link_status"] == "UP"
    plugin = QbhSimPlugin(settings)
    layers = [(e.action, e.resource_id) for e in plugin.ledger() if e.resource_id == items["network", "f"]["id"]]
    # Two layers set up, then undone in reverse; the third never applied.
    assert [action for action, _ in layers] == [
        "qbh_vswitch_create_network", "qbh_ifvirt_create_network", "qbh_ifvirt_delete_network", "qbh_vswitch_delete_network"
    ]


async def test_ovs_sim_networks_get_their_vlan(api):
    body = {"batch": {"networks": [{"ref": "v", "name": "vlan-net", "plugin": "ovs-sim"}],
                      "ports": [{"ref": "vp", "network": "v", "state": "ACTIVE"}],
                      "attachments": [{"port": "vp", "id": f"vif-{uuid.uuid4().hex[:8]}"}]}}
    batch = await wait_batch(api, (await post_batch(api, body))["batch"]["id"])
    assert batch["status"] == "COMPLETED"
    network = (await api.get(f"networks/{items_by(batch)['network', 'v']['id']}"))["network"]
    assert network["plugin_data"]["vlan"].isdigit()
