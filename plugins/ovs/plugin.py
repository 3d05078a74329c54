"""OvsPlugin: the Quantum Open vSwitch plugin on real Open vSwitch, one instance per host.

Where state lives:

- the plugin's SQLite file (`<data_dir>/plugins/ovs.db`, via PluginStore): each network's VLAN,
  each port's admin state, and the ledger of applied requests. Written by the central worker.
- each host's agent file (`<data_dir>/ovs/H/plugins/agent.db`): the *desired bindings* of that
  host, iface-id -> (port, network, VLAN, admin state), and the agent's own ledger. Written only by
  host-bound calls, which run on H's agent.
- the host's Open vSwitch: what is really in effect. Bindings are enforced on it by every host-bound
  call and by `reconcile(host)`, which the agent runs periodically.

The interface named by an attachment may not exist yet (the VM starts later) or may be changed by
hand: plugging records the binding and applies it if the interface is there; `reconcile` applies
it once the interface appears and repairs drift. An interface with an iface-id but no binding, or
bound to a port that is admin DOWN, is isolated (dead VLAN 4095 + protected: switch.py says why that
really blocks traffic).

Idempotency: every action runs through a ledger keyed by (request_id, action), so a replayed request
changes no recorded state; host-bound calls then enforce the *current* binding on the switch, which
re-does nothing that a later request changed.
"""

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from netprov.operations import PluginAction, PluginRequest, StepSpec
from netprov.settings import Settings
from netprov.link_io import LinkReport
from netprov.status import AdminState
from plugins.base import PermanentPluginError, Plugin
from plugins.ovs import link_truth
from plugins.ovs.host_layout import host_files, validate_host
from plugins.ovs.qos_plugin import OvsQos
from plugins.ovs.restore import Repair, restore_host
from plugins.ovs.settings import OvsSettings
from plugins.ovs.switch import DEAD_VLAN, SwitchPort, VSwitch
from plugins.ovs.switch_watch import SwitchWatch
from plugins.vlans import VLANS_SCHEMA, VlanAllocator
from plugins.plugin_store import LedgerEntry, PluginStore
from plugins.qos_records import QOS_SCHEMA

APPLY_PORT_STATE = "apply_port_state"

_SCHEMA = VLANS_SCHEMA + """
CREATE TABLE IF NOT EXISTS ports (
    port_id    TEXT PRIMARY KEY,
    network_id TEXT NOT NULL,
    state      TEXT NOT NULL
);
"""

_HOST_SCHEMA = """
CREATE TABLE IF NOT EXISTS bindings (
    iface_id   TEXT PRIMARY KEY,
    port_id    TEXT,
    network_id TEXT NOT NULL,
    vlan       INTEGER NOT NULL,
    state      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Binding:
    """What host H's agent wants for one interface."""

    iface_id: str
    port_id: str | None
    network_id: str
    vlan: int
    state: str

    @property
    def live(self) -> bool:
        return self.state == AdminState.ACTIVE


@dataclass(frozen=True)
class Drift:
    """One port whose VLAN settings differed from its binding, and what they were set to."""

    host: str
    iface_id: str
    port: str
    found_tag: int | None
    found_protected: bool
    tag: int
    protected: bool

    def __str__(self) -> str:
        found = f"tag {self.found_tag if self.found_tag is not None else 'none'}"
        if self.found_protected:
            found += " protected"
        wanted = f"tag {self.tag}" + (" protected" if self.protected else "")
        return f"interface-id {self.iface_id} on host {self.host}: {found} -> {wanted}"


class OvsPlugin(OvsQos, Plugin):
    """Networks are VLANs on every host's bridge; attachments set the VLAN tag of the interface whose
    `external_ids:iface-id` matches, on the attachment's host, from that host's agent."""

    name = "ovs"

    def __init__(self, settings: Settings, ovs_settings: OvsSettings | None = None) -> None:
        super().__init__(settings)
        self.ovs_settings = ovs_settings or OvsSettings(**settings.plugin_settings.get(self.name, {}))
        self.vlans = VlanAllocator(self.ovs_settings.vlans)
        self.data_dir = Path(settings.data_dir)
        self.store = PluginStore(settings, self.name, _SCHEMA + QOS_SCHEMA)
        self._host_stores: dict[str, PluginStore] = {}
        self._lock = threading.Lock()

    # --- where each action runs ------------------------------------------------------------------

    @classmethod
    def host_bound(cls, action: PluginAction) -> bool:
        return action in (PluginAction.PLUG_INTERFACE, PluginAction.UNPLUG_INTERFACE)

    @classmethod
    def steps(cls, action: PluginAction) -> list[StepSpec]:
        """Updating a port records its admin state centrally, then applies it on the host of its
        attachment (`apply_port_state`, host-bound; a no-op for a port without attachment)."""
        if action == PluginAction.UPDATE_PORT:
            return [StepSpec(name=action.value), StepSpec(name=APPLY_PORT_STATE, host_bound=True)]
        if action == PluginAction.APPLY_QOS:
            return cls.qos_steps()  # record centrally, then enforce on the host (qos_plugin.py)
        return super().steps(action)

    # --- central calls -----------------------------------------------------------------------------

    def create_network(self, request: PluginRequest) -> dict[str, str]:
        """Return {"vlan": "<id>"}: the network's VLAN, allocated now (lowest free id) or earlier."""

        def change(db: sqlite3.Connection) -> dict[str, str]:
            return {"vlan": str(self.vlans.allocate(db, request.network_id))}

        return self.store.apply_once(request, PluginAction.CREATE_NETWORK, change) or {}

    def delete_network(self, request: PluginRequest) -> None:
        """Free the network's VLAN (it may be handed to another network) and forget its ports."""

        def change(db: sqlite3.Connection) -> None:
            for table in ("qos", "ports"):
                db.execute(f"DELETE FROM {table} WHERE network_id = ?", (request.network_id,))
            self.vlans.release(db, request.network_id)

        self.store.apply_once(request, PluginAction.DELETE_NETWORK, change)

    def create_port(self, request: PluginRequest) -> None:
        self.store.apply_once(request, PluginAction.CREATE_PORT, lambda db: self._record_port(db, request))

    def update_port(self, request: PluginRequest) -> None:
        """Record the port's admin state; `apply_port_state` then applies it on the host."""
        self.store.apply_once(request, PluginAction.UPDATE_PORT, lambda db: self._record_port(db, request))

    def delete_port(self, request: PluginRequest) -> None:
        def change(db: sqlite3.Connection) -> None:
            for table in ("qos", "ports"):
                db.execute(f"DELETE FROM {table} WHERE port_id = ?", (request.port_id,))

        self.store.apply_once(request, PluginAction.DELETE_PORT, change)

    # --- host-bound calls (run on the agent of request.host) --------------------------------------

    def plug_interface(self, request: PluginRequest) -> None:
        """Bind interface `request.iface_id` on `request.host` to the network's VLAN with the port's
        admin state `request.state`, and apply it if the interface exists (else `reconcile` will)."""
        host, iface_id = self._attachment(request)
        vlan = self._network_vlan(request)
        if vlan is None:
            raise PermanentPluginError(
                f"network {request.network_id} has no VLAN on plugin ovs: create it before plugging {iface_id}"
            )
        state = request.state or self._port_state(request.port_id) or AdminState.ACTIVE

        def change(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO bindings (iface_id, port_id, network_id, vlan, state, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (iface_id) DO UPDATE SET port_id = excluded.port_id,"
                " network_id = excluded.network_id, vlan = excluded.vlan, state = excluded.state,"
                " updated_at = excluded.updated_at",
                (iface_id, request.port_id, request.network_id, vlan, state, _now()),
            )

        self._host_store(host).apply_once(request, PluginAction.PLUG_INTERFACE, change)
        self._enforce(host, iface_id)

    def unplug_interface(self, request: PluginRequest) -> None:
        """Drop the binding and isolate the interface if it is there. Unplugging what is not plugged
        succeeds; a binding that now belongs to another port is left alone."""
        if not request.iface_id:
            return
        host, iface_id = self._attachment(request)

        def change(db: sqlite3.Connection) -> None:
            db.execute(
                "DELETE FROM bindings WHERE iface_id = ? AND (port_id IS ? OR ? IS NULL)",
                (iface_id, request.port_id, request.port_id),
            )

        self._host_store(host).apply_once(request, PluginAction.UNPLUG_INTERFACE, change)
        self._enforce(host, iface_id)
        self._clear_iface_qos(host, iface_id, request.port_id)

    def apply_port_state(self, request: PluginRequest) -> None:
        """Step 2 of UPDATE_PORT, on the agent of the port's attachment: the bound interface follows
        the port's admin state (DOWN isolates it, ACTIVE puts it back on its VLAN)."""
        if not request.iface_id or request.state is None:
            return  # no attachment: nothing on any host follows this port
        host, _ = self._attachment(request)
        store = self._host_store(host)

        def change(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE bindings SET state = ?, updated_at = ? WHERE port_id = ?",
                (request.state, _now(), request.port_id),
            )

        store.apply_once(request, APPLY_PORT_STATE, change)
        for binding in self.bindings(host):
            if binding.port_id == request.port_id:
                self._enforce(host, binding.iface_id)

    def link_status(self, request: PluginRequest) -> LinkReport:
        """What host `request.host`'s switch reports, evaluated on that host (see link_truth.py):
        UP only when its configuration matches the port's binding *and* its ovs-vswitchd forwards a
        frame from the interface to the network's other ports (an `ofproto/trace`). DOWN with the
        part that blocks it otherwise; UNKNOWN when the host's ovsdb does not answer."""
        return self.link_status_many([request])[0]

    def link_status_many(self, requests: list[PluginRequest]) -> list[LinkReport]:
        """`link_status` of many ports: each host's switch is listed once and asked once for all
        of its ports' traces (not once per port)."""
        wanted = [self._wanted(request) if request.iface_id else None for request in requests]
        return link_truth.evaluate(wanted, switch_for=self.switch, bindings_for=self.bindings)

    def _wanted(self, request: PluginRequest) -> link_truth.Wanted:
        """What the API describes for the port: its host, admin state and VLAN (from its binding
        when the binding is this port's, else from the central records)."""
        host, iface_id = self._attachment(request)
        binding = self.binding(host, iface_id)
        if binding is not None and binding.port_id != request.port_id:
            binding = None
        return link_truth.Wanted(
            host=host,
            iface_id=iface_id,
            network_id=binding.network_id if binding else request.network_id,
            state=request.state or (binding.state if binding else None) or self._port_state(request.port_id),
            vlan=binding.vlan if binding else self._network_vlan(request),
        )

    def reconcile(self, host: str) -> list[Drift | Repair]:
        """Make host H's switch match its bindings: put back what it lost (restore.py); bound
        interfaces of ACTIVE ports on their VLAN, any other iface-id isolated; QoS as recorded
        (reconcile_qos). Returns what was changed (empty when nothing had drifted). Run on H's agent,
        periodically and when its switch changed."""
        host = validate_host(host)
        switch = self.switch(host)
        changed: list[Drift | Repair] = list(restore_host(switch))
        bindings = {binding.iface_id: binding for binding in self.bindings(host)}
        ports = switch.ports()
        for port in ports:
            if port.iface_id is not None:
                drift = self._converge(switch, port, bindings.get(port.iface_id))
                if drift is not None:
                    changed.append(drift)
        return changed + self.reconcile_qos(host)

    def watch(self, host: str, changed: Callable[[], None]) -> Callable[[], None]:
        """Call `changed()` soon after host H's switch changes (switch_watch.py)."""
        return SwitchWatch(validate_host(host), self.data_dir, changed).start().stop

    # --- introspection -----------------------------------------------------------------------------

    def switch(self, host: str) -> VSwitch:
        return VSwitch(validate_host(host), self.data_dir, timeout=self.ovs_settings.vsctl_timeout_s)

    def vlan_of(self, network_id: str) -> int | None:
        """The VLAN bound to the network, or None."""
        with self.store.transaction(write=False) as db:
            return self.vlans.vlan_of(db, network_id)

    def bindings(self, host: str) -> list[Binding]:
        with self._host_store(host).transaction(write=False) as db:
            rows = db.execute(
                "SELECT iface_id, port_id, network_id, vlan, state FROM bindings ORDER BY iface_id"
            ).fetchall()
        return [Binding(*row) for row in rows]

    def binding(self, host: str, iface_id: str) -> Binding | None:
        return next((b for b in self.bindings(host) if b.iface_id == iface_id), None)

    def ledger(self) -> list[LedgerEntry]:
        """Every central action applied, oldest first (host-bound ones: `host_ledger`)."""
        return self.store.ledger()

    def host_ledger(self, host: str) -> list[LedgerEntry]:
        return self._host_store(host).ledger()

    def residue(self) -> dict[str, int]:
        """How many networks (VLANs), ports and interface bindings (all hosts) are still recorded."""
        counts = self.store.count_rows({"networks": "vlans", "ports": "ports"})
        counts["bindings"] = sum(
            self._host_store(host).count_rows({"n": "bindings"})["n"] for host in self._known_hosts()
        )
        return counts

    # --- inside ------------------------------------------------------------------------------------

    def _attachment(self, request: PluginRequest) -> tuple[str, str]:
        if not request.iface_id:
            raise PermanentPluginError(f"port {request.port_id}: no interface id given")
        # A PUT attachment without host means the server's default host.
        return validate_host(request.host or self.settings.default_host), request.iface_id

    def _host_store(self, host: str) -> PluginStore:
        with self._lock:
            if host not in self._host_stores:
                # The agent's own file lives with the host (<data_dir>/ovs/H/plugins/agent.db).
                host_settings = self.settings.model_copy(update={"data_dir": host_files(host, self.data_dir).dir})
                self._host_stores[host] = PluginStore(host_settings, "agent", _HOST_SCHEMA)
            return self._host_stores[host]

    def _known_hosts(self) -> list[str]:
        root = self.data_dir / "ovs"
        return sorted(p.parent.parent.name for p in root.glob("*/plugins/agent.db")) if root.is_dir() else []

    def _network_vlan(self, request: PluginRequest) -> int | None:
        # The workflow may pass the network's plugin data (create_network's result) along; an agent
        # then needs nothing from the central file.
        vlan = request.extra.get("vlan")
        if vlan and vlan.isdigit():
            return int(vlan)
        return self.vlan_of(request.network_id)

    def _port_state(self, port_id: str | None) -> str | None:
        if port_id is None:
            return None
        with self.store.transaction(write=False) as db:
            row = db.execute("SELECT state FROM ports WHERE port_id = ?", (port_id,)).fetchone()
        return row[0] if row else None

    def _record_port(self, db: sqlite3.Connection, request: PluginRequest) -> None:
        db.execute(
            "INSERT INTO ports (port_id, network_id, state) VALUES (?, ?, ?)"
            " ON CONFLICT (port_id) DO UPDATE SET state = COALESCE(?, state)",
            (request.port_id, request.network_id, request.state or AdminState.DOWN, request.state),
        )

    def _enforce(self, host: str, iface_id: str) -> Drift | None:
        """Apply the current binding of `iface_id` to host H's switch, if the interface is there."""
        switch = self.switch(host)
        port = switch.find(iface_id)
        if port is None:
            return None
        return self._converge(switch, port, self.binding(host, iface_id))

    @staticmethod
    def _converge(switch: VSwitch, port: SwitchPort, binding: Binding | None) -> Drift | None:
        live = binding is not None and binding.live
        tag = binding.vlan if live and binding is not None else DEAD_VLAN
        if port.tag == tag and port.protected == (not live):
            return None
        if live:
            switch.attach(port.name, tag)
        else:
            switch.isolate(port.name)
        return Drift(
            host=switch.host,
            iface_id=port.iface_id or "",
            port=port.name,
            found_tag=port.tag,
            found_protected=port.protected,
            tag=tag,
            protected=not live,
        )


def _now() -> str:
    return datetime.now(UTC).isoformat()
