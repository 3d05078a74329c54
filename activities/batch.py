"""Batch activities: one activity applies a chunk of items (up to NETPROV_BATCH_CHUNK_SIZE) of one
kind for one plugin (and, for attachments, one host), and writes what came of every item, with
the projection of its resource, in one database transaction.

Per item, the plugin request is the one the item's resource workflow would have made: its
request_id is `<op_id>:<call>`, where op_id is the item's operation (stored with the batch) and
call the plugin action. A chunk run again (a worker crashed, the activity is retried) calls the
plugin again with the same request ids, and the plugin's ledger makes that a no-op; items already
settled by an earlier run are not called again at all.

Multi-step plugins (qbh-sim) are driven through their whole action per item (`create_network`,
`plug_interface`): the plugin runs its steps in order and undoes the completed ones when a step
fails for good, the compensation the resource workflows do step by step.

Outcomes: success and permanent failure settle the item; a transient failure settles it only when
its attempts (plan.max_attempts, counted in the item row) are used up, else the item is reported
RETRY and the workflow runs it again after a backoff. A port whose network is still being
provisioned (a network not made by this batch) is reported BLOCKED and run again later.
"""

import concurrent.futures
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from netprov.batch import CHUNK_ACTIVITIES, BatchGroup, BatchPlan, BatchSettled, BatchWorkflowInput, ChunkFailure, ChunkInput, ChunkResult, ItemKind, ItemOutcome
from netprov.operations import PluginAction, PluginRequest
from netprov.settings import Settings
from netprov.qos import clears, spec_from_dict
from netprov.status import ERROR, PROVISIONING, AttachmentStatus, NetworkStatus, PortStatus, QosStatus
from netprov.tracing import plugin_span
from plugins.base import Plugin, PluginError
from plugins.registry import PluginSet, UnknownPluginError, plugin_class
from store import batch_redrive
from store import batches as store
from store.projection import effective_status
from store.tables import BatchItemRow, NetworkRow

ACTIONS = {
    ItemKind.NETWORK: PluginAction.CREATE_NETWORK,
    ItemKind.PORT: PluginAction.CREATE_PORT,
    ItemKind.ATTACHMENT: PluginAction.PLUG_INTERFACE,
    ItemKind.QOS: PluginAction.APPLY_QOS,
}
# Kinds whose items act on an interface: grouped (and run) per host.
HOST_KINDS = (ItemKind.ATTACHMENT, ItemKind.QOS)
PLUGIN_MISSING = "PluginMissing"
HEARTBEAT_EVERY_S = 1.0


def call_name(plugin: type[Plugin], action: PluginAction) -> str:
    """The plugin call for `action`: its one step, or the whole action of a multi-step plugin."""
    steps = plugin.steps(action)
    return steps[0].name if len(steps) == 1 else action.value


@dataclass
class _Work:
    """One item to hand to the plugin, with what to write when it succeeds."""

    item: BatchItemRow
    request: PluginRequest
    table: str
    on_success: dict = field(default_factory=dict)
    # The item's status when it succeeds.
    ok_status: str = ""


class BatchActivities:
    def __init__(self, plugins: PluginSet, engine: Engine, settings: Settings) -> None:
        self.plugins = plugins
        self.engine = engine
        self.settings = settings

    # -- plan, settle, cancel ----------------------------------------------------------------

    @activity.defn(name="batch_load")
    def load(self, input: BatchWorkflowInput) -> BatchPlan:
        """The batch's items still to apply, grouped by kind, plugin and host."""
        rows = store.plan_rows(self.engine, input.batch_id)
        if rows is None:
            return BatchPlan(batch_id=input.batch_id)
        groups: dict[tuple[str, str, str], BatchGroup] = {}
        for position, kind, host, plugin in rows.pending:
            key = (kind, plugin, host if kind in HOST_KINDS else "")
            if key not in groups:
                groups[key] = self._group(kind, plugin, key[2])
            groups[key].positions.append(position)
        order = list(ItemKind)
        return BatchPlan(
            batch_id=input.batch_id,
            groups=sorted(groups.values(), key=lambda g: (order.index(ItemKind(g.kind)), g.plugin, g.host)),
            counts=rows.counts,
            cancel_requested=rows.cancel_requested,
            chunk_size=self.settings.batch_chunk_size,
            max_parallel_chunks=self.settings.batch_max_parallel_chunks,
        )

    def _group(self, kind: str, plugin: str, host: str) -> BatchGroup:
        try:
            cls = plugin_class(plugin)
        except UnknownPluginError:
            return BatchGroup(kind=kind, plugin=plugin, host=host)
        return BatchGroup(
            kind=kind,
            plugin=plugin,
            host=host,
            host_bound=bool(host) and any(step.host_bound for step in cls.steps(ACTIONS[ItemKind(kind)])),
            max_attempts=self.settings.max_attempts_for(plugin, cls.max_attempts),
            initial_backoff_ms=self.settings.plugin_initial_backoff_ms,
        )

    @activity.defn(name="batch_settle")
    def settle(self, batch_id: str) -> BatchSettled:
        status, counts = store.settle_batch(self.engine, batch_id)
        return BatchSettled(batch_id, status.value, counts)

    @activity.defn(name="batch_cancel_pending")
    def cancel_pending(self, batch_id: str) -> int:
        return batch_redrive.cancel_pending(self.engine, batch_id)

    @activity.defn(name="batch_fail_items")
    def fail_items(self, failure: ChunkFailure) -> None:
        store.fail_items(self.engine, failure.batch_id, failure.positions, failure.reason)

    # -- chunks ------------------------------------------------------------------------------

    @activity.defn(name=CHUNK_ACTIVITIES[ItemKind.NETWORK])
    def create_networks(self, chunk: ChunkInput) -> ChunkResult:
        return self.apply_chunk(chunk)

    @activity.defn(name=CHUNK_ACTIVITIES[ItemKind.PORT])
    def create_ports(self, chunk: ChunkInput) -> ChunkResult:
        return self.apply_chunk(chunk)

    @activity.defn(name=CHUNK_ACTIVITIES[ItemKind.ATTACHMENT])
    def plug_interfaces(self, chunk: ChunkInput) -> ChunkResult:
        return self.apply_chunk(chunk)

    @activity.defn(name=CHUNK_ACTIVITIES[ItemKind.QOS])
    def apply_qos(self, chunk: ChunkInput) -> ChunkResult:
        return self.apply_chunk(chunk)

    def apply_chunk(self, chunk: ChunkInput) -> ChunkResult:
        kind = ItemKind(chunk.kind)
        try:
            plugin = self.plugins.get(chunk.plugin)
        except UnknownPluginError as error:
            raise ApplicationError(str(error), type=PLUGIN_MISSING, non_retryable=True) from error
        action = ACTIONS[kind]
        call = call_name(type(plugin), action)
        max_attempts = self.settings.max_attempts_for(chunk.plugin, plugin.max_attempts)
        rows = store.chunk_rows(self.engine, chunk.batch_id, chunk.positions)

        statuses: dict[int, str] = {}
        updates: list[store.ItemUpdate] = []
        work: list[_Work] = []
        for item in rows.items:
            if item.status != PROVISIONING:
                statuses[item.position] = item.status
                continue
            prepared = self._prepare(kind, item, rows, chunk.plugin, call)
            if isinstance(prepared, _Work):
                work.append(prepared)
            elif isinstance(prepared, store.ItemUpdate):
                updates.append(prepared)
                statuses[item.position] = prepared.status
            else:
                statuses[item.position] = ItemOutcome.BLOCKED.value
                updates.append(
                    store.ItemUpdate(item.position, ItemOutcome.BLOCKED.value, store.table_of(kind), item.resource_id, item.op_seq,
                                     final=False, attempts=item.attempts, fields={"progress": prepared})
                )

        results = self._call_plugin(plugin, call, [w.request for w in work])
        succeeded = [w for w, result in zip(work, results) if not isinstance(result, PluginError)]
        links = self._links(plugin, succeeded) if kind == ItemKind.ATTACHMENT else {}
        for w, result in zip(work, results):
            update = self._outcome(kind, w, result, call, max_attempts, links)
            updates.append(update)
            statuses[w.item.position] = update.status if update.final else ItemOutcome.RETRY.value
        store.record_chunk(self.engine, chunk.batch_id, updates)
        return ChunkResult(statuses=[statuses.get(p, ERROR) for p in chunk.positions])

    # -- inside ------------------------------------------------------------------------------

    def _prepare(self, kind: ItemKind, item: BatchItemRow, rows: store.ChunkRows, plugin: str, call: str):
        """The plugin work for `item`; or the update that settles it without a plugin call (its
        network or port failed or is gone); or, as a string, why it must wait."""
        table = store.table_of(kind)
        request_id = f"{item.op_id}:{call}"

        def fail(reason: str, **fields) -> store.ItemUpdate:
            return store.ItemUpdate(item.position, ERROR, table, item.resource_id, item.op_seq, True, reason, item.attempts, fields)

        if kind == ItemKind.QOS:
            return self._prepare_qos(item, rows, plugin, request_id, fail)
        if kind == ItemKind.NETWORK:
            network = rows.networks.get(item.resource_id)
            if network is None:
                return fail("cancelled: the network was deleted before it was provisioned")
            request = PluginRequest(plugin, request_id, network.tenant_id, network.id, network.name)
            return _Work(item, request, table, {"status": NetworkStatus.AVAILABLE.value, "status_reason": None},
                         NetworkStatus.AVAILABLE.value)

        port = rows.ports.get(item.resource_id)
        network = rows.networks.get(item.network_id or "")
        if port is None:
            return fail("cancelled: the port was deleted before it was provisioned")
        if kind == ItemKind.PORT:
            reason = _network_problem(network, item.network_id or "")
            if reason is not None and reason.startswith("waiting"):
                return reason
            if reason is not None:
                return fail(reason, status=PortStatus.ERROR.value, status_reason=reason)
            if port.deleting:
                return fail("cancelled: the port is being deleted", status=PortStatus.ERROR.value,
                            status_reason="cancelled: the port is being deleted")
            assert network is not None
            request = PluginRequest(plugin, request_id, port.tenant_id, network.id, network.name, port_id=port.id, state=port.state)
            return _Work(item, request, table, {"status": port.state, "status_reason": None}, port.state)

        # An attachment: its port must have been provisioned.
        port_item = rows.port_items.get(port.id)
        if port_item is not None and port_item.status == PROVISIONING:
            return f"waiting for port {port.id} to be provisioned"
        if port_item is not None and port_item.status == ERROR:
            reason = f"port {port.id} is in ERROR: {port_item.error}"
            return fail(reason, **store.error_fields(kind, reason))  # the link says why, too
        if port.attachment_id != item.iface_id:
            return fail("cancelled: the attachment was withdrawn before it was plugged")
        if network is None:
            reason = f"network {item.network_id} no longer exists"
            return fail(reason, **store.error_fields(kind, reason))  # the link says why, too
        extra = {k: str(v) for k, v in (network.plugin_data or {}).items()}
        request = PluginRequest(
            plugin, request_id, port.tenant_id, network.id, network.name,
            port_id=port.id, state=port.state, iface_id=item.iface_id, host=item.host, extra=extra,
        )
        on_success = {
            "status": port.state,
            "status_reason": None,
            "attachment_status": AttachmentStatus.AVAILABLE.value,
            "attachment_reason": None,
        }
        return _Work(item, request, table, on_success, AttachmentStatus.AVAILABLE.value)

    @staticmethod
    def _prepare_qos(item: BatchItemRow, rows: store.ChunkRows, plugin: str, request_id: str, fail) -> "_Work | store.ItemUpdate":
        """The APPLY_QOS of a QoS fan-out's item: the request the port's workflow would make (the
        interface and host as planned: later operations on the port wait for this item)."""
        port = rows.ports.get(item.resource_id)
        if port is None:
            return fail("cancelled: the port was deleted before its QoS was applied")
        network = rows.networks.get(item.network_id or "")
        spec = spec_from_dict(rows.qos_specs.get(item.op_id) or {})
        if network is None:
            reason = f"applying QoS policy {spec.policy_name!r} failed: network {item.network_id} no longer exists"
            return fail(reason, **store.error_fields(ItemKind.QOS, reason))
        request = PluginRequest(
            plugin, request_id, port.tenant_id, network.id, network.name, port_id=port.id, state=port.state,
            iface_id=item.iface_id, host=item.host, extra={k: str(v) for k, v in (network.plugin_data or {}).items()}, qos=spec,
        )  # fmt: skip
        done = None if clears(spec) else QosStatus.AVAILABLE.value
        return _Work(item, request, store.table_of(ItemKind.QOS), {"qos_status": done, "qos_status_reason": None}, QosStatus.AVAILABLE.value)

    def _call_plugin(self, plugin: Plugin, call: str, requests: list[PluginRequest]) -> list:
        """The plugin's results for `requests`, in order. A bulk plugin gets them in one call; any
        other gets them one by one from up to `batch_item_threads` threads."""
        if not requests:
            return []
        with plugin_span(requests[0].plugin, call, items=str(len(requests))):
            return self._call_plugin_traced(plugin, call, requests)

    def _call_plugin_traced(self, plugin: Plugin, call: str, requests: list[PluginRequest]) -> list:
        if plugin.bulk:
            return self._heartbeating(lambda: plugin.apply_many(call, requests))
        threads = min(self.settings.batch_item_threads, len(requests))
        with concurrent.futures.ThreadPoolExecutor(max_workers=threads, thread_name_prefix="batch-item") as pool:
            futures = [pool.submit(plugin.apply_many, call, [request]) for request in requests]
            while True:
                done, pending = concurrent.futures.wait(futures, timeout=HEARTBEAT_EVERY_S)
                activity.heartbeat()
                if not pending:
                    break
        return [future.result()[0] for future in futures]

    def _heartbeating(self, call: Callable[[], list]) -> list:
        with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch-bulk") as pool:
            future = pool.submit(call)
            while True:
                try:
                    return future.result(timeout=HEARTBEAT_EVERY_S)
                except concurrent.futures.TimeoutError:
                    activity.heartbeat()

    def _links(self, plugin: Plugin, succeeded: list[_Work]) -> dict[int, tuple[str, str | None]]:
        """The link status the plugin reports for every attachment just plugged."""
        if not succeeded:
            return {}
        with plugin_span(succeeded[0].request.plugin, "link_status", items=str(len(succeeded))):
            reports = self._heartbeating(lambda: plugin.link_status_many([w.request for w in succeeded]))
        return {w.item.position: (r.status.value, r.reason) for w, r in zip(succeeded, reports)}

    def _outcome(self, kind: ItemKind, w: _Work, result, call: str, max_attempts: int, links: dict) -> store.ItemUpdate:
        item = w.item
        if not isinstance(result, PluginError):
            fields = dict(w.on_success)
            if kind == ItemKind.NETWORK and result:
                fields["plugin_data"] = result
            if kind == ItemKind.ATTACHMENT:
                fields["link_status"], fields["link_status_string"] = links[item.position]
            return store.ItemUpdate(item.position, w.ok_status, w.table, item.resource_id, item.op_seq, True, None, item.attempts + 1, fields)
        attempts = item.attempts + 1
        if result.transient and attempts < max_attempts:
            progress = f"retrying {call} (attempt {attempts + 1} of {max_attempts}) after: {result}"
            return store.ItemUpdate(item.position, PROVISIONING, w.table, item.resource_id, item.op_seq, False, None, attempts, {"progress": progress})
        reason = f"{call} failed after {attempts} attempts: {result}" if result.transient else f"{call} failed: {result}"
        if kind == ItemKind.QOS and w.request.qos is not None:
            reason = f"applying QoS policy {w.request.qos.policy_name!r} failed: {reason}"
        return store.ItemUpdate(item.position, ERROR, w.table, item.resource_id, item.op_seq, True, reason, attempts,
                                store.error_fields(kind, reason))


def _network_problem(network: NetworkRow | None, network_id: str) -> str | None:
    """Why a port cannot be provisioned on `network` (a reason starting "waiting" means: not yet)."""
    if network is None:
        return f"network {network_id} no longer exists"
    if network.deleting:
        return f"network {network_id} is being deleted"
    status, reason = effective_status(network)
    if status == NetworkStatus.ERROR:
        return f"network {network_id} is in ERROR: {reason}"
    if status == NetworkStatus.PROVISIONING:
        return f"waiting for network {network_id} to be provisioned"
    return None
