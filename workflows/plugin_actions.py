"""Running one plugin action as its steps, with compensation when a step fails."""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta

from temporalio import workflow
from temporalio.workflow import ActivityCancellationType
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError

with workflow.unsafe.imports_passed_through():
    from netprov.naming import PERMANENT_PLUGIN_ERROR, host_task_queue, step_activity_name
    from netprov.operations import PluginAction, PluginRequest, StepSpec
    from netprov.workflow_io import PluginPlan, Projection, StepInput, StepResult

# Plugin calls are short; a dead worker is noticed (and the step retried) after this long.
STEP_TIMEOUT = timedelta(seconds=15)
# Local steps (PluginPlan.local_steps) wait out back-offs longer than this on a workflow timer, shorter ones in
# the worker without seeing signals: with every back-off on a timer, a DELETE or an operator's cancel stops a
# retrying step between attempts, as with ordinary activities (and each wait shows in the history).
LOCAL_RETRY_THRESHOLD = timedelta(milliseconds=1)
# How a step's final failure reaches the workflow: ActivityError around the cause, or, for a local
# activity whose last retries waited on timers, the ApplicationError itself.
STEP_FAILURES = (ActivityError, ApplicationError)
# Undo must eventually happen: retried far longer than a forward step.
UNDO_ATTEMPTS = 50


class ActionFailed(Exception):
    """A plugin action failed for good; `reason` is the sentence for status_reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class ActionTarget:
    resource_type: str
    resource_id: str
    seq: int
    # True once a DELETE has cancelled the operation this action serves. Checked between steps:
    # an activity attempt that completes although its cancellation was requested returns its
    # result (the SDK swallows the task's cancellation), so the remaining steps must be stopped here.
    cancelled: Callable[[], bool] = lambda: False


async def run_action(
    plan: PluginPlan,
    action: PluginAction,
    request: PluginRequest,
    target: ActionTarget,
    on_success: Projection | None = None,
) -> dict[str, str]:
    """Run the steps of `action`; on failure undo the completed ones in reverse, then raise
    ActionFailed. `on_success` is written by the last step's activity when it succeeds. When
    `target.cancelled()`, no further step starts and asyncio.CancelledError is raised without
    compensation: the DELETE that cancelled the action removes every trace (plugin contract)."""
    steps = plan.steps[action.value]
    completed: list[StepSpec] = []
    data: dict[str, str] = {}
    for index, step in enumerate(steps, start=1):
        if _stop_for_cancel(target):
            raise asyncio.CancelledError(f"{action.value} cancelled before {step.name}")
        step_request = replace(request, request_id=f"{request.request_id}:{step.name}")
        step_input = StepInput(
            request=step_request,
            step=step,
            index=index,
            total=len(steps),
            resource_type=target.resource_type,
            resource_id=target.resource_id,
            seq=target.seq,
            max_attempts=plan.max_attempts,
            on_success=on_success if index == len(steps) else None,
        )
        try:
            result = await _execute(plan, step, step_input, plan.max_attempts)
        except STEP_FAILURES as error:
            if _stop_for_cancel(target):
                raise asyncio.CancelledError(f"{action.value} cancelled during {step.name}") from error
            reason = _describe(step.name, error, plan.max_attempts)
            undo_failure = await _compensate(plan, completed, request, target)
            if undo_failure:
                reason = f"{reason}; then {undo_failure}: the device may keep a partial configuration"
            raise ActionFailed(reason) from error
        completed.append(step)
        data.update(result.data)
    return data


def _stop_for_cancel(target: ActionTarget) -> bool:
    # Added after v0.1 shipped: runs recorded before it went on with the remaining steps.
    return target.cancelled() and workflow.patched("stop-steps-on-cancel")


async def _compensate(
    plan: PluginPlan, completed: list[StepSpec], request: PluginRequest, target: ActionTarget
) -> str | None:
    """Undo `completed` in reverse; the reason when an undo step itself failed for good (the
    resource then goes to ERROR saying so, and a DELETE or RETRY re-drives the cleanup)."""
    for step in reversed(completed):
        if not step.undo:
            continue
        undo = StepSpec(name=step.undo, host_bound=step.host_bound)
        undo_request = replace(request, request_id=f"{request.request_id}:{step.undo}")
        step_input = StepInput(
            request=undo_request,
            step=undo,
            resource_type=target.resource_type,
            resource_id=target.resource_id,
            seq=target.seq,
            max_attempts=UNDO_ATTEMPTS,
        )
        try:
            await _execute(plan, undo, step_input, UNDO_ATTEMPTS)
        except STEP_FAILURES as error:
            return f"undoing {step.name} failed: {_describe(undo.name, error, UNDO_ATTEMPTS)}"
    return None


async def _execute(plan: PluginPlan, step: StepSpec, step_input: StepInput, attempts: int) -> StepResult:
    # A host-bound step runs only on the agent of the attachment's host. While that agent is down
    # the task waits in its queue: no schedule-to-start (or schedule-to-close) timeout is set, and an
    # attempt is counted only once an agent has picked it up, so no retry is spent on the wait.
    # Without a host (a port with no attachment) there is nothing on any host to touch: the step
    # runs centrally, where the plugin treats it as a no-op.
    name = step_activity_name(plan.plugin, step.name)
    retry_policy = RetryPolicy(
        initial_interval=timedelta(milliseconds=plan.initial_backoff_ms),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=10),
        maximum_attempts=attempts,
        non_retryable_error_types=[PERMANENT_PLUGIN_ERROR],
    )
    # A DELETE cancels provisioning: wait until the step has really stopped before undoing, or a
    # late step would re-create what the delete removed.
    cancellation = ActivityCancellationType.WAIT_CANCELLATION_COMPLETED
    task_queue = host_task_queue(step_input.request.host) if step.host_bound and step_input.request.host else None
    if task_queue is None and plan.local_steps and step_input.total == 1:
        # In this worker: no activity task to dispatch, the result recorded as a marker. Only for one-step
        # actions: consecutive local activities run in one workflow task, where no signal is seen, so a DELETE
        # could no longer stop a multi-step action between its steps.
        return await workflow.execute_local_activity(
            name, step_input, result_type=StepResult, start_to_close_timeout=STEP_TIMEOUT,
            local_retry_threshold=LOCAL_RETRY_THRESHOLD, cancellation_type=cancellation, retry_policy=retry_policy,
        )
    return await workflow.execute_activity(
        name, step_input, result_type=StepResult, task_queue=task_queue,
        start_to_close_timeout=STEP_TIMEOUT, cancellation_type=cancellation, retry_policy=retry_policy,
    )


def _describe(step: str, error: ActivityError | ApplicationError, attempts: int) -> str:
    cause = error.cause if isinstance(error, ActivityError) else error
    if isinstance(cause, ApplicationError):
        if cause.non_retryable or cause.type == PERMANENT_PLUGIN_ERROR:
            return f"{step} failed: {cause.message}"
        return f"{step} failed after {attempts} attempts: {cause.message}"
    if isinstance(cause, TimeoutError):
        return f"{step} timed out after {attempts} attempts"
    return f"{step} failed: {cause or error}"
