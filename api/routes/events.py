"""GET /v1.1/tenants/{tenant_id}/events: live status events as Server-Sent Events.

Each event is one row of the events table (store/events.py), streamed in id order:

    id: 1042
    event: port.link_status
    data: {"resource_type": "port", "id": "...", "status": "ACTIVE", "link_status": "UP", ...}

A stream starts after the newest event, or after `Last-Event-ID` (header, as browsers send on
reconnect) / `?last_event_id=` (query, for a first connection): nothing committed after that id is
missed. When events after it were already pruned (or the id was never handed out), the stream first
sends `event: truncated`: the caller re-reads the resources, then goes on from the events. Comment
lines (`: keep-alive`) every KEEPALIVE_SECONDS keep proxies from closing an idle stream.

One `EventFeed` per process tails the table: after a commit of this process that appended events
at once, and for the other processes (workers write most events) by one `id > horizon` query every
POLL_SECONDS while any stream is open. Each stream then reads only its tenant's new rows. Streams
hold no database connection between reads.

The response is sse-starlette's `EventSourceResponse`: it sends the keep-alives, stops the stream
when the client disconnects, and ends every stream when the server is told to exit (SIGINT/SIGTERM;
uvicorn waits for open responses before it stops, and a stream never ends by itself); clients
reconnect with Last-Event-ID. A replay is sent one read batch per write, so a client that goes away
in the middle of it costs a write or two to a closed socket, not one per event.
"""

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from sqlalchemy.engine import Engine
from sse_starlette import EventSourceResponse, ServerSentEvent
from sqlmodel import Session

from api.auth import Caller, authenticate
from api.deps import allow_query
from api.problems import ERROR_RESPONSES, BadRequest
from store import events
from store.events import EventHorizon
from store.tables import EventRow

log = logging.getLogger("netprov.api.events")
router = APIRouter(prefix="/v1.1/tenants/{tenant_id}", tags=["events"], responses=ERROR_RESPONSES)

POLL_SECONDS = 0.2
KEEPALIVE_SECONDS = 15.0
RETRY_MS = 2000
READ_BATCH = 500
# After a failed poll (database down), wait this long before the next.
POLL_ERROR_BACKOFF = 2.0


class EventFeed:
    """This process's committed horizon of the events table, shared by all open streams."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.horizon = EventHorizon(0)
        self._subscribers = 0
        self._task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._bell = asyncio.Event()
        self._moved = asyncio.Event()
        self._ready = asyncio.Event()

    @contextlib.asynccontextmanager
    async def subscription(self) -> AsyncIterator["EventFeed"]:
        self._loop = asyncio.get_running_loop()
        self._subscribers += 1
        if self._task is None or self._task.done():
            self._ready.clear()
            self._task = asyncio.create_task(self._run(), name="netprov-event-feed")
        try:
            await self._ready.wait()
            yield self
        finally:
            self._subscribers -= 1
            if self._subscribers == 0 and self._task is not None:
                self._task.cancel()
                self._task = None

    async def wait_past(self, event_id: int, timeout: float) -> bool:
        """Wait until the horizon is past `event_id`; False when `timeout` passed first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.horizon.value <= event_id:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            moved = self._moved
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(moved.wait(), remaining)
        return True

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        remove = events.on_commit(lambda: loop.is_closed() or loop.call_soon_threadsafe(self._bell.set))
        try:
            while True:
                try:
                    self.horizon = EventHorizon(await asyncio.to_thread(events.latest_id, self.engine))
                    break
                except Exception:  # noqa: BLE001 - the database may be down: keep trying
                    log.exception("event feed: cannot read the events table")
                    await asyncio.sleep(POLL_ERROR_BACKOFF)
            self._ready.set()
            while True:
                self._bell.clear()
                try:
                    ids = await asyncio.to_thread(events.ids_after, self.engine, self.horizon.value)
                except Exception:  # noqa: BLE001
                    log.exception("event feed: polling failed")
                    await asyncio.sleep(POLL_ERROR_BACKOFF)
                    continue
                if self.horizon.advance(ids):
                    moved, self._moved = self._moved, asyncio.Event()
                    moved.set()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._bell.wait(), POLL_SECONDS)
        finally:
            remove()


def feed_of(request: Request) -> EventFeed:
    feed = getattr(request.app.state, "event_feed", None)
    if feed is None:
        feed = request.app.state.event_feed = EventFeed(request.app.state.engine)
    return feed


def stream_caller(request: Request, tenant_id: str, x_auth_token: Annotated[str | None, Header()] = None) -> Caller:
    """The caller, allowed on /tenants/{tenant_id}; its database session is closed before the
    stream starts (a stream must not hold a connection for hours)."""
    if len(tenant_id) > 255:
        raise BadRequest("tenant_id is longer than 255 characters.")
    with Session(request.app.state.engine) as session:
        caller = authenticate(session, x_auth_token)
    caller.require_tenant(tenant_id)
    return caller


def _event_id(value: str, where: str) -> int:
    value = value.strip()
    if not value.isdigit() or len(value) > 18:
        raise BadRequest(f"{where} must be an event id (a whole number), not {value[:40]!r}.")
    return int(value)


def format_event(row: EventRow) -> bytes:
    data = json.dumps(row.data, separators=(",", ":"), default=str)
    return f"id: {row.id}\nevent: {events.event_type(row.resource_type, row.kind)}\ndata: {data}\n\n".encode()


def _keep_alive() -> ServerSentEvent:
    return ServerSentEvent(comment="keep-alive", sep="\n")


@router.get(
    "/events",
    dependencies=[allow_query("last_event_id")],
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events, never ending"}},
)
async def stream_events(
    tenant_id: str,
    request: Request,
    caller: Annotated[Caller, Depends(stream_caller)],
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
):
    """Every status and link-status change of the tenant's networks, ports and attachments."""
    start: int | None = None
    if last_event_id is not None and last_event_id.strip():
        start = _event_id(last_event_id, "Last-Event-ID")
    elif request.query_params.get("last_event_id") is not None:
        start = _event_id(request.query_params["last_event_id"], "last_event_id")
    feed = feed_of(request)
    engine: Engine = request.app.state.engine
    notice = None
    if start is not None:
        oldest, newest = await asyncio.to_thread(_bounds, engine)
        if start > newest:
            notice = {"reason": f"event {start} was never handed out (newest is {newest}); re-read the resources", "oldest_id": oldest}
            start = 0
        elif oldest > start + 1:
            notice = {"reason": f"events after {start} up to {oldest - 1} were pruned; re-read the resources", "oldest_id": oldest}
    return EventSourceResponse(
        _stream(feed, engine, tenant_id, start, notice),
        headers={"Cache-Control": "no-cache"},
        ping=KEEPALIVE_SECONDS,
        ping_message_factory=_keep_alive,
        sep="\n",
    )


def _bounds(engine: Engine) -> tuple[int, int]:
    return events.oldest_id(engine), events.latest_id(engine)


async def _stream(feed: EventFeed, engine: Engine, tenant_id: str, start: int | None, notice: dict | None):
    async with feed.subscription():
        scanned = feed.horizon.value if start is None else start
        yield f"retry: {RETRY_MS}\n: netprov events of tenant {tenant_id} after id {scanned}\n\n".encode()
        if notice is not None:
            yield f"event: truncated\ndata: {json.dumps(notice)}\n\n".encode()
        while True:
            upto = feed.horizon.value
            if upto > scanned:
                rows = await asyncio.to_thread(events.tenant_events, engine, tenant_id, scanned, upto, READ_BATCH)
                if rows:
                    yield b"".join(format_event(row) for row in rows)
                if len(rows) == READ_BATCH:
                    scanned = rows[-1].id
                    continue
                scanned = upto
            await feed.wait_past(scanned, KEEPALIVE_SECONDS)
