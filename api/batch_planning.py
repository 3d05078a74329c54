"""Planning a batch: typed items in (netprov.batch_requests.BatchSpec, however they were sent), a
`PlannedBatch` out (store/batch_plan.py: refs resolved, ids chosen, defaults filled), or a 422
that names every bad item. Nothing is written here; the batch flow (api/batch_flow.py) stores
the plan in one transaction and starts its workflow.

Checked against the batch itself: refs unique, a port's `network` a network ref of this batch or
an existing network of the tenant (usable: not being deleted, not in ERROR, AVAILABLE under strict
handling), an attachment's `port` a port ref of this batch, one attachment per port, interfaces
unique; against the database: plugins known, interfaces not plugged anywhere yet.
"""

import uuid

from sqlmodel import Session

from api.problems import InvalidBody
from netprov.batch_requests import MAX_ITEMS, BatchSpec
from netprov.settings import Settings
from netprov.status import NetworkStatus
from plugins.registry import UnknownPluginError, plugin_class
from store import batch_plan
from store.batch_plan import PlannedAttachment, PlannedBatch, PlannedNetwork, PlannedPort
from store.projection import effective_status
from store.tables import NetworkRow

MAX_ERRORS = 20
"""A refusal lists at most this many problems."""


def refusal(problems: list[str]) -> InvalidBody:
    """The 422 for `problems` ("<item>: <why>", the first named in `detail`); nothing was stored."""
    problems = problems[:MAX_ERRORS]
    more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
    return InvalidBody(f"{problems[0]}{more}; nothing was stored.", errors=problems)


def plan_batch(session: Session, spec: BatchSpec, *, tenant_id: str, settings: Settings, strict: bool) -> PlannedBatch:
    """Check the whole batch of `tenant_id` and resolve it; raise InvalidBody (422) naming every
    bad item (up to MAX_ERRORS). `strict`: the caller asked for strict handling (existing networks
    must be AVAILABLE). Reads through `session`, writes nothing."""
    total = spec.item_count
    if total == 0:
        raise InvalidBody("The batch has no items: give networks, ports or attachments.")
    if total > MAX_ITEMS:
        raise InvalidBody(f"The batch has {total} items; at most {MAX_ITEMS} are allowed in one batch.")
    return _Planner(session, tenant_id, settings, strict).plan(spec)


class _Planner:
    """One planning: the refs seen so far (ref -> kind) and the problems found."""

    def __init__(self, session: Session, tenant_id: str, settings: Settings, strict: bool) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.settings = settings
        self.strict = strict
        self.refs: dict[str, str] = {}
        self.problems: list[str] = []

    def plan(self, spec: BatchSpec) -> PlannedBatch:
        plan = PlannedBatch()
        self._networks(spec, plan)
        self._ports(spec, plan)
        self._attachments(spec, plan)
        if self.problems:
            raise refusal(self.problems)
        return plan

    def _bad(self, kind: str, index: int, name: str, message: str) -> None:
        self.problems.append(f"{kind}[{index}] ({name[:80]}): {message}")

    def _claim_ref(self, kind: str, index: int, ref: str, item_kind: str) -> None:
        if ref in self.refs:
            self._bad(kind, index, f"ref {ref}", f"ref {ref!r} is used twice in this batch")
        self.refs.setdefault(ref, item_kind)

    def _networks(self, spec: BatchSpec, plan: PlannedBatch) -> None:
        for index, n in enumerate(spec.networks):
            self._claim_ref("networks", index, n.ref, "network")
            plugin = n.plugin or self.settings.plugin
            try:
                plugin_class(plugin)
            except UnknownPluginError as error:
                self._bad("networks", index, f"ref {n.ref}", str(error))
            plan.networks.append(PlannedNetwork(ref=n.ref, id=str(uuid.uuid4()), name=n.name, plugin=plugin))

    def _ports(self, spec: BatchSpec, plan: PlannedBatch) -> None:
        batch_networks = {n.ref: n for n in plan.networks}
        wanted = sorted({p.network for p in spec.ports if p.network not in batch_networks and _is_uuid(p.network)})
        existing = batch_plan.networks_by_id(self.session, wanted)
        for index, p in enumerate(spec.ports):
            self._claim_ref("ports", index, p.ref, "port")
            name = f"ref {p.ref}"
            if p.admin_state is None:
                self._bad("ports", index, name, f"state {str(p.state)[:40]!r} is not ACTIVE or DOWN")
            network = batch_networks.get(p.network)
            network_id = network.id if network is not None else ""
            if network is None:
                problem, row = self._existing_network(p.network, existing)
                if problem:
                    self._bad("ports", index, name, problem)
                else:
                    network_id = row.id
            columns = p.columns() if p.admin_state is not None else {}
            plan.ports.append(PlannedPort(ref=p.ref, id=str(uuid.uuid4()), network_id=network_id, columns=columns))

    def _existing_network(self, value: str, existing: dict[str, NetworkRow]) -> tuple[str | None, NetworkRow | None]:
        """Why `value` cannot be the network of a port (None and the row when it can)."""
        if value in self.refs:
            return f"network {value!r} is a {self.refs[value]} ref, not a network ref", None
        row = existing.get(str(uuid.UUID(value))) if _is_uuid(value) else None
        if row is None or row.tenant_id != self.tenant_id:
            return f"network {value[:80]!r} is neither a network ref of this batch nor a network of this tenant", None
        status, reason = effective_status(row)
        if row.deleting:
            return f"network {row.id} is being deleted", None
        if status == NetworkStatus.ERROR:
            return f"network {row.id} is in ERROR ({reason}); no new ports on it", None
        if self.strict and status != NetworkStatus.AVAILABLE:
            return f"network {row.id} is {status}; strict handling needs it AVAILABLE", None
        return None, row

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
                self._bad("attachments", index, name, f"port {a.port!r} is {what}; an attachment names a port ref of this batch")
            elif port.attachment is not None:
                self._bad("attachments", index, name, f"port {a.port!r} already has an attachment in this batch (one per port)")
            if a.id in ifaces:
                self._bad("attachments", index, name, f"interface {a.id!r} is also attached by attachments[{ifaces[a.id]}]")
            ifaces.setdefault(a.id, index)
            attachment = PlannedAttachment(ref=a.ref or a.port, iface_id=a.id, host=a.host or self.settings.default_host)
            if port is not None and port.attachment is None:
                port.attachment = attachment
                plan.attachments.append((attachment, port))
        for iface in sorted(batch_plan.plugged_ifaces(self.session, list(ifaces))):
            index = ifaces[iface]
            self._bad("attachments", index, names[index], f"interface {iface!r} is already plugged into another port")


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
