"""netprov_client against the real stack: typed models, typed problems, Prefer: wait, wait_until."""

import asyncio
import time
import uuid

import httpx
import pytest

import netprov_client as typed
from netprov_client import AsyncClient, Client
from netprov.resources import AttachmentBody, NetworkBody, PortBody


def _problems(client: Client) -> dict[str, typed.ProblemError]:
    """Provoke one problem of each contract code, synchronously (run in a thread)."""
    caught: dict[str, typed.ProblemError] = {}

    def expect(cls, call):
        with pytest.raises(cls) as info:
            call()
        caught[cls.__name__] = info.value

    network = client.create_network("errors", wait=20)
    port = client.create_port(network.id, state="ACTIVE", wait=20)
    iface = f"vif-{uuid.uuid4().hex[:8]}"
    client.create_attachment(network.id, port.id, iface, wait=20)
    expect(typed.NetworkNotFound, lambda: client.show_network(str(uuid.uuid4())))
    expect(typed.PortNotFound, lambda: client.show_port(network.id, str(uuid.uuid4())))
    expect(typed.PortInUse, lambda: client.delete_port(network.id, port.id))
    expect(typed.NetworkInUse, lambda: client.delete_network(network.id))
    expect(typed.AlreadyAttached, lambda: client.create_attachment(network.id, port.id, f"{iface}-other"))
    expect(typed.RequestedStateInvalid, lambda: client.update_port(network.id, port.id, state="SIDEWAYS"))
    expect(typed.BadRequest, lambda: client.show_network("not-a-uuid"))
    expect(typed.NothingToRetry, lambda: client.retry(network.id))
    expect(typed.NothingToCancel, lambda: client.cancel(network.id, port.id))
    failed = client.create_network("fail-typed", wait=20)
    assert failed.status == "ERROR"
    expect(typed.ResourceNotAvailable, lambda: client.create_port(failed.id))
    expect(typed.Forbidden, lambda: client.with_tenant("someone-else").list_networks())
    expect(typed.TokenNotFound, lambda: client.delete_token(str(uuid.uuid4())))
    with Client(client.base_url, "wrong-token", client.tenant) as stranger:
        expect(typed.Unauthorized, stranger.list_networks)
    return caught


async def test_problems_are_raised_as_typed_exceptions(sync_client):
    caught = await asyncio.to_thread(_problems, sync_client)
    expected = {
        "NetworkNotFound": 404, "PortNotFound": 404, "PortInUse": 409, "NetworkInUse": 409, "AlreadyAttached": 409,
        "RequestedStateInvalid": 400, "BadRequest": 400, "NothingToRetry": 409, "NothingToCancel": 409,
        "ResourceNotAvailable": 409, "Forbidden": 403, "TokenNotFound": 404, "Unauthorized": 401,
    }
    assert {name: error.status for name, error in caught.items()} == expected
    for name, error in caught.items():
        assert error.code == name and error.title and error.detail and str(error) == f"{error.title}: {error.detail}"
    assert isinstance(caught["NetworkNotFound"], typed.NotFound) and isinstance(caught["PortInUse"], typed.Conflict)
    assert "SIDEWAYS" in caught["RequestedStateInvalid"].detail


async def test_models_prefer_wait_and_wait_until(sync_client):
    def scenario():
        network = sync_client.create_network("typed")  # no wait: 202, PROVISIONING
        assert isinstance(network, NetworkBody) and network.status == "PROVISIONING"
        port = sync_client.create_port(network.id, state="ACTIVE")
        sync_client.create_attachment(network.id, port.id, f"vif-{uuid.uuid4().hex[:8]}", host="h1")
        requested: list[str] = []
        sync_client._http.event_hooks["request"].append(lambda request: requested.append(request.url.path))
        started = time.monotonic()
        settled = sync_client.wait_until(port, "ACTIVE", link_status="UP", attachment_status="AVAILABLE", timeout=30)
        elapsed = time.monotonic() - started
        sync_client._http.event_hooks["request"].clear()
        # It listened to the event stream and read the port only when an event named it.
        assert requested[0].endswith("/events") and all(path.endswith(port.id) for path in requested[1:])
        assert 1 <= len(requested) - 1 <= 12
        assert isinstance(settled, PortBody) and isinstance(settled.attachment, AttachmentBody)
        assert sync_client.wait_until(network, "AVAILABLE", timeout=5).status == "AVAILABLE"
        listed = sync_client.list_networks(status="AVAILABLE")
        assert [n.id for n in listed] == [network.id]
        down = sync_client.update_port(network.id, port.id, state="DOWN", wait=20)
        assert down.status == "DOWN" and down.link_status == "DOWN"
        with pytest.raises(typed.WaitTimeout):
            sync_client.wait_until(down, "ACTIVE", timeout=1)
        failing = sync_client.create_network("fail-waited")
        with pytest.raises(typed.ResourceFailed) as failure:
            sync_client.wait_until(failing, "AVAILABLE", timeout=30)
        assert failure.value.resource.status == "ERROR"
        return elapsed

    elapsed = await asyncio.to_thread(scenario)
    assert elapsed < 30


async def test_async_client_and_its_event_stream(async_client, api):
    network = await async_client.create_network("async")
    port = await async_client.create_port(network.id, state="DOWN")
    settled = await async_client.wait_until(port, ["ACTIVE", "DOWN"], timeout=30)
    assert settled.status == "DOWN" and settled.link_status_string == "no attachment"
    assert (await async_client.wait_until(network, "AVAILABLE", timeout=10)).status == "AVAILABLE"
    with pytest.raises(typed.NetworkNotFound) as missing:
        await async_client.show_network(str(uuid.uuid4()))
    assert missing.value.status == 404
    assert await async_client.delete_port(network.id, port.id, wait=20) is True
    history = await async_client.history(network.id)
    assert [op.kind for op in history.operations] == ["create"]
    # Events of a resource, resumed from the start of what is kept.
    seen = []
    async for event in async_client.events(last_event_id=0):
        if event.data.id in (network.id, port.id):
            seen.append(event.type)
        if event.type == "port.deleted" and event.data.id == port.id:
            break
    assert seen[0] == "network.status" and "port.status" in seen and seen[-1] == "port.deleted"


async def test_transport_injection_and_unreachable_api(stack, api):
    # Any httpx transport works, e.g. the ASGI app itself (no server); nothing answering: ApiUnreachable.
    transport = httpx.ASGITransport(app=stack.app)
    async with AsyncClient("http://netprov.test", api.headers["X-Auth-Token"], api.tenant, transport=transport) as client:
        assert await client.list_networks() == []
        assert (await client.health()).status == "ok"
    async with AsyncClient("http://127.0.0.1:9", "x", "t") as nowhere:
        with pytest.raises(typed.ApiUnreachable):
            await nowhere.list_networks()
    with pytest.raises(ValueError, match="tenant"):
        await AsyncClient("http://127.0.0.1:9").list_networks()
