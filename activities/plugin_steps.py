"""Plugin steps as activities.

One dynamic activity serves every plugin step, registered under the name the workflow gives it:
`<plugin>.<step>` (e.g. `ovs.plug_interface`, `qbh-sim.qbh_pswitch_create_network`), so the
Temporal UI names what each activity does. A step's success and the status it leads to are
written in the same activity, so a resource settles with one round trip to the engine.
"""

from collections.abc import Sequence

from sqlalchemy.engine import Engine
from temporalio import activity
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

from netprov.conditions import AgentState
from netprov.naming import PERMANENT_PLUGIN_ERROR, TRANSIENT_PLUGIN_ERROR, Activity, host_task_queue
from netprov.operations import PluginRequest
from netprov.tracing import plugin_span
from netprov.workflow_io import LinkInput, Projection, StepInput, StepResult
from plugins.base import PluginError
from plugins.registry import PluginSet, needs_agent
from store.projection import apply_projection


class PluginStepActivities:
    def __init__(self, plugins: PluginSet, engine: Engine) -> None:
        self.plugins = plugins
        self.engine = engine

    @activity.defn(dynamic=True)
    def run_step(self, args: Sequence[RawValue]) -> StepResult:
        step_input = activity.payload_converter().from_payload(args[0].payload, StepInput)
        return self.apply(step_input)

    def apply(self, step_input: StepInput) -> StepResult:
        request, step = step_input.request, step_input.step
        attempt = activity.info().attempt
        plugin = self.plugins.get(request.plugin)
        if step_input.total > 1 and attempt == 1:
            self._progress(step_input, f"step {step_input.index} of {step_input.total}: {step.name}")
        try:
            with plugin_span(request.plugin, step.name, resource_id=step_input.resource_id, host=request.host):
                data = plugin.apply_step(step.name, request) or {}
        except PluginError as error:
            if error.transient and attempt < step_input.max_attempts:
                self._progress(
                    step_input,
                    f"retrying {step.name} (attempt {attempt + 1} of {step_input.max_attempts}) after: {error}",
                )
            raise ApplicationError(
                str(error), type=TRANSIENT_PLUGIN_ERROR if error.transient else PERMANENT_PLUGIN_ERROR, non_retryable=not error.transient
            ) from error
        if step_input.on_success is not None:
            self._project(step_input.on_success, request, data)
        return StepResult(data=data)

    @activity.defn(name=Activity.PLUGIN_LINK_STATUS)
    def link_status(self, link_input: LinkInput) -> dict[str, str | None]:
        """Ask the plugin what the port's interface really sees and record it."""
        request = link_input.request
        with plugin_span(request.plugin, "link_status", resource_id=link_input.port_id, host=request.host):
            report = self.plugins.get(request.plugin).link_status(request)
        fields = {"link_status": report.status.value, "link_status_string": report.reason}
        apply_projection(self.engine, Projection("port", link_input.port_id, link_input.seq, fields, final=False))
        return fields

    def _project(self, projection: Projection, request: PluginRequest, data: dict[str, str]) -> None:
        extra: dict = {}
        if data and projection.resource_type == "network":
            extra["plugin_data"] = data
        # A step that runs on the agent of the port's host proves that agent alive.
        on_host = request.host is not None and activity.info().task_queue == host_task_queue(request.host)
        if projection.evaluate_link and (on_host or not request.iface_id or not needs_agent(request.plugin)):
            with plugin_span(request.plugin, "link_status", resource_id=projection.resource_id, host=request.host):
                report = self.plugins.get(request.plugin).link_status(request)
            extra["link_status"] = report.status.value
            extra["link_status_string"] = report.reason
        # Otherwise the link of a host-bound plugin is evaluated only on its host's agent: the link
        # monitor (workflows/link_monitor.py) does that within its interval.
        agent = AgentState.ALIVE if on_host and projection.resource_type == "port" else None
        apply_projection(self.engine, projection, extra, agent=agent)

    def _progress(self, step_input: StepInput, reason: str) -> None:
        apply_projection(
            self.engine,
            Projection(
                step_input.resource_type,
                step_input.resource_id,
                step_input.seq,
                {"progress": reason},
            ),
        )
