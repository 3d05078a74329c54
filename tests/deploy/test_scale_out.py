"""Stateless replicas: two `python -m api` processes and two `python -m worker` processes on one
PostgreSQL database and one Temporal server give the results one of each would. Writes to the same
resources race through both APIs; idempotency keys hold across replicas; each process serves its
metrics and logs JSON lines that name the tenant, resource and workflow.

All four processes start at once on an empty database: each applies the migrations at start, so
this also proves concurrent migration is safe (the advisory lock)."""

import asyncio
import re
import uuid
from collections import Counter

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import Session

from devstack.temporal_server import free_ports
from netprov.settings import Settings
from plugins.registry import plugin_class
from store.engine import make_engine
from store.schema import current_revision, head_revision
from store.tables import NetworkRow, OperationRow

pytestmark = pytest.mark.postgres

TENANT = "scale"


@pytest.fixture(scope="module")
def replicas(services_factory, deploy_database):
    services = services_factory(deploy_database)
    ports = [str(p) for p in free_ports(2)]
    apis = [services.start_api("api-a"), services.start_api("api-b")]
    for index, port in enumerate(ports):
        services.start_worker(f"worker-{index + 1}", NETPROV_WORKER_METRICS_PORT=port)
    for url in apis:
        services.wait_healthy(url)
    for index in range(2):
        services.wait_worker(f"worker-{index + 1}")
    services.apis = apis
    services.worker_metrics = [f"http://127.0.0.1:{p}/metrics" for p in ports]
    return services


@pytest.fixture
async def clients(replicas):
    """One HTTP client per API replica, both with the admin token on the test tenant's paths."""
    admin = {"X-Auth-Token": replicas.env["NETPROV_ADMIN_TOKEN"]}
    async with httpx.AsyncClient(base_url=f"{replicas.apis[0]}/v1.1/tenants/{TENANT}", headers=admin, timeout=30) as a:
        async with httpx.AsyncClient(base_url=f"{replicas.apis[1]}/v1.1/tenants/{TENANT}", headers=admin, timeout=30) as b:
            yield a, b


def fake_plugin(replicas):
    return plugin_class("fake")(Settings(data_dir=replicas.root))


async def settle(client: httpx.AsyncClient, path: str, key: str, until=None, timeout: float = 20.0) -> dict:
    until = until or (lambda body: body["status"] != "PROVISIONING")
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await client.get(path)
        assert response.status_code == 200, response.text
        body = response.json()[key]
        if until(body):
            return body
        assert asyncio.get_running_loop().time() < deadline, f"{path} did not settle: {body}"
        await asyncio.sleep(0.1)


async def ready_port(a: httpx.AsyncClient, b: httpx.AsyncClient) -> tuple[str, str]:
    """A network made through replica A and a DOWN port on it made through B, both settled."""
    response = await a.post("networks", json={"network": {"name": "shared"}}, headers={"Prefer": "wait=15"})
    assert response.status_code == 201, response.text
    network_id = response.json()["network"]["id"]
    response = await b.post(f"networks/{network_id}/ports", json={"port": {"state": "DOWN"}}, headers={"Prefer": "wait=15"})
    assert response.status_code == 201, response.text
    return network_id, response.json()["port"]["id"]


def test_every_process_migrated_the_one_database_once(replicas, deploy_database):
    assert current_revision(deploy_database) == head_revision()


async def test_state_changes_raced_through_both_replicas_apply_in_one_order(replicas, clients):
    a, b = clients
    network_id, port_id = await ready_port(a, b)
    path = f"networks/{network_id}/ports/{port_id}"

    states = ["ACTIVE", "DOWN"] * 6
    answers = await asyncio.gather(
        *((a if i % 2 else b).put(path, json={"port": {"state": state}}) for i, state in enumerate(states))
    )
    assert [r.status_code for r in answers] == [204] * len(states), [r.text for r in answers]
    final = await a.put(path, json={"port": {"state": "ACTIVE"}})
    assert final.status_code == 204, final.text

    port = await settle(b, path, "port")
    assert (port["state"], port["status"]) == ("ACTIVE", "ACTIVE")
    # One sequence per resource whatever replica accepted the write: 1..n, no gap, no repeat,
    # and every accepted operation applied exactly once by one of the two workers.
    engine = make_engine(replicas.env["NETPROV_DATABASE_URL"])
    try:
        with Session(engine) as session:
            ops = session.execute(
                select(OperationRow.seq, OperationRow.kind).where(OperationRow.resource_id == port_id)
            ).all()
    finally:
        engine.dispose()
    seqs = sorted(seq for seq, _ in ops)
    assert seqs == list(range(1, len(ops) + 1)), seqs
    updates = sum(1 for _, kind in ops if kind == "update")
    applied = Counter(e.action for e in fake_plugin(replicas).ledger() if e.resource_id == port_id)
    assert applied["update_port"] == updates and applied["create_port"] == 1, (applied, ops)
    with fake_plugin(replicas).store.transaction(write=False) as db:
        assert db.execute("SELECT state FROM ports WHERE port_id = ?", (port_id,)).fetchone() == ("ACTIVE",)


async def test_attachments_raced_through_both_replicas_have_one_winner(replicas, clients):
    a, b = clients
    network_id, _ = await ready_port(a, b)
    ports = []
    for _ in range(4):
        response = await a.post(f"networks/{network_id}/ports", json={"port": {"state": "ACTIVE"}})
        assert response.status_code == 202, response.text
        ports.append(response.json()["port"]["id"])

    # Two interfaces for one port, one through each replica: one plugged, the other AlreadyAttached.
    for port_id in ports[:3]:
        mine, theirs = f"vif-a-{uuid.uuid4().hex[:8]}", f"vif-b-{uuid.uuid4().hex[:8]}"
        path = f"networks/{network_id}/ports/{port_id}/attachment"
        first, second = await asyncio.gather(
            a.put(path, json={"attachment": {"id": mine, "host": "h1"}}),
            b.put(path, json={"attachment": {"id": theirs, "host": "h1"}}),
        )
        codes = sorted([first.status_code, second.status_code])
        assert codes == [202, 409], (first.text, second.text)
        loser = first if first.status_code == 409 else second
        assert loser.json()["code"] == "AlreadyAttached"
        winner = mine if first.status_code == 202 else theirs
        shown = (await b.get(path)).json()["attachment"]
        assert shown["id"] == winner

    # One interface for two ports, one through each replica: plugged once, the other PortInUse.
    response = await b.post(f"networks/{network_id}/ports", json={"port": {"state": "ACTIVE"}})
    assert response.status_code == 202, response.text
    pair = [ports[3], response.json()["port"]["id"]]
    vif = f"vif-one-{uuid.uuid4().hex[:8]}"
    first, second = await asyncio.gather(
        *(client.put(f"networks/{network_id}/ports/{port_id}/attachment", json={"attachment": {"id": vif, "host": "h1"}})
          for client, port_id in zip((a, b), pair))
    )
    assert sorted([first.status_code, second.status_code]) == [202, 409], (first.text, second.text)
    assert (first if first.status_code == 409 else second).json()["code"] == "PortInUse"
    won, lost = pair if first.status_code == 202 else pair[::-1]

    for port_id in [*ports[:3], won]:
        await settle(a, f"networks/{network_id}/ports/{port_id}", "port",
                     until=lambda p: p["status"] != "PROVISIONING" and (p["attachment"] or {}).get("status") == "AVAILABLE")
    plugs = Counter(e.resource_id for e in fake_plugin(replicas).ledger() if e.action == "plug_interface")
    assert [plugs[port_id] for port_id in [*ports[:3], won, lost]] == [1, 1, 1, 1, 0]
    assert (await b.get(f"networks/{network_id}/ports/{lost}/attachment")).json()["attachment"] is None


async def test_one_idempotency_key_sent_to_both_replicas_at_once_makes_one_network(replicas, clients):
    a, b = clients
    key = f"key-{uuid.uuid4().hex}"
    name = f"idem-{uuid.uuid4().hex[:8]}"
    answers = await asyncio.gather(
        *((a, b)[i % 2].post("networks", json={"network": {"name": name}}, headers={"Idempotency-Key": key}) for i in range(6))
    )
    assert all(r.status_code in (201, 202) for r in answers), [r.text for r in answers]
    ids = {r.json()["network"]["id"] for r in answers}
    assert len(ids) == 1, ids
    (network_id,) = ids
    listed = [n for n in (await b.get("networks")).json()["networks"] if n["name"] == name]
    assert [n["id"] for n in listed] == [network_id]
    await settle(a, f"networks/{network_id}", "network")
    created = [e for e in fake_plugin(replicas).ledger() if e.resource_id == network_id and e.action == "create_network"]
    assert len(created) == 1
    engine = make_engine(replicas.env["NETPROV_DATABASE_URL"])
    try:
        with Session(engine) as session:
            assert session.execute(select(NetworkRow.id).where(NetworkRow.name == name)).scalars().all() == [network_id]
    finally:
        engine.dispose()


async def test_each_api_replica_serves_its_request_metrics(replicas, clients):
    a, b = clients
    response = await a.get("networks/not-a-uuid")
    assert response.status_code == 400
    async with httpx.AsyncClient(timeout=10) as http:
        text = (await http.get(f"{replicas.apis[0]}/metrics")).text
    assert _sample(text, "netprov_api_requests_total",
                   method="GET", route="/v1.1/tenants/{tenant_id}/networks/{network_id}", status="400") >= 1
    assert _sample(text, "netprov_api_request_duration_seconds_count",
                   method="GET", route="/v1.1/tenants/{tenant_id}/networks/{network_id}", status="400") >= 1
    # Routes are templates: no label value ever holds an id.
    assert "not-a-uuid" not in text


async def test_workers_serve_sdk_and_plugin_call_metrics(replicas, clients):
    a, _ = clients
    response = await a.post("networks", json={"network": {"name": "flaky1-metrics"}}, headers={"Prefer": "wait=15"})
    assert response.status_code == 201, response.text
    async with httpx.AsyncClient(timeout=10) as http:
        texts = [(await http.get(url)).text for url in replicas.worker_metrics]
    ok = sum(_sample(t, "netprov_plugin_calls_total", plugin="fake", action="create_network", outcome="ok") for t in texts)
    transient = sum(_sample(t, "netprov_plugin_call_errors_total", plugin="fake", action="create_network", kind="transient") for t in texts)
    latency = sum(_sample(t, "netprov_plugin_call_duration_seconds_count", plugin="fake", action="create_network") for t in texts)
    assert ok >= 1 and transient >= 1 and latency >= ok + transient
    assert any("temporal_activity_execution_latency" in t for t in texts), texts[0][:2000]


async def test_logs_are_json_lines_naming_tenant_resource_and_workflow(replicas, clients):
    a, _ = clients
    response = await a.post("networks", json={"network": {"name": "flaky1-logs"}}, headers={"Prefer": "wait=15"})
    assert response.status_code == 201, response.text
    network_id = response.json()["network"]["id"]

    create = await asyncio.to_thread(
        replicas.wait_log, ["api-a"], lambda line: line.get("method") == "POST" and line.get("resource_id") == network_id
    )
    assert create, replicas.log_lines("api-a")[-5:]
    assert create[0]["tenant_id"] == TENANT and create[0]["workflow_id"] == f"network-{network_id}"
    assert create[0]["route"] == "/v1.1/tenants/{tenant_id}/networks" and create[0]["status"] == 201

    # The transient failure is logged by the worker that ran the activity, with its context.
    workers = ["worker-1", "worker-2"]
    failed = await asyncio.to_thread(replicas.wait_log, workers, lambda line: line.get("resource_id") == network_id)
    assert failed, [replicas.log_lines(name)[-3:] for name in workers]
    assert {line["workflow_id"] for line in failed} == {f"network-{network_id}"}
    assert any(line.get("activity_type") == "fake.create_network" and line.get("tenant_id") == TENANT for line in failed)
    every = [line for name in ["api-a", "api-b", *workers] for line in replicas.log_lines(name)]
    assert all({"ts", "level", "logger", "msg", "service"} <= line.keys() for line in every)


def _sample(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"^{re.escape(name)}\{{(.*)\}} (\S+)$", line)
        if not match:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(1)))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(match.group(2))
    return total
