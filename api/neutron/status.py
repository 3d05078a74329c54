"""Netprov's statuses as Neutron means them, each rule written twice side by side: in Python for
a row in hand, and as SQL for filters and sorting (tests/neutron/test_status_mapping.py checks
that the two agree for every combination of the inputs).

Network: PROVISIONING -> BUILD, AVAILABLE -> ACTIVE, ERROR -> ERROR.
Port: ERROR when the port or its attachment is in ERROR; else BUILD while either is
PROVISIONING; else DOWN when admin down or unbound; else ACTIVE.
binding:vif_type: unbound (no attachment), binding_failed (attachment ERROR), ovs.
data_plane_status: ACTIVE (link UP), DOWN (link DOWN), null (UNKNOWN).
"""

from sqlalchemy import case, func, literal, null
from sqlalchemy.sql import ColumnElement

from netprov.status import AdminState, AttachmentStatus, LinkStatus, NetworkStatus, PortStatus
from store.projection import effective_status, effective_status_column
from store.tables import NetworkRow, PortRow

BUILD, ACTIVE, DOWN, ERROR = "BUILD", "ACTIVE", "DOWN", "ERROR"
UNBOUND, OVS, BINDING_FAILED = "unbound", "ovs", "binding_failed"
_NETWORK = {NetworkStatus.PROVISIONING: BUILD, NetworkStatus.AVAILABLE: ACTIVE, NetworkStatus.ERROR: ERROR}


def network_status(row: NetworkRow) -> str:
    return _NETWORK[NetworkStatus(effective_status(row)[0])]


def network_status_column() -> ColumnElement:
    status = effective_status_column(NetworkRow)
    return case(*((status == ours.value, theirs) for ours, theirs in _NETWORK.items()), else_=ERROR)


def attachment_status(row: PortRow) -> str | None:
    """None without an attachment; an accepted attachment not yet reported is PROVISIONING."""
    if row.attachment_id is None:
        return None
    return row.attachment_status or AttachmentStatus.PROVISIONING.value


def _attachment_status_column() -> ColumnElement:
    return case(
        (PortRow.attachment_id.is_(None), null()),
        else_=func.coalesce(PortRow.attachment_status, AttachmentStatus.PROVISIONING.value),
    )


def port_status(row: PortRow) -> str:
    status, attached = effective_status(row)[0], attachment_status(row)
    if status == PortStatus.ERROR or attached == AttachmentStatus.ERROR:
        return ERROR
    if status == PortStatus.PROVISIONING or attached == AttachmentStatus.PROVISIONING:
        return BUILD
    if row.state == AdminState.DOWN or attached is None:
        return DOWN
    return ACTIVE


def port_status_column() -> ColumnElement:
    status, attached = effective_status_column(PortRow), _attachment_status_column()
    return case(
        ((status == PortStatus.ERROR.value) | (attached == AttachmentStatus.ERROR.value), ERROR),
        ((status == PortStatus.PROVISIONING.value) | (attached == AttachmentStatus.PROVISIONING.value), BUILD),
        ((PortRow.state == AdminState.DOWN.value) | PortRow.attachment_id.is_(None), DOWN),
        else_=ACTIVE,
    )


def vif_type(row: PortRow) -> str:
    attached = attachment_status(row)
    if attached is None:
        return UNBOUND
    return BINDING_FAILED if attached == AttachmentStatus.ERROR else OVS


def vif_type_column() -> ColumnElement:
    return case(
        (PortRow.attachment_id.is_(None), UNBOUND),
        (PortRow.attachment_status == AttachmentStatus.ERROR.value, BINDING_FAILED),
        else_=OVS,
    )


def admin_state_up(row: PortRow) -> bool:
    return row.state == AdminState.ACTIVE


def admin_state_up_column() -> ColumnElement:
    # 1/0 rather than a boolean expression: it sorts and compares the same on SQLite and PostgreSQL.
    return case((PortRow.state == AdminState.ACTIVE.value, literal(1)), else_=literal(0))


def data_plane_status(row: PortRow) -> str | None:
    return {LinkStatus.UP: ACTIVE, LinkStatus.DOWN: DOWN}.get(LinkStatus(row.link_status))


def data_plane_status_column() -> ColumnElement:
    return case((PortRow.link_status == LinkStatus.UP.value, ACTIVE), (PortRow.link_status == LinkStatus.DOWN.value, DOWN), else_=null())
