"""A port's `conditions`, in the manner of Kubernetes: which part stands between the port and a
working link.

Three conditions, always in this order:

- `Provisioned`: every accepted operation is applied and nothing failed (port and attachment);
- `AgentAlive`: the agent of the attachment's host polls its task queue (`True`/`NotRequired` for
  plugins that run nothing on hosts, `Unknown`/`NoAttachment` without an attachment);
- `LinkUp`: the link status, with a CamelCase reason for `link_status_string`.

`status` is "True", "False" or "Unknown". `last_transition_time` changes only when `status` does;
`reason` and `message` may change without a transition. Conditions are derived from the port's row
(and the agent's liveness, which only the link monitor and agents know) by `port_conditions`,
a pure function: store/projection.py calls it whenever a row's inputs change.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from netprov.status import NO_ATTACHMENT, AttachmentStatus, LinkStatus, PortStatus


class ConditionType(StrEnum):
    PROVISIONED = "Provisioned"
    AGENT_ALIVE = "AgentAlive"
    LINK_UP = "LinkUp"


class AgentState(StrEnum):
    """What is known of the agent serving a port's attachment host."""

    ALIVE = "alive"
    DEAD = "dead"
    # The plugin runs nothing on hosts: no agent is involved.
    NOT_REQUIRED = "not-required"


TRUE, FALSE, UNKNOWN = "True", "False", "Unknown"


def agent_not_running(host: str) -> str:
    """The link_status_string of a port whose host's agent does not poll (the contract's words)."""
    return f"agent on host {host} not running"


def being_plugged(iface_id: str, host: str) -> str:
    """What an accepted attachment waits on once its network is provisioned (link_status_string
    and the attachment's status_reason until the plug is applied)."""
    return f"attachment {iface_id} on host {host} is being plugged"


def waiting_for_network(network_id: str) -> str:
    """What an accepted attachment waits on while its network is still provisioning."""
    return f"waiting for network {network_id} to be provisioned"


# Link reasons as plugins and workflows word them -> the LinkUp condition's reason. First match wins.
_LINK_REASONS: tuple[tuple[str, str], ...] = (
    (NO_ATTACHMENT, "NoAttachment"),
    ("is being plugged", "NotPlugged"),
    ("waiting for network", "NetworkNotAvailable"),
    ("agent on host", "AgentNotRunning"),
    ("port admin down", "AdminDown"),
    ("network not available", "NetworkNotAvailable"),
    ("interface-id", "InterfaceNotFound"),
    ("ovs-vswitchd not running", "SwitchNotRunning"),
    ("ovs-vswitchd on host", "SwitchNotRunning"),
    ("ovsdb-server on host", "SwitchNotRunning"),
    ("not reachable", "SwitchUnreachable"),
    ("switch on host", "SwitchNotForwarding"),  # after "not reachable": "Open vSwitch on host" contains it
    ("datapath", "DatapathNotForwarding"),
    ("vlan tag", "VlanMismatch"),
    ("isolated", "PortIsolated"),
    ("link down", "LinkDown"),
    ("does not report", "NotReported"),
    ("not plugged", "NotPlugged"),
    ("not provisioned", "NotProvisioned"),
    ("failed", "ProvisioningFailed"),
    ("cancelled", "ProvisioningFailed"),
)


def link_reason(link_status: str, link_status_string: str | None) -> str:
    """The LinkUp reason for a link status and its sentence."""
    if link_status == LinkStatus.UP:
        return "LinkUp"
    text = (link_status_string or "").lower()
    for needle, reason in _LINK_REASONS:
        if needle in text:
            return reason
    return "LinkUnknown" if link_status == LinkStatus.UNKNOWN else "LinkDown"


@dataclass(frozen=True)
class PortFacts:
    """The inputs of a port's conditions (its row, and whether it still has operations pending)."""

    status: str
    status_reason: str | None
    pending: bool
    progress: str | None
    attachment_id: str | None
    attachment_host: str | None
    attachment_status: str | None
    attachment_reason: str | None
    link_status: str
    link_status_string: str | None


def port_conditions(
    previous: Sequence[dict[str, Any]] | None, facts: PortFacts, agent: AgentState | None, now: datetime
) -> list[dict[str, Any]]:
    """The port's conditions now. `agent` None: liveness not observed by this write, the previous
    AgentAlive condition stands (or Unknown/NotChecked when there is none for this attachment)."""
    before = {c.get("type"): c for c in previous or []}
    new = [
        _provisioned(facts),
        _agent_alive(facts, agent, before.get(ConditionType.AGENT_ALIVE)),
        _link_up(facts),
    ]
    result = []
    for type_, (status, reason, message) in zip(ConditionType, new):
        old = before.get(type_.value)
        changed = old is None or old.get("status") != status or not old.get("last_transition_time")
        result.append(
            {
                "type": type_.value,
                "status": status,
                "reason": reason,
                "message": message,
                "last_transition_time": now.isoformat() if changed else old["last_transition_time"],
            }
        )
    return result


def _provisioned(f: PortFacts) -> tuple[str, str, str | None]:
    if f.pending:
        return FALSE, "Provisioning", f.progress or "operations accepted and not yet applied"
    if f.status == PortStatus.ERROR:
        return FALSE, "Failed", f.status_reason
    if f.status == PortStatus.PROVISIONING:
        return FALSE, "Provisioning", f.progress or f.status_reason
    if f.attachment_id is not None and f.attachment_status == AttachmentStatus.ERROR:
        return FALSE, "AttachmentFailed", f.attachment_reason
    if f.attachment_id is not None and f.attachment_status != AttachmentStatus.AVAILABLE:
        return FALSE, "Provisioning", f"plugging interface {f.attachment_id} on host {f.attachment_host}"
    if f.attachment_id is not None:
        return TRUE, "Provisioned", f"port {f.status}, interface {f.attachment_id} plugged on host {f.attachment_host}"
    return TRUE, "Provisioned", f"port {f.status}, no attachment"


def _agent_alive(
    f: PortFacts, agent: AgentState | None, old: dict[str, Any] | None
) -> tuple[str, str, str | None]:
    if f.attachment_id is None:
        return UNKNOWN, "NoAttachment", "no attachment: no host agent involved"
    host = f.attachment_host or ""
    if agent == AgentState.NOT_REQUIRED:
        return TRUE, "NotRequired", "the port's plugin runs nothing on hosts"
    if agent == AgentState.ALIVE:
        return TRUE, "AgentPolling", f"agent on host {host} is polling its task queue"
    if agent == AgentState.DEAD:
        return FALSE, "AgentNotRunning", agent_not_running(host)
    if old is not None and old.get("reason") != "NoAttachment":
        return old.get("status", UNKNOWN), old.get("reason", "NotChecked"), old.get("message")
    return UNKNOWN, "NotChecked", f"agent on host {host} not checked yet"


def _link_up(f: PortFacts) -> tuple[str, str, str | None]:
    status = {LinkStatus.UP.value: TRUE, LinkStatus.DOWN.value: FALSE}.get(f.link_status, UNKNOWN)
    message = f.link_status_string
    if f.link_status == LinkStatus.UP:
        message = f"interface {f.attachment_id} on host {f.attachment_host} sees its network"
    return status, link_reason(f.link_status, f.link_status_string), message


def while_pending(conditions: Sequence[dict[str, Any]], message: str | None, since: datetime) -> list[dict[str, Any]]:
    """The conditions to show for a port whose accepted operations are not all applied yet: the
    stored ones (written when the last operation was applied) with Provisioned False. The API
    renders a port this way, as it renders its status PROVISIONING, without writing on accept."""
    if since.tzinfo is None:  # read back from SQLite: UTC without a zone
        since = since.replace(tzinfo=UTC)
    shown = []
    for condition in conditions:
        if condition.get("type") == ConditionType.PROVISIONED and condition.get("status") != FALSE:
            condition = {**condition, "status": FALSE, "reason": "Provisioning", "message": message,
                         "last_transition_time": since.isoformat()}  # fmt: skip
        shown.append(condition)
    return shown
