"""Inputs and results of the workflows and activities: the wire format between the API, the
workflows and the workers. Dataclasses with defaults, so fields can be added compatibly."""

from dataclasses import dataclass, field
from typing import Any

from netprov.operations import Operation, PluginRequest, StepSpec
from netprov.qos import QosSpec
from netprov.status import PROVISIONING


@dataclass
class PluginPlan:
    """How a resource's plugin is driven: its steps per action and its retry budget."""

    plugin: str
    steps: dict[str, list[StepSpec]]
    max_attempts: int = 6
    initial_backoff_ms: int = 200
    # Central steps as local activities (NETPROV_LOCAL_STEPS). False in inputs recorded before the setting
    # existed, so their runs replay with ordinary activities.
    local_steps: bool = False


@dataclass
class Projection:
    """A change to a resource's row. `final` marks the end of operation `seq`: it advances
    `applied_seq`, and a status written then yields to PROVISIONING while later operations
    are still queued. Non-final writes only touch a resource whose operation `seq` is unfinished."""

    resource_type: str
    resource_id: str
    seq: int
    fields: dict[str, Any] = field(default_factory=dict)
    final: bool = False
    # Evaluate the port's link status with the plugin in the same activity.
    evaluate_link: bool = False


@dataclass
class StepInput:
    request: PluginRequest
    step: StepSpec
    # Where the step stands in its action, for status_reason ("step 2 of 3: ...").
    index: int = 1
    total: int = 1
    resource_type: str = "network"
    resource_id: str = ""
    seq: int = 0
    max_attempts: int = 6
    on_success: Projection | None = None


@dataclass
class StepResult:
    data: dict[str, str] = field(default_factory=dict)


@dataclass
class LinkInput:
    request: PluginRequest
    port_id: str
    seq: int


@dataclass
class NetworkSnapshot:
    exists: bool
    status: str | None = None
    status_reason: str | None = None
    applied_seq: int = 0
    # What the network's plugin returned on create (e.g. {"vlan": "101"}).
    plugin_data: dict[str, Any] = field(default_factory=dict)


@dataclass
class NetworkSettled:
    """Sent by a network's workflow to the ports waiting for it."""

    network_id: str
    status: str
    status_reason: str | None = None


@dataclass
class NetworkWorkflowInput:
    network_id: str
    tenant_id: str
    name: str
    plan: PluginPlan
    status: str = PROVISIONING.value
    status_reason: str | None = None
    applied_seq: int = 0
    # False where the server has no netprov search attributes (the time-skipping test server).
    search_attributes: bool = True
    # Carried over by continue-as-new.
    pending: list[Operation] = field(default_factory=list)
    watchers: list[str] = field(default_factory=list)


@dataclass
class Attachment:
    iface_id: str
    host: str
    status: str = PROVISIONING.value


@dataclass
class PortWorkflowInput:
    port_id: str
    tenant_id: str
    network_id: str
    network_name: str
    plan: PluginPlan
    state: str = "DOWN"
    status: str = PROVISIONING.value
    status_reason: str | None = None
    # True when the API saw the network AVAILABLE: no need to wait for it.
    network_ready: bool = False
    attachment: Attachment | None = None
    applied_seq: int = 0
    search_attributes: bool = True
    pending: list[Operation] = field(default_factory=list)
    # The network's plugin data (e.g. {"vlan": "101"}), passed to plugin calls as PluginRequest.extra,
    # so a host's agent needs nothing from the central plugin state.
    network_data: dict[str, str] = field(default_factory=dict)
    # The port's effective QoS policy as last accepted (workflows/port_qos.py), carried over by
    # continue-as-new; None in runs started by the API (their operations carry it) and before QoS.
    qos: QosSpec | None = None


@dataclass
class WaitApplied:
    """Argument of the resource workflows' `wait_applied` update."""

    seq: int
    timeout_s: float = 60.0
