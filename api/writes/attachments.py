"""Attachment writes: plug an interface into a port, unplug it."""

from api.problems import AlreadyAttached, PortInUse
from api.write_flow import Accepted, Writer, Written, write
from api.writes.ports import PORT, check_writable
from netprov.conditions import being_plugged, waiting_for_network
from netprov.operations import OpKind
from netprov.resources import AttachmentPut
from api.writes import port_qos
from netprov.status import NetworkStatus
from store import attachments, networks, qos_policies
from store.effective import effective_status
from store.operations import accept
from store.tables import PortRow


async def attach(writer: Writer, *, port: PortRow, attachment: AttachmentPut) -> Written:
    """Attach interface `attachment.id` on `attachment.host` (None: the default host). The same
    attachment again is a no-op (`accepted` False); another one is AlreadyAttached; an interface
    plugged into another port is PortInUse. The attachment counts from this moment on."""
    iface_id, host = attachment.id, attachment.host or writer.settings.default_host
    if port.attachment_id == iface_id and port.attachment_host == host:
        return Written(port, applied=True, accepted=False)
    if port.attachment_id is not None:
        raise AlreadyAttached(f"Port {port.id} already has attachment {port.attachment_id!r}; detach it first.")
    check_writable(writer, port)
    network = networks.get(writer.session, network_id=port.network_id)
    ready = network is not None and effective_status(network)[0] == NetworkStatus.AVAILABLE
    waiting_on = being_plugged(iface_id, host) if ready else waiting_for_network(port.network_id)
    # The policy that applies is put on the interface once it is plugged.
    own = qos_policies.get(writer.session, policy_id=port.qos_policy_id) if port.qos_policy_id else None
    qos = port_qos.effective_spec(writer.session, own, network)

    def claim(session) -> Accepted:
        try:
            claimed = attachments.claim(session, port_id=port.id, iface_id=iface_id, host=host, waiting_on=waiting_on)
        except attachments.InterfaceTaken:
            raise PortInUse(f"Interface {iface_id!r} is already plugged into another port.") from None
        if not claimed:
            raise AlreadyAttached(f"Port {port.id} got another attachment or is being deleted.")
        op = accept(session, resource_type=PORT, resource_id=port.id, tenant_id=port.tenant_id, kind=OpKind.ATTACH,
                    progress=f"plugging interface {iface_id} on host {host}", iface_id=iface_id, host=host, qos=qos)  # fmt: skip
        if qos is not None:
            qos_policies.mark_qos_pending(session, port_ids=[port.id],
                                          reason=f"waiting for interface {iface_id} to be plugged on host {host}")  # fmt: skip
        # The op is voided on undo: once the VOID is applied the port's QoS shows as before.
        return Accepted([op], lambda cleanup: attachments.undo_claim(cleanup, port_id=port.id, iface_id=iface_id))

    written = await write(writer, resource_type=PORT, resource_id=port.id, claim=claim)
    assert written is not None
    return written


async def detach(writer: Writer, *, port: PortRow) -> Written:
    """Unplug the port's interface. Without attachment: nothing to do (`applied` True). `applied`
    False: still unplugging (or another DETACH took it meanwhile)."""
    if port.attachment_id is None:
        writer.session.commit()
        return Written(port, applied=True, accepted=False)

    def claim(session) -> Accepted | None:
        old = attachments.claim_detach(session, port=port)
        if old is None:
            return None
        op = accept(session, resource_type=PORT, resource_id=port.id, tenant_id=port.tenant_id, kind=OpKind.DETACH,
                    progress=f"unplugging interface {old.iface_id}", iface_id=old.iface_id, host=old.host)  # fmt: skip
        return Accepted([op], lambda cleanup: attachments.undo_detach(cleanup, port_id=port.id, old=old))

    written = await write(writer, resource_type=PORT, resource_id=port.id, claim=claim)
    return written or Written(None, applied=False, accepted=False)
