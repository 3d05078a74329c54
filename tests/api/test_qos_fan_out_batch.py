"""A QoS change that reaches many idle ports is applied by one QoS fan-out batch
(store/qos_fan_out.py), against the real stack (fake plugin): each port once, in the order its
operations were accepted, with the same outcome and wording as through the port's own workflow,
and the batch is netprov's business, not listed among the tenant's batches."""

import asyncio
import time

from sqlalchemy import select
from sqlmodel import Session

from netprov.batch import BatchPurpose, ItemKind
from store.tables import BatchItemRow, BatchRow, OperationRow
from tests.api.test_qos_fan_out import all_qos_available, applies_per_port, batch_ports
from tests.api.test_qos_ports import LIMIT, MARK, policy, qos_settled, recorded_rules

# More than NETPROV_QOS_FAN_OUT_BATCH_MIN_PORTS (16): the fan-out takes the batch path.
PORTS = 40


def fan_out_batches(stack) -> dict[str, BatchRow]:
    with Session(stack.app.state.engine) as session:
        rows = session.execute(select(BatchRow).where(BatchRow.purpose == BatchPurpose.QOS_FAN_OUT.value)).scalars().all()
        session.expunge_all()
        return {row.id: row for row in rows}


def items_of(stack, batch_id: str) -> dict[str, BatchItemRow]:
    """The batch's items by port id."""
    with Session(stack.app.state.engine) as session:
        rows = session.execute(select(BatchItemRow).where(BatchItemRow.batch_id == batch_id)).scalars().all()
        session.expunge_all()
        return {row.resource_id: row for row in rows}


async def new_fan_out(stack, before: dict, timeout: float = 30) -> BatchRow:
    """The one QoS fan-out batch made since `before`, once it has settled."""
    deadline = time.monotonic() + timeout
    while True:
        made = [row for batch_id, row in fan_out_batches(stack).items() if batch_id not in before]
        assert len(made) <= 1, made
        if made and made[0].status != "PROVISIONING":
            return made[0]
        assert time.monotonic() < deadline, made
        await asyncio.sleep(0.1)


async def ported_network(api, count: int, name: str = "net") -> tuple[dict, list[str]]:
    network = await api.create_network(name)
    await api.settle(f"networks/{network['id']}", "network")
    return network, await batch_ports(api, network["id"], count)


async def test_idle_ports_get_a_network_policy_from_one_hidden_batch_each_once(api, stack):
    gold = await policy(api)
    network, ports = await ported_network(api, PORTS)
    before = fan_out_batches(stack)

    response = await api.request("PUT", f"networks/{network['id']}", json={"network": {"qos_policy_id": gold["id"]}})
    assert response.status_code == 204, response.text
    await all_qos_available(api, network["id"], time.monotonic(), timeout=60)

    batch = await new_fan_out(stack, before)
    assert batch.status == "COMPLETED"
    items = items_of(stack, batch.id)
    assert set(items) == set(ports)
    assert {(item.kind, item.status) for item in items.values()} == {(ItemKind.QOS.value, "AVAILABLE")}
    assert all(recorded_rules(stack, p) == LIMIT for p in ports)
    assert set(applies_per_port(stack, ports).values()) == {1}
    # The batch owns the operations: the outbox sweeper never hands them to the ports' workflows.
    with Session(stack.app.state.engine) as session:
        delivered = session.execute(select(OperationRow.delivered).where(OperationRow.op_id.in_([i.op_id for i in items.values()]))).scalars().all()
    assert delivered == [True] * PORTS
    # Not the tenant's batch: not listed, not found.
    listed = (await api.get("batches"))["batches"]
    assert batch.id not in {b["id"] for b in listed}
    assert (await api.request("GET", f"batches/{batch.id}")).status_code == 404


async def test_a_write_accepted_during_the_fan_out_waits_for_it(api, stack):
    # flaky2-: every port's APPLY_QOS fails twice first, so the batch item is still PROVISIONING
    # when the port's own policy is set right after.
    gold = await policy(api, name="flaky2-gold")
    silver = await policy(api, name="silver", rules=MARK)
    network, ports = await ported_network(api, PORTS)
    before = fan_out_batches(stack)
    first = ports[0]

    response = await api.request("PUT", f"networks/{network['id']}", json={"network": {"qos_policy_id": gold["id"]}})
    assert response.status_code == 204
    response = await api.request("PUT", f"networks/{network['id']}/ports/{first}", json={"port": {"qos_policy_id": silver["id"]}})
    assert response.status_code == 204, response.text

    made = [row for batch_id, row in fan_out_batches(stack).items() if batch_id not in before]
    assert len(made) == 1
    assert items_of(stack, made[0].id)[first].status == "PROVISIONING", "the batch finished before the second write"
    settled = await api.settle(f"networks/{network['id']}/ports/{first}", "port", until=qos_settled, timeout=60)
    await all_qos_available(api, network["id"], time.monotonic(), timeout=60)

    assert (settled["qos_policy_id"], settled["qos_status"]) == (silver["id"], "AVAILABLE")
    assert recorded_rules(stack, first) == MARK  # the later write won: applied after the batch's
    assert all(recorded_rules(stack, p) == LIMIT for p in ports[1:])
    assert set(applies_per_port(stack, ports).values()) == {1, 2} and applies_per_port(stack, [first])[first] == 2


async def test_a_refused_policy_reads_the_same_through_the_batch_as_through_a_workflow(api, stack):
    refused = await policy(api, name="fail-refused")
    network, ports = await ported_network(api, PORTS, name="many")
    lone_network, (lone,) = await ported_network(api, 1, name="lone")
    before = fan_out_batches(stack)

    for net in (network, lone_network):
        response = await api.request("PUT", f"networks/{net['id']}", json={"network": {"qos_policy_id": refused["id"]}})
        assert response.status_code == 204
    batch = await new_fan_out(stack, before)
    through_batch = await api.settle(f"networks/{network['id']}/ports/{ports[0]}", "port", until=qos_settled)
    through_workflow = await api.settle(f"networks/{lone_network['id']}/ports/{lone}", "port", until=qos_settled)

    assert batch.status == "ERROR"
    assert set(items_of(stack, batch.id)) == set(ports)
    assert through_batch["qos_status"] == through_workflow["qos_status"] == "ERROR"
    assert through_batch["status"] == through_workflow["status"] == "ACTIVE"
    assert through_batch["qos_status_reason"].startswith("applying QoS policy 'fail-refused' failed: apply_qos failed: ")
    assert through_batch["qos_status_reason"].split(": ")[:3] == through_workflow["qos_status_reason"].split(": ")[:3]


async def test_ports_still_provisioning_get_the_policy_through_their_workflows(api, stack):
    gold = await policy(api)
    # flaky3-: every port create fails three times first, so the ports posted last are still
    # being provisioned when the policy is set.
    network, idle = await ported_network(api, PORTS, name="flaky3-net")
    busy = [(await api.create_port(network["id"], state="ACTIVE"))["id"] for _ in range(5)]
    before = fan_out_batches(stack)

    response = await api.request("PUT", f"networks/{network['id']}", json={"network": {"qos_policy_id": gold["id"]}})
    assert response.status_code == 204
    bodies = (await api.get(f"networks/{network['id']}/ports?detail=true"))["ports"]
    provisioning = {b["id"] for b in bodies if b["status"] == "PROVISIONING"} & set(busy)
    assert provisioning, "every port was provisioned before the policy was set"
    await all_qos_available(api, network["id"], time.monotonic(), timeout=60)

    batch = await new_fan_out(stack, before)
    taken = set(items_of(stack, batch.id))
    assert set(idle) <= taken and not taken & provisioning
    everyone = idle + busy
    assert all(recorded_rules(stack, p) == LIMIT for p in everyone)
    assert set(applies_per_port(stack, everyone).values()) == {1}
