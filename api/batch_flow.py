"""Starting a batch's workflow: right after the batch is stored (api/batch_write_flow.py), and
again by the outbox sweeper for a batch whose start was lost (the API crashed between its commit
and the start).

The workflow id is `batch-<id>`. The first run of a batch (generation 0) starts with the
USE_EXISTING conflict policy, so a second start (a sweeper racing the request) joins the run
already going; a retry (generation N > 0) replaces a run that is only finishing its bookkeeping.
A run started twice for one generation does no harm: a run works only on items still
PROVISIONING in the database, and the plugin's ledger makes a repeated request a no-op.
"""

import logging
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.service import RPCError

from api.workflow_gateway import RPC_TIMEOUT, EngineUnavailable, WorkflowGateway
from netprov.batch import TOPOLOGY_KINDS, BatchPurpose, BatchWorkflowInput, ItemKind
from netprov.naming import SA_RESOURCE_TYPE, SA_STATUS, SA_TENANT, WorkflowType, batch_workflow_id
from netprov.status import PROVISIONING, ResourceType
from store import batches as store
from store.tables import BatchRow, utcnow

log = logging.getLogger("netprov.api.batches")
# A batch younger than this is still being started by the request that stored it.
START_GRACE = timedelta(seconds=3)


def summary(kinds: dict[str, int], tenant_id: str, purpose: str = BatchPurpose.TOPOLOGY) -> str:
    """The Temporal UI's one line for a batch run."""
    if purpose == BatchPurpose.QOS_FAN_OUT:
        return f"QoS fan-out to {kinds.get(ItemKind.QOS.value, 0)} ports for tenant {tenant_id}"
    parts = [f"{kinds.get(kind.value, 0)} {kind.plural}" for kind in TOPOLOGY_KINDS]
    return f"Batch of {', '.join(parts)} for tenant {tenant_id}"


def details(batch: BatchRow) -> str:
    """The Temporal UI's description of a batch run."""
    if batch.purpose == BatchPurpose.QOS_FAN_OUT:
        return (
            "Applies a QoS policy change to the ports that had nothing else in flight, in chunks per plugin and "
            "host (store/qos_fan_out.py); each port's qos_status shows its progress. Query `progress` for counts."
        )
    run = "its first run" if batch.generation == 0 else f"retry {batch.generation}: the items that had failed"
    return (
        f"Provisions the networks, then the ports, then the attachments of batch {batch.id}, in chunks per "
        f"plugin and host; this is {run}. Query `progress` for counts per kind and status; "
        f"GET /v1.1/tenants/{batch.tenant_id}/batches/{batch.id} lists every item."
    )


async def start_batch(gateway: WorkflowGateway, batch: BatchRow, kinds: dict[str, int]) -> None:
    """Start the batch's workflow run for its current generation. Raises EngineUnavailable."""
    client = await gateway.client()
    attributes = None
    if gateway.search_attributes:
        attributes = TypedSearchAttributes(
            [
                SearchAttributePair(SearchAttributeKey.for_keyword(SA_TENANT), batch.tenant_id),
                SearchAttributePair(SearchAttributeKey.for_keyword(SA_RESOURCE_TYPE), ResourceType.BATCH.value),
                SearchAttributePair(SearchAttributeKey.for_keyword(SA_STATUS), PROVISIONING),
            ]
        )
    conflict = WorkflowIDConflictPolicy.USE_EXISTING if batch.generation == 0 else WorkflowIDConflictPolicy.TERMINATE_EXISTING
    try:
        await client.start_workflow(
            WorkflowType.BATCH,
            BatchWorkflowInput(batch.id, batch.tenant_id, batch.generation, gateway.search_attributes),
            id=batch_workflow_id(batch.id),
            task_queue=gateway.settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            id_conflict_policy=conflict,
            search_attributes=attributes,
            static_summary=summary(kinds, batch.tenant_id, batch.purpose),
            static_details=details(batch),
            rpc_timeout=RPC_TIMEOUT,
        )
    except RPCError as error:
        raise EngineUnavailable(str(error)) from error
    store.mark_started(gateway.engine, batch.id, batch.generation)


async def start_unstarted(engine: Engine, gateway: WorkflowGateway) -> int:
    """Start the batches whose start was lost; return how many were started."""
    with Session(engine) as session:
        batches = store.unstarted_batches(session, utcnow() - START_GRACE)
        todo = [(batch, store.kind_totals(session, batch.id)) for batch in batches]
        for batch, _ in todo:
            session.expunge(batch)
    started = 0
    for batch, kinds in todo:
        try:
            await start_batch(gateway, batch, kinds)
        except EngineUnavailable:
            break
        started += 1
    if started:
        log.info("outbox: started %d batches left unstarted", started)
    return started
