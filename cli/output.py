"""Resources in the output format asked for (cli.formats: table, json, yaml, value, csv; -c columns)."""

import typer
from rich.table import Table
from rich.text import Text

from cli.context import CliContext, console
from cli.formats import Column, OutputFormat, dump, render_list, render_one
from netprov.resources import AttachmentBody, HistoryBody, NetworkBody, PortBody, TokenBody

STATUS_STYLE = {
    "AVAILABLE": "green",
    "ACTIVE": "green",
    "UP": "green",
    "DOWN": "yellow",
    "PROVISIONING": "cyan",
    "ERROR": "bold red",
    "UNKNOWN": "magenta",
}


def status_text(value: str | None) -> Text:
    return Text(value or "-", style=STATUS_STYLE.get(value or "", ""))


def _table(title: str | None = None) -> Table:
    return Table(title=title, title_justify="left", header_style="bold")


def _status_column(key: str) -> Column:
    return Column(key, styled=lambda row: status_text(row.get(key)), wrap=False)


def _attachment_plain(row: dict) -> str:
    attachment = row.get("attachment")
    return f"{attachment['id']}@{attachment['host']} {attachment['status']}" if attachment else ""


def _attachment_styled(row: dict) -> Text:
    attachment = row.get("attachment")
    if not attachment:
        return Text("-")
    text = Text(f"{attachment['id']}@{attachment['host']} ")
    text.append_text(status_text(attachment["status"]))
    return text


def _link_styled(row: dict) -> Text:
    text = status_text(row.get("link_status"))
    if row.get("link_status_string"):
        text.append(f" ({row['link_status_string']})")
    return text


ID = Column("id", wrap=False)
WORKFLOW = Column("workflow", plain=lambda row: (row.get("links") or {}).get("workflow") or "")
NETWORK_LIST = (ID, Column("name"), _status_column("status"), Column("status_reason"), Column("plugin", wrap=False))
NETWORK_SHOW = (
    ID, Column("name"), _status_column("status"), Column("status_reason"), Column("plugin"), Column("plugin_data"),
    Column("created_at"), Column("updated_at"), WORKFLOW,
)
PORT_LIST = (
    ID, Column("state", wrap=False), _status_column("status"), Column("status_reason"),
    Column("link_status", styled=_link_styled), Column("attachment", plain=_attachment_plain, styled=_attachment_styled),
)
PORT_SHOW = (
    ID, Column("network_id"), Column("state"), _status_column("status"), Column("status_reason"),
    _status_column("link_status"), Column("link_status_string"),
    Column("attachment", plain=_attachment_plain, styled=_attachment_styled),
    Column("attachment_reason", plain=lambda row: (row.get("attachment") or {}).get("status_reason") or ""),
    Column("created_at"), Column("updated_at"), WORKFLOW,
)
ATTACHMENT = (ID, Column("host"), _status_column("status"), Column("status_reason"))
ATTACHMENT_LIST = (Column("port_id", wrap=False), *ATTACHMENT)


def _echo(value) -> None:
    if isinstance(value, str):
        typer.echo(value)
    else:
        console().print(value)


def _list(cli: CliContext, columns, bodies: list) -> None:
    render_list(cli.output, columns, bodies, cli.columns, _table, _echo)


def _one(cli: CliContext, columns, body) -> None:
    render_one(cli.output, columns, body, cli.columns, _echo)


def network(cli: CliContext, body: NetworkBody) -> None:
    _one(cli, NETWORK_SHOW, body)


def networks(cli: CliContext, bodies: list[NetworkBody]) -> None:
    _list(cli, NETWORK_LIST, bodies)


def port(cli: CliContext, body: PortBody) -> None:
    _one(cli, PORT_SHOW, body)


def ports(cli: CliContext, bodies: list[PortBody]) -> None:
    _list(cli, PORT_LIST, bodies)


def attachment(cli: CliContext, body: AttachmentBody | None) -> None:
    if body is None:
        if cli.output in (OutputFormat.json, OutputFormat.yaml):
            typer.echo(dump(cli.output, None))
        elif cli.output == OutputFormat.table:
            console().print("no attachment")
        return
    _one(cli, ATTACHMENT, body)


def attachments(cli: CliContext, by_port: dict[str, AttachmentBody]) -> None:
    if cli.output in (OutputFormat.json, OutputFormat.yaml) and not cli.columns:
        typer.echo(dump(cli.output, {port_id: body.model_dump(mode="json") for port_id, body in by_port.items()}))
        return
    _list(cli, ATTACHMENT_LIST, [{"port_id": port_id, **body.model_dump(mode="json")} for port_id, body in by_port.items()])


def token(cli: CliContext, body: TokenBody) -> None:
    _one(cli, (Column("id"), Column("secret"), Column("tenant_id"), Column("admin")), body)
    if cli.output == OutputFormat.table:
        console().print("The secret is shown only now: use it as NETPROV_TOKEN (X-Auth-Token).")


def deleted(cli: CliContext, what: str, gone: bool) -> None:
    if cli.output in (OutputFormat.json, OutputFormat.yaml):
        typer.echo(dump(cli.output, {"deleted": gone, "pending": not gone}))
    else:
        console().print(f"{what} deleted" if gone else f"{what}: deletion accepted, in progress")


def history(cli: CliContext, body: HistoryBody) -> None:
    if cli.output in (OutputFormat.json, OutputFormat.yaml):
        typer.echo(dump(cli.output, body.model_dump(mode="json")))
        return
    out = console()
    out.print(Text.assemble(f"{body.resource_type} {body.id}: ", status_text(body.status), f"  {body.status_reason or ''}"))
    ops = _table("Operations accepted")
    for column in ("SEQ", "KIND", "ACCEPTED", "DELIVERED", "APPLIED", "DETAILS"):
        ops.add_column(column)
    for op in body.operations:
        details = ", ".join(f"{k}={v}" for k, v in op.payload.items())
        ops.add_row(str(op.seq), op.kind, op.accepted_at.isoformat(timespec="seconds"), _yes(op.delivered), _yes(op.applied), details)
    out.print(ops)
    runs = _table("Workflow runs")
    for column in ("RUN", "STATUS", "STARTED", "CLOSED", "TEMPORAL UI"):
        runs.add_column(column, overflow="fold")
    for run in body.workflow_runs:
        runs.add_row(run.run_id, run.status or "-", _time(run.start_time), _time(run.close_time), run.link)
    out.print(runs)
    if body.workflow_runs_unavailable:
        out.print(f"(workflow runs unavailable: {body.workflow_runs_unavailable})")
    recent = _table("Recent events")
    for column in ("ID", "TYPE", "STATUS", "REASON", "AT"):
        recent.add_column(column)
    for event in body.events:
        data = event.data
        status = data.link_status if event.type.endswith("link_status") else ("deleted" if data.deleted else data.status)
        reason = data.link_status_string if event.type.endswith("link_status") else data.status_reason
        recent.add_row(str(event.id), event.type, status_text(status), reason or "", _time(data.at))
    out.print(recent)


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _time(value) -> str:
    return value.isoformat(timespec="seconds") if value else "-"
