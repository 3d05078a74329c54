"""Tenant isolation: several tenants with networks, ports and attachments; every route tried with
every other tenant's token and ids. Every answer is 403 or 404, shaped exactly like the answer
for an id that never existed, reveals nothing of the other tenant, and changes nothing."""

import uuid
from dataclasses import dataclass, field

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from store.engine import engine_for
from store.tables import IdempotencyRow, NetworkRow, OperationRow, PortRow

PROBLEM = "application/problem+json"
WAIT = {"Prefer": "wait=20"}
SHARED_KEY = "same-key-everywhere"
NETWORK_QUERIES = [None, {"detail": "true"}, {"status": "AVAILABLE"}, {"status": "PROVISIONING,ERROR"}, {"detail": "true", "status": "AVAILABLE"}]
PORT_QUERIES = [None, {"detail": "true"}, {"status": "ACTIVE,DOWN"}, {"status": "PROVISIONING"}, {"detail": "true", "status": "ACTIVE"}]


@dataclass
class Tenant:
    api: object  # conftest's Api, bound to this tenant's token
    networks: list[dict] = field(default_factory=list)
    ports: list[dict] = field(default_factory=list)  # each with its network_id
    secrets: set[str] = field(default_factory=set)  # strings that must never reach another tenant

    @property
    def id(self) -> str:
        return self.api.tenant


async def make_tenant(admin, stack, index: int) -> Tenant:
    tenant_id = f"t-iso{index}-{uuid.uuid4().hex[:6]}"
    response = await admin.request("POST", "/v1.1/tokens", json={"token": {"tenant_id": tenant_id}})
    tenant = Tenant(type(admin)(stack.http, response.json()["token"]["secret"], tenant_id))
    api = tenant.api
    for n in range(2):
        name = f"{tenant_id}-net{n}-secretname"
        response = await api.request("POST", "networks", json={"network": {"name": name}}, headers=WAIT)
        assert response.status_code == 201, response.text
        tenant.networks.append(response.json()["network"])
        tenant.secrets |= {name, response.json()["network"]["id"]}
    response = await api.request(
        "POST", "networks", json={"network": {"name": "keyed"}}, headers={**WAIT, "Idempotency-Key": SHARED_KEY}
    )
    assert response.status_code == 201, response.text
    tenant.networks.append(response.json()["network"])
    tenant.secrets.add(response.json()["network"]["id"])
    for n, state in ((0, "ACTIVE"), (1, "DOWN")):
        network_id = tenant.networks[n]["id"]
        response = await api.request("POST", f"networks/{network_id}/ports", json={"port": {"state": state}}, headers=WAIT)
        assert response.status_code == 201, response.text
        tenant.ports.append(response.json()["port"])
        tenant.secrets.add(response.json()["port"]["id"])
    iface, host = f"vif-{tenant_id}", f"host-{tenant_id}"
    port = tenant.ports[0]
    response = await api.request(
        "PUT", f"networks/{port['network_id']}/ports/{port['id']}/attachment",
        json={"attachment": {"id": iface, "host": host}}, headers=WAIT,
    )
    assert response.status_code == 200 and response.json()["attachment"]["status"] == "AVAILABLE", response.text
    tenant.secrets |= {iface, host, tenant_id}
    return tenant


async def snapshot(tenant: Tenant) -> dict:
    """Everything the tenant itself can see, timestamps included."""
    api = tenant.api
    networks = (await api.get("networks?detail=true"))["networks"]
    view = {"networks": networks, "ports": {}, "attachments": {}}
    for network in networks:
        ports = (await api.get(f"networks/{network['id']}/ports?detail=true"))["ports"]
        view["ports"][network["id"]] = ports
        for port in ports:
            view["attachments"][port["id"]] = await api.get(f"networks/{network['id']}/ports/{port['id']}/attachment")
    return view


def row_counts(engine, tenant_id: str) -> dict:
    with Session(engine) as session:
        def count(table, column) -> int:
            return session.execute(select(func.count()).select_from(table).where(column == tenant_id)).scalar_one()

        seqs = session.execute(select(NetworkRow.id, NetworkRow.accepted_seq).where(NetworkRow.tenant_id == tenant_id)).all()
        seqs += session.execute(select(PortRow.id, PortRow.accepted_seq).where(PortRow.tenant_id == tenant_id)).all()
        return {
            "networks": count(NetworkRow, NetworkRow.tenant_id),
            "ports": count(PortRow, PortRow.tenant_id),
            "operations": count(OperationRow, OperationRow.tenant_id),
            "keys": count(IdempotencyRow, IdempotencyRow.tenant_id),
            "accepted_seq": sorted(seqs),
        }


def bodies_for(method: str, path: str) -> dict | None:
    if method not in ("POST", "PUT"):
        return None
    if path.endswith("/attachment"):
        return {"attachment": {"id": f"vif-probe-{uuid.uuid4().hex[:6]}", "host": "h1"}}
    if path.endswith("/ports"):
        return {"port": {"state": "ACTIVE"}}
    if "/ports/" in path:
        return {"port": {"state": "DOWN"}}
    return {"network": {"name": "hijacked"}}


def victim_routes(victim: Tenant) -> list[tuple[str, str, dict | None]]:
    """(method, path relative to a tenant's base, query) for every route, with the victim's ids."""
    network, port = victim.ports[0]["network_id"], victim.ports[0]["id"]
    routes = [("GET", "networks", q) for q in NETWORK_QUERIES] + [("POST", "networks", None)]
    for method in ("GET", "PUT", "DELETE"):
        routes.append((method, f"networks/{network}", None))
    routes += [("GET", f"networks/{network}/ports", q) for q in PORT_QUERIES] + [("POST", f"networks/{network}/ports", None)]
    for method in ("GET", "PUT", "DELETE"):
        routes.append((method, f"networks/{network}/ports/{port}", None))
        routes.append((method, f"networks/{network}/ports/{port}/attachment", None))
    return routes


def assert_reveals_nothing(response, victim: Tenant, asked: str) -> dict:
    assert response.headers["content-type"].startswith(PROBLEM), response.text
    text = response.text
    for ident in asked.split("/"):
        text = text.replace(ident, "")  # the ids the caller sent may be echoed back to it
    leaked = [secret for secret in victim.secrets if secret in text]
    assert not leaked, f"{asked}: answer reveals {leaked}: {response.text}"
    return response.json()


def normalized(body: dict, ids: dict[str, str]) -> dict:
    detail = body["detail"]
    for real, placeholder in ids.items():
        detail = detail.replace(real, placeholder)
    return {**body, "detail": detail}


@pytest.fixture
async def tenants(admin, stack) -> list[Tenant]:
    return [await make_tenant(admin, stack, i) for i in range(3)]


async def test_no_route_crosses_tenants(tenants, stack, settings):
    engine = engine_for(settings.resolved_database_url)
    before = {t.id: (await snapshot(t), row_counts(engine, t.id)) for t in tenants}
    tried = 0
    for attacker in tenants:
        own_network = attacker.ports[0]["network_id"]
        for victim in tenants:
            if victim is attacker:
                continue
            v_network, v_port = victim.ports[0]["network_id"], victim.ports[0]["id"]
            # 1. The attacker's token on the victim's paths: 403, whatever the route and the ids.
            for method, path, query in victim_routes(victim):
                response = await attacker.api.request(
                    method, f"/v1.1/tenants/{victim.id}/{path}", params=query, json=bodies_for(method, path), headers=WAIT
                )
                assert response.status_code == 403, (method, path, response.text)
                assert_reveals_nothing(response, victim, path)
                tried += 1
            # 2. The victim's ids under the attacker's own paths: 404, as for ids that never existed.
            substitutions = [
                (v_network, str(uuid.uuid4())),
                (v_port, str(uuid.uuid4())),
            ]
            cases = victim_routes(victim) + [
                (m, f"networks/{own_network}/ports/{v_port}{suffix}", None)
                for m in ("GET", "PUT", "DELETE")
                for suffix in ("", "/attachment")
            ]
            for method, path, query in cases:
                if path == "networks":
                    continue  # the attacker's own collection: checked below
                unknown_path = path
                for real, fake in substitutions:
                    unknown_path = unknown_path.replace(real, fake)
                response = await attacker.api.request(method, path, params=query, json=bodies_for(method, path), headers=WAIT)
                reference = await attacker.api.request(
                    method, unknown_path, params=query, json=bodies_for(method, unknown_path), headers=WAIT
                )
                assert response.status_code == 404, (method, path, response.text)
                body = assert_reveals_nothing(response, victim, path)
                placeholders = {real: "<id>" for real, _ in substitutions} | {fake: "<id>" for _, fake in substitutions}
                assert normalized(body, placeholders) == normalized(reference.json(), placeholders), (body, reference.json())
                assert {k: v for k, v in response.headers.items() if k not in ("content-length", "date", "x-trace-id")} == {
                    k: v for k, v in reference.headers.items() if k not in ("content-length", "date", "x-trace-id")
                }
                tried += 1
            # 2b. Every other documented route on a network or a port (history, operator actions, ...): 404 too.
            for template, methods in stack.app.openapi()["paths"].items():
                if "{network_id}" not in template or not template.startswith("/v1.1/tenants/{tenant_id}/"):
                    continue
                path = template.replace("{tenant_id}", attacker.id).replace("{network_id}", v_network).replace("{port_id}", v_port)
                for method in methods:
                    response = await attacker.api.request(method.upper(), path, json=bodies_for(method.upper(), path))
                    assert response.status_code == 404, (method, path, response.text)
                    assert_reveals_nothing(response, victim, path)
                    tried += 1
            # 3. The attacker's own collections show its own resources only, whatever the filter.
            own_ids = {n["id"] for n in attacker.networks}
            for query in NETWORK_QUERIES:
                response = await attacker.api.request("GET", "networks", params=query)
                assert response.status_code == 200
                assert {n["id"] for n in response.json()["networks"]} <= own_ids
                assert not [s for s in victim.secrets if s in response.text]
            listed = await attacker.api.get("networks")
            assert {n["id"] for n in listed["networks"]} == own_ids
            for query in PORT_QUERIES:
                response = await attacker.api.request("GET", f"networks/{own_network}/ports", params=query)
                assert response.status_code == 200 and not [s for s in victim.secrets if s in response.text]
            tried += len(NETWORK_QUERIES) + len(PORT_QUERIES)
    assert tried > 200

    # The same Idempotency-Key in another tenant names another resource, never the first one.
    response = await tenants[1].api.request(
        "POST", "networks", json={"network": {"name": "keyed"}}, headers={"Idempotency-Key": SHARED_KEY}
    )
    assert response.status_code in (201, 202) and response.json()["network"]["id"] == tenants[1].networks[2]["id"]
    assert len({t.networks[2]["id"] for t in tenants}) == len(tenants)

    for tenant in tenants:
        assert (await snapshot(tenant), row_counts(engine, tenant.id)) == before[tenant.id], f"{tenant.id} changed"
