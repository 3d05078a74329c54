"""`netprov network|port|attachment|token ...`: the REST resources, one command per call."""

from typing import Annotated

import typer

from cli import output
from cli.context import JsonOpt, NetworkArg, PortArg, WaitOpt, cli_context, reports_errors
from cli.formats import ColumnOpt, FormatOpt
from cli.waiting import check_attachment, check_deleted, check_network, check_port, waiting

network_app = typer.Typer(help="Networks: create, list, show, rename, delete.", no_args_is_help=True)
port_app = typer.Typer(help="Ports of a network: create, list, show, set admin state, delete.", no_args_is_help=True)
attachment_app = typer.Typer(help="The interface plugged into a port.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens (needs an admin token).", no_args_is_help=True)

StatusOpt = Annotated[
    list[str] | None, typer.Option("--status", metavar="STATUS", help="Only these statuses (repeat, or comma-separated).")
]
IfaceOpt = Annotated[str, typer.Option("--iface", metavar="ID", help="Interface id (1..255 characters, no whitespace).")]
HostOpt = Annotated[str | None, typer.Option("--host", metavar="HOST", help="Hypervisor host (default: the plugin's default host).")]


# -- networks ----------------------------------------------------------------------------------


@network_app.command("create")
@reports_errors
def network_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Network name, 1..255 characters.")],
    plugin: Annotated[str | None, typer.Option("--plugin", metavar="PLUGIN", help="Plugin (default: the server's).")] = None,
    wait: WaitOpt = None,
    idempotency_key: Annotated[str | None, typer.Option("--idempotency-key", metavar="KEY", help="Makes a retried create safe.")] = None,
    json_output: JsonOpt = False,
    fmt: FormatOpt = None,
    columns: ColumnOpt = None,
) -> None:
    """Create a network; without --wait it answers at once, PROVISIONING."""
    cli = cli_context(ctx, json_output, fmt, columns)
    cli.need_tenant()
    with cli.client() as api:
        with waiting(f"network {name}", wait):
            body = api.create_network(name, plugin=plugin, wait=wait, idempotency_key=idempotency_key)
    output.network(cli, body)
    check_network(body, wait)


@network_app.command("list")
@reports_errors
def network_list(ctx: typer.Context, status: StatusOpt = None, json_output: JsonOpt = False,
    fmt: FormatOpt = None, columns: ColumnOpt = None,
) -> None:
    """List the tenant's networks."""
    cli = cli_context(ctx, json_output, fmt, columns)
    cli.need_tenant()
    with cli.client() as api:
        output.networks(cli, api.list_networks(status=_split(status)))


@network_app.command("show")
@reports_errors
def network_show(ctx: typer.Context, network_id: NetworkArg, json_output: JsonOpt = False,
    fmt: FormatOpt = None, columns: ColumnOpt = None,
) -> None:
    """Show one network."""
    cli = cli_context(ctx, json_output, fmt, columns)
    cli.need_tenant()
    with cli.client() as api:
        output.network(cli, api.show_network(network_id))


@network_app.command("update")
@reports_errors
def network_update(
    ctx: typer.Context,
    network_id: NetworkArg,
    name: Annotated[str, typer.Option("--name", metavar="NAME", help="The new name.")],
    json_output: JsonOpt = False,
    fmt: FormatOpt = None,
    columns: ColumnOpt = None,
) -> None:
    """Rename a network (applied at once)."""
    cli = cli_context(ctx, json_output, fmt, columns)
    cli.need_tenant()
    with cli.client() as api:
        output.network(cli, api.update_network(network_id, name=name))


@network_app.command("delete")
@reports_errors
def network_delete(ctx: typer.Context, network_id: NetworkArg, wait: WaitOpt = None, json_output: JsonOpt = False) -> None:
    """Delete a network and its ports (none may have an attachment); cancels provisioning."""
    cli = cli_context(ctx, json_output)
    cli.need_tenant()
    with cli.client() as api:
        with waiting(f"network {network_id}", wait):
            gone = api.delete_network(network_id, wait=wait)
    output.deleted(cli, f"network {network_id}", gone)
    check_deleted(f"network {network_id}", gone, wait)


# -- ports -------------------------------------------------------------------------------------


@port_app.command("create")
@reports_errors
def port_create(
    ctx: typer.Context,
    network_id: NetworkArg,
    state: Annotated[str | None, typer.Option("--state", metavar="STATE", help="Admin state ACTIVE or DOWN (default DOWN).")] = None,
    wait: WaitOpt = None,
    idempotency_key: Annotated[str | None, typer.Option("--idempotency-key", metavar="KEY", help="Makes a retried create safe.")] = None,
    json_output: JsonOpt = False,
    fmt: FormatOpt = None,
    columns: ColumnOpt = None,
) -> None:
    """Create a port on a network (accepted even while the network is PROVISIONING)."""
    cli = cli_context(ctx, json_output, fmt, columns)
    cli.need_tenant()
    with cli.client() as api:
        with waiting("port", wait):
            body = api.create_port(network_id, state=state, wait=wait, idempotency_key=idempotency_key)
    output.port(cli, body)
    check_port(body, wait, state)


@port_app.command("list")
@reports_errors
def port_list(ctx: typer.Context, network_id: NetworkArg, status: StatusOpt = None, json_output: JsonOpt = False,
    fmt: FormatOpt = None, columns: ColumnOpt = None,
) -> None:
    """List a network's ports."""
    cli = cli_context(ctx, json_output, fmt, columns)
    cli.need_tenant()
    with cli.client() as api:
        output.ports(cli, api.list_ports(network_id, status=_split(status)))


@port_app.command("show")
@reports_errors
def port_show(ctx: typer.Context, network_id: NetworkArg, port_id: PortArg, json_output: JsonOpt = False,
    fmt: FormatOpt = None, columns: ColumnOpt = None,
) -> None:
    """Show one port, with its link status and attachment."""
    cli = cli_context(ctx, json_output, fmt, columns)
    cli.need_tenant()
    with cli.client() as api:
        output.port(cli, api.show_port(network_id, port_id))


@port_app.command("update")
@reports_errors
def port_update(
    ctx: typer.Context,
    network_id: NetworkArg,
    port_id: PortArg,
    state: Annotated[str, typer.Option("--state", metavar="STATE", help="Admin state ACTIVE or DOWN.")],
    wait: WaitOpt = None,
    json_output: JsonOpt = False,
    fmt: FormatOpt = None,
    columns: ColumnOpt = None,
) -> None:
    """Set a port's admin state."""
    cli = cli_context(ctx, json_output, fmt, columns)
    cli.need_tenant()
    with cli.client() as api:
        with waiting(f"port {port_id}", wait):
            body = api.update_port(network_id, port_id, state=state, wait=wait)
    output.port(cli, body)
    check_port(body, wait, state)


@port_app.command("delete")
@reports_errors
def port_delete(
    ctx: typer.Context, network_id: NetworkArg, port_id: PortArg, wait: WaitOpt = None, json_output: JsonOpt = False
) -> None:
    """Delete a port (it must have no attachment)."""
    cli = cli_context(ctx, json_output)
    cli.need_tenant()
    with cli.client() as api:
        with waiting(f"port {port_id}", wait):
            gone = api.delete_port(network_id, port_id, wait=wait)
    output.deleted(cli, f"port {port_id}", gone)
    check_deleted(f"port {port_id}", gone, wait)


# -- attachments -------------------------------------------------------------------------------


@attachment_app.command("create")
@reports_errors
def attachment_create(
    ctx: typer.Context,
    network_id: NetworkArg,
    port_id: PortArg,
    iface: IfaceOpt,
    host: HostOpt = None,
    wait: WaitOpt = None,
    json_output: JsonOpt = False,
    fmt: FormatOpt = None,
    columns: ColumnOpt = None,
) -> None:
    """Plug an interface into a port."""
    cli = cli_context(ctx, json_output, fmt, columns)
    cli.need_tenant()
    with cli.client() as api:
        with waiting(f"attachment {iface}", wait):
            body = api.create_attachment(network_id, port_id, iface, host=host, wait=wait)
    output.attachment(cli, body)
    check_attachment(body, wait)


@attachment_app.command("list")
@reports_errors
def attachment_list(ctx: typer.Context, network_id: NetworkArg, json_output: JsonOpt = False,
    fmt: FormatOpt = None, columns: ColumnOpt = None,
) -> None:
    """List the attachments of a network's ports."""
    cli = cli_context(ctx, json_output, fmt, columns)
    cli.need_tenant()
    with cli.client() as api:
        output.attachments(cli, api.list_attachments(network_id))


@attachment_app.command("show")
@reports_errors
def attachment_show(ctx: typer.Context, network_id: NetworkArg, port_id: PortArg, json_output: JsonOpt = False,
    fmt: FormatOpt = None, columns: ColumnOpt = None,
) -> None:
    """Show a port's attachment."""
    cli = cli_context(ctx, json_output, fmt, columns)
    cli.need_tenant()
    with cli.client() as api:
        output.attachment(cli, api.show_attachment(network_id, port_id))


@attachment_app.command("update")
@reports_errors
def attachment_update(
    ctx: typer.Context,
    network_id: NetworkArg,
    port_id: PortArg,
    iface: IfaceOpt,
    host: HostOpt = None,
    wait: WaitOpt = None,
    json_output: JsonOpt = False,
    fmt: FormatOpt = None,
    columns: ColumnOpt = None,
) -> None:
    """Replace a port's attachment: unplug the current interface (if another), plug this one."""
    cli = cli_context(ctx, json_output, fmt, columns)
    cli.need_tenant()
    with cli.client() as api:
        with waiting(f"attachment {iface}", wait):
            body = api.update_attachment(network_id, port_id, iface, host=host, wait=wait)
    output.attachment(cli, body)
    check_attachment(body, wait)


@attachment_app.command("delete")
@reports_errors
def attachment_delete(
    ctx: typer.Context, network_id: NetworkArg, port_id: PortArg, wait: WaitOpt = None, json_output: JsonOpt = False
) -> None:
    """Unplug a port's interface."""
    cli = cli_context(ctx, json_output)
    cli.need_tenant()
    with cli.client() as api:
        with waiting(f"attachment of port {port_id}", wait):
            gone = api.delete_attachment(network_id, port_id, wait=wait)
    output.deleted(cli, f"attachment of port {port_id}", gone)
    check_deleted(f"attachment of port {port_id}", gone, wait)


# -- tokens ------------------------------------------------------------------------------------


@token_app.command("create")
@reports_errors
def token_create(
    ctx: typer.Context,
    tenant_id: Annotated[str | None, typer.Option("--tenant-id", metavar="TENANT", help="Issue a token of this tenant.")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Issue an admin token.")] = False,
    json_output: JsonOpt = False,
    fmt: FormatOpt = None,
    columns: ColumnOpt = None,
) -> None:
    """Issue a token; its secret is shown only in this answer."""
    cli = cli_context(ctx, json_output, fmt, columns)
    if admin == (tenant_id is not None):
        raise typer.BadParameter("give either --tenant-id T or --admin")
    with cli.client() as api:
        output.token(cli, api.create_token(tenant_id=tenant_id, admin=admin))


@token_app.command("delete")
@reports_errors
def token_delete(
    ctx: typer.Context, token_id: Annotated[str, typer.Argument(help="The token's public id.")], json_output: JsonOpt = False
) -> None:
    """Revoke a token."""
    cli = cli_context(ctx, json_output)
    with cli.client() as api:
        api.delete_token(token_id)
    output.deleted(cli, f"token {token_id}", True)


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [part.strip().upper() for value in values for part in value.split(",") if part.strip()]
