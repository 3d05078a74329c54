"""The fake plugin: no device, state in its own SQLite file, faults on demand.

Shipped and registered like the real plugins, for demos, tests and benchmarks. Knobs:
`NETPROV_FAKE_LATENCY_MS` (sleep per plugin call) and `NETPROV_FAKE_TRANSIENT_FAILURE_RATE` (chance
that an action fails with TransientPluginError before it is applied), in FakeSettings. Deterministic
faults come from the network's name (for APPLY_QOS: the policy's name), see `InjectedFaults`. Tests
read `ledger()` to prove an action was applied exactly once and `residue()` to prove a delete left
nothing behind.
"""

import random
import re
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from netprov.operations import PluginAction, PluginRequest
from netprov.settings import Settings
from netprov.status import NO_ATTACHMENT, AdminState, LinkStatus
from netprov.link_io import LinkReport
from netprov.qos import QosReport
from plugins.base import PermanentPluginError, Plugin, PluginError, TransientPluginError
from plugins.plugin_store import LedgerEntry, PluginStore
from plugins.qos_records import QOS_SCHEMA, read_qos, record_qos, recorded_report, spec_of

# Removals never fail permanently by name: a resource that failed must still be deletable, and a
# multi-step plugin's undo must be able to clean up after an injected failure.
REMOVALS = frozenset({PluginAction.DELETE_NETWORK, PluginAction.DELETE_PORT, PluginAction.UNPLUG_INTERFACE})

_FAULT_PREFIX = re.compile(r"(fail|flaky)(\d*)-")


@dataclass(frozen=True)
class InjectedFaults:
    """Faults a test orders through the network's name; prefixes combine ("flaky1-fail3-net").

    - `fail-` / `fail<K>-`: step K (default 1) of every provisioning call for the network fails with
      PermanentPluginError. Single-step calls are step 1. Removals and undo steps never fail this way.
    - `flaky<N>-`: every call fails with TransientPluginError the first N times it is made for one
      (request_id, call), then succeeds. Attempts are counted in the plugin's SQLite file, so the
      count survives a restarted worker and is shared by two workers.
    """

    fail_step: int | None = None
    flaky_times: int = 0

    @classmethod
    def from_name(cls, name: str) -> "InjectedFaults":
        fail_step, flaky_times, pos = None, 0, 0
        while match := _FAULT_PREFIX.match(name, pos):
            kind, digits = match.groups()
            if kind == "fail":
                fail_step = int(digits or 1)
            else:
                flaky_times = int(digits or 1)
            pos = match.end()
        return cls(fail_step, flaky_times)

    def raise_if_due(
        self,
        store: PluginStore,
        plugin: str,
        request: PluginRequest,
        call: str,
        *,
        step: int = 1,
        removal: bool = False,
        where: str = "",
        subject: str | None = None,
    ) -> None:
        """Raise the fault that `call` (step `step` of its action, done `where`) is due to fail with, if any.
        `subject` names what carries the faulty name (default: the request's network)."""
        subject = subject or f"network {request.network_name!r}"
        if not removal and self.fail_step == step:
            raise PermanentPluginError(f"{plugin} plugin refuses {subject}{where} (permanent fault injected by name)")
        if self.flaky_times:
            attempt = store.count_attempt(request.request_id, call)
            if attempt <= self.flaky_times:
                raise TransientPluginError(
                    f"{plugin} plugin: transient fault {attempt} of {self.flaky_times} injected by name"
                    f" for {subject}"
                )


def raise_qos_fault(
    store: PluginStore, plugin: str, request: PluginRequest, call: str, *, step: int = 1, where: str = ""
) -> None:
    """QoS faults come from the policy's name (`request.qos.policy_name`), as InjectedFaults says.
    Clearing (no rules) never fails permanently: a refused policy must still be removable."""
    spec = spec_of(request)
    InjectedFaults.from_name(spec.policy_name).raise_if_due(
        store, plugin, request, call, step=step, removal=not spec.rules, where=where,
        subject=f"QoS policy {spec.policy_name!r}",
    )  # fmt: skip


_SCHEMA = QOS_SCHEMA + """
CREATE TABLE IF NOT EXISTS networks (
    network_id TEXT PRIMARY KEY,
    name       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ports (
    port_id    TEXT PRIMARY KEY,
    network_id TEXT NOT NULL,
    state      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS interfaces (
    port_id    TEXT PRIMARY KEY,
    network_id TEXT NOT NULL,
    iface_id   TEXT NOT NULL,
    host       TEXT
);
"""


class FakeSettings(BaseSettings):
    """The fake plugin's own settings, from the environment (`NETPROV_FAKE_*`)."""

    model_config = SettingsConfigDict(env_prefix="NETPROV_FAKE_", extra="ignore")

    latency_ms: int = Field(0, ge=0)
    transient_failure_rate: float = Field(0.0, ge=0.0, le=1.0)


class FakePlugin(Plugin):
    """Every action is idempotent twice over: a request_id already in the ledger is not applied
    again, and a change already in place (under another request_id) is accepted as done.
    The fake does not check that a port's network exists: it records what it is told."""

    name = "fake"

    def __init__(self, settings: Settings, options: FakeSettings | None = None) -> None:
        super().__init__(settings)
        self.options = options or FakeSettings(**settings.plugin_settings.get(self.name, {}))
        self.store = PluginStore(settings, self.name, _SCHEMA)
        self._random = random.Random()

    def create_network(self, request: PluginRequest) -> dict[str, str]:
        return self._apply(PluginAction.CREATE_NETWORK, request) or {}

    def delete_network(self, request: PluginRequest) -> None:
        self._apply(PluginAction.DELETE_NETWORK, request)

    def create_port(self, request: PluginRequest) -> None:
        self._apply(PluginAction.CREATE_PORT, request)

    def update_port(self, request: PluginRequest) -> None:
        self._apply(PluginAction.UPDATE_PORT, request)

    def delete_port(self, request: PluginRequest) -> None:
        self._apply(PluginAction.DELETE_PORT, request)

    def plug_interface(self, request: PluginRequest) -> None:
        self._apply(PluginAction.PLUG_INTERFACE, request)

    def unplug_interface(self, request: PluginRequest) -> None:
        self._apply(PluginAction.UNPLUG_INTERFACE, request)

    def apply_qos(self, request: PluginRequest) -> None:
        """Record `request.qos` for the port (with the interface it is applied to); no rules delete
        the record. Faults by the policy's name (`fail-`, `flaky<N>-`), not the network's."""
        self._apply(PluginAction.APPLY_QOS, request)

    def qos_status(self, request: PluginRequest) -> QosReport:
        return self.qos_status_many([request])[0]

    def qos_status_many(self, requests: list[PluginRequest]) -> list[QosReport]:
        """What was recorded is what is enforced (`qos_records.recorded_report`), one read transaction."""
        self._sleep()
        with self.store.transaction(write=False) as db:
            return [recorded_report(self.name, r, read_qos(db, r.port_id)) for r in requests]

    # Batches: one device session (one latency, one SQLite transaction) for a whole chunk.
    bulk = True

    def apply_many(self, call: str, requests: list[PluginRequest]) -> list[dict[str, str] | PluginError]:
        """Apply `call` for every request in one transaction; per request exactly as the single
        call would (same faults, same ledger), and a failing request leaves the others applied."""
        action = PluginAction(call)
        self._sleep()
        results: list[dict[str, str] | PluginError | None] = [None] * len(requests)
        admitted = []
        for index, request in enumerate(requests):
            try:
                self._admit(action, request)
            except PluginError as error:
                results[index] = error
                continue
            admitted.append(index)
        outcomes = self.store.apply_many_once([(requests[i], action, self._change(action, requests[i])) for i in admitted])
        for index, outcome in zip(admitted, outcomes):
            if isinstance(outcome, Exception) and not isinstance(outcome, PluginError):
                raise outcome
            results[index] = outcome if isinstance(outcome, PluginError) else outcome or {}
        return results  # type: ignore[return-value]

    def link_status_many(self, requests: list[PluginRequest]) -> list[LinkReport]:
        """`link_status` of many ports from one read transaction."""
        self._sleep()
        with self.store.transaction(write=False) as db:
            return [self._link(db, request) for request in requests]

    def link_status(self, request: PluginRequest) -> LinkReport:
        """UP when the network and port exist, an interface is plugged and the port is admin ACTIVE;
        otherwise DOWN with the first reason of `link_report`. No injected faults: it is a query."""
        self._sleep()
        with self.store.transaction(write=False) as db:
            return self._link(db, request)

    @staticmethod
    def _link(db: sqlite3.Connection, request: PluginRequest) -> LinkReport:
        network = db.execute("SELECT 1 FROM networks WHERE network_id = ?", (request.network_id,)).fetchone()
        port = db.execute("SELECT state FROM ports WHERE port_id = ?", (request.port_id,)).fetchone()
        iface = db.execute("SELECT 1 FROM interfaces WHERE port_id = ?", (request.port_id,)).fetchone()
        return link_report(network is not None, port[0] if port else None, iface is not None)

    def ledger(self) -> list[LedgerEntry]:
        """Every action applied, oldest first: one entry per (request_id, action)."""
        return self.store.ledger()

    def residue(self) -> dict[str, int]:
        """How many networks, ports and plugged interfaces are still present."""
        return self.store.count_rows({"networks": "networks", "ports": "ports", "interfaces": "interfaces"})

    def _change(self, action: PluginAction, request: PluginRequest) -> Callable[[sqlite3.Connection], dict[str, str] | None]:
        """What applying `action` for `request` does to the device's tables."""

        def create_network(db: sqlite3.Connection) -> dict[str, str]:
            db.execute(
                "INSERT OR IGNORE INTO networks (network_id, name) VALUES (?, ?)",
                (request.network_id, request.network_name),
            )
            return {}

        def delete_network(db: sqlite3.Connection) -> None:
            for table in ("qos", "interfaces", "ports", "networks"):
                db.execute(f"DELETE FROM {table} WHERE network_id = ?", (request.network_id,))

        def set_port_state(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO ports (port_id, network_id, state) VALUES (?, ?, ?)"
                " ON CONFLICT (port_id) DO UPDATE SET state = COALESCE(?, state)",
                (request.port_id, request.network_id, request.state or AdminState.DOWN, request.state),
            )

        def delete_port(db: sqlite3.Connection) -> None:
            for table in ("qos", "interfaces", "ports"):
                db.execute(f"DELETE FROM {table} WHERE port_id = ?", (request.port_id,))

        def plug_interface(db: sqlite3.Connection) -> None:
            # One attachment per port: plugging replaces whatever the port had.
            db.execute(
                "INSERT OR REPLACE INTO interfaces (port_id, network_id, iface_id, host) VALUES (?, ?, ?, ?)",
                (request.port_id, request.network_id, request.iface_id, request.host),
            )

        def unplug_interface(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM interfaces WHERE port_id = ?", (request.port_id,))

        def apply_qos(db: sqlite3.Connection) -> None:
            record_qos(db, request)

        return {
            PluginAction.CREATE_NETWORK: create_network,
            PluginAction.DELETE_NETWORK: delete_network,
            PluginAction.CREATE_PORT: set_port_state,
            PluginAction.UPDATE_PORT: set_port_state,
            PluginAction.DELETE_PORT: delete_port,
            PluginAction.PLUG_INTERFACE: plug_interface,
            PluginAction.UNPLUG_INTERFACE: unplug_interface,
            PluginAction.APPLY_QOS: apply_qos,
        }[action]

    def _apply(self, action: PluginAction, request: PluginRequest) -> dict[str, str] | None:
        self._sleep()
        self._admit(action, request)
        return self.store.apply_once(request, action, self._change(action, request))

    def _admit(self, action: PluginAction, request: PluginRequest) -> None:
        """Raise the fault, injected by name or at random, that this call is due to fail with."""
        if action == PluginAction.APPLY_QOS:
            raise_qos_fault(self.store, self.name, request, action)
        else:
            InjectedFaults.from_name(request.network_name).raise_if_due(
                self.store, self.name, request, action, removal=action in REMOVALS
            )
        if self._random.random() < self.options.transient_failure_rate:
            raise TransientPluginError(
                f"fake plugin: random transient failure of {action} (fake_transient_failure_rate"
                f" {self.options.transient_failure_rate})"
            )

    def _sleep(self) -> None:
        if self.options.latency_ms:
            time.sleep(self.options.latency_ms / 1000)


def link_report(network_known: bool, port_state: str | None, plugged: bool) -> LinkReport:
    """The link as a device sees it, from what it knows of the network, the port and the interface.
    "no attachment" comes before the admin state, as the API contract says for unattached ports."""
    if not network_known:
        return LinkReport(LinkStatus.DOWN, "network not AVAILABLE")
    if not plugged:
        return LinkReport(LinkStatus.DOWN, NO_ATTACHMENT)
    if port_state is None:
        return LinkReport(LinkStatus.DOWN, "port not provisioned")
    if port_state != AdminState.ACTIVE:
        return LinkReport(LinkStatus.DOWN, "port admin DOWN")
    return LinkReport(LinkStatus.UP)
