"""Planning a batch: typed items in (netprov.batch_requests.BatchSpec, however they were sent), a
`PlannedBatch` out (store/batch_plan.py: refs resolved, ids chosen, defaults filled), or a 422
that names every bad item. Nothing is written here; the batch flow (api/batch_flow.py) stores
the plan in one transaction and starts its workflow.

Checked against the batch itself: refs unique, a port's `network` a network ref of this batch or
an existing network of the tenant (usable: not being deleted, not in ERROR, AVAILABLE under strict
handling), an attachment's `port` a port ref of this batch, one attachment per port, interfaces
unique; against the database: plugins known, interfaces not plugged anywhere yet, and the QoS
policies the ports name the tenant's (else the whole batch is refused: 404 QosPolicyNotFound).
"""

import uuid
from dataclasses import dataclass
from enum import StrEnum

from sqlmodel import Session

from api.deps import check_uuid
from api.problems import InvalidBody, QosPolicyNotFound
from api.writes.port_qos import applying
from netprov.batch_requests import MAX_ITEMS, BatchSpec
from netprov.conditions import being_plugged, waiting_for_network
from netprov.qos import spec_to_dict
from netprov.settings import Settings
from netprov.status import NetworkStatus
from plugins.registry import UnknownPluginError, plugin_class
from store import batch_plan
from store.batch_plan import PlannedAttachment, PlannedBatch, PlannedNetwork, PlannedPort
from store.projection import effective_status
from store.qos_policies import spec_of
from store.tables import NetworkRow, QosPolicyRow

MAX_ERRORS = 20
"""A refusal lists at most this many problems."""


class Flaw(StrEnum):
    """What is wrong with an item: lets another dialect answer in its own terms (a Neutron port
    on an unknown network is its 404 NetworkNotFound, not a 422)."""

    REF_TWICE = "ref_twice"
    UNKNOWN_PLUGIN = "unknown_plugin"
    STATE_INVALID = "state_invalid"
    NETWORK_NOT_FOUND = "network_not_found"  # neither a network ref of the batch nor a network of the tenant
    NETWORK_UNUSABLE = "network_unusable"  # being deleted, in ERROR, or not AVAILABLE under strict handling
    PORT_NOT_FOUND = "port_not_found"  # an attachment's port is not a port ref of the batch
    PORT_ATTACHED_TWICE = "port_attached_twice"
    INTERFACE_TWICE = "interface_twice"
    INTERFACE_PLUGGED = "interface_plugged"


@dataclass(frozen=True)
class ItemProblem:
    items: str  # "networks", "ports" or "attachments"
    index: int
    name: str  # "ref p3", or "port p3" for an attachment without a ref
    flaw: Flaw
    message: str

    def __str__(self) -> str:
        return f"{self.items}[{self.index}] ({self.name[:80]}): {self.message}"


def refusal(problems: list[str]) -> InvalidBody:
    """The 422 for `problems` ("<item>: <why>", the first named in `detail`); nothing was stored."""
    problems = problems[:MAX_ERRORS]
    others = len(problems) - 1
    more = f" (and {others} more problem{'s' if others > 1 else ''})" if others else ""
    return InvalidBody(f"{problems[0]}{more}; nothing was stored.", errors=problems)


def plan_batch(
    session: Session, spec: BatchSpec, *, tenant_id: str, settings: Settings, strict: bool, refs_are_ids: bool = False
) -> PlannedBatch:
    """Check the whole batch of `tenant_id` and resolve it; raise InvalidBody (422) naming every
    bad item (up to MAX_ERRORS). `strict`: the caller asked for strict handling (existing networks
    must be AVAILABLE). `refs_are_ids`: each port's ref is the fresh UUID it gets as its id (the
    caller chose them, e.g. to name interfaces after their ports). Reads through `session`, writes nothing."""
    plan, problems = check_batch(session, spec, tenant_id=tenant_id, settings=settings, strict=strict, refs_are_ids=refs_are_ids)
    if problems:
        raise refusal([str(problem) for problem in problems])
    return plan


def check_batch(
    session: Session, spec: BatchSpec, *, tenant_id: str, settings: Settings, strict: bool, refs_are_ids: bool = False
) -> tuple[PlannedBatch, list[ItemProblem]]:
    """`plan_batch` for a caller that answers bad items its own way: the plan (to be used only
    when there are no problems) and every item problem, in request order. Raises InvalidBody only
    for an empty batch or one over MAX_ITEMS, and QosPolicyNotFound (404: the whole batch is
    refused, as the contract says) when a port names a QoS policy the tenant does not have."""
    total = spec.item_count
    if total == 0:
        raise InvalidBody("The batch has no items: give networks, ports or attachments.")
    if total > MAX_ITEMS:
        raise InvalidBody(f"The batch has {total} items; at most {MAX_ITEMS} are allowed in one batch.")
    planner = _Planner(session, tenant_id, settings, strict, refs_are_ids)
    planner.policies = _named_policies(session, spec, tenant_id)
    return planner.plan(spec), planner.problems


def _named_policies(session: Session, spec: BatchSpec, tenant_id: str) -> dict[str, QosPolicyRow]:
    """The QoS policies the batch's ports name, by canonical id. BadRequest for a value that is not
    a UUID; QosPolicyNotFound for the first (in request order) the tenant does not have."""
    named = {check_uuid(p.qos_policy_id, "qos_policy_id"): index
             for index, p in reversed(list(enumerate(spec.ports))) if p.qos_policy_id is not None}
    found = batch_plan.policies_by_id(session, tenant_id, list(named))
    missing = sorted(set(named) - set(found), key=named.__getitem__)
    if missing:
        raise QosPolicyNotFound(f"QoS policy {missing[0]} not found (ports[{named[missing[0]]}]); nothing was stored.")
    return found


class _Planner:
    """One planning: the refs seen so far (ref -> kind) and the problems found."""

    def __init__(self, session: Session, tenant_id: str, settings: Settings, strict: bool, refs_are_ids: bool) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.settings = settings
        self.strict = strict
        self.refs_are_ids = refs_are_ids
        self.refs: dict[str, str] = {}
        self.problems: list[ItemProblem] = []
        # Existing networks of the batch's ports that are AVAILABLE: their attachments wait on the
        # plug only; every other (a network of this batch) waits for its network first.
        self.ready_networks: set[str] = set()
        # The QoS policies that apply to the batch's ports, by id: those the ports name (checked
        # before planning), then those of the existing networks they are on.
        self.policies: dict[str, QosPolicyRow] = {}

    def plan(self, spec: BatchSpec) -> PlannedBatch:
        plan = PlannedBatch()
        self._networks(spec, plan)
        self._ports(spec, plan)
        self._attachments(spec, plan)
        return plan

    def _bad(self, items: str, index: int, name: str, flaw: Flaw, message: str) -> None:
        self.problems.append(ItemProblem(items, index, name, flaw, message))

    def _claim_ref(self, kind: str, index: int, ref: str, item_kind: str) -> None:
        if ref in self.refs:
            self._bad(kind, index, f"ref {ref}", Flaw.REF_TWICE, f"ref {ref!r} is used twice in this batch")
        self.refs.setdefault(ref, item_kind)

    def _networks(self, spec: BatchSpec, plan: PlannedBatch) -> None:
        for index, n in enumerate(spec.networks):
            self._claim_ref("networks", index, n.ref, "network")
            plugin = n.plugin or self.settings.plugin
            try:
                plugin_class(plugin)
            except UnknownPluginError as error:
                self._bad("networks", index, f"ref {n.ref}", Flaw.UNKNOWN_PLUGIN, str(error))
            plan.networks.append(PlannedNetwork(ref=n.ref, id=str(uuid.uuid4()), name=n.name, plugin=plugin,
                                                columns=n.columns()))

    def _ports(self, spec: BatchSpec, plan: PlannedBatch) -> None:
        batch_networks = {n.ref: n for n in plan.networks}
        wanted = sorted({p.network for p in spec.ports if p.network not in batch_networks and _is_uuid(p.network)})
        existing = batch_plan.networks_by_id(self.session, wanted)
        inherited = sorted({row.qos_policy_id for row in existing.values() if row.qos_policy_id} - set(self.policies))
        self.policies |= batch_plan.policies_by_id(self.session, self.tenant_id, inherited)
        for index, p in enumerate(spec.ports):
            self._claim_ref("ports", index, p.ref, "port")
            name = f"ref {p.ref}"
            if p.admin_state is None:
                self._bad("ports", index, name, Flaw.STATE_INVALID, f"state {str(p.state)[:40]!r} is not ACTIVE or DOWN")
            network = batch_networks.get(p.network)
            network_id = network.id if network is not None else ""
            if network is None:
                flaw, problem, row = self._existing_network(p.network, existing)
                if flaw:
                    self._bad("ports", index, name, flaw, problem)
                else:
                    network_id = row.id
            columns = p.columns() if p.admin_state is not None else {}
            own = check_uuid(p.qos_policy_id, "qos_policy_id") if p.qos_policy_id is not None else None
            if own is not None:
                columns["qos_policy_id"] = own  # canonical form
            port_id = str(uuid.UUID(p.ref)) if self.refs_are_ids else str(uuid.uuid4())
            planned = PlannedPort(ref=p.ref, id=port_id, network_id=network_id, columns=columns)
            self._plan_qos(planned, own or (existing[network_id].qos_policy_id if network_id in existing else None))
            plan.ports.append(planned)

    def _plan_qos(self, port: PlannedPort, policy_id: str | None) -> None:
        """The QoS that applies to `port` (the policy `policy_id`), as a port created alone gets it."""
        policy = self.policies.get(policy_id) if policy_id else None
        if policy is not None:
            port.qos = spec_to_dict(spec_of(policy))
            port.qos_reason = applying(port.qos)

    def _existing_network(self, value: str, existing: dict[str, NetworkRow]) -> tuple[Flaw | None, str, NetworkRow | None]:
        """Why `value` cannot be the network of a port (None, "" and the row when it can)."""
        if value in self.refs:
            return Flaw.NETWORK_NOT_FOUND, f"network {value!r} is a {self.refs[value]} ref, not a network ref", None
        row = existing.get(str(uuid.UUID(value))) if _is_uuid(value) else None
        if row is None or row.tenant_id != self.tenant_id:
            message = f"network {value[:80]!r} is neither a network ref of this batch nor a network of this tenant"
            return Flaw.NETWORK_NOT_FOUND, message, None
        status, reason = effective_status(row)
        if row.deleting:
            return Flaw.NETWORK_UNUSABLE, f"network {row.id} is being deleted", None
        if status == NetworkStatus.ERROR:
            return Flaw.NETWORK_UNUSABLE, f"network {row.id} is in ERROR ({reason}); no new ports on it", None
        if self.strict and status != NetworkStatus.AVAILABLE:
            return Flaw.NETWORK_UNUSABLE, f"network {row.id} is {status}; strict handling needs it AVAILABLE", None
        if status == NetworkStatus.AVAILABLE:
            self.ready_networks.add(row.id)
        return None, "", row

    def _attachments(self, spec: BatchSpec, plan: PlannedBatch) -> None:
        ports = {p.ref: p for p in plan.ports}
        ifaces: dict[str, int] = {}  # interface id -> index of the first attachment plugging it
        names: list[str] = []
        for index, a in enumerate(spec.attachments):
            name = f"ref {a.ref}" if a.ref else f"port {a.port}"
            names.append(name)
            if a.ref is not None:
                self._claim_ref("attachments", index, a.ref, "attachment")
            port = ports.get(a.port)
            if port is None:
                what = f"a {self.refs[a.port]} ref" if a.port in self.refs else "not a ref of this batch"
                self._bad("attachments", index, name, Flaw.PORT_NOT_FOUND,
                          f"port {a.port!r} is {what}; an attachment names a port ref of this batch")
            elif port.attachment is not None:
                self._bad("attachments", index, name, Flaw.PORT_ATTACHED_TWICE,
                          f"port {a.port!r} already has an attachment in this batch (one per port)")
            if a.id in ifaces:
                self._bad("attachments", index, name, Flaw.INTERFACE_TWICE,
                          f"interface {a.id!r} is also attached by attachments[{ifaces[a.id]}]")
            ifaces.setdefault(a.id, index)
            host = a.host or self.settings.default_host
            attachment = PlannedAttachment(ref=a.ref or a.port, iface_id=a.id, host=host)
            if port is not None and port.attachment is None:
                ready = port.network_id in self.ready_networks
                attachment.waiting_on = being_plugged(a.id, host) if ready else waiting_for_network(port.network_id)
                port.attachment = attachment
                plan.attachments.append((attachment, port))
        for iface in sorted(batch_plan.plugged_ifaces(self.session, list(ifaces))):
            index = ifaces[iface]
            self._bad("attachments", index, names[index], Flaw.INTERFACE_PLUGGED,
                      f"interface {iface!r} is already plugged into another port")


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
