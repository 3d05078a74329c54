"""Batches: a whole topology (networks, ports on them, attachments on those ports) in one request.

The response shapes of `/v1.1/tenants/{t}/batches` (the request is netprov/batch_requests.py),
and the wire format between the API, the batch workflow and its activities. Items are addressed
by `position`: their index in the batch (networks first, then ports, then attachments), so the
workflow's history carries numbers, never the topology itself.
"""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from netprov.resources import Links


class ItemKind(StrEnum):
    NETWORK = "network"
    PORT = "port"
    ATTACHMENT = "attachment"
    # A QoS policy's rules put on a port: the items of a QoS fan-out (BatchPurpose.QOS_FAN_OUT).
    QOS = "qos"

    @property
    def plural(self) -> str:
        return self.value if self == ItemKind.QOS else f"{self.value}s"


# The chunk activity of each kind (workflows/batch.py schedules them, activities/batch.py defines them):
# the Temporal UI says what each chunk does.
CHUNK_ACTIVITIES = {
    ItemKind.NETWORK: "batch_create_networks",
    ItemKind.PORT: "batch_create_ports",
    ItemKind.ATTACHMENT: "batch_plug_interfaces",
    ItemKind.QOS: "batch_apply_qos",
}

# The kinds of a batch a tenant posts (a topology): its counts and its summary name these.
TOPOLOGY_KINDS = (ItemKind.NETWORK, ItemKind.PORT, ItemKind.ATTACHMENT)


class BatchPurpose(StrEnum):
    """Why a batch exists. A TOPOLOGY is posted by a tenant (`/batches`); a QOS_FAN_OUT is made by
    netprov when a policy change reaches many idle ports (api/fan_out.py), applied by the same
    workflow a chunk at a time, and not listed among the tenant's batches."""

    TOPOLOGY = "topology"
    QOS_FAN_OUT = "qos_fan_out"


class ItemOutcome(StrEnum):
    """What a chunk activity reports for an item that did not settle: the workflow runs it again."""

    RETRY = "RETRY"  # transient plugin failure, attempts left
    BLOCKED = "BLOCKED"  # its network (one not made by this batch) is still being provisioned


# -- responses -----------------------------------------------------------------------------


class BatchItemBody(BaseModel):
    ref: str
    kind: str
    # The network's or port's id; for an attachment, its interface id.
    id: str
    status: str
    error: str | None = None
    # Where the item lives: a port's network, an attachment's port.
    network_id: str | None = None
    port_id: str | None = None


class BatchBody(BaseModel):
    id: str
    status: str
    # {"network": {"total": 10, "PROVISIONING": 0, "AVAILABLE": 9, "ERROR": 1}, "port": {...}, "attachment": {...}}
    counts: dict[str, dict[str, int]]
    items: list[BatchItemBody] | None = None
    cancelled: bool = False
    retries: int = 0
    created_at: datetime
    updated_at: datetime
    links: Links


class BatchResponse(BaseModel):
    batch: BatchBody


class BatchSummary(BaseModel):
    id: str
    status: str
    created_at: datetime


class BatchesResponse(BaseModel):
    batches: list[BatchSummary]


# -- workflow and activity IO --------------------------------------------------------------


@dataclass
class BatchWorkflowInput:
    batch_id: str
    tenant_id: str
    # 0 for the batch's first run, N for its N-th retry.
    generation: int = 0
    search_attributes: bool = True


@dataclass
class BatchGroup:
    """Items of one kind that one plugin (and, for attachments, one host) applies: the unit of
    chunking and of the concurrency bound."""

    kind: str
    plugin: str
    host: str = ""
    # Runs on the host's agent (netprov.naming.host_task_queue) rather than the central worker.
    host_bound: bool = False
    positions: list[int] = field(default_factory=list)
    max_attempts: int = 6
    initial_backoff_ms: int = 200


@dataclass
class BatchPlan:
    """What the workflow needs to drive a batch, read from the database by `batch_load`."""

    batch_id: str
    groups: list[BatchGroup] = field(default_factory=list)
    # {kind: {status: count}} over every item, settled ones included.
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    cancel_requested: bool = False
    chunk_size: int = 200
    max_parallel_chunks: int = 4
    summary: str = ""


@dataclass
class ChunkInput:
    batch_id: str
    kind: str
    plugin: str
    host: str = ""
    positions: list[int] = field(default_factory=list)


@dataclass
class ChunkResult:
    # Aligned with ChunkInput.positions: a settled status (AVAILABLE, ACTIVE, DOWN, ERROR) or an ItemOutcome.
    statuses: list[str] = field(default_factory=list)


@dataclass
class ChunkFailure:
    """Items of a chunk whose activity failed for good (not a plugin failure): they end ERROR."""

    batch_id: str
    positions: list[int]
    reason: str


@dataclass
class BatchSettled:
    batch_id: str
    status: str
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
