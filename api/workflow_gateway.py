"""The API's one connection to the workflow engine: delivers accepted operations to resource
workflows (signal-with-start: starts the workflow when none runs) and waits on them."""

import asyncio
import logging
import time
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.client import Client, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.service import RPCError

from api.db_threads import in_writer
from netprov.naming import (
    SA_RESOURCE_TYPE,
    SA_STATUS,
    SA_TENANT,
    Signal,
    Update,
    WorkflowType,
    network_workflow_id,
    port_workflow_id,
)
from netprov.operations import Operation, OpKind, PluginAction
from netprov.qos import spec_from_dict
from netprov.settings import Settings
from netprov.status import PROVISIONING, AttachmentStatus, NetworkStatus, ResourceType
from netprov.temporal_connection import connect, ensure_search_attributes
from netprov.workflow_io import Attachment, NetworkWorkflowInput, PluginPlan, PortWorkflowInput, WaitApplied
from plugins.registry import plugin_class
from store.batches import held_by_batch, held_by_batches
from store.operations import mark_delivered
from store.tables import NetworkRow, OperationRow, PortRow

log = logging.getLogger("netprov.api")
RPC_TIMEOUT = timedelta(seconds=5)
CONNECT_TIMEOUT = 3.0
# A stopped engine refuses the probe at once; a busy one (a dev server flushing its SQLite file, or starting
# while other suites hold both cores) was seen to take over 2.5 s to answer it, and a write must not get a 503
# for that: the probe waits as long as any other call to the engine.
HEALTH_TIMEOUT = RPC_TIMEOUT
# A successful contact with the engine vouches for it this long: writes skip the health probe.
REACHABLE_FOR = 1.0
# How long accepted operations' "delivered" marks are gathered into one write (see mark_delivered_soon).
MARK_DELIVERED_DELAY = 0.02
# Extra time a `Prefer: wait` gives the workflow's answer to travel back before the API stops listening.
WAIT_SLACK = 0.5


class EngineUnavailable(Exception):
    pass


def plugin_plan(settings: Settings, plugin: str) -> PluginPlan:
    cls = plugin_class(plugin)
    return PluginPlan(
        plugin=plugin,
        steps={action.value: cls.steps(action) for action in PluginAction},
        max_attempts=settings.max_attempts_for(plugin, cls.max_attempts),
        initial_backoff_ms=settings.plugin_initial_backoff_ms,
        local_steps=settings.local_steps,
    )


def operation_of(row: OperationRow) -> Operation:
    payload = row.payload or {}
    return Operation(
        op_id=row.op_id,
        seq=row.seq,
        kind=OpKind(row.kind),
        state=payload.get("state"),
        iface_id=payload.get("iface_id"),
        host=payload.get("host"),
        port_ids=list(payload.get("port_ids", [])),
        network_name=payload.get("network_name"),
        qos=spec_from_dict(payload["qos"]) if payload.get("qos") is not None else None,
    )


def _purpose(op_row: OperationRow) -> str:
    """The first words of a run's Temporal UI summary."""
    qos = (op_row.payload or {}).get("qos")
    if op_row.kind == OpKind.SET_QOS and qos is not None:
        return "Remove the QoS policy of" if not qos.get("rules") else f"Apply QoS policy {qos.get('policy_name')!r} to"
    return "Provision"


def _qos_note(op_row: OperationRow) -> str:
    """What the Temporal UI's run details say about QoS: the policy the starting operation applies."""
    qos = (op_row.payload or {}).get("qos")
    if qos is None:
        return ""
    if not qos.get("rules"):
        return ", removing the port's QoS policy"
    return f", applying QoS policy {qos.get('policy_name')!r} ({len(qos['rules'])} rule(s))"


class WorkflowGateway:
    def __init__(self, settings: Settings, engine: Engine, client: Client | None = None) -> None:
        self.settings = settings
        self.engine = engine
        self._client = client
        self._lock = asyncio.Lock()
        self._reachable_until = 0.0
        self.search_attributes = True
        self._plans: dict[str, PluginPlan] = {}
        self._to_mark: set[str] = set()
        self._marker: asyncio.Task | None = None

    async def client(self) -> Client:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    try:
                        client = await asyncio.wait_for(connect(self.settings), CONNECT_TIMEOUT)
                    except (RPCError, OSError, RuntimeError, asyncio.TimeoutError) as error:
                        raise EngineUnavailable(str(error)) from error
                    self.search_attributes = await ensure_search_attributes(client, self.settings.temporal_namespace)
                    self._client = client
        return self._client

    async def healthy(self) -> bool:
        try:
            await self.ensure_reachable(probe=True)
            return True
        except EngineUnavailable:
            return False

    async def ensure_reachable(self, probe: bool = False) -> None:
        """Raise EngineUnavailable unless the engine answered in the last REACHABLE_FOR seconds or
        answers a health probe now. Writes call this before storing anything: a call to a dead
        server is retried by the client for several seconds, the probe fails at once."""
        if not probe and time.monotonic() < self._reachable_until:
            return
        client = await self.client()
        try:
            ok = await client.service_client.check_health(timeout=HEALTH_TIMEOUT)
        except (RPCError, asyncio.TimeoutError, RuntimeError) as error:
            self._reachable_until = 0.0
            raise EngineUnavailable(str(error) or type(error).__name__) from error
        if not ok:
            self._reachable_until = 0.0
            raise EngineUnavailable("the workflow engine reports itself not serving")
        self._reachable_until = time.monotonic() + REACHABLE_FOR

    async def deliver(self, op_row: OperationRow) -> bool:
        """Hand one accepted operation to its resource's workflow; False when it must wait in the
        outbox (a batch has not yet settled the resource: the sweeper hands it over once the batch
        has). Raises EngineUnavailable."""
        client = await self.client()
        with Session(self.engine) as session:
            # A resource a POST has just created cannot be part of a batch: spare the lookup.
            if op_row.kind != OpKind.CREATE and held_by_batch(session, op_row.resource_id):
                return False
            target = self._targets(session, [op_row]).get(op_row.resource_id)
        if target is not None:
            await self._start(client, op_row, target)
        return True

    async def deliver_many(self, op_rows: list[OperationRow], concurrency: int = 32) -> tuple[list[str], bool]:
        """`deliver` for many operations, at most one per resource (a fan-out): the rows they need
        read in a few queries, the workflows signalled `concurrency` at a time. Returns the op_ids
        delivered (or whose resource is gone) and whether the engine became unreachable, after which
        nothing more is started (the outbox sweeper delivers the rest)."""
        client = await self.client()
        with Session(self.engine) as session:
            held = held_by_batches(session, [op.resource_id for op in op_rows])
            targets = self._targets(session, [op for op in op_rows if op.resource_id not in held])
        gate = asyncio.Semaphore(concurrency)
        delivered: list[str] = []
        engine_down = False

        async def one(op_row: OperationRow) -> None:
            nonlocal engine_down
            async with gate:
                if engine_down:
                    return
                target = targets.get(op_row.resource_id)
                try:
                    if target is not None:
                        await self._start(client, op_row, target)
                except EngineUnavailable:
                    engine_down = True
                    return
                delivered.append(op_row.op_id)

        await asyncio.gather(*(one(op) for op in op_rows if op.resource_id not in held))
        return delivered, engine_down

    def _targets(self, session: Session, op_rows: list[OperationRow]) -> dict[str, tuple]:
        """{resource id: (workflow type, workflow id, input, tenant, summary)} of the resources that
        still exist, in two queries per 500 resources."""
        targets: dict[str, tuple] = {}
        ids = {t: [op.resource_id for op in op_rows if op.resource_type == t] for t in (ResourceType.NETWORK, ResourceType.PORT)}
        for start in range(0, max(len(ids[ResourceType.NETWORK]), len(ids[ResourceType.PORT]), 1), 500):
            chunk = ids[ResourceType.NETWORK][start : start + 500]
            for network in session.execute(select(NetworkRow).where(NetworkRow.id.in_(chunk))).scalars() if chunk else ():
                summary = f"network {network.name!r} ({network.plugin}) of tenant {network.tenant_id}"
                targets[network.id] = (WorkflowType.NETWORK, network_workflow_id(network.id), self._network_input(network),
                                       network.tenant_id, summary)  # fmt: skip
            chunk = ids[ResourceType.PORT][start : start + 500]
            query = select(PortRow, NetworkRow).join(NetworkRow, NetworkRow.id == PortRow.network_id).where(PortRow.id.in_(chunk))
            for port, network in session.execute(query).all() if chunk else ():
                summary = f"port {port.id} on network {network.name!r} of tenant {port.tenant_id}"
                targets[port.id] = (WorkflowType.PORT, port_workflow_id(port.id), self._port_input(port, network),
                                    port.tenant_id, summary)  # fmt: skip
        return targets

    async def _start(self, client: Client, op_row: OperationRow, target: tuple) -> None:
        """Signal-with-start the resource's workflow with the operation. Raises EngineUnavailable."""
        workflow, workflow_id, arg, tenant, summary = target
        attributes = None
        if self.search_attributes:
            attributes = TypedSearchAttributes(
                [
                    SearchAttributePair(SearchAttributeKey.for_keyword(SA_TENANT), tenant),
                    SearchAttributePair(SearchAttributeKey.for_keyword(SA_RESOURCE_TYPE), op_row.resource_type),
                    SearchAttributePair(SearchAttributeKey.for_keyword(SA_STATUS), PROVISIONING),
                ]
            )
        try:
            await client.start_workflow(
                workflow,
                arg,
                id=workflow_id,
                task_queue=self.settings.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                start_signal=Signal.ENQUEUE,
                start_signal_args=[operation_of(op_row)],
                search_attributes=attributes,
                static_summary=f"{_purpose(op_row)} {summary}",
                static_details=f"Applies the accepted operations of this {op_row.resource_type} in order; "
                f"this run started for operation {op_row.seq} ({op_row.kind}){_qos_note(op_row)}.",
                rpc_timeout=RPC_TIMEOUT,
            )
        except RPCError as error:
            self._reachable_until = 0.0
            raise EngineUnavailable(str(error)) from error
        self._reachable_until = time.monotonic() + REACHABLE_FOR

    async def wait_applied(self, resource_type: str, resource_id: str, seq: int, timeout: float) -> bool:
        """Hold until operation `seq` is applied or `timeout` passes; True when the workflow said
        it was applied (the caller re-reads the row either way)."""
        workflow_id = network_workflow_id(resource_id) if resource_type == ResourceType.NETWORK else port_workflow_id(resource_id)
        try:
            client = await self.client()
            handle = client.get_workflow_handle(workflow_id)
            # Without a worker the update is never taken up: stop listening when the wait is over.
            applied = await asyncio.wait_for(
                handle.execute_update(Update.WAIT_APPLIED, WaitApplied(seq=seq, timeout_s=timeout), result_type=int),
                timeout + WAIT_SLACK,
            )
            return applied >= seq
        except (WorkflowUpdateFailedError, RPCError, EngineUnavailable, asyncio.TimeoutError):
            # No run in progress (it already finished) or no engine: the database row tells.
            return False
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            # The wait was over before the workflow took the update up (a busy worker): the row tells.
            return False

    def plan(self, plugin: str) -> PluginPlan:
        """The plugin's plan, built once: it depends only on the plugin class and the settings."""
        if plugin not in self._plans:
            self._plans[plugin] = plugin_plan(self.settings, plugin)
        return self._plans[plugin]

    def mark_delivered_soon(self, op_ids: list[str]) -> None:
        """Record `op_ids` as delivered within MARK_DELIVERED_DELAY, in one write with those of the other
        requests of that moment instead of one write per request (bench/: a commit less on every write).
        Marks lost to a crash only mean the sweeper delivers those operations again, which their workflows
        ignore (they skip sequence numbers they have); it waits SWEEP_GRACE, far longer than the delay."""
        self._to_mark.update(op_ids)
        if self._marker is None or self._marker.done():
            self._marker = asyncio.create_task(self._mark_delivered())

    async def _mark_delivered(self) -> None:
        await asyncio.sleep(MARK_DELIVERED_DELAY)
        op_ids, self._to_mark = list(self._to_mark), set()
        try:
            await in_writer(self.engine, mark_delivered, self.engine, op_ids)
        except Exception:  # noqa: BLE001 - left undelivered, the sweeper hands them over again
            log.warning("could not mark %d delivered operations; the outbox sweeper will redeliver them", len(op_ids), exc_info=True)

    def _network_input(self, network: NetworkRow) -> NetworkWorkflowInput:
        return NetworkWorkflowInput(
            network_id=network.id,
            tenant_id=network.tenant_id,
            name=network.name,
            plan=self.plan(network.plugin),
            status=network.status,
            status_reason=network.status_reason,
            applied_seq=network.applied_seq,
            search_attributes=self.search_attributes,
        )

    def _port_input(self, port: PortRow, network: NetworkRow) -> PortWorkflowInput:
        attachment = None
        if port.attachment_id and port.attachment_status != AttachmentStatus.PROVISIONING:
            attachment = Attachment(port.attachment_id, port.attachment_host or "", port.attachment_status or "")
        return PortWorkflowInput(
            port_id=port.id,
            tenant_id=port.tenant_id,
            network_id=network.id,
            network_name=network.name,
            plan=self.plan(network.plugin),
            state=port.state,
            status=port.status,
            status_reason=port.status_reason,
            network_ready=network.applied_seq >= network.accepted_seq and network.status == NetworkStatus.AVAILABLE,
            attachment=attachment,
            applied_seq=port.applied_seq,
            search_attributes=self.search_attributes,
            network_data={key: str(value) for key, value in (network.plugin_data or {}).items()},
        )
