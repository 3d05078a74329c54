"""Retry backoff and exhaustion over long simulated time: the rig's budget is 6 attempts with a
5 s initial backoff (doubling, capped at 10 s), i.e. 45 s of workflow time between the first and
the last attempt, which the time-skipping server lets pass at once."""

import asyncio
import time
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session
from workflow_rig import op

from netprov.operations import OpKind
from store.tables import NetworkRow, PortRow

BACKOFFS_S = [5, 10, 10, 10, 10]  # between the 6 attempts


async def timed(handle) -> tuple[str, timedelta, float]:
    """The workflow's result, the simulated time its run took, and the wall-clock seconds.
    (The test server's clock jumps ahead once a run is over, so the run's own start and close
    times are what measure it.)"""
    wall = time.monotonic()
    result = await handle.result()
    wall = time.monotonic() - wall
    run = await handle.describe()
    return result, run.close_time - run.start_time, wall


async def test_transient_failures_back_off_over_simulated_time_then_succeed(rig):
    name = "flaky5-net"  # fails 5 times: the 6th and last attempt succeeds
    network_id = rig.insert_network(name)
    create = op(1, OpKind.CREATE)

    handle = await rig.start_network(network_id, name, create)
    result, simulated, wall = await timed(handle)

    assert result == "AVAILABLE"
    assert timedelta(seconds=sum(BACKOFFS_S)) <= simulated < timedelta(seconds=sum(BACKOFFS_S) + 10)
    assert wall < 20
    row = rig.row(NetworkRow, network_id)
    assert (row.status, row.status_reason, row.applied_seq, row.progress) == ("AVAILABLE", None, 1, None)
    assert [(e.request_id, e.action) for e in rig.fake.ledger()] == [(f"{create.op_id}:create_network", "create_network")]


async def test_exhausted_retries_end_in_error_with_the_reason(rig):
    name = "flaky9-net"
    network_id = rig.insert_network(name)

    handle = await rig.start_network(network_id, name, op(1, OpKind.CREATE))
    result, simulated, _ = await timed(handle)

    assert result == "ERROR"
    assert timedelta(seconds=sum(BACKOFFS_S)) <= simulated < timedelta(seconds=sum(BACKOFFS_S) + 10)
    row = rig.row(NetworkRow, network_id)
    assert row.status == "ERROR"
    assert row.status_reason.startswith("create_network failed after 6 attempts")
    assert "transient fault 6 of 9" in row.status_reason
    assert row.applied_seq == 1
    assert rig.fake.ledger() == []


async def test_permanent_failure_is_not_retried(rig):
    name = "fail-net"
    network_id = rig.insert_network(name)

    handle = await rig.start_network(network_id, name, op(1, OpKind.CREATE))
    result, simulated, _ = await timed(handle)

    assert result == "ERROR"
    assert simulated < timedelta(seconds=BACKOFFS_S[0])
    assert "permanent fault" in rig.row(NetworkRow, network_id).status_reason


async def test_port_waiting_for_a_network_that_fails_goes_to_error_with_its_reason(rig):
    name = "flaky9-net"  # fails after 45 s of simulated retries
    network_id = rig.insert_network(name)
    port_id = rig.insert_port(network_id, accepted_seq=2, state="ACTIVE")
    network = await rig.start_network(network_id, name, op(1, OpKind.CREATE))
    port = await rig.start_port(port_id, network_id, name, op(1, OpKind.CREATE, state="ACTIVE"))
    await port.signal("enqueue", op(2, OpKind.ATTACH, iface_id="vif-1", host="h1"))

    assert await port.result() == "ERROR"

    assert await network.result() == "ERROR"
    network_reason = rig.row(NetworkRow, network_id).status_reason
    row = rig.row(PortRow, port_id)
    assert row.status == "ERROR"
    assert row.status_reason == f"network {network_id} is in ERROR: {network_reason}"
    assert row.applied_seq == 2
    assert row.attachment_status == "ERROR"
    assert network_id in row.attachment_reason
    # Nothing was applied for the port on the device.
    assert [e.action for e in rig.fake.ledger()] == []


async def test_port_started_before_its_network_workflow_waits_for_it(rig):
    name = "flaky2-net"
    network_id = rig.insert_network(name)
    port_id = rig.insert_port(network_id)
    # The network's workflow is not running yet: the port reads the row (PROVISIONING) and polls.
    port = await rig.start_port(port_id, network_id, name, op(1, OpKind.CREATE))
    await rig.env.sleep(5)
    network = await rig.start_network(network_id, name, op(1, OpKind.CREATE))

    assert await port.result() == "DOWN"

    assert await network.result() == "AVAILABLE"
    assert [e.action for e in rig.fake.ledger()] == ["create_network", "create_port"]
    assert rig.row(PortRow, port_id).status == "DOWN"


async def test_port_learns_its_network_settled_even_when_the_answer_is_lost(rig):
    network_id = rig.insert_network("net", accepted_seq=2)
    port_id = rig.insert_port(network_id)
    # The network's run waits for its seq 1 (a timer, no activity in flight: terminating a run
    # while one of its activities runs leaves the test server's clock locked).
    network = await rig.start_network(network_id, "net", op(2, OpKind.CREATE))
    port = await rig.start_port(port_id, network_id, "net", op(1, OpKind.CREATE))
    for _ in range(200):
        if (await network.query("describe"))["waiting_ports"] == [port_id]:
            break
        await asyncio.sleep(0.02)
    assert (await network.query("describe"))["waiting_ports"] == [port_id]

    # The network's run ends without answering its watcher (as when a watch signal lands in the
    # run's last workflow task); the row says how the network ended.
    await network.terminate("test: the answer to the waiting port is lost")
    with Session(rig.engine) as session:
        session.execute(update(NetworkRow).where(NetworkRow.id == network_id).values(status="AVAILABLE", applied_seq=2))
        session.commit()

    assert await asyncio.wait_for(port.result(), 20) == "DOWN"
    assert [e.action for e in rig.fake.ledger()] == ["create_port"]


async def test_a_retry_after_a_rename_hands_the_plugin_the_new_name(rig):
    """A rename is applied in the database at once; a retry accepted after it carries the name, so a run that
    started under the old name (here: the same run, the retry already queued) provisions under the new one."""
    network_id = rig.insert_network("fail-renamed", accepted_seq=2)  # the fake plugin fails `fail-` names for good
    create, retry = op(1, OpKind.CREATE), op(2, OpKind.RETRY, network_name="steady-renamed")

    handle = await rig.start_network(network_id, "fail-renamed", create, pending=[retry])

    assert await handle.result() == "AVAILABLE"
    row = rig.row(NetworkRow, network_id)
    assert (row.status, row.applied_seq) == ("AVAILABLE", 2)
    assert [e.request_id for e in rig.fake.ledger()] == [f"{retry.op_id}:create_network"]
