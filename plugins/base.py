"""The plugin contract.

Exceptions::

    PluginError
    ├── TransientPluginError   retried with backoff within the plugin's budget
    └── PermanentPluginError   never retried; the resource goes to ERROR with the message

Every action must be idempotent: called again with the same `request.request_id` (a retry, or a
replay after a crash) it must not apply the change a second time, and it must succeed when the
change is already in place. Deleting or unplugging something that is not there succeeds.
"""

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import ClassVar

from netprov.link_io import LinkReport
from netprov.operations import PluginAction, PluginRequest, StepSpec
from netprov.qos import QosReport
from netprov.settings import Settings
from netprov.status import LinkStatus, QosStatus


class PluginError(Exception):
    """A plugin call failed; `str(error)` is one sentence an operator can act on."""

    transient: ClassVar[bool] = False


class TransientPluginError(PluginError):
    transient = True


class PermanentPluginError(PluginError):
    transient = False


class Plugin(ABC):
    """A switch or hypervisor driver, loaded by name from the `netprov.plugins` entry points."""

    name: ClassVar[str]
    # Retry budget for transient failures; None takes the server setting.
    max_attempts: ClassVar[int | None] = None

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @abstractmethod
    def create_network(self, request: PluginRequest) -> dict[str, str]:
        """Provision the network; return plugin data to show on it (e.g. {"vlan": "101"})."""

    @abstractmethod
    def delete_network(self, request: PluginRequest) -> None:
        """Remove every trace of the network."""

    def create_port(self, request: PluginRequest) -> None:
        """Provision a port with admin state `request.state`."""

    def update_port(self, request: PluginRequest) -> None:
        """Apply the port's admin state `request.state`."""

    def delete_port(self, request: PluginRequest) -> None:
        """Remove every trace of the port."""

    @abstractmethod
    def plug_interface(self, request: PluginRequest) -> None:
        """Put interface `request.iface_id` on `request.host` into the port's network."""

    @abstractmethod
    def unplug_interface(self, request: PluginRequest) -> None:
        """Take the interface out of the network."""

    def link_status(self, request: PluginRequest) -> LinkReport:
        """What the device reports for the port's interface, not what the API believes."""
        return LinkReport(LinkStatus.UNKNOWN, f"plugin {self.name} does not report link status")

    def apply_qos(self, request: PluginRequest) -> None:
        """APPLY_QOS: make the port enforce `request.qos.rules` (all of them; `[]` clears the port,
        as does `request.qos` None) on its interface `request.iface_id` at `request.host`, if it has
        one. Idempotent by request_id like every action, and by state: applying the rules the port
        already has changes nothing. A plugin without QoS refuses rules permanently and accepts a
        clear (there is nothing to remove).

        Plugins do not carry a policy over by themselves when an interface is plugged: the caller
        runs APPLY_QOS after every PLUG_INTERFACE of a port that has a policy. UNPLUG_INTERFACE and
        DELETE_PORT remove the port's QoS from the device with it. Where it runs is the plugin's
        plan, as for every action: `steps(APPLY_QOS)` (ovs: a central step, then a host-bound one)."""
        if request.qos is not None and request.qos.rules:
            raise PermanentPluginError(f"plugin {self.name} does not support QoS policies")

    def qos_status(self, request: PluginRequest) -> QosReport:
        """Read the device back (not the plugin's records) for the port of `request`: AVAILABLE when
        it enforces exactly `request.qos.rules` (or, when `request.qos` is None, what the plugin last
        applied); PROVISIONING when it does not yet but nothing is wrong (not applied yet, the
        interface not on its host yet); ERROR when it enforces something else (lost, changed by
        hand) or cannot be read. A query: no injected faults, nothing changed."""
        if request.qos is None or not request.qos.rules:
            return QosReport(QosStatus.AVAILABLE)
        return QosReport(QosStatus.ERROR, f"plugin {self.name} does not support QoS policies")

    def qos_status_many(self, requests: list[PluginRequest]) -> list[QosReport]:
        """`qos_status` of many ports at once (the link monitor's host check); the default asks one by one."""
        return [self.qos_status(request) for request in requests]

    def reconcile(self, host: str) -> list[object]:
        """Make host `host`'s device match what was provisioned (e.g. put back a VLAN tag someone
        removed by hand) and return what was changed, one printable item each. Runs on the host's
        agent, periodically. Plugins whose devices cannot drift keep this default: nothing to do."""
        return []

    def watch(self, host: str, changed: Callable[[], None]) -> Callable[[], None] | None:
        """Start watching host `host`'s device and call `changed()` (from any thread) soon after it
        changes, so the agent checks it at once instead of at the next periodic check. Returns a
        function that stops the watch, or None when the plugin cannot watch (the default: the
        periodic check alone then finds the change)."""
        return None

    @classmethod
    def steps(cls, action: PluginAction) -> list[StepSpec]:
        """The plugin calls that make up `action`, in order. One step by default; a multi-step
        plugin names its steps and their undo steps (run in reverse when a later step fails)."""
        return [StepSpec(name=action.value, host_bound=cls.host_bound(action))]

    @classmethod
    def host_bound(cls, action: PluginAction) -> bool:
        """True when `action` must run on the agent of the interface's host."""
        return False

    def apply_step(self, step: str, request: PluginRequest) -> dict[str, str] | None:
        """Run one step named by `steps()`."""
        return getattr(self, step)(request)

    # True when `apply_many` is a real bulk path (one device session for the whole list); batches
    # then call it once per chunk. Otherwise they call it on slices of a chunk from several threads.
    bulk: ClassVar[bool] = False

    def apply_many(self, call: str, requests: list[PluginRequest]) -> list[dict[str, str] | PluginError]:
        """Batches: run `call` (an action or a step name) for every request; one result per request,
        in order: the call's data, or the PluginError it raised. The same idempotency contract holds
        per request. The default calls them one by one; a plugin whose device takes many changes at
        once overrides it (and sets `bulk`)."""
        results: list[dict[str, str] | PluginError] = []
        for request in requests:
            try:
                results.append(self.apply_step(call, request) or {})
            except PluginError as error:
                results.append(error)
        return results

    def link_status_many(self, requests: list[PluginRequest]) -> list[LinkReport]:
        """`link_status` of many ports at once; the default asks one by one."""
        return [self.link_status(request) for request in requests]
