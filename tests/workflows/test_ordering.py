"""Operations apply strictly in seq order: a gap waits for the missing operation (or learns from
the database that an earlier run applied it), duplicates are dropped, and a run that has applied
many operations continues as new with its queue and state."""

import asyncio

from sqlalchemy import update
from sqlmodel import Session
from temporalio.api.enums.v1 import EventType
from workflow_rig import op

from netprov.operations import OpKind, Operation
from store.tables import NetworkRow, PortRow
from workflows.op_queue import OpQueue
from workflows.resource_loop import OPS_PER_RUN

# -- OpQueue alone --------------------------------------------------------------------------


def test_queue_applies_in_seq_order_and_drops_duplicates_and_applied_ops():
    queue = OpQueue(applied_seq=1, pending=[])
    queue.add(Operation("c", 3, OpKind.UPDATE))
    assert queue.next() is None and queue.has_gap()

    queue.add(Operation("b", 2, OpKind.UPDATE))
    queue.add(Operation("b-again", 2, OpKind.UPDATE))  # a duplicate delivery keeps the first
    queue.add(Operation("a", 1, OpKind.CREATE))  # already applied
    assert [o.op_id for o in queue.pending()] == ["b", "c"]
    assert queue.next().op_id == "b" and not queue.has_gap()

    queue.done(2)
    assert queue.next().op_id == "c"
    queue.done(3)
    assert len(queue) == 0 and not queue.has_gap() and queue.next() is None


def test_queue_skip_to_delete_drops_what_the_delete_supersedes():
    queue = OpQueue(applied_seq=0, pending=[Operation(str(s), s, OpKind.UPDATE) for s in (1, 2, 3)])
    queue.add(Operation("d", 4, OpKind.DELETE))
    queue.add(Operation("after", 5, OpKind.UPDATE))

    assert queue.has_delete()
    assert queue.skip_to_delete().op_id == "d"
    assert queue.applied_seq == 3
    assert [o.seq for o in queue.pending()] == [4, 5]


# -- workflows ------------------------------------------------------------------------------


async def settled_port(rig, state: str = "DOWN") -> tuple[str, str]:
    """A network and a port already provisioned: (network_id, port_id); the port's row has applied 1."""
    network_id = rig.insert_network("net", accepted_seq=1, applied_seq=1)
    with Session(rig.engine) as session:
        session.execute(update(NetworkRow).where(NetworkRow.id == network_id).values(status="AVAILABLE"))
        session.commit()
    return network_id, rig.insert_port(network_id, accepted_seq=1, applied_seq=0, state=state)


def set_accepted(rig, port_id: str, accepted_seq: int, applied_seq: int | None = None) -> None:
    values = {"accepted_seq": accepted_seq} | ({} if applied_seq is None else {"applied_seq": applied_seq})
    with Session(rig.engine) as session:
        session.execute(update(PortRow).where(PortRow.id == port_id).values(**values))
        session.commit()


def update_requests(rig, port_id: str) -> list[str]:
    """request_ids of the port's update_port calls, in the order the plugin applied them."""
    return [e.request_id for e in rig.fake.ledger() if e.resource_id == port_id and e.action == "update_port"]


async def test_an_operation_delivered_before_the_one_it_follows_waits_for_it(rig):
    network_id, port_id = await settled_port(rig)
    set_accepted(rig, port_id, 3)
    create, down, active = op(1, OpKind.CREATE, state="DOWN"), op(2, OpKind.UPDATE, state="DOWN"), op(3, OpKind.UPDATE, state="ACTIVE")
    port = await rig.start_port(port_id, network_id, "net", create, network_ready=True)

    await port.signal("enqueue", active)  # seq 3 before seq 2
    # Seq 1 is applied; seq 3 waits for seq 2.
    for _ in range(100):
        described = await port.query("describe")
        if described["applied_seq"] == 1:
            break
        await asyncio.sleep(0.02)
    assert described["applied_seq"] == 1
    assert described["pending"] == ["3:update"]
    assert update_requests(rig, port_id) == []

    await port.signal("enqueue", down)

    assert await port.result() == "ACTIVE"
    assert update_requests(rig, port_id) == [f"{down.op_id}:update_port", f"{active.op_id}:update_port"]
    row = rig.row(PortRow, port_id)
    assert (row.status, row.applied_seq) == ("ACTIVE", 3)


async def test_a_gap_applied_by_an_earlier_run_is_learnt_from_the_database(rig):
    network_id, port_id = await settled_port(rig)
    # An earlier run applied seq 1 and 2; this run is started by seq 3 and never sees seq 2.
    set_accepted(rig, port_id, accepted_seq=3, applied_seq=2)
    active = op(3, OpKind.UPDATE, state="ACTIVE")

    port = await rig.start_port(port_id, network_id, "net", active, applied_seq=1, network_ready=True, status="DOWN")

    assert await port.result() == "ACTIVE"  # after GAP_WAIT of simulated time, not forever
    assert update_requests(rig, port_id) == [f"{active.op_id}:update_port"]
    assert rig.row(PortRow, port_id).applied_seq == 3


async def test_duplicate_deliveries_are_applied_once(rig):
    network_id, port_id = await settled_port(rig)
    set_accepted(rig, port_id, 2)
    create, active = op(1, OpKind.CREATE), op(2, OpKind.UPDATE, state="ACTIVE")
    port = await rig.start_port(port_id, network_id, "net", create, network_ready=True)
    for duplicate in (create, active, active):
        await port.signal("enqueue", duplicate)

    assert await port.result() == "ACTIVE"
    assert [e.action for e in rig.fake.ledger() if e.resource_id == port_id] == ["create_port", "update_port"]


async def test_many_operations_continue_as_new_and_end_in_the_last_state(rig):
    network_id, port_id = await settled_port(rig)
    total = OPS_PER_RUN + 20
    set_accepted(rig, port_id, total)
    ops = [op(1, OpKind.CREATE)] + [op(seq, OpKind.UPDATE, state="ACTIVE" if seq % 2 else "DOWN") for seq in range(2, total + 1)]

    # Everything already accepted is handed over at start, as a continued run receives it.
    port = await rig.start_port(port_id, network_id, "net", ops[0], network_ready=True, pending=ops[1:])

    assert await port.result() == ops[-1].state
    row = rig.row(PortRow, port_id)
    assert (row.status, row.applied_seq) == (ops[-1].state, total)
    assert update_requests(rig, port_id) == [f"{o.op_id}:update_port" for o in ops[1:]]
    runs = await count_runs(rig, port.id)
    assert runs >= 2


async def count_runs(rig, workflow_id: str) -> int:
    """How many runs the workflow id went through (each continue-as-new starts one)."""
    runs, run_id = 1, (await rig.env.client.get_workflow_handle(workflow_id).describe()).run_id
    # Walk back from the latest run: each run's first event names the run it continued.
    while True:
        history = await rig.env.client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        started = history.events[0]
        assert started.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
        previous = started.workflow_execution_started_event_attributes.continued_execution_run_id
        if not previous:
            return runs
        runs, run_id = runs + 1, previous
