"""`netprov`: the command line of the netprov API (installed by the project).

    export NETPROV_API_URL=http://127.0.0.1:8000 NETPROV_TOKEN=<secret> NETPROV_TENANT=t1
    netprov network create web --wait 10
    netprov port create NETWORK --state ACTIVE
    netprov attachment create NETWORK PORT --iface vif-1 --host h1 --wait 10
    netprov watch                      # live table of statuses
    netprov admin history NETWORK      # operations, workflow runs, events

Commands that list or show resources take the `openstack` CLI's `-f table|json|yaml|value|csv`
and `-c COLUMN` (cli.formats; --json is -f json). API errors print the problem's title and detail
and exit 1; a --wait exits 0 when settled as asked, 1 in ERROR, 2 when it ran out (cli.context).
Help is plain text. All calls go through netprov_client.
"""

from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer

from cli.admin import admin_app
from cli.batch import app as batch_app
from cli.context import DEFAULT_API_URL, CliContext, JsonOpt, cli_context, reports_errors
from cli.formats import FormatOpt, OutputFormat, dump
from cli.resources import attachment_app, network_app, port_app, token_app
from cli.watch import watch

app = typer.Typer(
    help="netprov: networks, ports and attachments provisioned by durable workflows.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _version(asked: bool) -> None:
    if asked:
        try:
            typer.echo(f"netprov {version('netprov')}")
        except PackageNotFoundError:  # run from a tree that was never installed
            typer.echo("netprov (not installed)")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    api_url: Annotated[str, typer.Option("--api-url", envvar="NETPROV_API_URL", help="The API's address.")] = DEFAULT_API_URL,
    token: Annotated[str | None, typer.Option("--token", envvar="NETPROV_TOKEN", help="X-Auth-Token secret.")] = None,
    tenant: Annotated[str | None, typer.Option("--tenant", envvar="NETPROV_TENANT", help="Tenant whose resources to use.")] = None,
    json_output: JsonOpt = False,
    _: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    ctx.obj = CliContext(api_url=api_url, token=token, tenant=tenant, json=json_output)


app.add_typer(network_app, name="network")
app.add_typer(port_app, name="port")
app.add_typer(attachment_app, name="attachment")
app.add_typer(token_app, name="token")
app.add_typer(admin_app, name="admin")
app.add_typer(batch_app, name="batch")
app.command("watch")(watch)


@app.command("health")
@reports_errors
def health(ctx: typer.Context, json_output: JsonOpt = False, fmt: FormatOpt = None) -> None:
    """The API's /healthz: its database and workflow engine (and, under `make run`, every process)."""
    cli = cli_context(ctx, json_output, fmt)
    with cli.client() as api:
        body = api.health()
    if cli.output != OutputFormat.table:
        typer.echo(dump(cli.output, body.model_dump(mode="json", exclude_none=True)))  # the /healthz body as served
    else:
        typer.echo(f"status {body.status}: temporal {body.temporal}, database {body.database}")
        for proc in body.processes or []:  # only under the dev stack's supervisor
            exited = f", last exit: {proc.last_exit}" if proc.last_exit else ""
            pid = f" pid {proc.pid}" if proc.pid else ""
            typer.echo(f"  {proc.name:<16} {proc.state}{pid} since {proc.since}, {proc.restarts} restarts{exited}")


def _mount_vm() -> None:
    """`netprov vm` (dev VMs on Open vSwitch hosts) lives in cli.vm; absent, the rest still works."""
    try:
        from cli.vm import app as vm_app
    except ImportError:
        return
    app.add_typer(vm_app, name="vm")


_mount_vm()


def _plain_help(typer_app: typer.Typer) -> None:
    """Plain-text help everywhere, as the openstack CLI's: rich help shows `<bool>` after every flag,
    as if it took a value."""
    typer_app.rich_markup_mode = None
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _plain_help(group.typer_instance)


_plain_help(app)

if __name__ == "__main__":
    app()
