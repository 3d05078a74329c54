"""A batch's attachment, while pending, says what it waits on, as an attachment accepted alone does
(the contract: "link_status_string then says what it waits on, never 'no attachment'")."""

import uuid

from batch_helpers import items_by, post_batch, wait_batch
from sqlalchemy import select
from sqlmodel import Session

from netprov.conditions import being_plugged, waiting_for_network
from store.engine import engine_for
from store.tables import EventRow


def _events(settings, port_id: str) -> list[EventRow]:
    """Every live event recorded for the port and its attachment, oldest first."""
    with Session(engine_for(settings.resolved_database_url)) as session:
        return list(session.execute(select(EventRow).where(EventRow.resource_id == port_id).order_by(EventRow.id)).scalars())


async def test_a_pending_batch_attachment_says_what_it_waits_on(api, settings):
    ready = await api.create_network("ready")
    await api.settle(f"networks/{ready['id']}", "network")
    tag = uuid.uuid4().hex[:8]
    body = {"batch": {
        # flaky9-: the network fails transiently until its retries are exhausted, so its port's
        # attachment waits for it for a while, then fails with it.
        "networks": [{"ref": "n1", "name": "flaky9-pending"}],
        "ports": [{"ref": "p1", "network": "n1", "state": "ACTIVE"}, {"ref": "p2", "network": ready["id"], "state": "ACTIVE"}],
        "attachments": [{"port": "p1", "id": f"vif-{tag}-1", "host": "h1"}, {"port": "p2", "id": f"vif-{tag}-2", "host": "h1"}],
    }}
    created = (await post_batch(api, body))["batch"]
    items = items_by(created)
    net, waiting, plugging = items["network", "n1"]["id"], items["port", "p1"]["id"], items["port", "p2"]["id"]

    # Read at once: the new network is still being retried.
    shown = (await api.get(f"networks/{net}/ports/{waiting}"))["port"]
    assert shown["attachment"]["status"] == "PROVISIONING", shown
    assert shown["link_status_string"] == waiting_for_network(net) == shown["attachment"]["status_reason"]

    # What callers saw the moment the batch was stored (its first events), whatever ran since.
    expected = {waiting: waiting_for_network(net), plugging: being_plugged(f"vif-{tag}-2", "h1")}
    for port_id, reason in expected.items():
        events = _events(settings, port_id)
        first_link = next(e for e in events if e.resource_type == "port" and e.kind == "link_status")
        first_attachment = next(e for e in events if e.resource_type == "attachment")
        assert (first_link.data["link_status"], first_link.data["link_status_string"]) == ("DOWN", reason)
        assert (first_attachment.data["status"], first_attachment.data["status_reason"]) == ("PROVISIONING", reason)

    batch = await wait_batch(api, created["id"])
    assert batch["status"] == "PARTIAL", batch["counts"]
    plugged = (await api.get(f"networks/{ready['id']}/ports/{plugging}"))["port"]
    assert (plugged["link_status"], plugged["link_status_string"], plugged["attachment"]["status"]) == ("UP", None, "AVAILABLE")
    failed = (await api.get(f"networks/{net}/ports/{waiting}"))["port"]
    assert failed["attachment"]["status"] == "ERROR" and failed["link_status_string"] == failed["attachment"]["status_reason"]
    # Never "no attachment" while the port had one.
    for port_id in expected:
        strings = [e.data["link_status_string"] for e in _events(settings, port_id) if e.kind == "link_status"]
        assert "no attachment" not in strings, strings
