"""ovs-sim: a synchronous plugin in the manner of the Quantum Open vSwitch plugin, without a switch.

Each network gets a VLAN id from its VLAN range (NETPROV_OVS_SIM_VLAN_RANGE); each port is bound to its network's VLAN; an
attachment records the interface plugged on the port. The bindings live in the plugin's own SQLite
file, so every worker allocates from the same pool and a restart keeps them. Calls do not sleep.
"""

import sqlite3

from pydantic_settings import BaseSettings, SettingsConfigDict

from netprov.operations import PluginAction, PluginRequest
from netprov.settings import Settings
from netprov.status import AdminState
from netprov.link_io import LinkReport
from netprov.qos import QosReport
from plugins.base import PermanentPluginError, Plugin
from plugins.fake import link_report
from plugins.plugin_store import LedgerEntry, PluginStore
from plugins.qos_records import QOS_SCHEMA, read_qos, record_qos, recorded_report, spec_of
from plugins.vlans import VLANS_SCHEMA, VlanAllocator, VlanRange, parse_range

_SCHEMA = VLANS_SCHEMA + QOS_SCHEMA + """
CREATE TABLE IF NOT EXISTS ports (
    port_id    TEXT PRIMARY KEY,
    network_id TEXT NOT NULL,
    vlan       INTEGER NOT NULL,
    state      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS interfaces (
    port_id    TEXT PRIMARY KEY,
    network_id TEXT NOT NULL,
    iface_id   TEXT NOT NULL,
    host       TEXT
);
"""


class OvsSimSettings(BaseSettings):
    """ovs-sim's own settings, from the environment (`NETPROV_OVS_SIM_*`)."""

    model_config = SettingsConfigDict(env_prefix="NETPROV_OVS_SIM_", extra="ignore")

    vlan_range: VlanRange = "100-4094"


class OvsSimPlugin(Plugin):
    """Idempotent by request_id (ledger) and by state: a network keeps its VLAN however often it is
    created. Ports need their network's VLAN and attachments need their port: asked out of order,
    the call fails permanently, as a real switch would refuse it."""

    name = "ovs-sim"

    def __init__(self, settings: Settings, options: OvsSimSettings | None = None) -> None:
        super().__init__(settings)
        self.options = options or OvsSimSettings(**settings.plugin_settings.get(self.name, {}))
        self.vlans = VlanAllocator(parse_range(self.options.vlan_range))
        self.store = PluginStore(settings, self.name, _SCHEMA)

    def create_network(self, request: PluginRequest) -> dict[str, str]:
        """Return {"vlan": "<id>"}: the network's VLAN, allocated now (lowest free id) or earlier."""

        def change(db: sqlite3.Connection) -> dict[str, str]:
            return {"vlan": str(self.vlans.allocate(db, request.network_id))}

        return self.store.apply_once(request, PluginAction.CREATE_NETWORK, change) or {}

    def delete_network(self, request: PluginRequest) -> None:
        """Free the network's VLAN and drop its ports and attachments."""

        def change(db: sqlite3.Connection) -> None:
            for table in ("qos", "interfaces", "ports"):
                db.execute(f"DELETE FROM {table} WHERE network_id = ?", (request.network_id,))
            self.vlans.release(db, request.network_id)

        self.store.apply_once(request, PluginAction.DELETE_NETWORK, change)

    def create_port(self, request: PluginRequest) -> None:
        self.store.apply_once(request, PluginAction.CREATE_PORT, lambda db: self._bind_port(db, request))

    def update_port(self, request: PluginRequest) -> None:
        self.store.apply_once(request, PluginAction.UPDATE_PORT, lambda db: self._bind_port(db, request))

    def delete_port(self, request: PluginRequest) -> None:
        def change(db: sqlite3.Connection) -> None:
            for table in ("qos", "interfaces", "ports"):
                db.execute(f"DELETE FROM {table} WHERE port_id = ?", (request.port_id,))

        self.store.apply_once(request, PluginAction.DELETE_PORT, change)

    def plug_interface(self, request: PluginRequest) -> None:
        def change(db: sqlite3.Connection) -> None:
            if db.execute("SELECT 1 FROM ports WHERE port_id = ?", (request.port_id,)).fetchone() is None:
                raise PermanentPluginError(
                    f"port {request.port_id} is not bound on ovs-sim: create the port before plugging"
                    f" interface {request.iface_id}"
                )
            db.execute(
                "INSERT OR REPLACE INTO interfaces (port_id, network_id, iface_id, host) VALUES (?, ?, ?, ?)",
                (request.port_id, request.network_id, request.iface_id, request.host),
            )

        self.store.apply_once(request, PluginAction.PLUG_INTERFACE, change)

    def unplug_interface(self, request: PluginRequest) -> None:
        def change(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM interfaces WHERE port_id = ?", (request.port_id,))

        self.store.apply_once(request, PluginAction.UNPLUG_INTERFACE, change)

    def apply_qos(self, request: PluginRequest) -> None:
        """Record `request.qos` on the port's binding (no rules: remove it). The port must be bound,
        as a real switch refuses a policy for a port it does not have; clearing always succeeds."""

        def change(db: sqlite3.Connection) -> None:
            bound = db.execute("SELECT 1 FROM ports WHERE port_id = ?", (request.port_id,)).fetchone()
            if bound is None and spec_of(request).rules:
                raise PermanentPluginError(
                    f"port {request.port_id} is not bound on ovs-sim: create the port before its QoS policy"
                )
            record_qos(db, request)

        self.store.apply_once(request, PluginAction.APPLY_QOS, change)

    def qos_status(self, request: PluginRequest) -> QosReport:
        with self.store.transaction(write=False) as db:
            return recorded_report(self.name, request, read_qos(db, request.port_id))

    def link_status(self, request: PluginRequest) -> LinkReport:
        """As the fake: UP when the network has its VLAN, the port is bound and admin ACTIVE and an
        interface is plugged; otherwise DOWN with the reason."""
        with self.store.transaction(write=False) as db:
            network = db.execute("SELECT 1 FROM vlans WHERE network_id = ?", (request.network_id,)).fetchone()
            port = db.execute("SELECT state FROM ports WHERE port_id = ?", (request.port_id,)).fetchone()
            iface = db.execute("SELECT 1 FROM interfaces WHERE port_id = ?", (request.port_id,)).fetchone()
        return link_report(network is not None, port[0] if port else None, iface is not None)

    def vlan_of(self, network_id: str) -> int | None:
        """The VLAN bound to the network, or None."""
        with self.store.transaction(write=False) as db:
            return self.vlans.vlan_of(db, network_id)

    def ledger(self) -> list[LedgerEntry]:
        """Every action applied, oldest first: one entry per (request_id, action)."""
        return self.store.ledger()

    def residue(self) -> dict[str, int]:
        """How many networks (VLAN bindings), ports and plugged interfaces are still present."""
        return self.store.count_rows({"networks": "vlans", "ports": "ports", "interfaces": "interfaces"})

    def _bind_port(self, db: sqlite3.Connection, request: PluginRequest) -> None:
        vlan = self.vlans.vlan_of(db, request.network_id)
        if vlan is None:
            raise PermanentPluginError(
                f"network {request.network_id} has no VLAN on ovs-sim: create it before port {request.port_id}"
            )
        db.execute(
            "INSERT INTO ports (port_id, network_id, vlan, state) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (port_id) DO UPDATE SET state = COALESCE(?, state)",
            (request.port_id, request.network_id, vlan, request.state or AdminState.DOWN, request.state),
        )
