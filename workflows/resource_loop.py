"""What the network and port workflows share: the loop that applies accepted operations one at a
time, in order, lets a DELETE cancel whatever is in flight, and ends the run when idle.

A run ends when it has nothing left to do; the API's next operation starts a new run with the
same workflow id (signal-with-start). Histories therefore stay short, and a run that has applied
many operations continues as new. A run that leaves its resource in ERROR stays open (Running)
until the next operation (a retry, a DELETE): a closed run keeps the NetprovStatus it ended with, so
the current run of a resource in ERROR must be a running one for the Temporal search
`ExecutionStatus = "Running" AND NetprovStatus = "ERROR"` to list exactly the resources in ERROR now.
"""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from netprov.naming import SA_STATUS, Activity, Signal, Update
    from netprov.operations import OpKind, Operation
    from netprov.status import ERROR
    from netprov.workflow_io import Projection, WaitApplied
    from workflows.op_queue import OpQueue

DB_TIMEOUT = timedelta(seconds=15)
# The database may be down for a while: projection writes are retried until it is back.
DB_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10))
GAP_WAIT = timedelta(seconds=10)
# A run continues as new after this many operations: 7 to 10 history events each, so a run's history stays
# around 1,000 events however often the resource changes (bench/long_history.py).
OPS_PER_RUN = 100
# The bound before patch "ops-per-run-100": runs recorded with it replay with it.
LEGACY_OPS_PER_RUN = 500
# How often an operator's cancel is repeated until the operation in flight stops.
CANCEL_RECHECK = timedelta(seconds=1)
STATUS_KEY = SearchAttributeKey.for_keyword(SA_STATUS)


async def record(projection: Projection) -> None:
    await workflow.execute_activity(
        Activity.DB_RECORD_STATUS, projection, start_to_close_timeout=DB_TIMEOUT, retry_policy=DB_RETRY
    )


async def remove_row(resource_type: str, resource_id: str) -> None:
    await workflow.execute_activity(
        Activity.DB_REMOVE_RESOURCE,
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
    # Set while a DELETE cancels the operation in flight; plugin actions stop between steps.
    cancel_requested: bool = False
    # The operation being applied, and an operator's cancel of it (signal `cancel_operation`).
    in_flight: Operation | None = None
    operator_cancel: str | None = None
    ops_this_run: int = 0

    async def drain(self) -> None:
        while not self.deleted:
            op = await self._next_op()
            if op is None:
                if await self._stay_open_in_error():
                    continue
                return
            await self._apply_cancellable(op)
            self.queue.done(op.seq)
            self.ops_this_run += 1
            if not self.deleted and (self.ops_this_run >= self._ops_per_run() or workflow.info().is_continue_as_new_suggested()):
                workflow.continue_as_new(self.carry_over())

    def _ops_per_run(self) -> int:
        # Asked only once a run has applied as many as the new bound, so shorter runs record no marker.
        if self.ops_this_run < OPS_PER_RUN:
            return OPS_PER_RUN
        return OPS_PER_RUN if workflow.patched("ops-per-run-100") else LEGACY_OPS_PER_RUN

    uncancellable: int = 0

    @contextmanager
    def not_cancellable(self) -> Iterator[None]:
        """A section a DELETE waits for instead of cancelling (signals to other workflows)."""
        self.uncancellable += 1
        try:
            yield
        finally:
            self.uncancellable -= 1

    async def _stay_open_in_error(self) -> bool:
        """In ERROR and idle: wait (Running) for what comes next; False when the run may end."""
        if self.status != ERROR or not self.use_search_attributes or not workflow.patched("error-runs-stay-open"):
            return False
        await workflow.wait_condition(
            lambda: self.queue.next() is not None or self.queue.has_gap() or self.deleted or self.has_work_between_ops()
        )
        return True

    def has_work_between_ops(self) -> bool:
        """True when `between_ops` has something to do (a run kept open must wake for it)."""
        return False

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
                    Activity.DB_READ_APPLIED_SEQ,
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
        self.in_flight, self.operator_cancel = op, None
        await workflow.wait_condition(lambda: task.done() or self.queue.has_delete() or self.operator_cancel is not None)
        self.in_flight = None
        if task.done():
            await task
            return
        # A DELETE was accepted: it cancels the provisioning in flight and everything queued before it.
        # (Or an operator cancelled the operation in flight: it alone stops.)
        self.cancel_requested = True
        # Cancelling a task while it awaits a signal to another workflow breaks the SDK's state
        # machine (a cancel for a signal the server may already have resolved): let it finish.
        await workflow.wait_condition(lambda: task.done() or self.uncancellable == 0)
        task.cancel()
        finished = False
        # A DELETE needs the repeat as much: a cancel that lands while the task awaits an activity
        # resolved in the same activation is spent, and the task would wait on (e.g. for a network
        # that is itself waiting for this port to go). Added after v0.1 shipped, hence the patch.
        operator_only = self.operator_cancel is not None and not self.queue.has_delete()
        if operator_only or workflow.patched("delete-cancel-until-stopped"):
            await self._until_stopped(task)
        try:
            await task
            finished = True
        except BaseException as error:  # noqa: BLE001 - only the cancellation we asked for is expected
            # An activity cancelled under the task surfaces as ActivityError(CancelledError).
            if not is_cancelled_exception(error):
                raise
        finally:
            self.cancel_requested = False
        if self.operator_cancel is not None and not self.queue.has_delete():
            reason, self.operator_cancel = self.operator_cancel, None
            if not finished:
                await self.cancelled(op, reason)
            return
        delete = self.queue.skip_to_delete()
        if delete is not None:
            await self.apply(delete)
            self.queue.done(delete.seq)

    @workflow.signal(name=Signal.CANCEL_OPERATION)
    def cancel_operation(self, reason: str) -> None:
        """An operator cancels the operation in flight (never a DELETE): it stops and ends in ERROR
        with `reason` (`cancelled`); operations queued after it still apply. Ignored when nothing
        is in flight. Plugin changes already made stay: RETRY re-applies, DELETE removes them."""
        if self.in_flight is not None:
            self.operator_cancel = reason

    async def _until_stopped(self, task: asyncio.Task) -> None:
        """Repeat the cancel until `task` stops: when the activity it awaits completes anyway, the
        SDK hands back the result and the cancel is spent, and the task goes on to its next wait."""
        while not task.done():
            try:
                await workflow.wait_condition(task.done, timeout=CANCEL_RECHECK)
            except asyncio.TimeoutError:
                await workflow.wait_condition(lambda: task.done() or self.uncancellable == 0)
                if not task.done():
                    task.cancel()

    async def cancelled(self, op: Operation, reason: str) -> None:
        """Record that the operator cancelled `op`: the resource is in ERROR with `reason`."""
        self.set_status(ERROR, reason)
        await record(Projection(self.resource_type, self.resource_id, op.seq, {"status": ERROR, "status_reason": reason}, final=True))

    @workflow.update(name=Update.WAIT_APPLIED)
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
