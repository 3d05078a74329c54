"""What a caller sees of a resource row: its status is PROVISIONING while accepted operations are
pending, whatever the last applied one left. Defined once, in Python and as SQL, for every reader
(views, events, filters, the link monitor). A leaf of the store: it imports only the tables."""

from sqlalchemy import case

from netprov.status import PROVISIONING, ResourceType
from store.tables import NetworkRow, PortRow

_TABLES = {ResourceType.NETWORK: NetworkRow, ResourceType.PORT: PortRow}
QUEUED_REASON = "accepted; waiting for its workflow to apply it"


def table_for(resource_type: str):
    """The table of a resource type ("network", "port")."""
    return _TABLES[ResourceType(resource_type)]


def effective_status_column(table):
    """`effective_status` as an SQL expression, for filters and column lists."""
    return case((table.accepted_seq > table.applied_seq, PROVISIONING), else_=table.status)


def effective_qos(row) -> tuple[str | None, str | None]:
    """A port's qos_status and reason as a caller sees them: PROVISIONING (with what is being done)
    until the last accepted operation that changes its QoS is applied."""
    if (row.qos_seq or 0) > row.applied_seq:
        return PROVISIONING, row.qos_progress or QUEUED_REASON
    return row.qos_status, row.qos_status_reason


def effective_status(row) -> tuple[str, str | None]:
    """The status and reason a caller sees: PROVISIONING while accepted operations are pending."""
    if row.accepted_seq > row.applied_seq:
        return PROVISIONING, row.progress or QUEUED_REASON
    return row.status, row.status_reason
