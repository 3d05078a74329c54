"""Workflows survive code upgrades: histories recorded from earlier versions of the code, kept in
tests/replay/histories/, must replay without a non-determinism error against today's workflows.

A change to a workflow that alters its commands must be guarded with `workflow.patched(...)`;
this test is what catches the change that forgot to. To record fresh histories (after a
deliberate, patched change), run:

    NETPROV_RECORD_HISTORIES=1 .venv/bin/pytest tests/replay -k record

link-monitor-run1.json was recorded before the "agent-check-queue" patch, when the link monitor
sent its check to the host's step queue. network-error-stays-open-run1.json is a run that stayed open
in ERROR (patch "error-runs-stay-open") and applied the operator's retry itself.
"""

import json
import os
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import (
    Interceptor,
    Replayer,
    StartActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

from netprov.naming import host_task_queue
from worker.build import WORKFLOWS

HISTORIES = Path(__file__).parent / "histories"
RECORD = os.environ.get("NETPROV_RECORD_HISTORIES") == "1"


def recorded() -> list[Path]:
    return sorted(HISTORIES.glob("*.json"))


@pytest.mark.parametrize("path", recorded(), ids=lambda p: p.stem)
async def test_recorded_history_replays(path: Path):
    history = WorkflowHistory.from_json(path.stem, json.loads(path.read_text()))
    await Replayer(workflows=WORKFLOWS).replay_workflow(history)


class ActivityQueues(Interceptor):
    """Records (activity, task queue) of every activity a replayed workflow schedules."""

    def __init__(self) -> None:
        self.scheduled: list[tuple[str, str | None]] = []

    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        scheduled = self.scheduled

        class Outbound(WorkflowOutboundInterceptor):
            def start_activity(self, input: StartActivityInput) -> workflow.ActivityHandle:
                scheduled.append((input.activity, input.task_queue))
                return super().start_activity(input)

        class Inbound(WorkflowInboundInterceptor):
            def init(self, outbound: WorkflowOutboundInterceptor) -> None:
                super().init(Outbound(outbound))

        return Inbound


async def test_link_monitor_runs_from_before_the_check_queue_keep_checking_on_the_step_queue():
    # Replay alone would not notice a lost patch: the SDK does not compare an activity's task queue
    # with the one in the history.
    path = HISTORIES / "link-monitor-run1.json"
    queues = ActivityQueues()
    await Replayer(workflows=WORKFLOWS, interceptors=[queues]).replay_workflow(
        WorkflowHistory.from_json(path.stem, json.loads(path.read_text()))
    )
    assert [queue for activity, queue in queues.scheduled if activity == "link_check_host"] == [host_task_queue("h1")] * 2


def test_histories_are_recorded():
    assert len(recorded()) >= 5, "tests/replay/histories/ lost its recorded histories"


async def test_todays_histories_replay(stack, api):
    """Histories produced by today's code replay too (determinism within one version), and with
    NETPROV_RECORD_HISTORIES=1 they are saved as the new reference."""
    network = await api.create_network("flaky1-replay")
    port = await api.create_port(network["id"])
    base = f"networks/{network['id']}/ports/{port['id']}"
    assert (await api.request("PUT", base, json={"port": {"state": "ACTIVE"}})).status_code == 204
    assert (await api.attach(network["id"], port["id"], "vif-replay")).status_code == 202
    await api.settle(base, "port", until=lambda p: p["status"] == "ACTIVE" and p["attachment"]["status"] == "AVAILABLE")
    assert (await api.request("DELETE", f"{base}/attachment")).status_code in (202, 204)
    assert (await api.request("DELETE", base)).status_code in (202, 204)
    await api.gone(base)
    failed = await api.create_network("fail-replay")
    await api.settle(f"networks/{failed['id']}", "network")
    assert (await api.request("DELETE", f"networks/{network['id']}")).status_code in (202, 204)
    await api.gone(f"networks/{network['id']}")

    cascade = await api.create_network("replay-cascade")
    await api.create_port(cascade["id"])
    await api.settle(f"networks/{cascade['id']}", "network")
    assert (await api.request("DELETE", f"networks/{cascade['id']}")).status_code in (202, 204)
    await api.gone(f"networks/{cascade['id']}")

    response = await api.request(
        "POST",
        "batches",
        json={
            "batch": {
                "networks": [{"ref": "n1", "name": "replay-batch"}],
                "ports": [{"ref": "p1", "network": "n1", "state": "ACTIVE"}, {"ref": "p2", "network": "n1"}],
                "attachments": [{"port": "p1", "id": "vif-replay-batch", "host": "h1"}],
            }
        },
    )
    assert response.status_code == 202, response.text
    batch_id = response.json()["batch"]["id"]
    await api.settle(f"batches/{batch_id}", "batch")

    histories = {}
    for kind, workflow_id in [
        ("batch", f"batch-{batch_id}"),
        ("network-cascade", f"network-{cascade['id']}"),
        ("network", f"network-{network['id']}"),
        ("port", f"port-{port['id']}"),
        ("network-failed", f"network-{failed['id']}"),
    ]:
        runs = [run async for run in stack.client.list_workflows(f'WorkflowId = "{workflow_id}"')]
        assert runs, f"no runs for {workflow_id}"
        for number, run in enumerate(sorted(runs, key=lambda r: r.start_time)):
            handle = stack.client.get_workflow_handle(workflow_id, run_id=run.run_id)
            histories[f"{kind}-run{number + 1}"] = await handle.fetch_history()
    replayer = Replayer(workflows=WORKFLOWS)
    for history in histories.values():
        await replayer.replay_workflow(history)
    if RECORD:
        for name, history in histories.items():
            (HISTORIES / f"{name}.json").write_text(json.dumps(json.loads(history.to_json()), indent=1))
