"""What the network and port workflows share: the loop that applies accepted operations one at a
time, in order, lets a DELETE cancel whatever is in flight, and ends the run when idle.

A run ends when it has nothing left to do; the API's next operation starts a new run with the
same workflow id (signal-with-start). Histories therefore stay short, and a run that has applied
many operations continues as new.
"""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from netprov.naming import SA_STATUS
    from netprov.operations import OpKind, Operation
    from netprov.workflow_io import Projection, WaitApplied
    from workflows.op_queue import OpQueue

DB_TIMEOUT = timedelta(seconds=15)
# The database may be down for a while: projection writes are retried until it is back.
DB_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10))
GAP_WAIT = timedelta(seconds=10)
OPS_PER_RUN = 500
STATUS_KEY = SearchAttributeKey.for_keyword(SA_STATUS)


async def record(projection: Projection) -> None:
    await workflow.execute_activity(
        "db_record_status", projection, start_to_close_timeout=DB_TIMEOUT, retry_policy=DB_RETRY
    )


async def remove_row(resource_type: str, resource_id: str) -> None:
    await workflow.execute_activity(
        "db_remove_resource",
        Projection(resource_type, resource_id, 0),
        start_to_close_timeout=DB_TIMEOUT,
        retry_policy=DB_RETRY,
    )


class ResourceLoop:
    """Base of the resource workflows. Subclasses implement `apply` and `carry_over`."""

    resource_type: str
    resource_id: str
    queue: OpQueue
    status: str
    status_reason: str | None
    use_search_attributes: bool = True
    deleted: bool = False
    ops_this_run: int = 0

    async def drain(self) -> None:
        while not self.deleted:
            op = await self._next_op()
            if op is None:
                return
            await self._apply_cancellable(op)
            self.queue.done(op.seq)
            self.ops_this_run += 1
            if not self.deleted and (self.ops_this_run >= OPS_PER_RUN or workflow.info().is_continue_as_new_suggested()):
                workflow.continue_as_new(self.carry_over())

    async def apply(self, op: Operation) -> None:
        raise NotImplementedError

    async def between_ops(self) -> bool:
        """Work that is not an operation (e.g. answering watchers); True when something was done."""
        return False

    def carry_over(self):
        raise NotImplementedError

    async def _next_op(self) -> Operation | None:
        while True:
            op = self.queue.next()
            if op is not None:
                return op
            if await self.between_ops():
                continue
            if not self.queue.has_gap():
                return None
            try:
                await workflow.wait_condition(lambda: self.queue.next() is not None, timeout=GAP_WAIT)
            except asyncio.TimeoutError:
                # The missing operation may have been applied by an earlier run.
                applied = await workflow.execute_activity(
                    "db_read_applied_seq",
                    Projection(self.resource_type, self.resource_id, 0),
                    result_type=int,
                    start_to_close_timeout=DB_TIMEOUT,
                    retry_policy=DB_RETRY,
                )
                self.queue.done(applied)

    async def _apply_cancellable(self, op: Operation) -> None:
        if op.kind in (OpKind.DELETE, OpKind.VOID):
            await self.apply(op)
            return
        task = asyncio.create_task(self.apply(op))
        await workflow.wait_condition(lambda: task.done() or self.queue.has_delete())
        if task.done():
            await task
            return
        # A DELETE was accepted: it cancels the provisioning in flight and everything queued before it.
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        delete = self.queue.skip_to_delete()
        if delete is not None:
            await self.apply(delete)
            self.queue.done(delete.seq)

    @workflow.update
    async def wait_applied(self, wait: WaitApplied) -> int:
        """Return once operation `wait.seq` is applied (or `wait.timeout_s` passes): how the API
        holds a `Prefer: wait` request without polling the engine."""
        try:
            await workflow.wait_condition(
                lambda: self.queue.applied_seq >= wait.seq or self.deleted,
                timeout=timedelta(seconds=wait.timeout_s),
            )
        except asyncio.TimeoutError:
            pass
        return self.queue.applied_seq

    def set_status(self, status: str, reason: str | None) -> None:
        self.status, self.status_reason = status, reason
        if self.use_search_attributes:
            workflow.upsert_search_attributes([STATUS_KEY.value_set(status)])

    async def void(self, op: Operation) -> None:
        """An operation the API withdrew: record it as applied without changing anything."""
        await record(
            Projection(self.resource_type, self.resource_id, op.seq, {"status": self.status, "status_reason": self.status_reason}, final=True)
        )
