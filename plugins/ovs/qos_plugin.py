"""QoS of the ovs plugin: what is recorded where, and when it is enforced and read back.

APPLY_QOS is two steps (`OvsQos.qos_steps`):

1. `record_qos`, central: records the port's policy in the plugin's file (table `qos`,
   plugins/qos_records.py). A port without an interface is then done: nothing to enforce anywhere,
   and its read-back is that record (AVAILABLE once recorded).
2. `enforce_qos`, host-bound (the agent of `request.host`; run centrally as a no-op when the port
   has no interface): records the interface's policy in the host's file
   (`<data_dir>/ovs/H/plugins/qos.db`, table `iface_qos`, with the interface's *slot*: its meter id
   and flow cookie) and enforces it on the switch (plugins/ovs/qos.py) if the interface exists.
   It does not exist yet: still a success; `reconcile` enforces it once it appears, and the
   read-back says PROVISIONING "interface-id X not found on host H" until then.

`apply_qos` called whole (batches call an action of a multi-step plugin whole, on the host's
agent when a step is host-bound) runs both steps in order.

`reconcile_qos(host)` (part of `OvsPlugin.reconcile`, run by the agent periodically) puts back
every lost or changed meter, flow and htb (after an ovs-vswitchd restart: all meters and flows)
and removes netprov QoS that belongs to no recorded interface. Unplugging an interface removes its
QoS from the host (`_clear_iface_qos`); deleting a port forgets its central record.

A mixin of OvsPlugin: it uses the plugin's `switch()`, `_attachment()`, `data_dir`, `settings`
and `store` (whose file holds the central `qos` table).
"""

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import TypeVar

from netprov.operations import PluginRequest, StepSpec
from netprov.qos import QosDrift, QosReport, QosRule, same_rules
from netprov.status import QosStatus
from plugins.ovs.host_layout import host_files, validate_host, vswitchd_running
from plugins.ovs.ofctl import OpenFlowBridge
from plugins.ovs.qos import HostQos, converge, enforcement, problem_reason, read_host, sweep
from plugins.ovs.switch import OvsdbUnavailableError
from plugins.plugin_store import LedgerEntry, PluginStore
from plugins.qos_records import read_qos, recorded_report, rules_json, rules_of, spec_of
from plugins.qos_records import record_qos as write_record

RECORD_QOS = "record_qos"
ENFORCE_QOS = "enforce_qos"
T = TypeVar("T")

_HOST_QOS_SCHEMA = """
CREATE TABLE IF NOT EXISTS iface_qos (
    iface_id    TEXT PRIMARY KEY,
    port_id     TEXT,
    policy_name TEXT NOT NULL,
    rules       TEXT NOT NULL,
    slot        INTEGER NOT NULL UNIQUE,
    updated_at  TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class IfaceQos:
    """What host H's agent wants enforced on one interface."""

    iface_id: str
    port_id: str | None
    policy_name: str
    rules: list[QosRule]
    slot: int


class OvsQos:
    """The QoS half of OvsPlugin (see the module docstring)."""

    # Guards the creation of the two maps below and of their entries, for every instance.
    _qos_guard = threading.Lock()

    @cached_property
    def _qos_stores(self) -> dict[str, PluginStore]:
        return {}

    @cached_property
    def _qos_locks(self) -> dict[str, threading.Lock]:
        return {}

    @staticmethod
    def qos_steps() -> list[StepSpec]:
        return [StepSpec(name=RECORD_QOS), StepSpec(name=ENFORCE_QOS, host_bound=True)]

    # --- steps -----------------------------------------------------------------------------------

    def apply_qos(self, request: PluginRequest) -> None:
        """The whole action: both steps, in order."""
        self.record_qos(request)
        self.enforce_qos(request)

    def record_qos(self, request: PluginRequest) -> None:
        """Step 1, central: record the port's policy (no rules: forget it)."""
        self.store.apply_once(request, RECORD_QOS, lambda db: write_record(db, request))

    def enforce_qos(self, request: PluginRequest) -> None:
        """Step 2, on the agent of `request.host`: record the interface's policy and enforce it if
        the interface is on the switch. No interface: nothing to do (the step then runs centrally)."""
        if not request.iface_id:
            return
        host, iface_id = self._attachment(request)
        spec = spec_of(request)

        def change(db: sqlite3.Connection) -> None:
            if not spec.rules:
                db.execute("DELETE FROM iface_qos WHERE iface_id = ? AND (port_id IS ? OR ? IS NULL)",
                           (iface_id, request.port_id, request.port_id))  # fmt: skip
                return
            row = db.execute("SELECT slot FROM iface_qos WHERE iface_id = ?", (iface_id,)).fetchone()
            slot = row[0] if row else _lowest_free(db)
            db.execute(
                "INSERT OR REPLACE INTO iface_qos (iface_id, port_id, policy_name, rules, slot, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (iface_id, request.port_id, spec.policy_name, rules_json(spec.rules), slot, _now()),
            )

        self._qos_store(host).apply_once(request, ENFORCE_QOS, change)
        # Clearing forgets the interface's slot, so only a sweep of the host finds its flows and meter.
        self._with_host(host, lambda: self._enforce_qos(host, {iface_id} if spec.rules else None))

    # --- read-back -------------------------------------------------------------------------------

    def qos_status(self, request: PluginRequest) -> QosReport:
        """See Plugin.qos_status. For a port with an interface it reads host `request.host`'s switch
        (run it on that host's agent); without one, the central record."""
        return self.qos_status_many([request])[0]

    def qos_status_many(self, requests: list[PluginRequest]) -> list[QosReport]:
        """`qos_status` of many ports, reading each host's switch once."""
        states: dict[str, HostQos | str] = {}
        records: dict[str, dict[str, IfaceQos]] = {}
        reports = []
        for request in requests:
            if not request.iface_id:
                with self.store.transaction(write=False) as db:
                    reports.append(recorded_report(self.name, request, read_qos(db, request.port_id)))
                continue
            host, iface_id = self._attachment(request)
            if host not in states:
                records[host] = {record.iface_id: record for record in self.iface_qos_all(host)}
                states[host] = self._read_or_reason(host)
            reports.append(self._iface_report(request, host, iface_id, records[host].get(iface_id), states[host]))
        return reports

    def _iface_report(
        self, request: PluginRequest, host: str, iface_id: str, record: IfaceQos | None, state: "HostQos | str"
    ) -> QosReport:
        if record is not None and record.port_id not in (None, request.port_id):
            record = None  # the interface's policy is another port's
        recorded = record.rules if record else []
        expected = request.qos.rules if request.qos is not None else recorded
        if not same_rules(expected, recorded):
            name = request.qos.policy_name if request.qos and request.qos.rules else (record.policy_name if record else "")
            return QosReport(QosStatus.PROVISIONING, f"QoS policy {name!r} not applied yet on host {host}")
        if record is None:
            return QosReport(QosStatus.AVAILABLE)
        if isinstance(state, str):
            return QosReport(QosStatus.ERROR, state)
        port = state.ports.get(iface_id)
        if port is None:
            return QosReport(QosStatus.PROVISIONING, f"interface-id {iface_id} not found on host {host}")
        if not port.ofport or port.ofport < 1:
            return QosReport(QosStatus.PROVISIONING, f"interface-id {iface_id} has no OpenFlow port on host {host}")
        reason = problem_reason(enforcement(request.port_id or iface_id, record.rules, record.slot, port.ofport), state, port)
        return QosReport(QosStatus.ERROR, reason) if reason else QosReport(QosStatus.AVAILABLE)

    # --- repair ----------------------------------------------------------------------------------

    def reconcile_qos(self, host: str) -> list[QosDrift]:
        """Enforce every recorded interface policy of host H that drifted, and remove netprov QoS
        of no recorded interface. An unreachable switch raises (the agent reports it)."""
        host = validate_host(host)
        if not vswitchd_running(host, self.data_dir):
            return []  # nothing to converge with; the read-back says so, and the next run repairs
        return self._with_host(host, lambda: self._enforce_qos(host, None))

    def _enforce_qos(self, host: str, only: set[str] | None) -> list[QosDrift]:
        """Converge the interfaces `only` (None: all, and sweep strays) on host H. Caller holds the host's lock."""
        switch, bridge = self.switch(host), OpenFlowBridge(host, self.data_dir)
        state = read_host(switch, bridge)
        records = {r.iface_id: r for r in self.iface_qos_all(host)}
        drifts = []
        targets = records.keys() if only is None else only
        for iface_id in sorted(targets):
            port = state.ports.get(iface_id)
            record = records.get(iface_id)
            if record is None or port is None or not port.ofport or port.ofport < 1:
                continue  # no policy (the sweep removes what it had), or not on the switch yet
            want = enforcement(record.port_id or iface_id, record.rules, record.slot, port.ofport)
            found = problem_reason(want, state, port)  # what a read-back now would say
            drifts += [QosDrift(host, iface_id, change, found) for change in converge(switch, bridge, want, state, port)]
        if only is None:
            slots = {r.slot for r in records.values()}
            htb_ifaces = {r.iface_id for r in records.values()}
            drifts += [QosDrift(host, None, change) for change in sweep(switch, bridge, state, slots, htb_ifaces)]
        return drifts

    def _clear_iface_qos(self, host: str, iface_id: str, port_id: str | None) -> None:
        """On unplug (on the agent): forget the interface's policy and take it off the switch."""

        def clear() -> None:
            with self._qos_store(host).transaction() as db:
                db.execute("DELETE FROM iface_qos WHERE iface_id = ? AND (port_id IS ? OR ? IS NULL)",
                           (iface_id, port_id, port_id))  # fmt: skip
            if vswitchd_running(host, self.data_dir):
                self._enforce_qos(host, None)

        self._with_host(host, clear)

    # --- records ---------------------------------------------------------------------------------

    def qos_ledger(self, host: str) -> list[LedgerEntry]:
        """Every enforce_qos applied on host H, oldest first (record_qos: the central `ledger()`)."""
        return self._qos_store(host).ledger()

    def iface_qos(self, host: str, iface_id: str) -> IfaceQos | None:
        return next((r for r in self.iface_qos_all(host) if r.iface_id == iface_id), None)

    def iface_qos_all(self, host: str) -> list[IfaceQos]:
        with self._qos_store(host).transaction(write=False) as db:
            rows = db.execute(
                "SELECT iface_id, port_id, policy_name, rules, slot FROM iface_qos ORDER BY iface_id"
            ).fetchall()
        return [IfaceQos(iface, port, name, rules_of(rules), slot) for iface, port, name, rules, slot in rows]

    def _read_or_reason(self, host: str) -> "HostQos | str":
        """The host's QoS state, or why it cannot be read (an ERROR reason)."""
        down = f"ovs-vswitchd not running on host {host}"
        if not vswitchd_running(host, self.data_dir):
            return down
        try:
            return read_host(self.switch(host), OpenFlowBridge(host, self.data_dir))
        except OvsdbUnavailableError:
            # vswitchd may have died between the check and the read.
            return f"Open vSwitch on host {host} not reachable" if vswitchd_running(host, self.data_dir) else down

    def _qos_store(self, host: str) -> PluginStore:
        with self._qos_guard:
            if host not in self._qos_stores:
                host_settings = self.settings.model_copy(update={"data_dir": host_files(host, self.data_dir).dir})
                self._qos_stores[host] = PluginStore(host_settings, "qos", _HOST_QOS_SCHEMA)
            return self._qos_stores[host]

    def _with_host(self, host: str, work: Callable[[], T]) -> T:
        """Run `work` holding host H's QoS lock: an apply and a reconcile must not interleave their
        read-compare-write of the same switch."""
        with self._qos_guard:
            lock = self._qos_locks.setdefault(host, threading.Lock())
        with lock:
            return work()


def _lowest_free(db: sqlite3.Connection) -> int:
    used = {slot for (slot,) in db.execute("SELECT slot FROM iface_qos")}
    return next(slot for slot in range(1, len(used) + 2) if slot not in used)


def _now() -> str:
    return datetime.now(UTC).isoformat()
