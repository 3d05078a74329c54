"""Resources as rich tables, or as JSON with --json."""

from rich.table import Table
from rich.text import Text

from cli.context import CliContext, console, print_json
from netprov.qos_resources import QosPolicyBody, QosRuleBody
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


def _details(rows: list[tuple[str, object]]) -> None:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for name, value in rows:
        table.add_row(name, value if isinstance(value, Text) else Text("-" if value is None else str(value)))
    console().print(table)


def network(cli: CliContext, body: NetworkBody) -> None:
    if cli.json:
        print_json(body)
        return
    _details([
        ("id", body.id), ("name", body.name), ("status", status_text(body.status)), ("status_reason", body.status_reason),
        ("plugin", body.plugin), ("plugin_data", body.plugin_data or None), ("qos_policy_id", body.qos_policy_id),
        ("created_at", body.created_at),
        ("updated_at", body.updated_at), ("workflow", body.links.workflow),
    ])


def networks(cli: CliContext, bodies: list[NetworkBody]) -> None:
    if cli.json:
        print_json(bodies)
        return
    table = _table()
    for column in ("ID", "NAME", "STATUS", "REASON", "PLUGIN"):
        table.add_column(column, no_wrap=column in ("ID", "STATUS"))
    for body in bodies:
        table.add_row(body.id, body.name, status_text(body.status), body.status_reason or "", body.plugin)
    console().print(table)


def _attachment_cell(attachment: AttachmentBody | None) -> Text:
    if attachment is None:
        return Text("-")
    text = Text(f"{attachment.id}@{attachment.host} ")
    text.append_text(status_text(attachment.status))
    return text


def port(cli: CliContext, body: PortBody) -> None:
    if cli.json:
        print_json(body)
        return
    attachment = body.attachment
    _details([
        ("id", body.id), ("network_id", body.network_id), ("state", body.state), ("status", status_text(body.status)),
        ("status_reason", body.status_reason), ("link_status", status_text(body.link_status)),
        ("link_status_string", body.link_status_string), ("attachment", _attachment_cell(attachment)),
        ("attachment_reason", attachment.status_reason if attachment else None),
        ("qos_policy_id", body.qos_policy_id), ("qos_network_policy_id", body.qos_network_policy_id),
        ("qos_status", status_text(body.qos_status)), ("qos_status_reason", body.qos_status_reason),
        ("created_at", body.created_at), ("updated_at", body.updated_at), ("workflow", body.links.workflow),
    ])


def ports(cli: CliContext, bodies: list[PortBody]) -> None:
    if cli.json:
        print_json(bodies)
        return
    table = _table()
    for column in ("ID", "STATE", "STATUS", "REASON", "LINK", "ATTACHMENT", "QOS"):
        table.add_column(column, no_wrap=column in ("ID", "STATUS", "STATE"))
    for body in bodies:
        link = status_text(body.link_status)
        if body.link_status_string:
            link.append(f" ({body.link_status_string})")
        table.add_row(body.id, body.state, status_text(body.status), body.status_reason or "", link,
                      _attachment_cell(body.attachment), _qos_cell(body))
    console().print(table)


def _qos_cell(body: PortBody) -> Text:
    """The port's QoS status and the policy that applies (its own, or its network's, marked so)."""
    if body.qos_status is None and body.qos_policy_id is None and body.qos_network_policy_id is None:
        return Text("-")
    text = status_text(body.qos_status)
    if body.qos_policy_id:
        text.append(f" {body.qos_policy_id}")
    elif body.qos_network_policy_id:
        text.append(f" {body.qos_network_policy_id} (network's)")
    if body.qos_status_reason:
        text.append(f" ({body.qos_status_reason})")
    return text


def rule_text(rule: QosRuleBody) -> str:
    if rule.type == "bandwidth_limit":
        burst = f", burst {rule.max_burst_kbps} kbps" if rule.max_burst_kbps else ""
        return f"bandwidth_limit {rule.direction.value} {rule.max_kbps} kbps{burst}"
    return f"dscp_marking {rule.dscp_mark}"


def _rules_text(body: QosPolicyBody) -> str:
    return "\n".join(rule_text(rule) for rule in body.rules) or "(no rules)"


def qos_policy(cli: CliContext, body: QosPolicyBody) -> None:
    if cli.json:
        print_json(body)
        return
    _details([
        ("id", body.id), ("name", body.name), ("status", status_text(body.status)), ("status_reason", body.status_reason),
        ("rules", _rules_text(body)), ("created_at", body.created_at), ("updated_at", body.updated_at),
    ])


def qos_policies(cli: CliContext, bodies: list[QosPolicyBody]) -> None:
    if cli.json:
        print_json(bodies)
        return
    table = _table()
    for column in ("ID", "NAME", "STATUS", "RULES"):
        table.add_column(column, no_wrap=column in ("ID", "STATUS"))
    for body in bodies:
        table.add_row(body.id, body.name, status_text(body.status), _rules_text(body))
    console().print(table)


def attachment(cli: CliContext, body: AttachmentBody | None) -> None:
    if cli.json:
        print_json(body.model_dump(mode="json") if body else None)
        return
    if body is None:
        console().print("no attachment")
        return
    _details([("id", body.id), ("host", body.host), ("status", status_text(body.status)), ("status_reason", body.status_reason)])


def attachments(cli: CliContext, by_port: dict[str, AttachmentBody]) -> None:
    if cli.json:
        print_json({port_id: body.model_dump(mode="json") for port_id, body in by_port.items()})
        return
    table = _table()
    for column in ("PORT", "INTERFACE", "HOST", "STATUS", "REASON"):
        table.add_column(column, no_wrap=column in ("PORT", "STATUS"))
    for port_id, body in by_port.items():
        table.add_row(port_id, body.id, body.host, status_text(body.status), body.status_reason or "")
    console().print(table)


def token(cli: CliContext, body: TokenBody) -> None:
    if cli.json:
        print_json(body)
        return
    _details([("id", body.id), ("secret", body.secret), ("tenant_id", body.tenant_id), ("admin", body.admin)])
    console().print("The secret is shown only now: use it as NETPROV_TOKEN (X-Auth-Token).")


def deleted(cli: CliContext, what: str, gone: bool) -> None:
    if cli.json:
        print_json({"deleted": gone, "pending": not gone})
    else:
        console().print(f"{what} deleted" if gone else f"{what}: deletion accepted, in progress")


def history(cli: CliContext, body: HistoryBody) -> None:
    if cli.json:
        print_json(body)
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
