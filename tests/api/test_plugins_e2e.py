"""The shipped plugins driven end to end through the API: ovs-sim (synchronous, VLAN per network),
qbh-sim (three steps per action, compensation, progress in status_reason), and the fake plugin's
ledger proving every action was applied exactly once.

Some scenarios need settings the session stack does not have (a two-VLAN range, slow qbh steps):
they run on a second stack built here like the one in tests/conftest.py, with its own data dir
and its own worker on its own task queue, against the same Temporal dev server.
"""

import asyncio
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest
from temporalio.client import Client

from api.app import create_app
from netprov.settings import Settings
from plugins.registry import plugin_class
from worker.build import MAX_CONCURRENT_ACTIVITIES, central_worker

ADMIN_SECRET = "small-stack-admin-secret"
SLOW_QBH_MS = 250  # per latency unit: the qbh steps take 250, 500 and 250 ms


@dataclass
class SmallStack:
    settings: Settings
    http: httpx.AsyncClient


@pytest.fixture(scope="module")
async def small_stack(temporal_server, tmp_path_factory, settings) -> SmallStack:
    """A second stack: VLAN range 100-101 for ovs-sim, slow qbh-sim steps."""
    small = Settings(
        data_dir=tmp_path_factory.mktemp("netprov-small"),
        temporal_address=temporal_server.target,
        admin_token=ADMIN_SECRET,
        temporal_ui_url=settings.temporal_ui_url,
        task_queue=f"netprov-small-{uuid.uuid4().hex[:8]}",
        plugin_settings={"ovs-sim": {"vlan_range": "100-101"}, "qbh-sim": {"latency_ms": SLOW_QBH_MS}},
        plugin_initial_backoff_ms=50,
        plugin_max_attempts=4,
    )
    client = await Client.connect(small.temporal_address)
    executor = ThreadPoolExecutor(max_workers=MAX_CONCURRENT_ACTIVITIES)
    app = create_app(small, client)
    async with central_worker(client, small, executor), app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://small.test", timeout=60
        ) as http:
            yield SmallStack(small, http)
    executor.shutdown(wait=False, cancel_futures=True)


@pytest.fixture
def small_api(api, small_stack):
    """The admin of the small stack on a fresh tenant (same helpers as `api`)."""
    return type(api)(small_stack.http, ADMIN_SECRET, api.tenant)


def ledger_of(settings: Settings, plugin: str, *resource_ids: str) -> list:
    wanted = set(resource_ids)
    return [e for e in plugin_class(plugin)(settings).ledger() if e.resource_id in wanted]


def qbh_layers(settings: Settings, network_id: str) -> list[str]:
    """The subsystems qbh-sim still has the network on (its `residue()`, for one network)."""
    qbh = plugin_class("qbh-sim")(settings)
    with qbh.store.transaction(write=False) as db:
        return [layer for (layer,) in db.execute("SELECT layer FROM network_layers WHERE network_id = ?", (network_id,))]


async def watch_reasons(api, path: str, key: str, timeout: float = 30.0) -> tuple[dict, list[str]]:
    """Poll fast until settled; every distinct status_reason seen while PROVISIONING, in order."""
    reasons: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        body = (await api.get(path))[key]
        if body["status"] != "PROVISIONING":
            return body, reasons
        if body["status_reason"] and (not reasons or reasons[-1] != body["status_reason"]):
            reasons.append(body["status_reason"])
        assert time.monotonic() < deadline, f"{path} still PROVISIONING: {reasons}"
        await asyncio.sleep(0.01)


# -- ovs-sim --------------------------------------------------------------------------------


async def test_ovs_sim_network_is_available_with_its_vlan_within_a_second(api):
    started = time.monotonic()
    network = await api.create_network("ovs", plugin="ovs-sim")

    settled = await api.settle(f"networks/{network['id']}", "network", timeout=5)

    assert time.monotonic() - started < 1.0
    assert settled["status"] == "AVAILABLE"
    assert settled["plugin"] == "ovs-sim"
    assert 100 <= int(settled["plugin_data"]["vlan"]) <= 3999


async def test_ovs_sim_with_prefer_wait_answers_201_available(api, stack):
    response = await api.request(
        "POST", "networks", json={"network": {"name": "ovs", "plugin": "ovs-sim"}}, headers={"Prefer": "wait=5"}
    )

    assert response.status_code == 201, response.text
    network = response.json()["network"]
    assert network["status"] == "AVAILABLE"
    vlan = int(network["plugin_data"]["vlan"])
    assert plugin_class("ovs-sim")(stack.settings).vlan_of(network["id"]) == vlan

    port = await api.request(
        "POST", f"networks/{network['id']}/ports", json={"port": {"state": "ACTIVE"}}, headers={"Prefer": "wait=5"}
    )
    assert port.status_code == 201, port.text
    assert port.json()["port"]["status"] == "ACTIVE"
    attach = await api.request(
        "PUT",
        f"networks/{network['id']}/ports/{port.json()['port']['id']}/attachment",
        json={"attachment": {"id": f"vif-{uuid.uuid4().hex[:8]}", "host": "h1"}},
        headers={"Prefer": "wait=5"},
    )
    assert attach.status_code == 200, attach.text
    assert attach.json()["attachment"]["status"] == "AVAILABLE"
    settled = (await api.get(f"networks/{network['id']}/ports/{port.json()['port']['id']}"))["port"]
    assert (settled["link_status"], settled["link_status_string"]) == ("UP", None)


async def test_ovs_sim_vlan_range_exhausted_goes_to_error_and_a_delete_frees_a_vlan(small_api, small_stack):
    first = await small_api.request(
        "POST", "networks", json={"network": {"name": "a", "plugin": "ovs-sim"}}, headers={"Prefer": "wait=5"}
    )
    second = await small_api.request(
        "POST", "networks", json={"network": {"name": "b", "plugin": "ovs-sim"}}, headers={"Prefer": "wait=5"}
    )
    vlans = {int(r.json()["network"]["plugin_data"]["vlan"]) for r in (first, second)}
    assert vlans == {100, 101}

    third = await small_api.request(
        "POST", "networks", json={"network": {"name": "c", "plugin": "ovs-sim"}}, headers={"Prefer": "wait=5"}
    )

    assert third.status_code == 201, third.text
    failed = third.json()["network"]
    assert failed["status"] == "ERROR"
    assert "VLAN range 100-101 exhausted" in failed["status_reason"]
    assert failed["plugin_data"] == {}

    freed = first.json()["network"]
    assert (await small_api.request("DELETE", f"networks/{freed['id']}", headers={"Prefer": "wait=5"})).status_code == 204
    fourth = await small_api.request(
        "POST", "networks", json={"network": {"name": "d", "plugin": "ovs-sim"}}, headers={"Prefer": "wait=5"}
    )
    assert fourth.json()["network"]["status"] == "AVAILABLE"
    assert fourth.json()["network"]["plugin_data"]["vlan"] == freed["plugin_data"]["vlan"]
    for network in (second.json()["network"], failed, fourth.json()["network"]):
        await small_api.request("DELETE", f"networks/{network['id']}", headers={"Prefer": "wait=5"})
    assert (await small_api.get("networks"))["networks"] == []
    assert plugin_class("ovs-sim")(small_stack.settings).residue()["networks"] == 0


# -- qbh-sim --------------------------------------------------------------------------------


async def test_qbh_sim_failure_in_step_3_undoes_steps_2_and_1_before_error(api, stack):
    network = await api.create_network("fail3-qbh", plugin="qbh-sim")

    settled = await api.settle(f"networks/{network['id']}", "network")

    assert settled["status"] == "ERROR"
    assert "qbh_pswitch_create_network failed" in settled["status_reason"]
    assert "physical switch" in settled["status_reason"]
    assert qbh_layers(stack.settings, network["id"]) == []
    assert [e.action for e in ledger_of(stack.settings, "qbh-sim", network["id"])] == [
        "qbh_vswitch_create_network",
        "qbh_ifvirt_create_network",
        "qbh_ifvirt_delete_network",
        "qbh_vswitch_delete_network",
    ]


async def test_qbh_sim_network_and_attachment_run_three_steps_in_order(api, stack):
    network = await api.create_network("qbh", plugin="qbh-sim")
    port = await api.create_port(network["id"], state="ACTIVE")
    await api.attach(network["id"], port["id"], f"vif-{uuid.uuid4().hex[:8]}")
    path = f"networks/{network['id']}/ports/{port['id']}"

    settled = await api.settle(path, "port", until=lambda p: p["attachment"]["status"] != "PROVISIONING")

    assert (await api.get(f"networks/{network['id']}"))["network"]["status"] == "AVAILABLE"
    assert qbh_layers(stack.settings, network["id"]) == ["ifvirt", "pswitch", "vswitch"]
    assert settled["status"] == "ACTIVE"
    assert settled["attachment"]["status"] == "AVAILABLE"
    assert (settled["link_status"], settled["link_status_string"]) == ("UP", None)
    assert [e.action for e in ledger_of(stack.settings, "qbh-sim", network["id"], port["id"])] == [
        "qbh_vswitch_create_network",
        "qbh_ifvirt_create_network",
        "qbh_pswitch_create_network",
        "create_port",
        "qbh_vswitch_plug",
        "qbh_ifvirt_plug",
        "qbh_pswitch_plug",
    ]


async def test_qbh_sim_status_reason_shows_the_step_in_progress(small_api, small_stack):
    network = await small_api.create_network("qbh-slow", plugin="qbh-sim")

    settled, reasons = await watch_reasons(small_api, f"networks/{network['id']}", "network")

    assert settled["status"] == "AVAILABLE"
    steps = [reason for reason in reasons if reason.startswith("step ")]
    assert steps == [
        "step 1 of 3: qbh_vswitch_create_network",
        "step 2 of 3: qbh_ifvirt_create_network",
        "step 3 of 3: qbh_pswitch_create_network",
    ]


async def test_deleting_a_qbh_sim_network_mid_step_cancels_the_remaining_steps(small_api, small_stack):
    network = await small_api.create_network("qbh-cancelled", plugin="qbh-sim")
    # Delete while step 1 (250 ms) runs: the steps after it must never start.
    await small_api.settle(
        f"networks/{network['id']}", "network", until=lambda n: (n["status_reason"] or "").startswith("step 1"), timeout=5
    )

    response = await small_api.request("DELETE", f"networks/{network['id']}")

    assert response.status_code in (202, 204), response.text
    await small_api.gone(f"networks/{network['id']}")
    actions = [e.action for e in ledger_of(small_stack.settings, "qbh-sim", network["id"])]
    assert "qbh_ifvirt_create_network" not in actions and "qbh_pswitch_create_network" not in actions, actions
    assert actions[-1] == "delete_network"
    assert qbh_layers(small_stack.settings, network["id"]) == []


# -- fake: exactly once ---------------------------------------------------------------------


async def test_fake_ledger_has_each_action_exactly_once(api, stack):
    names = ["plain", "other", "flaky1-retried"]
    networks = [await api.create_network(name) for name in names]
    ports = []
    for network in networks:
        for _ in range(2):
            port = await api.create_port(network["id"], state="ACTIVE")
            await api.attach(network["id"], port["id"], f"vif-{uuid.uuid4().hex[:12]}")
            ports.append((network["id"], port["id"]))
    # A repeated attach and a state change on each first port, fired at once as well.
    for network_id, port_id in ports[::2]:
        again = await api.request("GET", f"networks/{network_id}/ports/{port_id}/attachment")
        await api.attach(network_id, port_id, again.json()["attachment"]["id"])
        await api.request("PUT", f"networks/{network_id}/ports/{port_id}", json={"port": {"state": "DOWN"}})

    for network_id, port_id in ports:
        await api.settle(
            f"networks/{network_id}/ports/{port_id}",
            "port",
            until=lambda p: p["status"] != "PROVISIONING" and p["attachment"]["status"] != "PROVISIONING",
        )

    ids = [n["id"] for n in networks] + [port_id for _, port_id in ports]
    entries = ledger_of(stack.settings, "fake", *ids)
    keys = Counter((e.request_id, e.action) for e in entries)
    assert keys and set(keys.values()) == {1}
    actions = Counter(e.action for e in entries)
    assert actions == {
        "create_network": len(networks),
        "create_port": len(ports),
        "plug_interface": len(ports),
        "update_port": len(ports[::2]),
    }
    assert {e.resource_id for e in entries if e.action == "create_network"} == {n["id"] for n in networks}
