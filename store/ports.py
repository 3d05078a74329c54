"""Every statement the API runs on ports (the attachment's are in store/attachments.py): claims
in the caller's transaction (the caller accepts the operation and commits) and their undo, run
when the workflow engine never got the operation. Keyword-only, session first."""

from collections.abc import Sequence

from collections.abc import Mapping
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy import update as sql_update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from netprov.status import NO_ATTACHMENT, PROVISIONING, LinkStatus
from store.effective import effective_status_column
from store.operations import forget_unstarted, new_resource_values
from store.tables import PortRow, utcnow

# Columns a write may set besides the admin state (the Neutron view's port fields). The MAC only
# on create: it names the port's interface on the wire for its whole life.
DETAILS = frozenset({"name", "description", "mac_address", "device_id", "device_owner", "tags"})
UPDATABLE = (DETAILS - {"mac_address"}) | {"state"}


class MacAddressTaken(Exception):
    """The MAC address asked for is another port's."""


def get(session: Session, *, port_id: str) -> PortRow | None:
    return session.get(PortRow, port_id)


def list_rows(session: Session, *, network_id: str, statuses: Sequence[str] = (), full: bool = True) -> list[Row]:
    """The network's ports, oldest first, as plain rows (a network may have 10,000 ports: no ORM
    objects). `full`: every column; otherwise (id, state, status) with the effective status."""
    effective = effective_status_column(PortRow)
    columns = PortRow.__table__.columns if full else (PortRow.id, PortRow.state, effective.label("status"))
    query = select(*columns).where(PortRow.network_id == network_id).order_by(PortRow.created_at, PortRow.id)
    if statuses:
        query = query.where(effective.in_(list(statuses)))
    return list(session.connection().execute(query).all())


def create(
    session: Session,
    *,
    port_id: str,
    tenant_id: str,
    network_id: str,
    state: str,
    progress: str,
    details: Mapping[str, Any] = {},
) -> PortRow:
    """Insert the row with `details` (columns of DETAILS; without `mac_address` one is drawn) and
    its CREATE accepted (`progress` its reason; the caller records the operation with
    store.operations.accept_create). Flushed: IntegrityError here when `port_id` exists, i.e. an Idempotency-Key race lost;
    MacAddressTaken (the transaction rolled back) when the MAC asked for is another port's."""
    _check_columns(details, DETAILS)
    mac = details.get("mac_address")
    if mac is not None and mac_taken(session, mac_address=mac):
        raise MacAddressTaken(mac)
    row = PortRow(
        id=port_id,
        tenant_id=tenant_id,
        network_id=network_id,
        state=state,
        status=PROVISIONING,
        link_status=LinkStatus.DOWN.value,
        link_status_string=NO_ATTACHMENT,
        **new_resource_values(progress),
        **details,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        if mac is not None and mac_taken(session, mac_address=mac):  # taken by a concurrent create
            raise MacAddressTaken(mac) from None
        raise
    return row


def mac_taken(session: Session, *, mac_address: str) -> bool:
    return bool(session.execute(select(exists().where(PortRow.mac_address == mac_address))).scalar())


def macs_taken(session: Session, *, mac_addresses: Sequence[str]) -> set[str]:
    """Those of `mac_addresses` some port has."""
    if not mac_addresses:
        return set()
    return set(session.execute(select(PortRow.mac_address).where(PortRow.mac_address.in_(list(mac_addresses)))).scalars())


def undo_create(session: Session, *, port_id: str) -> None:
    """Remove a port whose creation never reached its workflow, with its operations and key."""
    forget_unstarted(session, resource_type="port", resource_id=port_id)


def update(session: Session, *, port: PortRow, values: Mapping[str, Any]) -> dict[str, Any]:
    """Set `values` (columns of UPDATABLE: the admin state as accepted, the port's details) on
    the port read as `port`; the previous values, which `undo_update` puts back."""
    _check_columns(values, UPDATABLE)
    previous = {name: getattr(port, name) for name in values}
    if values:
        session.execute(sql_update(PortRow).where(PortRow.id == port.id).values(**values, updated_at=utcnow()))
    return previous


def undo_update(session: Session, *, port_id: str, previous: Mapping[str, Any]) -> None:
    if previous:
        session.execute(sql_update(PortRow).where(PortRow.id == port_id).values(**previous))


def set_tags(session: Session, *, port_id: str, tags: list[str]) -> None:
    """Tags touch no device: the whole write (standard-attr-tag's sub-resource)."""
    session.execute(sql_update(PortRow).where(PortRow.id == port_id).values(tags=tags, updated_at=utcnow()))


def _check_columns(values: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = set(values) - allowed
    assert not unknown, f"not port columns a write may set: {sorted(unknown)}"


def claim_delete(session: Session, *, port_id: str) -> bool:
    """Mark the port deleting unless it is already, or has an attachment; True when claimed."""
    return bool(
        session.execute(
            sql_update(PortRow)
            .where(PortRow.id == port_id, PortRow.deleting == False, PortRow.attachment_id.is_(None))  # noqa: E712
            .values(deleting=True)
        ).rowcount
    )


def undo_delete(session: Session, *, port_id: str) -> None:
    session.execute(sql_update(PortRow).where(PortRow.id == port_id).values(deleting=False))
