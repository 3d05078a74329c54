"""The workflow of one batch (`batch-<id>`): applies its items a chunk at a time, networks first,
then ports, then attachments (then QoS, the only kind of a QoS fan-out: store/qos_fan_out.py), and
settles the batch COMPLETED, PARTIAL or ERROR.

Items are grouped by kind, plugin and (attachments) host; a group's items go to the plugin in
chunks of `plan.chunk_size`, at most `plan.max_parallel_chunks` chunks of a group at once, so a
batch never has more than that many calls sessions open to one switch or host. Chunks of
host-bound plugin calls run on that host's agent. Items a chunk reports RETRY (transient plugin
failure) are run again after a backoff, BLOCKED ones (their network is being provisioned outside
the batch) after a pause; everything else an activity reports is final.

The workflow keeps no item data: the items and their resources live in the database, and the
activities read and write them; the history carries positions and statuses only. A `cancel`
signal (DELETE of the batch) lets running chunks finish and ends every item not applied yet.
A retry of the batch is a new run of the same workflow id (generation N+1).
"""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from netprov.batch import CHUNK_ACTIVITIES, BatchGroup, BatchPlan, BatchSettled, BatchWorkflowInput, ChunkFailure, ChunkInput, ChunkResult, ItemKind, ItemOutcome
    from netprov.naming import SA_STATUS, host_task_queue
    from netprov.status import PROVISIONING, BatchStatus

DB_TIMEOUT = timedelta(seconds=30)
DB_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10))
# A chunk's activity is retried on worker crashes and database outages, not on plugin failures:
# those are per item, in its result. Heartbeats tell a dead worker within HEARTBEAT_TIMEOUT.
CHUNK_TIMEOUT = timedelta(minutes=30)
HEARTBEAT_TIMEOUT = timedelta(seconds=10)
CHUNK_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=10,
    non_retryable_error_types=["PluginMissing"],
)
MAX_BACKOFF_S = 10.0
BLOCKED_POLL_S = (1.0, 5.0)
STATUS_KEY = SearchAttributeKey.for_keyword(SA_STATUS)


@workflow.defn(name="BatchWorkflow")
class BatchWorkflow:
    @workflow.init
    def __init__(self, input: BatchWorkflowInput) -> None:
        self.input = input
        self.status = BatchStatus.PROVISIONING.value
        self.counts: dict[str, dict[str, int]] = {}
        self.phase = "loading"
        self.cancel_requested = False
        self.chunks_in_flight = 0
        self.chunks_done = 0
        self._settled: set[int] = set()

    @workflow.run
    async def run(self, input: BatchWorkflowInput) -> BatchSettled:
        plan: BatchPlan = await workflow.execute_activity(
            "batch_load", input, result_type=BatchPlan, start_to_close_timeout=DB_TIMEOUT, retry_policy=DB_RETRY
        )
        self.counts = plan.counts
        self.cancel_requested = self.cancel_requested or plan.cancel_requested
        for kind in ItemKind:
            if self.cancel_requested:
                break
            groups = [group for group in plan.groups if group.kind == kind]
            if groups:
                self.phase = kind.plural
                await asyncio.gather(*(self._run_group(plan, group) for group in groups))
        if self.cancel_requested:
            self.phase = "cancelling"
            await workflow.execute_activity(
                "batch_cancel_pending", input.batch_id, start_to_close_timeout=DB_TIMEOUT, retry_policy=DB_RETRY
            )
        self.phase = "settling"
        settled: BatchSettled = await workflow.execute_activity(
            "batch_settle", input.batch_id, result_type=BatchSettled, start_to_close_timeout=DB_TIMEOUT, retry_policy=DB_RETRY
        )
        self.status, self.counts, self.phase = settled.status, settled.counts, "done"
        if input.search_attributes:
            workflow.upsert_search_attributes([STATUS_KEY.value_set(settled.status)])
        return settled

    @workflow.signal
    def cancel(self) -> None:
        """Stop starting chunks; items not applied yet end ERROR "cancelled"."""
        self.cancel_requested = True

    @workflow.query
    def progress(self) -> dict:
        return {
            "batch_id": self.input.batch_id,
            "generation": self.input.generation,
            "status": self.status,
            "phase": self.phase,
            "counts": self.counts,
            "chunks_in_flight": self.chunks_in_flight,
            "chunks_done": self.chunks_done,
            "cancel_requested": self.cancel_requested,
        }

    # -- inside ------------------------------------------------------------------------------

    async def _run_group(self, plan: BatchPlan, group: BatchGroup) -> None:
        """Apply a group's items until each has settled (or the batch is cancelled)."""
        gate = asyncio.Semaphore(plan.max_parallel_chunks)
        pending = list(group.positions)
        retry_round = blocked_round = 0
        while pending and not self.cancel_requested:
            size = plan.chunk_size
            chunks = [pending[start : start + size] for start in range(0, len(pending), size)]
            results = await asyncio.gather(*(self._run_chunk(plan, group, chunk, gate) for chunk in chunks))
            retry: list[int] = []
            blocked: list[int] = []
            for positions, statuses in results:
                for position, status in zip(positions, statuses):
                    if status == ItemOutcome.RETRY:
                        retry.append(position)
                    elif status == ItemOutcome.BLOCKED:
                        blocked.append(position)
                    elif status is not None:
                        self._count(group.kind, position, status)
            pending = sorted(retry + blocked)
            if retry:
                retry_round += 1
                delay = min(group.initial_backoff_ms / 1000 * 2 ** (retry_round - 1), MAX_BACKOFF_S)
            elif blocked:
                blocked_round += 1
                delay = min(BLOCKED_POLL_S[0] * blocked_round, BLOCKED_POLL_S[1])
            else:
                break
            await workflow.sleep(timedelta(seconds=delay))

    async def _run_chunk(
        self, plan: BatchPlan, group: BatchGroup, positions: list[int], gate: asyncio.Semaphore
    ) -> tuple[list[int], list[str | None]]:
        async with gate:
            if self.cancel_requested:
                return positions, [None] * len(positions)
            self.chunks_in_flight += 1
            try:
                result: ChunkResult = await workflow.execute_activity(
                    CHUNK_ACTIVITIES[ItemKind(group.kind)],
                    ChunkInput(plan.batch_id, group.kind, group.plugin, group.host, positions),
                    result_type=ChunkResult,
                    task_queue=host_task_queue(group.host) if group.host_bound else None,
                    start_to_close_timeout=CHUNK_TIMEOUT,
                    heartbeat_timeout=HEARTBEAT_TIMEOUT,
                    retry_policy=CHUNK_RETRY,
                    summary=f"{len(positions)} {ItemKind(group.kind).plural} on {group.plugin}" + (f" host {group.host}" if group.host else ""),
                )
                return positions, list(result.statuses)
            except ActivityError as error:
                reason = f"the batch could not apply this item: {_cause(error)}"
                await workflow.execute_activity(
                    "batch_fail_items",
                    ChunkFailure(plan.batch_id, positions, reason),
                    start_to_close_timeout=DB_TIMEOUT,
                    retry_policy=DB_RETRY,
                )
                return positions, ["ERROR"] * len(positions)
            finally:
                self.chunks_in_flight -= 1
                self.chunks_done += 1

    def _count(self, kind: str, position: int, status: str) -> None:
        if position in self._settled:
            return
        self._settled.add(position)
        counts = self.counts.setdefault(kind, {})
        counts[PROVISIONING] = counts.get(PROVISIONING, 0) - 1
        counts[status] = counts.get(status, 0) + 1


def _cause(error: ActivityError) -> str:
    cause = error.cause
    if isinstance(cause, ApplicationError):
        return cause.message
    return str(cause or error)
