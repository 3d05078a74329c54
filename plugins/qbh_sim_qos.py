"""qbh-sim's QoS: one APPLY_QOS step per subsystem, each recording the layer's previous policy so that
its undo puts that back (not merely clears it). Faults come from the policy's name (`raise_qos_fault`)."""

import json
import sqlite3
from dataclasses import replace

from netprov.operations import PluginAction, PluginRequest
from netprov.qos import QosReport, QosSpec
from netprov.status import QosStatus
from plugins.fake import raise_qos_fault
from plugins.qbh_layers import LAYER_NAMES, LAYERS
from plugins.qos_records import record_qos, recorded_report, rules_of

_QOS_COLUMNS = ("network_id", "policy_id", "policy_name", "rules", "iface_id", "host")


class QbhSimQos:
    """Mixed into QbhSimPlugin: needs its `store`, `name`, `_sleep` and `_run_steps`."""

    def qbh_vswitch_apply_qos(self, request: PluginRequest) -> None:
        self._apply_qos_layer("vswitch", request)

    def qbh_ifvirt_apply_qos(self, request: PluginRequest) -> None:
        self._apply_qos_layer("ifvirt", request)

    def qbh_pswitch_apply_qos(self, request: PluginRequest) -> None:
        self._apply_qos_layer("pswitch", request)

    def qbh_vswitch_restore_qos(self, request: PluginRequest) -> None:
        self._restore_qos_layer("vswitch", request)

    def qbh_ifvirt_restore_qos(self, request: PluginRequest) -> None:
        self._restore_qos_layer("ifvirt", request)

    def qbh_pswitch_restore_qos(self, request: PluginRequest) -> None:
        self._restore_qos_layer("pswitch", request)

    def apply_qos(self, request: PluginRequest) -> None:
        self._run_steps(PluginAction.APPLY_QOS, request)

    def qos_status(self, request: PluginRequest) -> QosReport:
        """AVAILABLE when all three subsystems hold what `request.qos` asks (see qos_records.recorded_report);
        PROVISIONING naming the subsystems that hold something else (a half-applied policy)."""
        with self.store.transaction(write=False) as db:
            rows = {
                layer: (rules_of(rules), iface_id, name)
                for layer, rules, iface_id, name in db.execute(
                    "SELECT layer, rules, iface_id, policy_name FROM qos_layers WHERE port_id = ?", (request.port_id,)
                )
            }
        if request.qos is None:
            # Nothing asked: the subsystems must agree with the first one.
            rules, _, name = rows.get("vswitch") or ([], None, "")
            request = replace(request, qos=QosSpec(policy_name=name, rules=rules))
        reports = {layer: recorded_report(self.name, request, rows.get(layer)) for layer in LAYERS}
        behind = [LAYER_NAMES[layer] for layer, report in reports.items() if report.status != QosStatus.AVAILABLE]
        if not behind:
            return QosReport(QosStatus.AVAILABLE)
        if len(behind) == len(LAYERS):
            return reports["vswitch"]
        return QosReport(QosStatus.PROVISIONING, f"QoS not applied yet on the {' and '.join(behind)}")

    def _apply_qos_layer(self, layer: str, request: PluginRequest) -> None:
        """One QoS step: remember what the layer held (for the undo), then record `request.qos` on it."""
        call = f"qbh_{layer}_apply_qos"
        self._sleep(LAYERS[layer])
        raise_qos_fault(self.store, self.name, request, call, step=list(LAYERS).index(layer) + 1,
                        where=f" on the {LAYER_NAMES[layer]}")  # fmt: skip

        def change(db: sqlite3.Connection) -> None:
            row = db.execute(
                f"SELECT {', '.join(_QOS_COLUMNS)} FROM qos_layers WHERE port_id = ? AND layer = ?",
                (request.port_id, layer),
            ).fetchone()
            prior = None if row is None else json.dumps(dict(zip(_QOS_COLUMNS, row)))
            db.execute(
                "INSERT OR REPLACE INTO qos_undo (port_id, layer, prior) VALUES (?, ?, ?)",
                (request.port_id, layer, prior),
            )
            record_qos(db, request, "qos_layers", layer=layer)

        self.store.apply_once(request, call, change)

    def _restore_qos_layer(self, layer: str, request: PluginRequest) -> None:
        """Undo of a QoS step: the layer gets back what it held before (nothing, if it held nothing)."""
        call = f"qbh_{layer}_restore_qos"
        self._sleep(LAYERS[layer])

        def change(db: sqlite3.Connection) -> None:
            undo = db.execute(
                "SELECT prior FROM qos_undo WHERE port_id = ? AND layer = ?", (request.port_id, layer)
            ).fetchone()
            if undo is None:
                return  # the step never ran: nothing to put back
            db.execute("DELETE FROM qos_layers WHERE port_id = ? AND layer = ?", (request.port_id, layer))
            if undo[0] is not None:
                prior = {"port_id": request.port_id, "layer": layer, **json.loads(undo[0])}
                db.execute(
                    f"INSERT INTO qos_layers ({', '.join(prior)}) VALUES ({', '.join('?' * len(prior))})",
                    tuple(prior.values()),
                )
            db.execute("DELETE FROM qos_undo WHERE port_id = ? AND layer = ?", (request.port_id, layer))

        self.store.apply_once(request, call, change)
