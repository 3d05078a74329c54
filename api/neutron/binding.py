"""Port binding, the Nova/OVS convention, as writes of the shared layer: `binding:host_id` set
attaches the interface whose id is the port's id on that host (api/writes/attachments.attach);
changed, re-attaches there; cleared ("" or null), detaches.

A port attached through v1.1 under another interface id reads `binding:host_id` = its host. A
binding update naming that same host keeps the attachment as it is (its interface id too); one
naming another host replaces it by the port-id interface on the new host (the binding owns the
port's attachment, as in Neutron, where a port has one binding); clearing detaches it.
"""

from api.problems import PortNotFound
from api.write_flow import Writer, Written, reread
from api.writes import attachments
from api.writes.ports import PORT
from netprov.resources import AttachmentPut
from store.tables import PortRow


async def bind(writer: Writer, *, port: PortRow, host: str | None) -> Written:
    """Make the port's binding `host` (None: unbound). Binding what is bound already is a no-op."""
    if host is None:
        return await attachments.detach(writer, port=port)
    if port.attachment_id is not None:
        if port.attachment_host == host:
            return Written(port, applied=True, accepted=False)
        await attachments.detach(writer, port=port)
        port_id, port = port.id, reread(writer.engine, PORT, port.id)
        if port is None:  # deleted meanwhile
            raise PortNotFound(f"Port {port_id} could not be found.")
    return await attachments.attach(writer, port=port, attachment=AttachmentPut(id=port.id, host=host))
