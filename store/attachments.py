"""Every statement the API runs on a port's attachment (columns of the port's row: one attachment
per port, one port per interface). Claims in the caller's transaction, and their undo. An accepted
attachment is part of the port at once: it counts for NetworkInUse, PortInUse and AlreadyAttached
from the claim on."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from netprov.status import NO_ATTACHMENT, AttachmentStatus, LinkStatus
from store.tables import PortRow, utcnow

# A port without attachment: its link is DOWN, "no attachment", from the moment it has none.
_DETACHED = {
    "attachment_id": None,
    "attachment_host": None,
    "attachment_status": None,
    "attachment_reason": None,
    "attachment_created_at": None,
    "attachment_updated_at": None,
    "link_status": LinkStatus.DOWN.value,
    "link_status_string": NO_ATTACHMENT,
}


class InterfaceTaken(Exception):
    """The interface id is already the attachment of another port."""


@dataclass(frozen=True)
class Detached:
    """An attachment as it was before a detach claimed it: what its undo puts back."""

    iface_id: str
    host: str | None
    status: str | None
    reason: str | None
    created_at: datetime | None
    updated_at: datetime | None
    link_status: str
    link_status_string: str | None


def claim(session: Session, *, port_id: str, iface_id: str, host: str, waiting_on: str) -> bool:
    """Attach `iface_id` on `host` to a port without attachment that is not being deleted; True
    when claimed, False when the port changed meanwhile. InterfaceTaken (the transaction rolled
    back) when another port has that interface. `waiting_on` (what the plug waits for) is the
    attachment's status_reason and the link's reason until the workflow plugs it."""
    now = utcnow()
    try:
        return bool(
            session.execute(
                update(PortRow)
                .where(PortRow.id == port_id, PortRow.attachment_id.is_(None), PortRow.deleting == False)  # noqa: E712
                .values(
                    attachment_id=iface_id,
                    attachment_host=host,
                    attachment_status=AttachmentStatus.PROVISIONING.value,
                    attachment_reason=waiting_on,
                    attachment_created_at=now,
                    attachment_updated_at=now,
                    link_status=LinkStatus.DOWN.value,
                    link_status_string=waiting_on,
                )
            ).rowcount
        )
    except IntegrityError:
        session.rollback()
        raise InterfaceTaken(iface_id) from None


def undo_claim(session: Session, *, port_id: str, iface_id: str) -> None:
    session.execute(update(PortRow).where(PortRow.id == port_id, PortRow.attachment_id == iface_id).values(**_DETACHED))


def claim_detach(session: Session, *, port: PortRow) -> Detached | None:
    """Remove the port's attachment as read in `port`; what it was, or None when it changed meanwhile."""
    old = Detached(
        port.attachment_id, port.attachment_host, port.attachment_status, port.attachment_reason,
        port.attachment_created_at, port.attachment_updated_at, port.link_status, port.link_status_string,
    )  # fmt: skip
    claimed = session.execute(
        update(PortRow).where(PortRow.id == port.id, PortRow.attachment_id == old.iface_id).values(**_DETACHED)
    ).rowcount
    return old if claimed else None


def undo_detach(session: Session, *, port_id: str, old: Detached) -> None:
    session.execute(
        update(PortRow)
        .where(PortRow.id == port_id, PortRow.attachment_id.is_(None))
        .values(
            attachment_id=old.iface_id, attachment_host=old.host, attachment_status=old.status, attachment_reason=old.reason,
            attachment_created_at=old.created_at, attachment_updated_at=old.updated_at, link_status=old.link_status, link_status_string=old.link_status_string,
        )  # fmt: skip
    )
