"""Operations: what the API accepts and a resource workflow applies, in the order accepted.

An operation is stored by the API (outbox) and delivered to the resource's workflow by signal;
`seq` orders the operations of one resource and `op_id` makes every plugin action idempotent.
"""

from dataclasses import dataclass, field
from enum import StrEnum

from netprov.qos import QosSpec


class OpKind(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    ATTACH = "attach"
    DETACH = "detach"
    DELETE = "delete"
    RETRY = "retry"
    # Put the port's effective QoS policy (Operation.qos) on it; rules [] clear it.
    SET_QOS = "set_qos"
    # A write the API accepted into its outbox and then withdrew (workflow engine unreachable):
    # delivered anyway so the workflow's sequence has no gap.
    VOID = "void"


class PluginAction(StrEnum):
    CREATE_NETWORK = "create_network"
    DELETE_NETWORK = "delete_network"
    CREATE_PORT = "create_port"
    UPDATE_PORT = "update_port"
    DELETE_PORT = "delete_port"
    PLUG_INTERFACE = "plug_interface"
    UNPLUG_INTERFACE = "unplug_interface"
    # Put `PluginRequest.qos` on the port (its full rule list; an empty list clears it).
    APPLY_QOS = "apply_qos"


@dataclass
class Operation:
    op_id: str
    seq: int
    kind: OpKind
    # Port admin state (create/update), interface id and host (attach).
    state: str | None = None
    iface_id: str | None = None
    host: str | None = None
    # DELETE of a network: the ports deleted with it, waited for before the network goes.
    port_ids: list[str] = field(default_factory=list)
    # RETRY: the network's name when the retry was accepted. A rename is applied at once in the database
    # only; a run that started before it would otherwise hand the plugin the old name.
    network_name: str | None = None
    # SET_QOS: the port's effective policy as accepted (rules [] clear it). CREATE and ATTACH carry it
    # too when a policy applies, so the APPLY_QOS after their plugin action uses what was accepted
    # with them. None in operations recorded before QoS existed.
    qos: QosSpec | None = None


@dataclass
class StepSpec:
    """One plugin call of an action; `host_bound` steps run on the agent of the resource's host."""

    name: str
    host_bound: bool = False
    undo: str | None = None


@dataclass
class PluginRequest:
    """Everything a plugin needs to apply one action for one request. `request_id` is unique per
    operation and action: a plugin that sees it twice must not apply the change twice."""

    plugin: str
    request_id: str
    tenant_id: str
    network_id: str
    network_name: str = ""
    port_id: str | None = None
    state: str | None = None
    iface_id: str | None = None
    host: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    # APPLY_QOS and qos_status: the port's effective QoS policy. None in every other request (and in
    # requests recorded before QoS existed).
    qos: QosSpec | None = None
