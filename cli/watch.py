"""`netprov watch`: a live table of the tenant's networks, ports and attachments.

It subscribes to the live events (GET .../events, Server-Sent Events) first, then reads every
network and port once, then applies each event as it comes: nothing is polled, and nothing that
changes after the subscription is missed. With --json it prints each event as it comes, one JSON
line `{"id", "type", "data"}` (the event's id and type, and its data as the client parsed it, fields
without a value left out), instead of the table.
"""

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Annotated

import typer
from rich.live import Live
from rich.table import Table
from rich.text import Text

from cli.context import EXIT_TIMEOUT, JsonOpt, CliContext, cli_context, console, reports_errors
from cli.output import status_text
from netprov_client import TRUNCATED, AsyncClient, WaitTimeout
from netprov.resources import NetworkBody, PortBody, StatusEvent
from netprov.status import PROVISIONING


@dataclass
class Row:
    kind: str
    id: str
    parent: str = ""  # a network's name, a port's network id
    status: str | None = None
    reason: str | None = None
    link: str | None = None
    link_reason: str | None = None
    attachment: str | None = None
    attachment_status: str | None = None


@dataclass
class Board:
    """The watched resources, keyed by (kind, id), in the order first seen."""

    rows: dict[tuple[str, str], Row] = field(default_factory=dict)

    def load(self, networks: list[NetworkBody], ports: list[PortBody]) -> None:
        self.rows.clear()
        for network in networks:
            self.rows[("network", network.id)] = Row("network", network.id, network.name, network.status, network.status_reason)
        for port in ports:
            row = Row("port", port.id, port.network_id, port.status, port.status_reason, port.link_status, port.link_status_string)
            if port.attachment is not None:
                row.attachment = f"{port.attachment.id}@{port.attachment.host}"
                row.attachment_status = port.attachment.status
            self.rows[("port", port.id)] = row

    def apply(self, event: StatusEvent) -> None:
        data = event.data
        if data.resource_type == "network" and data.id:
            if data.deleted:
                self.rows.pop(("network", data.id), None)
                return
            row = self.rows.setdefault(("network", data.id), Row("network", data.id))
            row.parent, row.status, row.reason = data.name or row.parent, data.status, data.status_reason
        elif data.resource_type == "port" and data.id:
            if data.deleted:
                self.rows.pop(("port", data.id), None)
                return
            row = self.rows.setdefault(("port", data.id), Row("port", data.id, data.network_id or ""))
            if event.type.endswith("link_status"):
                row.link, row.link_reason = data.link_status, data.link_status_string
            else:
                row.status, row.reason = data.status, data.status_reason
                row.link, row.link_reason = data.link_status or row.link, data.link_status_string
        elif data.resource_type == "attachment" and data.port_id:
            row = self.rows.get(("port", data.port_id))
            if row is None:
                return
            if data.deleted:
                row.attachment = row.attachment_status = None
            else:
                row.attachment, row.attachment_status = f"{data.id}@{data.host}", data.status

    def settled(self) -> bool:
        return all(r.status != PROVISIONING and r.attachment_status != PROVISIONING for r in self.rows.values())

    def table(self, caption: str = "") -> Table:
        table = Table(header_style="bold", caption=caption, caption_justify="left")
        for column in ("TYPE", "ID", "NETWORK", "STATUS", "REASON", "LINK", "ATTACHMENT"):
            table.add_column(column, no_wrap=column in ("TYPE", "ID", "STATUS"))
        for row in self.rows.values():
            link = status_text(row.link) if row.link else Text("")
            if row.link and row.link_reason:
                link.append(f" ({row.link_reason})")
            attachment = Text("")
            if row.attachment:
                attachment = Text(f"{row.attachment} ")
                attachment.append_text(status_text(row.attachment_status))
            table.add_row(row.kind, row.id, row.parent, status_text(row.status), row.reason or "", link, attachment)
        return table


def watch(
    ctx: typer.Context,
    timeout: Annotated[float | None, typer.Option("--timeout", min=0, help="Stop after this many seconds.")] = None,
    until_settled: Annotated[
        bool, typer.Option("--until-settled", help="Stop once nothing is PROVISIONING (exit 2 if --timeout comes first).")
    ] = False,
    last_event_id: Annotated[
        int | None, typer.Option("--last-event-id", min=0, help="With --json: start after this event id (resume).")
    ] = None,
    json_output: JsonOpt = False,
) -> None:
    """Live table of the tenant's resources and their statuses (Ctrl-C to stop)."""
    cli = cli_context(ctx, json_output)
    cli.need_tenant()
    try:
        settled = asyncio.run(_watch(cli, timeout, until_settled, last_event_id))
    except KeyboardInterrupt:
        return
    if until_settled and not settled:
        typer.echo(f"Error: not settled within {timeout} s", err=True)
        raise typer.Exit(EXIT_TIMEOUT)


watch = reports_errors(watch)


async def _watch(cli: CliContext, timeout: float | None, until_settled: bool, last_event_id: int | None) -> bool:
    deadline = None if timeout is None else time.monotonic() + timeout
    queue: asyncio.Queue[StatusEvent | Exception] = asyncio.Queue()
    opened = asyncio.Event()
    async with AsyncClient(cli.api_url, cli.token, cli.tenant) as api:

        async def pump() -> None:
            try:
                async for event in api.events(last_event_id=last_event_id, on_open=opened.set):
                    await queue.put(event)
            except Exception as error:  # noqa: BLE001 - handed to the main loop, which raises it
                await queue.put(error)
                opened.set()

        reader = asyncio.create_task(pump())
        try:
            await _first(opened, queue, deadline)
            if cli.json:
                return await _print_events(queue, deadline)
            board = Board()
            board.load(*await _snapshot(api))
            if until_settled and board.settled():
                console().print(board.table())
                return True
            with Live(board.table(), console=console(), refresh_per_second=4, transient=False) as live:
                while True:
                    event = await _next(queue, deadline)
                    if event is None:
                        return board.settled()
                    if event.type == TRUNCATED:
                        board.load(*await _snapshot(api))
                    else:
                        board.apply(event)
                    live.update(board.table(f"last event {event.id}"))
                    if until_settled and board.settled():
                        return True
        finally:
            reader.cancel()
            try:
                await reader
            except asyncio.CancelledError:
                pass


async def _first(opened: asyncio.Event, queue: asyncio.Queue, deadline: float | None) -> None:
    remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
    try:
        await asyncio.wait_for(opened.wait(), remaining)
    except TimeoutError:
        raise WaitTimeout("the event stream did not open in time") from None
    if not queue.empty() and isinstance(queue._queue[0], Exception):  # type: ignore[attr-defined]
        raise queue.get_nowait()


async def _next(queue: asyncio.Queue, deadline: float | None) -> StatusEvent | None:
    """The next event, None once the deadline passed; an error of the reader is raised here."""
    try:
        if deadline is None:
            item = await queue.get()
        else:
            item = await asyncio.wait_for(queue.get(), max(0.0, deadline - time.monotonic()))
    except TimeoutError:
        return None
    if isinstance(item, Exception):
        raise item
    return item


async def _snapshot(api: AsyncClient) -> tuple[list[NetworkBody], list[PortBody]]:
    networks = await api.list_networks()
    ports = [port for network in networks for port in await api.list_ports(network.id)]
    return networks, ports


async def _print_events(queue: asyncio.Queue, deadline: float | None) -> bool:
    while True:
        event = await _next(queue, deadline)
        if event is None:
            return True
        typer.echo(json.dumps(event.model_dump(mode="json", exclude_none=True)))
