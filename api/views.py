"""Rows rendered as the contract's resource bodies."""

from urllib.parse import quote

from netprov.conditions import while_pending
from netprov.naming import network_workflow_id, port_workflow_id
from netprov.resources import AttachmentBody, Links, NetworkBody, NetworkSummary, PortBody, PortSummary
from api.write_flow import Written
from netprov.qos_resources import QosPolicyBody, QosPolicyLinks, QosPolicySummary
from netprov.settings import Settings
from netprov.status import PROVISIONING
from store.effective import effective_qos, effective_status
from store.tables import NetworkRow, PortRow, QosPolicyRow


def network_path(tenant_id: str, network_id: str) -> str:
    # Percent-encoded: a tenant id may hold any character, a header (Location) only latin-1.
    return f"/v1.1/tenants/{quote(tenant_id, safe='')}/networks/{network_id}"


def port_path(tenant_id: str, network_id: str, port_id: str) -> str:
    return f"{network_path(tenant_id, network_id)}/ports/{port_id}"


def workflow_url(settings: Settings, workflow_id: str) -> str:
    """The Temporal UI page listing the runs of `workflow_id` (every operation is a run)."""
    query = quote(f'WorkflowId="{workflow_id}"')
    return f"{settings.temporal_ui_url.rstrip('/')}/namespaces/{settings.temporal_namespace}/workflows?query={query}"


def network_body(row: NetworkRow, settings: Settings) -> NetworkBody:
    status, reason = effective_status(row)
    return NetworkBody(
        id=row.id,
        name=row.name,
        status=status,
        status_reason=reason,
        plugin=row.plugin,
        plugin_data=row.plugin_data or {},
        qos_policy_id=row.qos_policy_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        links=Links(
            self=network_path(row.tenant_id, row.id), workflow=workflow_url(settings, network_workflow_id(row.id))
        ),
    )


def network_summary(row: NetworkRow) -> NetworkSummary:
    return NetworkSummary(id=row.id, name=row.name, status=effective_status(row)[0])


def attachment_path(tenant_id: str, network_id: str, port_id: str) -> str:
    return f"{port_path(tenant_id, network_id, port_id)}/attachment"


def attachment_body(row: PortRow, settings: Settings) -> AttachmentBody | None:
    if row.attachment_id is None:
        return None
    return AttachmentBody(
        id=row.attachment_id,
        host=row.attachment_host or "",
        status=row.attachment_status or "PROVISIONING",
        status_reason=row.attachment_reason,
        # Null for an attachment written without its times (a batch's, before it records them).
        created_at=row.attachment_created_at or row.updated_at,
        updated_at=row.attachment_updated_at or row.updated_at,
        links=Links(
            self=attachment_path(row.tenant_id, row.network_id, row.id),
            workflow=workflow_url(settings, port_workflow_id(row.id)),
        ),
    )


def port_body(row: PortRow, settings: Settings, network_policy_id: str | None = None) -> PortBody:
    """`network_policy_id`: the QoS policy of the port's network (shown as qos_network_policy_id)."""
    status, reason = effective_status(row)
    qos_status, qos_reason = effective_qos(row)
    return PortBody(
        id=row.id,
        network_id=row.network_id,
        state=row.state,
        status=status,
        status_reason=reason,
        attachment=attachment_body(row, settings),
        link_status=row.link_status,
        link_status_string=row.link_status_string,
        conditions=while_pending(row.conditions or [], reason, row.updated_at) if status == PROVISIONING else row.conditions or [],
        qos_policy_id=row.qos_policy_id,
        qos_network_policy_id=network_policy_id,
        qos_status=qos_status,
        qos_status_reason=qos_reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
        links=Links(
            self=port_path(row.tenant_id, row.network_id, row.id),
            workflow=workflow_url(settings, port_workflow_id(row.id)),
        ),
    )


def qos_policy_path(tenant_id: str, policy_id: str) -> str:
    return f"/v1.1/tenants/{quote(tenant_id, safe='')}/qos_policies/{policy_id}"


def qos_policy_body(row: QosPolicyRow) -> QosPolicyBody:
    # Rule ids are the Neutron view's; the v1.1 rule is the JSON form the client sends back on a PUT.
    rules = [{k: v for k, v in rule.items() if k != "id"} for rule in row.rules]
    return QosPolicyBody(
        id=row.id,
        name=row.name,
        rules=rules,
        status=row.status,
        status_reason=row.status_reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
        links=QosPolicyLinks(self=qos_policy_path(row.tenant_id, row.id)),
    )


def qos_policy_summary(row: QosPolicyRow) -> QosPolicySummary:
    return QosPolicySummary(id=row.id, name=row.name, status=row.status)


def port_summary(row: PortRow) -> PortSummary:
    return PortSummary(id=row.id, state=row.state, status=effective_status(row)[0])


def created_status(written: Written) -> int:
    """A v1.1 POST's status: 201 once the resource has settled (within `Prefer: wait`, or an
    idempotent replay of a settled one), 202 while it is provisioning."""
    if written.replay:
        return 202 if effective_status(written.row)[0] == PROVISIONING else 201
    return 201 if written.applied and written.settled else 202
