"""`netprov admin ...`: operator actions through the API, and Temporal setup for a real cluster.

    netprov admin retry NETWORK [PORT]        re-drive a resource in ERROR
    netprov admin cancel NETWORK [PORT]       stop the operation in flight (it ends in ERROR)
    netprov admin history NETWORK [PORT]      operations, workflow runs (with Temporal UI links), events
    netprov admin setup-temporal              register netprov's search attributes on a cluster
"""

import asyncio
from typing import Annotated

import typer

from cli import output
from cli.context import JsonOpt, NetworkArg, WaitOpt, cli_context, console, print_json, reports_errors
from netprov.naming import SEARCH_ATTRIBUTES
from netprov.resources import PortBody

admin_app = typer.Typer(help="Operator actions: retry, cancel, history; Temporal setup.", no_args_is_help=True)
OptionalPort = Annotated[str | None, typer.Argument(help="A port of NETWORK (else the network).")]


@admin_app.command("retry")
@reports_errors
def retry(ctx: typer.Context, network_id: NetworkArg, port_id: OptionalPort = None, wait: WaitOpt = None,
          json_output: JsonOpt = False) -> None:
    """Provision a network or port in ERROR again (a port: also re-plug a failed attachment)."""
    cli = cli_context(ctx, json_output)
    cli.need_tenant()
    with cli.client() as api:
        _show(cli, api.retry(network_id, port_id, wait=wait))


@admin_app.command("cancel")
@reports_errors
def cancel(ctx: typer.Context, network_id: NetworkArg, port_id: OptionalPort = None, wait: WaitOpt = None,
           json_output: JsonOpt = False) -> None:
    """Stop the operation in flight: it ends in ERROR "cancelled by operator"; retry re-drives it."""
    cli = cli_context(ctx, json_output)
    cli.need_tenant()
    with cli.client() as api:
        _show(cli, api.cancel(network_id, port_id, wait=wait))


@admin_app.command("history")
@reports_errors
def history(ctx: typer.Context, network_id: NetworkArg, port_id: OptionalPort = None, json_output: JsonOpt = False) -> None:
    """Accepted operations, the workflow runs that applied them, and recent status events."""
    cli = cli_context(ctx, json_output)
    cli.need_tenant()
    with cli.client() as api:
        output.history(cli, api.history(network_id, port_id))


@admin_app.command("setup-temporal")
def setup_temporal(
    ctx: typer.Context,
    address: Annotated[str, typer.Option("--address", envvar="TEMPORAL_ADDRESS", help="Temporal frontend host:port.")] = "localhost:7233",
    namespace: Annotated[str, typer.Option("--namespace", envvar="TEMPORAL_NAMESPACE")] = "default",
    json_output: JsonOpt = False,
) -> None:
    """Register NetprovTenant, NetprovResourceType, NetprovStatus (Keyword) on a Temporal cluster.

    Talks to the cluster's operator service directly (not through the API); idempotent. The dev
    server of `make run` has them already, and the API registers them when it can."""
    cli = cli_context(ctx, json_output)
    try:
        before, after = asyncio.run(_setup(address, namespace))
    except Exception as error:  # noqa: BLE001 - any failure is reported as such
        typer.echo(f"Error: cannot register search attributes on {address} (namespace {namespace}): {error}", err=True)
        raise typer.Exit(1) from None
    missing = [name for name in SEARCH_ATTRIBUTES if name not in after]
    if cli.json:
        print_json({"namespace": namespace, "registered": [n for n in SEARCH_ATTRIBUTES if n in after and n not in before],
                    "present": [n for n in SEARCH_ATTRIBUTES if n in after], "missing": missing})
    else:
        for name in SEARCH_ATTRIBUTES:
            state = "missing" if name in missing else ("registered now" if name not in before else "present")
            console().print(f"{name} (Keyword): {state}")
    if missing:
        raise typer.Exit(1)


async def _setup(address: str, namespace: str) -> tuple[set[str], set[str]]:
    from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
    from temporalio.client import Client

    from netprov.temporal_connection import ensure_search_attributes

    client = await asyncio.wait_for(Client.connect(address, namespace=namespace), 10)

    async def present() -> set[str]:
        listed = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=namespace))
        return set(listed.custom_attributes)

    before = await present()
    await ensure_search_attributes(client, namespace)
    return before, await present()


def _show(cli, body) -> None:
    if isinstance(body, PortBody):
        output.port(cli, body)
    else:
        output.network(cli, body)
