"""The batch planning and write flow take typed items, not HTTP: what another dialect's route (a
Neutron bulk create) calls. Planning resolves refs and writes nothing; accepting stores the batch
and starts it, and its items keep the request's order."""

import pytest
from batch_helpers import wait_batch
from sqlmodel import Session

from api.batch_planning import Flaw, check_batch, plan_batch
from api.batch_write_flow import IdempotentRequest, accept_batch
from api.problems import InvalidBody
from netprov.batch_requests import BatchAttachment, BatchNetwork, BatchPort, BatchSpec
from store import batches as store
from store.engine import engine_for


def _spec(existing_network: str, tag: str) -> BatchSpec:
    return BatchSpec(
        networks=[BatchNetwork(ref="n1", name="planned")],
        ports=[
            BatchPort(ref="a", network="n1", state="ACTIVE"),
            BatchPort(ref="b", network=existing_network),
            BatchPort(ref="c", network=existing_network, state="ACTIVE"),
        ],
        attachments=[BatchAttachment(port="a", id=f"vif-{tag}-a"), BatchAttachment(port="c", id=f"vif-{tag}-c", host="h2")],
    )


async def test_planning_resolves_refs_and_writes_nothing(api, settings, rows):
    network = await api.create_network("existing")
    before = rows(api.tenant)
    with Session(engine_for(settings.resolved_database_url)) as session:
        plan = plan_batch(session, _spec(network["id"], api.tenant[:8]), tenant_id=api.tenant, settings=settings, strict=False)
    assert [p.network_id for p in plan.ports] == [plan.networks[0].id, network["id"], network["id"]]
    assert [p.columns for p in plan.ports] == [{"state": "ACTIVE"}, {"state": "DOWN"}, {"state": "ACTIVE"}]
    assert [(a.ref, a.host, port.ref) for a, port in plan.attachments] == [("a", settings.default_host, "a"), ("c", "h2", "c")]
    assert plan.ports[0].attachment is plan.attachments[0][0] and plan.ports[1].attachment is None
    assert plan.kind_totals() == {"network": 1, "port": 3, "attachment": 2}
    assert rows(api.tenant) == before

    bad = BatchSpec(ports=[BatchPort(ref="x", network="n9", state="UP")])
    with Session(engine_for(settings.resolved_database_url)) as session, pytest.raises(InvalidBody) as refused:
        plan_batch(session, bad, tenant_id=api.tenant, settings=settings, strict=False)
    assert refused.value.extra["errors"] == [
        "ports[0] (ref x): state 'UP' is not ACTIVE or DOWN",
        "ports[0] (ref x): network 'n9' is neither a network ref of this batch nor a network of this tenant",
    ]
    # Another dialect gets the same problems typed, to answer them in its own terms.
    failed = await api.create_network("fail-planning")  # the fake plugin fails names starting "fail"
    await api.settle(f"networks/{failed['id']}", "network")
    before = rows(api.tenant)
    bad = BatchSpec(
        ports=[BatchPort(ref="x", network=failed["id"]), BatchPort(ref="y", network="x")],
        attachments=[BatchAttachment(port="x", id="vif-1"), BatchAttachment(port="x", id="vif-1"), BatchAttachment(port="z", id="vif-2")],
    )
    with Session(engine_for(settings.resolved_database_url)) as session:
        _, problems = check_batch(session, bad, tenant_id=api.tenant, settings=settings, strict=False)
    assert [(p.items, p.index, p.flaw) for p in problems] == [
        ("ports", 0, Flaw.NETWORK_UNUSABLE),  # in ERROR
        ("ports", 1, Flaw.NETWORK_NOT_FOUND),  # a port ref
        ("attachments", 1, Flaw.PORT_ATTACHED_TWICE),
        ("attachments", 1, Flaw.INTERFACE_TWICE),
        ("attachments", 2, Flaw.PORT_NOT_FOUND),
    ]
    assert rows(api.tenant) == before


async def test_a_batch_accepted_from_typed_items_completes_in_request_order(api, settings, stack):
    network = await api.create_network("bulk")
    await api.settle(f"networks/{network['id']}", "network")
    engine = engine_for(settings.resolved_database_url)
    gateway = stack.app.state.gateway
    spec = _spec(network["id"], api.tenant[:8])
    idempotent = IdempotentRequest("bulk-1", "digest-1")
    accepted = await accept_batch(engine, gateway, settings, tenant_id=api.tenant, spec=spec, idempotent=idempotent)
    assert accepted.created
    again = await accept_batch(engine, gateway, settings, tenant_id=api.tenant, spec=spec, idempotent=idempotent)
    assert again.batch_id == accepted.batch_id and not again.created

    batch = await wait_batch(api, accepted.batch_id)
    assert batch["status"] == "COMPLETED", batch
    with Session(engine) as session:
        ports = [item for item in store.batch_items(session, accepted.batch_id) if item.kind == "port"]
    assert [item.ref for item in ports] == ["a", "b", "c"]
    for item, state in zip(ports, ("ACTIVE", "DOWN", "ACTIVE")):
        port = (await api.request("GET", f"networks/{item.network_id}/ports/{item.resource_id}")).json()["port"]
        assert port["status"] == state, port
