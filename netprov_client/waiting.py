"""What wait_until checks on each read of a resource, shared by Client and AsyncClient."""

from __future__ import annotations

from pydantic import BaseModel

from netprov.resources import NetworkBody, PortBody, StatusEvent
from netprov.status import ERROR
from netprov_client.errors import ResourceFailed
from netprov_client.sse import TRUNCATED


def concerns(event: StatusEvent, resource: NetworkBody | PortBody) -> bool:
    data = event.data
    return event.type == TRUNCATED or data.id == resource.id or data.port_id == resource.id


def check(resource: BaseModel, wanted: set[str], link_status: str | None, attachment_status: str | None,
          qos_status: str | None = None) -> bool:
    """True when `resource` is as asked; raises ResourceFailed on an ERROR that was not asked for
    (the resource's, its attachment's or, when a qos_status is asked, its QoS's)."""
    status = resource.status  # type: ignore[attr-defined]
    attachment = getattr(resource, "attachment", None)
    qos = getattr(resource, "qos_status", None)
    if qos_status and qos == ERROR and qos_status != ERROR:
        raise ResourceFailed(f"QoS of {resource.id} is in ERROR: {getattr(resource, 'qos_status_reason', None)}", resource)  # type: ignore[attr-defined]
    if status == ERROR and ERROR not in wanted:
        raise ResourceFailed(f"{type(resource).__name__} {resource.id} is in ERROR: {resource.status_reason}", resource)  # type: ignore[attr-defined]
    if attachment_status and attachment is not None and attachment.status == ERROR and attachment_status != ERROR:
        raise ResourceFailed(f"attachment {attachment.id} is in ERROR: {attachment.status_reason}", resource)
    if wanted and status not in wanted:
        return False
    if link_status and getattr(resource, "link_status", None) != link_status:
        return False
    if attachment_status and (attachment is None or attachment.status != attachment_status):
        return False
    if qos_status and qos != qos_status:
        return False
    return True
