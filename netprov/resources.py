"""Resource shapes of the REST contract: request bodies and response bodies, shared by the API
and the Python client. Requests are strict: unknown fields and wrong types are refused."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from netprov.identifiers import Identifier
from netprov.status import AdminState, AttachmentStatus, LinkStatus, NetworkStatus, PortStatus, QosStatus

# NUL is refused everywhere: PostgreSQL cannot store it in text.
Name = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[^\x00]*$")]
# Interface ids and hosts: 1..255 characters, no whitespace.
Token = Identifier


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


# -- requests ------------------------------------------------------------------------------


# A QoS policy id named in a body (null clears): checked by the API (UUID, the tenant's policy), so
# that a bad one is BadRequest or QosPolicyNotFound.
QosPolicyRef = Annotated[str, StringConstraints(max_length=255)] | None


class NetworkCreate(StrictModel):
    name: Name
    plugin: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    qos_policy_id: QosPolicyRef = None


class NetworkCreateRequest(StrictModel):
    network: NetworkCreate


class NetworkUpdate(StrictModel):
    """A rename and/or the network's QoS policy (for its ports without one; null clears)."""

    name: Name | None = None
    qos_policy_id: QosPolicyRef = None


class NetworkUpdateRequest(StrictModel):
    network: NetworkUpdate


class PortCreate(StrictModel):
    # Checked by the API, so that a bad value is RequestedStateInvalid rather than a schema error.
    state: Annotated[str, StringConstraints(max_length=255)] | None = None
    qos_policy_id: QosPolicyRef = None


class PortCreateRequest(StrictModel):
    port: PortCreate = Field(default_factory=PortCreate)


class PortUpdate(StrictModel):
    """The admin state and/or the port's own QoS policy (null clears: its network's applies).
    Which fields were sent is `model_fields_set`: an absent qos_policy_id leaves the policy alone."""

    state: Annotated[str, StringConstraints(max_length=255)] | None = None
    qos_policy_id: QosPolicyRef = None


class PortUpdateRequest(StrictModel):
    port: PortUpdate


class AttachmentPut(StrictModel):
    id: Token
    host: Token | None = None


class AttachmentPutRequest(StrictModel):
    attachment: AttachmentPut


class TokenCreate(StrictModel):
    tenant_id: Name | None = None
    admin: bool = False


class TokenCreateRequest(StrictModel):
    token: TokenCreate


# -- responses -----------------------------------------------------------------------------


class Links(BaseModel):
    self: str
    workflow: str


class AttachmentBody(BaseModel):
    id: str
    host: str
    status: AttachmentStatus
    status_reason: str | None = None
    created_at: datetime
    updated_at: datetime
    links: Links


class Condition(BaseModel):
    type: str
    status: str
    reason: str
    message: str | None = None
    last_transition_time: datetime | None = None


class NetworkBody(BaseModel):
    id: str
    name: str
    status: NetworkStatus
    status_reason: str | None
    plugin: str
    plugin_data: dict[str, Any] = {}
    qos_policy_id: str | None = None
    created_at: datetime
    updated_at: datetime
    links: Links


class NetworkSummary(BaseModel):
    id: str
    name: str
    status: NetworkStatus


class PortBody(BaseModel):
    id: str
    network_id: str
    state: AdminState
    status: PortStatus
    status_reason: str | None
    attachment: AttachmentBody | None
    link_status: LinkStatus
    link_status_string: str | None
    conditions: list[Condition] = []
    qos_policy_id: str | None = None
    # The network's policy, which applies when the port has none of its own (read-only, as Neutron).
    qos_network_policy_id: str | None = None
    # null when no policy applies; else PROVISIONING / AVAILABLE / ERROR; the reason null once AVAILABLE.
    qos_status: QosStatus | None = None
    qos_status_reason: str | None = None
    created_at: datetime
    updated_at: datetime
    links: Links


class PortSummary(BaseModel):
    id: str
    state: AdminState
    status: PortStatus


class NetworkResponse(BaseModel):
    network: NetworkBody


class NetworksResponse(BaseModel):
    networks: list[NetworkBody] | list[NetworkSummary]


class PortResponse(BaseModel):
    port: PortBody


class PortsResponse(BaseModel):
    ports: list[PortBody] | list[PortSummary]


class AttachmentResponse(BaseModel):
    attachment: AttachmentBody | None


class TokenBody(BaseModel):
    id: str
    secret: str | None = None
    tenant_id: str | None
    admin: bool


class TokenResponse(BaseModel):
    token: TokenBody


class ProblemBody(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    code: str


class ProcessState(BaseModel):
    """One child of a supervised dev stack (`make run`), as its supervisor last saw it."""

    name: str
    state: str  # running, restarting (waiting out its backoff), starting
    pid: int | None = None
    restarts: int = 0
    since: str | None = None  # RFC 3339: when it entered this state
    last_exit: str | None = None  # e.g. "killed by SIGKILL", "exit code 1"


class Health(BaseModel):
    status: str
    temporal: str
    database: str
    # Only under a supervisor (`make run`): every child process and its state.
    processes: list[ProcessState] | None = None


# -- live events and operator actions (GET .../events, .../history, .../actions/*) ---------


class EventData(BaseModel):
    """The `data:` of a live status event. `id` is the network's or port's id, or for an
    attachment its interface id (then `port_id` names the port)."""

    resource_type: str
    id: str | None
    network_id: str | None = None
    port_id: str | None = None
    name: str | None = None
    state: str | None = None
    status: str | None = None
    status_reason: str | None = None
    link_status: str | None = None
    link_status_string: str | None = None
    qos_policy_id: str | None = None
    qos_status: str | None = None
    qos_status_reason: str | None = None
    host: str | None = None
    deleted: bool = False
    at: datetime | None = None


class StatusEvent(BaseModel):
    """One Server-Sent Event of GET /v1.1/tenants/{t}/events: `id` (resume with Last-Event-ID),
    `type` (e.g. `port.link_status`) and its data."""

    id: int
    type: str
    data: EventData


class OperationRecord(BaseModel):
    seq: int
    op_id: str
    kind: str
    accepted_at: datetime
    delivered: bool
    applied: bool
    payload: dict[str, Any] = {}


class WorkflowRun(BaseModel):
    workflow_id: str
    run_id: str
    status: str | None
    start_time: datetime | None
    close_time: datetime | None
    link: str


class HistoryBody(BaseModel):
    """What happened to one resource: the operations accepted for it (oldest first), the workflow
    runs that applied them, and its recent live events."""

    resource_type: str
    id: str
    status: str
    status_reason: str | None
    operations: list[OperationRecord]
    workflow_runs: list[WorkflowRun]
    # Why workflow_runs is empty although runs may exist (the workflow engine was unreachable).
    workflow_runs_unavailable: str | None = None
    events: list[StatusEvent]


class HistoryResponse(BaseModel):
    history: HistoryBody
