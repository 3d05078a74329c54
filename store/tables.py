"""Tables. A resource row is written by the API when it accepts an operation and by the
resource's workflow (through activities) as the operation is applied.

`accepted_seq` counts operations the API accepted, `applied_seq` those the workflow finished.
`status` and `status_reason` are what the last applied operation left; while operations are
pending the resource shows PROVISIONING with `progress` (what the workflow is doing) as reason.
"""

from datetime import datetime, timezone

from sqlalchemy import JSON, Column, Index, Integer, String, UniqueConstraint, literal_column
from sqlmodel import Field, SQLModel

from store.mac_addresses import new_mac_address


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def empty_list() -> list:
    """The default of JSON list columns. Not `default_factory=empty_list`: pydantic inspects the factory's
    signature on every row built, which for the builtin `list` means parsing its text signature
    (~70 us, twice per port a POST creates); for a Python function it is ~9 us."""
    return []


def _revision_column() -> Column:
    # Grows on every UPDATE of the row, whoever writes it (API, projection, link monitor), as
    # Neutron's revision_number does; SQLAlchemy applies `onupdate` to ORM and Core updates alike.
    return Column(Integer, nullable=False, default=1, onupdate=literal_column("revision_number + 1"))


class NetworkRow(SQLModel, table=True):
    __tablename__ = "networks"

    id: str = Field(primary_key=True, max_length=36)
    tenant_id: str = Field(index=True, max_length=255)
    name: str = Field(max_length=255)
    plugin: str = Field(max_length=64)
    status: str = Field(index=True, max_length=16)
    status_reason: str | None = None
    progress: str | None = None
    plugin_data: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    accepted_seq: int = 0
    applied_seq: int = 0
    deleting: bool = False
    batch_id: str | None = Field(default=None, index=True, max_length=36)
    # The QoS policy (store/qos_policies.py) of the network's ports that have none of their own.
    qos_policy_id: str | None = Field(default=None, index=True, max_length=36)
    # Neutron v2.0 fields (api/neutron): standard attributes v1.1 does not show.
    description: str = Field(default="", max_length=255)
    tags: list = Field(default_factory=empty_list, sa_column=Column(JSON, nullable=False, default=list))
    revision_number: int = Field(default=1, sa_column=_revision_column())
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class PortRow(SQLModel, table=True):
    __tablename__ = "ports"

    id: str = Field(primary_key=True, max_length=36)
    tenant_id: str = Field(index=True, max_length=255)
    network_id: str = Field(index=True, max_length=36)
    state: str = Field(max_length=8)
    status: str = Field(index=True, max_length=16)
    status_reason: str | None = None
    progress: str | None = None
    # An interface is plugged into one port at most.
    attachment_id: str | None = Field(default=None, unique=True, max_length=255)
    attachment_host: str | None = Field(default=None, max_length=255)
    attachment_status: str | None = Field(default=None, max_length=16)
    attachment_reason: str | None = None
    # When the attachment was accepted, and when it last changed (null without attachment).
    attachment_created_at: datetime | None = None
    attachment_updated_at: datetime | None = None
    link_status: str = Field(default="DOWN", max_length=8)
    link_status_string: str | None = "no attachment"
    conditions: list = Field(default_factory=empty_list, sa_column=Column(JSON, nullable=False))
    accepted_seq: int = 0
    applied_seq: int = 0
    deleting: bool = False
    batch_id: str | None = Field(default=None, index=True, max_length=36)
    # The port's own QoS policy (else its network's applies), and how far the device enforces the
    # one that applies: null when none does, else PROVISIONING / AVAILABLE / ERROR (netprov.status.QosStatus).
    qos_policy_id: str | None = Field(default=None, index=True, max_length=36)
    qos_status: str | None = Field(default=None, max_length=16)
    qos_status_reason: str | None = None
    # The seq of the last accepted operation that changes the port's QoS, and what it does: until it
    # is applied the port's QoS shows PROVISIONING with that reason (store.effective.effective_qos).
    qos_seq: int = 0
    qos_progress: str | None = None
    # Neutron v2.0 fields (api/neutron). The MAC is drawn by the column default at INSERT (ORM or
    # Core, one per row), so no write path has to remember it; `exclude` keeps it out of
    # model_dump() templates, which would otherwise copy one MAC into every row made from them.
    name: str = Field(default="", max_length=255)
    description: str = Field(default="", max_length=255)
    mac_address: str | None = Field(
        default=None,
        exclude=True,
        sa_column=Column(String(17), nullable=False, unique=True, default=new_mac_address),
    )
    device_id: str = Field(default="", max_length=255)
    device_owner: str = Field(default="", max_length=255)
    tags: list = Field(default_factory=empty_list, sa_column=Column(JSON, nullable=False, default=list))
    revision_number: int = Field(default=1, sa_column=_revision_column())
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class QosPolicyRow(SQLModel, table=True):
    """A tenant's QoS policy (store/qos_policies.py). `rules`: a list of rule dicts in their JSON form
    (netprov.qos.rule_to_dict) plus a stable `id` each (the Neutron view's rule sub-resources).
    A policy is a definition held here: AVAILABLE from its creation."""

    __tablename__ = "qos_policies"

    id: str = Field(primary_key=True, max_length=36)
    tenant_id: str = Field(index=True, max_length=255)
    name: str = Field(max_length=255)
    rules: list = Field(default_factory=empty_list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="AVAILABLE", max_length=16)
    status_reason: str | None = None
    # Neutron v2.0 fields (api/neutron): shared and is_default are always false here.
    description: str = Field(default="", max_length=255)
    tags: list = Field(default_factory=empty_list, sa_column=Column(JSON, nullable=False))
    revision_number: int = Field(default=1, sa_column=_revision_column())
    shared: bool = False
    is_default: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class OperationRow(SQLModel, table=True):
    """The outbox: every accepted write, kept until its workflow has it."""

    __tablename__ = "operations"

    # A UUID, or `<resource id>:create` for a create with an Idempotency-Key.
    op_id: str = Field(primary_key=True, max_length=64)
    resource_type: str = Field(max_length=16)
    resource_id: str = Field(index=True, max_length=36)
    tenant_id: str = Field(max_length=255)
    seq: int
    kind: str = Field(max_length=16)
    payload: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    delivered: bool = Field(default=False, index=True)
    accepted_at: datetime = Field(default_factory=utcnow)


class BatchRow(SQLModel, table=True):
    """A batch request (store/batches.py), or a QoS fan-out applied as one (store/qos_fan_out.py).
    `started` turns True once its workflow run for `generation` is started: the outbox sweeper
    starts batches left unstarted by a crash."""

    __tablename__ = "batches"

    id: str = Field(primary_key=True, max_length=36)
    tenant_id: str = Field(index=True, max_length=255)
    status: str = Field(max_length=16)
    # netprov.batch.BatchPurpose: a tenant's topology, or a QoS fan-out netprov made (not listed).
    purpose: str = Field(default="topology", max_length=16)
    started: bool = Field(default=False, index=True)
    cancel_requested: bool = False
    generation: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class BatchItemRow(SQLModel, table=True):
    """One network, port or attachment of a batch, and the operation (`op_id`, `op_seq` of its
    resource) the batch applies for it."""

    __tablename__ = "batch_items"

    batch_id: str = Field(primary_key=True, max_length=36)
    position: int = Field(primary_key=True)
    kind: str = Field(max_length=16)
    kind_index: int
    ref: str = Field(max_length=255)
    # The network or port the item makes (an attachment's port).
    resource_id: str = Field(index=True, max_length=36)
    # A port's network, an attachment's interface id and host.
    network_id: str | None = Field(default=None, max_length=36)
    iface_id: str | None = Field(default=None, max_length=255)
    host: str | None = Field(default=None, max_length=255)
    op_id: str = Field(max_length=64)
    op_seq: int
    status: str = Field(max_length=16)
    error: str | None = None
    attempts: int = 0


class TokenRow(SQLModel, table=True):
    __tablename__ = "tokens"

    id: str = Field(primary_key=True, max_length=36)
    secret_hash: str = Field(index=True, unique=True, max_length=128)
    tenant_id: str | None = Field(default=None, max_length=255)
    admin: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class IdempotencyRow(SQLModel, table=True):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(max_length=255)
    key: str = Field(max_length=255)
    request_hash: str = Field(max_length=64)
    resource_type: str = Field(max_length=16)
    resource_id: str = Field(max_length=36)
    created_at: datetime = Field(default_factory=utcnow)


class EventRow(SQLModel, table=True):
    """Live status events (store/events.py, GET .../events): appended in the transaction that
    changes a resource's row, pruned by age and count, never updated. `id` only grows and is never
    reused (AUTOINCREMENT on SQLite, an identity sequence on PostgreSQL): it is the SSE event id."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_tenant_id_id", "tenant_id", "id"),
        Index("ix_events_resource_id_id", "resource_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(max_length=255)
    # network | port | attachment; an attachment's resource_id is its port's id.
    resource_type: str = Field(max_length=16)
    resource_id: str = Field(max_length=36)
    # status | link_status | deleted
    kind: str = Field(max_length=16)
    data: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, index=True)
