"""QoS as the plugins record it: one row per port in the plugin's own SQLite file, what was applied
and to which interface. The simulated plugins (fake, ovs-sim, qbh-sim) keep nothing else; the ovs
plugin keeps this centrally and enforces on the hosts (plugins/ovs/qos_plugin.py).

The table (`QOS_SCHEMA`, added to each plugin's schema)::

    qos(port_id PK, network_id, policy_id, policy_name, rules JSON, iface_id, host)

A port without a row enforces nothing. `recorded_report` is the read-back of a plugin without a
device (or of a port without an interface): what was recorded is what is enforced; it is compared
with what the caller expects.
Faults by policy name: `plugins.fake.raise_qos_fault`.
"""

import json
import sqlite3

from netprov.operations import PluginRequest
from netprov.qos import QosRule, QosSpec, rule_from_dict, rule_to_dict, same_rules
from netprov.status import QosStatus
from netprov.qos import QosReport

QOS_SCHEMA = """
CREATE TABLE IF NOT EXISTS qos (
    port_id     TEXT PRIMARY KEY,
    network_id  TEXT NOT NULL,
    policy_id   TEXT,
    policy_name TEXT NOT NULL,
    rules       TEXT NOT NULL,
    iface_id    TEXT,
    host        TEXT
);
"""


def rules_json(rules: list[QosRule]) -> str:
    return json.dumps([rule_to_dict(rule) for rule in rules], sort_keys=True)


def rules_of(text: str) -> list[QosRule]:
    return [rule_from_dict(item) for item in json.loads(text)]


def spec_of(request: PluginRequest) -> QosSpec:
    """The QoS of the request; None means clear."""
    return request.qos if request.qos is not None else QosSpec()


def record_qos(db: sqlite3.Connection, request: PluginRequest, table: str = "qos", **key: str) -> None:
    """Write (or, for no rules, delete) the port's row in `table`; `key` adds key columns (qbh-sim's layer)."""
    spec = spec_of(request)
    where = {"port_id": request.port_id, **key}
    if not spec.rules:
        db.execute(f"DELETE FROM {table} WHERE " + " AND ".join(f"{c} = ?" for c in where), tuple(where.values()))
        return
    row = {
        **where,
        "network_id": request.network_id,
        "policy_id": spec.policy_id,
        "policy_name": spec.policy_name,
        "rules": rules_json(spec.rules),
        "iface_id": request.iface_id,
        "host": request.host,
    }
    columns = ", ".join(row)
    db.execute(f"INSERT OR REPLACE INTO {table} ({columns}) VALUES ({', '.join('?' * len(row))})", tuple(row.values()))


def read_qos(db: sqlite3.Connection, port_id: str | None) -> tuple[list[QosRule], str | None, str] | None:
    """(rules, iface_id, policy name) recorded for the port, or None."""
    row = db.execute("SELECT rules, iface_id, policy_name FROM qos WHERE port_id = ?", (port_id,)).fetchone()
    return None if row is None else (rules_of(row[0]), row[1], row[2])


def recorded_report(
    plugin: str, request: PluginRequest, recorded: tuple[list[QosRule], str | None, str] | None
) -> QosReport:
    """AVAILABLE when what was recorded for the port is what `request.qos` asks (when it is None:
    whatever was recorded), applied to the port's current interface `request.iface_id`;
    PROVISIONING otherwise, saying what is missing."""
    rules, iface_id, name = recorded if recorded is not None else ([], None, "")
    if request.qos is not None and not same_rules(rules, request.qos.rules):
        if not request.qos.rules:
            return QosReport(QosStatus.PROVISIONING, f"QoS policy {name!r} still applied on plugin {plugin}")
        return QosReport(
            QosStatus.PROVISIONING, f"QoS policy {request.qos.policy_name!r} not applied yet on plugin {plugin}"
        )
    if rules and request.iface_id and iface_id != request.iface_id:
        return QosReport(
            QosStatus.PROVISIONING, f"QoS not applied yet to interface {request.iface_id} on plugin {plugin}"
        )
    return QosReport(QosStatus.AVAILABLE)
