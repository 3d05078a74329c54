"""qbh-sim: an asynchronous multi-step plugin in the manner of 802.1Qbh, without devices.

Creating a network and plugging an interface each touch three subsystems in turn: the virtual
switch on the hypervisor (vswitch), the interface virtualizer (ifvirt) and the physical switch
(pswitch). `steps()` names one plugin call per subsystem, each with the call that undoes it; the
workflow runs each step as its own activity and, when a step fails for good, the undo of every
completed step in reverse. Each step records its layer in the plugin's SQLite file, so an undo
really removes what the step did and `residue()` can prove it.

Applying a QoS policy (APPLY_QOS) also takes one step per subsystem; each records the layer's
previous QoS so that its undo puts it back (not merely clears it).

Faults by network name as in the fake (`InjectedFaults`): `fail-` fails step 1 permanently,
`fail3-` the physical-switch step, `flaky<N>-` fails each step N times transiently first. QoS
steps take them from the policy's name instead (`raise_qos_fault`).
"""

import sqlite3
import time
from collections.abc import Callable

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from netprov.operations import PluginAction, PluginRequest, StepSpec
from netprov.settings import Settings
from netprov.link_io import LinkReport
from netprov.status import AdminState, LinkStatus
from plugins.base import PermanentPluginError, Plugin
from plugins.fake import REMOVALS, InjectedFaults, link_report
from plugins.plugin_store import LedgerEntry, PluginStore
from plugins.qbh_layers import LAYER_NAMES, LAYERS
from plugins.qbh_sim_qos import QbhSimQos

_SCHEMA = """
CREATE TABLE IF NOT EXISTS network_layers (
    network_id TEXT NOT NULL,
    layer      TEXT NOT NULL,
    PRIMARY KEY (network_id, layer)
);
CREATE TABLE IF NOT EXISTS ports (
    port_id    TEXT PRIMARY KEY,
    network_id TEXT NOT NULL,
    state      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS plug_layers (
    port_id    TEXT NOT NULL,
    layer      TEXT NOT NULL,
    network_id TEXT NOT NULL,
    iface_id   TEXT NOT NULL,
    host       TEXT,
    PRIMARY KEY (port_id, layer)
);
CREATE TABLE IF NOT EXISTS qos_layers (
    port_id     TEXT NOT NULL,
    layer       TEXT NOT NULL,
    network_id  TEXT NOT NULL,
    policy_id   TEXT,
    policy_name TEXT NOT NULL,
    rules       TEXT NOT NULL,
    iface_id    TEXT,
    host        TEXT,
    PRIMARY KEY (port_id, layer)
);
-- What each layer held before its last QoS step (NULL: nothing), for that step's undo.
CREATE TABLE IF NOT EXISTS qos_undo (
    port_id TEXT NOT NULL,
    layer   TEXT NOT NULL,
    prior   TEXT,
    PRIMARY KEY (port_id, layer)
);
"""


class QbhSimSettings(BaseSettings):
    """qbh-sim's own settings, from the environment (`NETPROV_QBH_SIM_*`)."""

    model_config = SettingsConfigDict(env_prefix="NETPROV_QBH_SIM_", extra="ignore")

    # Sleep per plugin call, in milliseconds (some calls sleep a multiple of it), so steps take visible time.
    latency_ms: int = Field(50, ge=0)


class QbhSimPlugin(QbhSimQos, Plugin):
    """Every call, step or whole action, is idempotent by request_id (ledger) and by state.
    `create_network` and `plug_interface` called directly run their steps in order, undoing the
    completed ones when a step fails permanently; the workflow instead runs `steps()` one by one."""

    name = "qbh-sim"

    def __init__(self, settings: Settings, options: QbhSimSettings | None = None) -> None:
        super().__init__(settings)
        self.options = options or QbhSimSettings(**settings.plugin_settings.get(self.name, {}))
        self.store = PluginStore(settings, self.name, _SCHEMA)

    @classmethod
    def steps(cls, action: PluginAction) -> list[StepSpec]:
        """create_network and plug_interface: vswitch, ifvirt, pswitch, each with its undo. An undo
        is called with the request of the step it undoes. A step already in the ledger for a
        request_id is not applied again, even after its undo: redoing an action after compensation
        needs a new request_id. Every other action is one step, as in the base class."""
        if action == PluginAction.CREATE_NETWORK:
            return [
                StepSpec(name=f"qbh_{layer}_create_network", undo=f"qbh_{layer}_delete_network") for layer in LAYERS
            ]
        if action == PluginAction.PLUG_INTERFACE:
            return [StepSpec(name=f"qbh_{layer}_plug", undo=f"qbh_{layer}_unplug") for layer in LAYERS]
        if action == PluginAction.APPLY_QOS:
            return [StepSpec(name=f"qbh_{layer}_apply_qos", undo=f"qbh_{layer}_restore_qos") for layer in LAYERS]
        return super().steps(action)

    # Network steps and their undo steps, one per subsystem.

    def qbh_vswitch_create_network(self, request: PluginRequest) -> None:
        self._add_network_layer("vswitch", request)

    def qbh_ifvirt_create_network(self, request: PluginRequest) -> None:
        self._add_network_layer("ifvirt", request)

    def qbh_pswitch_create_network(self, request: PluginRequest) -> None:
        self._add_network_layer("pswitch", request)

    def qbh_vswitch_delete_network(self, request: PluginRequest) -> None:
        self._remove_network_layer("vswitch", request)

    def qbh_ifvirt_delete_network(self, request: PluginRequest) -> None:
        self._remove_network_layer("ifvirt", request)

    def qbh_pswitch_delete_network(self, request: PluginRequest) -> None:
        self._remove_network_layer("pswitch", request)

    # Plug steps and their undo steps, one per subsystem.

    def qbh_vswitch_plug(self, request: PluginRequest) -> None:
        self._add_plug_layer("vswitch", request)

    def qbh_ifvirt_plug(self, request: PluginRequest) -> None:
        self._add_plug_layer("ifvirt", request)

    def qbh_pswitch_plug(self, request: PluginRequest) -> None:
        self._add_plug_layer("pswitch", request)

    def qbh_vswitch_unplug(self, request: PluginRequest) -> None:
        self._remove_plug_layer("vswitch", request)

    def qbh_ifvirt_unplug(self, request: PluginRequest) -> None:
        self._remove_plug_layer("ifvirt", request)

    def qbh_pswitch_unplug(self, request: PluginRequest) -> None:
        self._remove_plug_layer("pswitch", request)

    # Whole actions.

    def create_network(self, request: PluginRequest) -> dict[str, str]:
        self._run_steps(PluginAction.CREATE_NETWORK, request)
        return {}

    def plug_interface(self, request: PluginRequest) -> None:
        self._run_steps(PluginAction.PLUG_INTERFACE, request)

    def delete_network(self, request: PluginRequest) -> None:
        """Remove the network from all three subsystems, with its ports and their plugs."""

        def change(db: sqlite3.Connection) -> None:
            for table in ("qos_layers", "plug_layers", "ports", "network_layers"):
                db.execute(f"DELETE FROM {table} WHERE network_id = ?", (request.network_id,))

        self._call(PluginAction.DELETE_NETWORK, request, change)

    def create_port(self, request: PluginRequest) -> None:
        self._call(PluginAction.CREATE_PORT, request, lambda db: self._set_port_state(db, request))

    def update_port(self, request: PluginRequest) -> None:
        self._call(PluginAction.UPDATE_PORT, request, lambda db: self._set_port_state(db, request))

    def delete_port(self, request: PluginRequest) -> None:
        def change(db: sqlite3.Connection) -> None:
            for table in ("qos_undo", "qos_layers", "plug_layers", "ports"):
                db.execute(f"DELETE FROM {table} WHERE port_id = ?", (request.port_id,))

        self._call(PluginAction.DELETE_PORT, request, change)

    def unplug_interface(self, request: PluginRequest) -> None:
        """Take the interface off all three subsystems."""

        def change(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM plug_layers WHERE port_id = ?", (request.port_id,))

        self._call(PluginAction.UNPLUG_INTERFACE, request, change)

    def link_status(self, request: PluginRequest) -> LinkReport:
        """UP only when the network and the interface are set up on all three subsystems and the
        port is admin ACTIVE; a half-done plug names the subsystems still missing."""
        with self.store.transaction(write=False) as db:
            network_layers = {
                layer
                for (layer,) in db.execute(
                    "SELECT layer FROM network_layers WHERE network_id = ?", (request.network_id,)
                )
            }
            port = db.execute("SELECT state FROM ports WHERE port_id = ?", (request.port_id,)).fetchone()
            plug_layers = {
                layer for (layer,) in db.execute("SELECT layer FROM plug_layers WHERE port_id = ?", (request.port_id,))
            }
        network_ready = network_layers == set(LAYERS)
        missing = [LAYER_NAMES[layer] for layer in LAYERS if layer not in plug_layers]
        if network_ready and plug_layers and missing:
            return LinkReport(LinkStatus.DOWN, f"interface not plugged on the {' and '.join(missing)}")
        return link_report(network_ready, port[0] if port else None, plugged=bool(plug_layers))

    def ledger(self) -> list[LedgerEntry]:
        """Every call applied, oldest first: one entry per (request_id, step or action)."""
        return self.store.ledger()

    def residue(self) -> dict[str, int]:
        """What is still present, counted per subsystem: a network set up on all three counts 3
        under "networks", a fully plugged interface 3 under "interfaces"."""
        return self.store.count_rows({"networks": "network_layers", "ports": "ports", "interfaces": "plug_layers"})

    def _run_steps(self, action: PluginAction, request: PluginRequest) -> None:
        done: list[StepSpec] = []
        try:
            for spec in self.steps(action):
                self.apply_step(spec.name, request)
                done.append(spec)
        except PermanentPluginError:
            # Only a permanent failure is compensated: after a transient one the caller retries with
            # the same request_id, and the completed steps are then no-ops found in the ledger.
            for spec in reversed(done):
                if spec.undo:
                    self.apply_step(spec.undo, request)
            raise

    def _add_network_layer(self, layer: str, request: PluginRequest) -> None:
        self._layer_call(
            f"qbh_{layer}_create_network",
            layer,
            request,
            "INSERT OR IGNORE INTO network_layers (network_id, layer) VALUES (?, ?)",
            (request.network_id, layer),
        )

    def _remove_network_layer(self, layer: str, request: PluginRequest) -> None:
        self._layer_call(
            f"qbh_{layer}_delete_network",
            layer,
            request,
            "DELETE FROM network_layers WHERE network_id = ? AND layer = ?",
            (request.network_id, layer),
            removal=True,
        )

    def _add_plug_layer(self, layer: str, request: PluginRequest) -> None:
        self._layer_call(
            f"qbh_{layer}_plug",
            layer,
            request,
            "INSERT OR REPLACE INTO plug_layers (port_id, layer, network_id, iface_id, host) VALUES (?, ?, ?, ?, ?)",
            (request.port_id, layer, request.network_id, request.iface_id, request.host),
        )

    def _remove_plug_layer(self, layer: str, request: PluginRequest) -> None:
        self._layer_call(
            f"qbh_{layer}_unplug",
            layer,
            request,
            "DELETE FROM plug_layers WHERE port_id = ? AND layer = ?",
            (request.port_id, layer),
            removal=True,
        )

    def _layer_call(
        self, call: str, layer: str, request: PluginRequest, sql: str, params: tuple, *, removal: bool = False
    ) -> None:
        """One step on one subsystem: latency, injected faults, then the change, recorded once."""
        self._sleep(LAYERS[layer])
        InjectedFaults.from_name(request.network_name).raise_if_due(
            self.store,
            self.name,
            request,
            call,
            step=list(LAYERS).index(layer) + 1,
            removal=removal,
            where=f" on the {LAYER_NAMES[layer]}",
        )

        def change(db: sqlite3.Connection) -> None:
            db.execute(sql, params)

        self.store.apply_once(request, call, change)

    def _call(
        self, action: PluginAction, request: PluginRequest, change: Callable[[sqlite3.Connection], None]
    ) -> None:
        """A single-step action: latency, injected faults, then the change, recorded once."""
        self._sleep(1)
        InjectedFaults.from_name(request.network_name).raise_if_due(
            self.store, self.name, request, action, removal=action in REMOVALS
        )
        self.store.apply_once(request, action, change)

    def _set_port_state(self, db: sqlite3.Connection, request: PluginRequest) -> None:
        db.execute(
            "INSERT INTO ports (port_id, network_id, state) VALUES (?, ?, ?)"
            " ON CONFLICT (port_id) DO UPDATE SET state = COALESCE(?, state)",
            (request.port_id, request.network_id, request.state or AdminState.DOWN, request.state),
        )

    def _sleep(self, factor: int) -> None:
        if self.options.latency_ms:
            time.sleep(self.options.latency_ms * factor / 1000)
