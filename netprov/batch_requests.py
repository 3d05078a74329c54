"""The request of `POST /v1.1/tenants/{t}/batches`: typed items, shared by the API (which parses
the body into them, or builds them from another dialect's request) and the Python client.

A batch item names the others by `ref`, the client's name for an item of this batch. Shape is
checked here (types, lengths, unknown fields); what needs the whole batch or the database (refs
resolved, a port's `network` a ref of this batch or an existing network, interfaces free, a
port's `state`) is checked by the planning (api/batch_planning.py), so that every bad item is
listed together.

A port's own fields (every field of `BatchPort` but `ref` and `network`) are columns of the port
row it makes (`BatchPort.columns`): a new port field is one field here and its column.
"""

from typing import Annotated, Any, ClassVar

from pydantic import Field, StringConstraints

from netprov.identifiers import Identifier
from netprov.resources import Name, QosPolicyRef, StrictModel, Token
from netprov.status import AdminState

MAX_ITEMS = 25000
"""At most this many items (networks + ports + attachments) in one batch. Measured at 25,000 (12,495
attached ports on 10 networks, fake plugin, SQLite): API peak RSS 247 MB, worker 170 MB, workflow
history 645 KB in 762 events, its largest payload (the plan of positions) 140 KB of Temporal's 2 MB.
The 4 MiB body limit (api/limits.py) still bounds a batch of long names."""

Ref = Identifier


Text = Annotated[str, StringConstraints(max_length=255, pattern=r"^[^\x00]*$")]
Mac = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")]


class BatchNetwork(StrictModel):
    ref: Ref
    name: Name
    plugin: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    # Columns of the network row (the Neutron view shows them).
    description: Text = ""
    tags: list[Text] = Field(default_factory=list)

    def columns(self) -> dict[str, Any]:
        """The network row's columns this item sets besides its name and plugin (only those given)."""
        return self.model_dump(include={"description", "tags"}, exclude_unset=True)


class BatchPort(StrictModel):
    ref: Ref
    # A network ref of this batch, or the id of an existing network of the tenant (a ref wins).
    network: Ref
    # Exactly ACTIVE or DOWN (case matters, as on POST port), default DOWN. Checked by the planning,
    # so the error names the item.
    state: Annotated[str, StringConstraints(max_length=255)] | None = None
    # An existing QoS policy of the tenant (checked by the planning: an unknown one refuses the whole
    # batch, 404 QosPolicyNotFound). Without one, the port uses its network's, as any port does.
    qos_policy_id: QosPolicyRef = None
    # Columns of the port row the Neutron view shows; `mac_address` None: one is drawn.
    name: Text = ""
    description: Text = ""
    mac_address: Mac | None = None
    device_id: Text = ""
    device_owner: Text = ""
    tags: list[Text] = Field(default_factory=list)

    # Fields about the item's place in the batch, not columns of the port it makes.
    PLACEMENT: ClassVar[frozenset[str]] = frozenset({"ref", "network"})

    @property
    def admin_state(self) -> AdminState | None:
        """The admin state asked for (DOWN when none was given); None when `state` is not exactly
        ACTIVE or DOWN (`down` and "" are not: only an absent state defaults)."""
        return AdminState.__members__.get(AdminState.DOWN.value if self.state is None else self.state)

    def columns(self) -> dict[str, Any]:
        """The port row's columns this item sets (call once `admin_state` is known to be valid)."""
        # Only what the item gave: the row's defaults fill the rest (and draw the MAC).
        columns = self.model_dump(exclude=set(self.PLACEMENT), exclude_unset=True) | {"state": self.admin_state.value}
        if columns.get("mac_address", "") is None:
            del columns["mac_address"]
        return columns


class BatchAttachment(StrictModel):
    # A port ref of this batch.
    port: Ref
    id: Token
    host: Token | None = None
    # Optional; an attachment's item is named by its port's ref when it has none.
    ref: Ref | None = None


class BatchSpec(StrictModel):
    networks: list[BatchNetwork] = Field(default_factory=list)
    ports: list[BatchPort] = Field(default_factory=list)
    attachments: list[BatchAttachment] = Field(default_factory=list)

    @property
    def item_count(self) -> int:
        return len(self.networks) + len(self.ports) + len(self.attachments)


class BatchCreateRequest(StrictModel):
    batch: BatchSpec
