"""GET /v1.1/tenants/{t}/events: every status and link-status change as Server-Sent Events, in
order, resumable with Last-Event-ID, tenant-isolated. Served by uvicorn (an ASGI test transport
buffers whole responses, so it cannot stream)."""

import asyncio
import contextlib
import json
import signal
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from sse_starlette.sse import AppStatus

from api.app import create_app
from api.routes import events as events_route
from devstack.temporal_server import free_port
from netprov_client import AsyncClient, Forbidden, Unauthorized
from netprov.resources import StatusEvent
from store import events as store_events
from store.events import EventHorizon
from store.tables import EventRow
from live_server import LiveServer


@pytest.fixture
def events_url(live_url: str) -> str:
    return live_url


@pytest.fixture
async def client(events_url, api) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(events_url, api.headers["X-Auth-Token"], api.tenant) as client:
        yield client


class Subscriber:
    """Collects a tenant's events in the background; `opened` once the stream is established."""

    def __init__(self, client: AsyncClient, last_event_id: int | None = None) -> None:
        self.events: list[StatusEvent] = []
        self.opened = asyncio.Event()
        self.changed = asyncio.Event()
        self._task = asyncio.create_task(self._run(client, last_event_id))

    async def _run(self, client: AsyncClient, last_event_id: int | None) -> None:
        async for event in client.events(last_event_id=last_event_id, on_open=self.opened.set, reconnect=False):
            self.events.append(event)
            self.changed.set()

    async def until(self, predicate, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self.events):
            if self._task.done():
                self._task.result()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"not seen within {timeout}s; got {[(e.id, e.type, e.data.status) for e in self.events]}")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    @classmethod
    async def open(cls, client: AsyncClient, last_event_id: int | None = None) -> "Subscriber":
        subscriber = cls(client, last_event_id)
        await asyncio.wait_for(subscriber.opened.wait(), 10)
        return subscriber


def of(events: list[StatusEvent], resource_id: str, *types: str) -> list[StatusEvent]:
    return [e for e in events if (e.data.id == resource_id or e.data.port_id == resource_id) and (not types or e.type in types)]


def collapse(values: list) -> list:
    """Consecutive duplicates removed: a status that only changed its reason shows once."""
    return [v for i, v in enumerate(values) if i == 0 or v != values[i - 1]]


async def test_subscriber_sees_every_transition_of_each_resource_in_order(client, api):
    subscriber = await Subscriber.open(client)
    try:
        network = await api.create_network("live")
        port = await api.create_port(network["id"], state="ACTIVE")
        iface = f"vif-{uuid.uuid4().hex[:8]}"
        assert (await api.attach(network["id"], port["id"], iface)).status_code == 202

        def done(events):
            links = of(events, port["id"], "port.link_status")
            attachment = of(events, port["id"], "attachment.status")
            return links and links[-1].data.link_status == "UP" and attachment and attachment[-1].data.status == "AVAILABLE"

        await subscriber.until(done)
        final = await api.settle(f"networks/{network['id']}/ports/{port['id']}", "port",
                                 until=lambda p: p["status"] != "PROVISIONING" and p["link_status"] == "UP")
    finally:
        await subscriber.close()

    seen = subscriber.events
    ids = [e.id for e in seen]
    assert ids == sorted(ids) and len(set(ids)) == len(ids), "event ids must strictly increase"

    network_events = of(seen, network["id"])
    assert {e.type for e in network_events} == {"network.status"}
    assert collapse([e.data.status for e in network_events]) == ["PROVISIONING", "AVAILABLE"]
    assert network_events[-1].data.status_reason is None and network_events[-1].data.name == "live"

    port_status = of(seen, port["id"], "port.status")
    statuses = collapse([e.data.status for e in port_status])
    assert statuses[0] == "PROVISIONING" and statuses[-1] == "ACTIVE" and set(statuses) <= {"PROVISIONING", "ACTIVE"}
    assert port_status[0].data.network_id == network["id"]

    links = collapse([(e.data.link_status, e.data.link_status_string) for e in of(seen, port["id"], "port.link_status")])
    assert links[0] == ("DOWN", "no attachment") and links[-1] == ("UP", None)

    attachment = of(seen, port["id"], "attachment.status")
    assert collapse([e.data.status for e in attachment]) == ["PROVISIONING", "AVAILABLE"]
    assert {(e.data.id, e.data.host, e.data.port_id) for e in attachment} == {(iface, "h1", port["id"])}

    # The network was AVAILABLE before the port was provisioned on it, and the plug came last.
    first_available = next(e.id for e in network_events if e.data.status == "AVAILABLE")
    port_active = next(e.id for e in port_status if e.data.status == "ACTIVE")
    assert first_available < port_active <= of(seen, port["id"], "attachment.status")[-1].id
    # What the stream ends with is what GET shows.
    last_port = port_status[-1].data
    assert (last_port.status, last_port.status_reason) == (final["status"], final["status_reason"])


async def test_resume_with_last_event_id_misses_nothing(client, api):
    steady = await Subscriber.open(client)  # never disconnects: the reference
    first = await Subscriber.open(client)
    try:
        network = await api.create_network("resume")
        await first.until(lambda events: of(events, network["id"]))
        cut = first.events[-1].id
        await first.close()  # disconnect; meanwhile a lot happens
        ports = [await api.create_port(network["id"], state="ACTIVE") for _ in range(3)]
        for port in ports:
            await api.settle(f"networks/{network['id']}/ports/{port['id']}", "port")
        assert (await api.request("DELETE", f"networks/{network['id']}/ports/{ports[0]['id']}")).status_code in (202, 204)
        await api.gone(f"networks/{network['id']}/ports/{ports[0]['id']}")

        def complete(events):
            return any(e.type == "port.deleted" and e.data.id == ports[0]["id"] for e in events)

        await steady.until(complete)
        # Reconnect the way a browser does: the Last-Event-ID header.
        resumed = await Subscriber.open(client, last_event_id=cut)
        try:
            await resumed.until(complete)
        finally:
            await resumed.close()
    finally:
        await steady.close()
        await first.close()

    expected = [e for e in steady.events if e.id > cut]
    assert [(e.id, e.type, e.data) for e in resumed.events[: len(expected)]] == [(e.id, e.type, e.data) for e in expected]
    assert len(expected) >= 3 * 2 + 1
    assert {e.data.id for e in expected if e.type == "port.status"} == {p["id"] for p in ports}


async def test_query_parameter_resume_and_raw_wire_format(events_url, api):
    network = await api.create_network("wire")
    await api.settle(f"networks/{network['id']}", "network")
    headers = api.headers
    async with httpx.AsyncClient(base_url=events_url, timeout=10) as http:
        async with http.stream("GET", f"{api.base}/events", params={"last_event_id": "0"}, headers=headers) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["cache-control"] == "no-cache"
            lines: list[str] = []
            async for line in response.aiter_lines():
                lines.append(line)
                if line.startswith("data:") and '"AVAILABLE"' in line and network["id"] in line:
                    break
    assert lines[0] == "retry: 2000" and lines[1].startswith(": netprov events of tenant")
    blocks = "\n".join(lines[3:]).split("\n\n")
    first = blocks[0].split("\n")
    assert first[0].startswith("id: ") and first[1] == "event: network.status" and first[2].startswith("data: ")
    data = json.loads(first[2][len("data: "):])
    assert data["id"] == network["id"] and data["status"] == "PROVISIONING" and data["resource_type"] == "network"


async def test_keep_alive_comments_on_an_idle_stream(events_url, api, monkeypatch):
    monkeypatch.setattr(events_route, "KEEPALIVE_SECONDS", 0.2)
    async with httpx.AsyncClient(base_url=events_url, timeout=10) as http:
        async with http.stream("GET", f"{api.base}/events", headers=api.headers) as response:
            seen = []
            async for line in response.aiter_lines():
                seen.append(line)
                if line == ": keep-alive":
                    break
    assert ": keep-alive" in seen


async def test_tenant_isolation_and_bad_requests(events_url, client, api, admin, stack):
    other_tenant = f"t-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(base_url=events_url, timeout=10) as http:
        async def status_of(path: str, headers: dict, **kwargs) -> tuple[int, dict]:
            async with http.stream("GET", path, headers=headers, **kwargs) as response:
                await response.aread()
                return response.status_code, response.json()

        assert (await status_of(f"/v1.1/tenants/{other_tenant}/events", api.headers))[0] == 403
        assert (await status_of(f"{api.base}/events", {}))[0] == 401
        status, body = await status_of(f"{api.base}/events", {**api.headers, "Last-Event-ID": "abc"})
        assert (status, body["code"]) == (400, "BadRequest") and "Last-Event-ID" in body["detail"]
        assert (await status_of(f"{api.base}/events", api.headers, params={"last_event_id": "-1"}))[0] == 400
        assert (await status_of(f"{api.base}/events", api.headers, params={"since": "1"}))[0] == 400

    with pytest.raises(Forbidden):
        async for _ in client.with_tenant(other_tenant).events(reconnect=False):
            pass
    async with AsyncClient(events_url, "wrong", api.tenant) as stranger:
        with pytest.raises(Unauthorized):
            async for _ in stranger.events(reconnect=False):
                pass

    # Another tenant's changes never reach this tenant's stream; an admin token may watch any tenant.
    mine = await Subscriber.open(client)
    async with AsyncClient(events_url, admin.headers["X-Auth-Token"], other_tenant) as admin_client:
        theirs = await Subscriber.open(admin_client)
        try:
            response = await admin.request("POST", f"/v1.1/tenants/{other_tenant}/networks", json={"network": {"name": "theirs"}})
            their_network = response.json()["network"]
            own = await api.create_network("mine")
            await mine.until(lambda events: of(events, own["id"]))
            await theirs.until(lambda events: of(events, their_network["id"]))
        finally:
            await theirs.close()
            await mine.close()
    assert not of(mine.events, their_network["id"])
    assert not of(theirs.events, own["id"])


async def test_resume_from_an_id_never_handed_out_says_truncated(client, api):
    subscriber = await Subscriber.open(client, last_event_id=10**15)
    try:
        await subscriber.until(lambda events: events)
    finally:
        await subscriber.close()
    assert subscriber.events[0].type == "truncated" and "never handed out" in subscriber.events[0].data.status_reason


def test_horizon_waits_for_a_gap_then_passes_it():
    horizon = EventHorizon(10, gap_timeout=2.0)
    assert horizon.advance([11, 12, 14, 15], now=100.0) and horizon.value == 12 and horizon.waiting
    assert not horizon.advance([14, 15], now=101.0) and horizon.value == 12  # 13 may still commit
    assert horizon.advance([13, 14, 15], now=101.5) and horizon.value == 15 and not horizon.waiting
    assert horizon.advance([17], now=110.0) is False and horizon.waiting
    assert horizon.advance([17], now=112.1) and horizon.value == 17  # 16 rolled back: passed by


def test_prune_keeps_the_newest_and_drops_the_old(tmp_path):
    from datetime import timedelta

    from sqlmodel import Session

    from store.engine import engine_for
    from store.tables import utcnow

    engine = engine_for(f"sqlite:///{tmp_path / 'prune.db'}", True)
    with Session(engine) as session:
        old = utcnow() - timedelta(hours=30)
        for i in range(10):
            session.add(EventRow(tenant_id="t", resource_type="network", resource_id="n", kind="status",
                                 data={"i": i}, created_at=old if i < 3 else utcnow()))
        session.commit()
    assert store_events.prune(engine) == 3
    assert store_events.prune(engine, keep=4) == 3
    assert (store_events.oldest_id(engine), store_events.latest_id(engine)) == (7, 10)
    # Ids are never reused after a prune (SQLite AUTOINCREMENT).
    store_events.prune(engine, keep=0)
    with Session(engine) as session:
        session.add(EventRow(tenant_id="t", resource_type="network", resource_id="n", kind="status", data={}))
        session.commit()
    assert store_events.latest_id(engine) == 11


async def test_streams_end_when_the_server_is_told_to_exit(stack, api):
    # uvicorn waits for open responses before it stops: the streams must end, or Ctrl-C hangs.
    app = create_app(stack.settings, stack.client, sweeper=False)
    port = free_port()
    server = LiveServer(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        async with http.stream("GET", f"{api.base}/events", headers=api.headers) as response:
            lines = response.aiter_lines()
            assert (await anext(lines)).startswith("retry:")
            started = time.monotonic()
            try:
                server.handle_exit(signal.SIGTERM, None)  # what SIGTERM does
                rest = [line async for line in lines]  # the stream ends: the iteration stops
            finally:
                # sse-starlette's exit flag is process-wide (one server per process, as `python -m api`):
                # this process serves the session's other tests too.
                AppStatus.should_exit = False
    await asyncio.wait_for(task, 5)
    assert time.monotonic() - started < 3
    assert not any(line.startswith("data:") for line in rest)
