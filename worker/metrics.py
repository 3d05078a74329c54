"""A worker's metrics and log context.

With NETPROV_WORKER_METRICS_PORT=P (default 0: off) the worker's Temporal runtime serves Prometheus
text at http://0.0.0.0:P/metrics, one endpoint for:

- the Temporal SDK's own metrics (`temporal_*`: task latencies, poll and slot counts, failures);
- `netprov_plugin_calls_total{plugin, action, outcome}`: plugin calls made by activities, where
  `action` is the plugin step (`create_network`, `plug_interface`, `link_status`, ...) and `outcome`
  is `ok`, `transient`, `permanent`, `cancelled` or `error`;
- `netprov_plugin_call_errors_total{plugin, action, kind}`: the failed ones, by kind;
- `netprov_plugin_call_duration_seconds{plugin, action}`: their latency (histogram).

Each also carries the runtime's `namespace` and `task_queue` labels. The numbers come from an
activity interceptor (`WorkerTelemetry`), which also puts the tenant, resource and workflow of each
activity into the log context (netprov.logging_setup) of every line logged while it runs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from temporalio import activity, client
from temporalio.common import MetricMeter, RawValue
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from netprov.logging_setup import bind
from netprov.naming import PERMANENT_PLUGIN_ERROR, TRANSIENT_PLUGIN_ERROR, Activity
from netprov.settings import Settings
from netprov.workflow_io import LinkInput, StepInput

DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
LINK_STATUS_ACTIVITY = Activity.PLUGIN_LINK_STATUS


def metrics_runtime(settings: Settings) -> Runtime | None:
    """A Temporal runtime exporting Prometheus metrics on NETPROV_WORKER_METRICS_PORT; None when off."""
    if not settings.worker_metrics_port:
        return None
    return Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(
                bind_address=f"0.0.0.0:{settings.worker_metrics_port}",
                counters_total_suffix=True,
                durations_as_seconds=True,
                histogram_bucket_overrides={"netprov_plugin_call_duration_seconds": DURATION_BUCKETS},
            )
        )
    )


class WorkerTelemetry(client.Interceptor, Interceptor):
    """Give it to `Client.connect(interceptors=[...])`: every worker of that client uses it."""

    def __init__(self, meter: MetricMeter) -> None:
        self.calls = meter.create_counter("netprov_plugin_calls", "Plugin calls made by activities")
        self.errors = meter.create_counter("netprov_plugin_call_errors", "Plugin calls that failed, by kind")
        self.duration = meter.create_histogram_float(
            "netprov_plugin_call_duration_seconds", "Latency of plugin calls", "s"
        )

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ActivityTelemetry(next, self)


class _ActivityTelemetry(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, telemetry: WorkerTelemetry) -> None:
        super().__init__(next)
        self.telemetry = telemetry

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        call = plugin_call(info.activity_type, input.args)
        # Bound in this activity's own task (the SDK runs each activity in a task of its own, so
        # nothing leaks to others): the thread of a sync activity gets a copy, and the SDK's own
        # lines about this activity (e.g. "Completing activity as failed") carry it too.
        bind(tenant_id=call.get("tenant_id"))
        if "plugin" not in call:
            return await self.next.execute_activity(input)
        labels = {"plugin": call["plugin"], "action": call["action"]}
        start = time.perf_counter()
        outcome = "error"
        try:
            result = await self.next.execute_activity(input)
            outcome = "ok"
            return result
        except ApplicationError as error:
            outcome = {TRANSIENT_PLUGIN_ERROR: "transient", PERMANENT_PLUGIN_ERROR: "permanent"}.get(error.type or "", "error")
            raise
        except BaseException as error:
            outcome = "cancelled" if isinstance(error, (CancelledError, asyncio.CancelledError)) else "error"
            raise
        finally:
            self.telemetry.duration.record(time.perf_counter() - start, labels)
            self.telemetry.calls.add(1, {**labels, "outcome": outcome})
            if outcome != "ok":
                self.telemetry.errors.add(1, {**labels, "kind": outcome})


def plugin_call(activity_type: str, args: Sequence[Any]) -> dict[str, str]:
    """plugin, action and tenant_id of a plugin activity (`<plugin>.<step>` or plugin_link_status);
    {} for the other activities (database projection)."""
    if activity_type == LINK_STATUS_ACTIVITY:
        request = args[0].request if args and isinstance(args[0], LinkInput) else None
        if request is None:
            return {}
        return {"plugin": request.plugin, "action": "link_status", "tenant_id": request.tenant_id}
    plugin, sep, step = activity_type.partition(".")
    if not sep:
        return {}
    call = {"plugin": plugin, "action": step}
    raw = args[0] if args else None
    if isinstance(raw, Sequence) and raw and isinstance(raw[0], RawValue):
        try:
            step_input = activity.payload_converter().from_payload(raw[0].payload, StepInput)
            call["tenant_id"] = step_input.request.tenant_id
        except Exception:  # noqa: BLE001 - the label is a nicety; the activity reports bad input itself
            pass
    return call
