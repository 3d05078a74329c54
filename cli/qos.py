"""`netprov qos policy create|list|show|set|delete`: the tenant's QoS policies, and how the other
commands name one (`--qos-policy ID|NAME`).

Rules on the command line:

    --bandwidth-limit MAX_KBPS[,burst=KBPS][,direction=egress|ingress]   (repeat: one per direction)
    --dscp-mark N

Only the syntax is checked here; ranges, the DSCP set and "one rule per type and direction" are the
API's (a 400 with its sentence, exit 1), so the command line and the API never disagree.
"""

import uuid
from typing import Annotated, Any

import typer

from cli import output
from cli.context import EXIT_FAILED, JsonOpt, NetworkArg, PortArg, WaitOpt, cli_context, reports_errors
from cli.formats import ColumnOpt, FormatOpt
from cli.waiting import check_port, waiting
from netprov.qos_resources import QosPolicyBody
from netprov_client import UNSET, Client, QosPolicyNotFound

qos_app = typer.Typer(help="Quality of service: policies of bandwidth limits and DSCP marks.", no_args_is_help=True)
policy_app = typer.Typer(help="QoS policies: create, list, show, set, delete.", no_args_is_help=True)
qos_app.add_typer(policy_app, name="policy")

PolicyArg = Annotated[str, typer.Argument(metavar="POLICY", help="QoS policy id or name.")]
BandwidthOpt = Annotated[
    list[str] | None,
    typer.Option("--bandwidth-limit", metavar="MAX_KBPS[,burst=KBPS][,direction=egress|ingress]",
                 help="A bandwidth limit rule (repeat for the other direction)."),
]
DscpOpt = Annotated[int | None, typer.Option("--dscp-mark", metavar="N", help="A DSCP marking rule (e.g. 26).")]

BANDWIDTH_KEYS = {"burst": "max_burst_kbps", "direction": "direction"}


def bandwidth_rule(text: str) -> dict[str, Any]:
    """`8000,burst=800,direction=ingress` -> the rule's JSON form; BadParameter for bad syntax."""
    first, *rest = [part.strip() for part in text.split(",")]
    rule: dict[str, Any] = {"type": "bandwidth_limit", "max_kbps": _integer(first, "MAX_KBPS", text)}
    for part in rest:
        key, sep, value = part.partition("=")
        if not sep or key not in BANDWIDTH_KEYS:
            raise typer.BadParameter(f"{part!r} in {text!r}: expected burst=KBPS or direction=egress|ingress",
                                     param_hint="--bandwidth-limit")
        field = BANDWIDTH_KEYS[key]
        if field in rule:
            raise typer.BadParameter(f"{key} is given twice in {text!r}", param_hint="--bandwidth-limit")
        rule[field] = _integer(value, "burst", text) if key == "burst" else value
    return rule


def _integer(value: str, what: str, text: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise typer.BadParameter(f"{what} {value!r} in {text!r} is not an integer", param_hint="--bandwidth-limit") from None


def rules_from_options(bandwidth: list[str] | None, dscp: int | None) -> list[dict[str, Any]]:
    return [bandwidth_rule(text) for text in bandwidth or []] + ([{"type": "dscp_marking", "dscp_mark": dscp}] if dscp is not None else [])


def resolve_policy(api: Client, value: str) -> str:
    """The id of the policy `value` names: a UUID is taken as an id (the API says whether it exists),
    anything else as a name, which must name exactly one policy of the tenant."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        pass
    named = [policy.id for policy in api.list_qos_policies() if policy.name == value]
    if len(named) > 1:
        raise typer.BadParameter(f"{len(named)} QoS policies are named {value!r}: give the id ({', '.join(named)})",
                                 param_hint="--qos-policy")
    if not named:
        raise QosPolicyNotFound(status=404, title="QoS policy not found", code="QosPolicyNotFound",
                                detail=f"No QoS policy of this tenant is named {value!r} (nor has it as id).")
    return named[0]


def policy_choice(api: Client, policy: str | None, no_policy: bool) -> Any:
    """What `--qos-policy X` / `--no-qos-policy` ask for: an id, None (clear), or UNSET (neither given)."""
    if policy is not None and no_policy:
        raise typer.BadParameter("give --qos-policy or --no-qos-policy, not both", param_hint="--qos-policy")
    if no_policy:
        return None
    return UNSET if policy is None else resolve_policy(api, policy)


@policy_app.command("create")
@reports_errors
def policy_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Policy name, 1..255 characters.")],
    bandwidth_limit: BandwidthOpt = None,
    dscp_mark: DscpOpt = None,
    json_output: JsonOpt = False,
    fmt: FormatOpt = None,
    columns: ColumnOpt = None,
) -> None:
    """Create a QoS policy (AVAILABLE at once); ports and networks then name it with --qos-policy."""
    cli = cli_context(ctx, json_output, fmt, columns)
    cli.need_tenant()
    rules = rules_from_options(bandwidth_limit, dscp_mark)
    with cli.client() as api:
        output.qos_policy(cli, api.create_qos_policy(name, rules))


@policy_app.command("list")
@reports_errors
def policy_list(ctx: typer.Context, json_output: JsonOpt = False, fmt: FormatOpt = None, columns: ColumnOpt = None) -> None:
    """List the tenant's QoS policies with their rules."""
    cli = cli_context(ctx, json_output, fmt, columns)
    cli.need_tenant()
    with cli.client() as api:
        output.qos_policies(cli, api.list_qos_policies())


@policy_app.command("show")
@reports_errors
def policy_show(ctx: typer.Context, policy: PolicyArg, json_output: JsonOpt = False, fmt: FormatOpt = None,
                columns: ColumnOpt = None) -> None:
    """Show one QoS policy."""
    cli = cli_context(ctx, json_output, fmt, columns)
    cli.need_tenant()
    with cli.client() as api:
        output.qos_policy(cli, api.show_qos_policy(resolve_policy(api, policy)))


@policy_app.command("set")
@reports_errors
def policy_set(
    ctx: typer.Context,
    policy: PolicyArg,
    name: Annotated[str | None, typer.Option("--name", help="The new name.")] = None,
    bandwidth_limit: BandwidthOpt = None,
    dscp_mark: DscpOpt = None,
    no_rules: Annotated[bool, typer.Option("--no-rules", help="Remove every rule.")] = False,
    json_output: JsonOpt = False,
    fmt: FormatOpt = None,
    columns: ColumnOpt = None,
) -> None:
    """Rename a policy and/or replace its rules: given rule options are the policy's whole new rule
    list, re-applied to every port that uses it; without any, the rules stay."""
    cli = cli_context(ctx, json_output, fmt, columns)
    cli.need_tenant()
    rules = rules_from_options(bandwidth_limit, dscp_mark)
    if no_rules and rules:
        raise typer.BadParameter("--no-rules and rule options exclude each other", param_hint="--no-rules")
    if name is None and not rules and not no_rules:
        raise typer.BadParameter("nothing to set: give --name, rule options or --no-rules")
    with cli.client() as api:
        body: QosPolicyBody = api.update_qos_policy(resolve_policy(api, policy), name=name,
                                                    rules=rules if rules or no_rules else None)
        output.qos_policy(cli, body)


@policy_app.command("delete")
@reports_errors
def policy_delete(ctx: typer.Context, policy: PolicyArg, json_output: JsonOpt = False, fmt: FormatOpt = None) -> None:
    """Delete a policy (refused, QosPolicyInUse, while a port or network names it)."""
    cli = cli_context(ctx, json_output, fmt)
    cli.need_tenant()
    with cli.client() as api:
        policy_id = resolve_policy(api, policy)
        api.delete_qos_policy(policy_id)
    output.deleted(cli, f"QoS policy {policy_id}", True)


# -- the QoS policy of ports and networks (mounted as `netprov port set` / `netprov network set`) --

QosPolicyOpt = Annotated[str | None, typer.Option("--qos-policy", metavar="ID|NAME", help="Name this QoS policy.")]


@reports_errors
def port_set(
    ctx: typer.Context,
    network_id: NetworkArg,
    port_id: PortArg,
    state: Annotated[str | None, typer.Option("--state", help="Admin state ACTIVE or DOWN.")] = None,
    qos_policy: QosPolicyOpt = None,
    no_qos_policy: Annotated[bool, typer.Option("--no-qos-policy", help="Clear the port's own QoS policy (its network's then applies).")] = False,
    wait: WaitOpt = None,
    json_output: JsonOpt = False,
    fmt: FormatOpt = None,
    columns: ColumnOpt = None,
) -> None:
    """Set a port's admin state and/or its own QoS policy (applied once the port and its interface
    are there; `qos_status` in port show says how far)."""
    cli = cli_context(ctx, json_output, fmt, columns)
    cli.need_tenant()
    with cli.client() as api:
        policy = policy_choice(api, qos_policy, no_qos_policy)
        if state is None and policy is UNSET:
            raise typer.BadParameter("nothing to set: give --state, --qos-policy or --no-qos-policy")
        with waiting(f"port {port_id}", wait):
            body = api.update_port(network_id, port_id, state=state, qos_policy_id=policy, wait=wait)
    output.port(cli, body)
    check_port(body, wait, state)
    if wait is not None and body.qos_status == "ERROR":
        typer.echo(f"Error: the QoS of port {body.id} is in ERROR: {body.qos_status_reason}", err=True)
        raise typer.Exit(EXIT_FAILED)


@reports_errors
def network_set(
    ctx: typer.Context,
    network_id: NetworkArg,
    name: Annotated[str | None, typer.Option("--name", help="The new name.")] = None,
    qos_policy: QosPolicyOpt = None,
    no_qos_policy: Annotated[bool, typer.Option("--no-qos-policy", help="Clear the network's QoS policy.")] = False,
    json_output: JsonOpt = False,
    fmt: FormatOpt = None,
    columns: ColumnOpt = None,
) -> None:
    """Rename a network and/or set its QoS policy: the policy of its ports that have none of their own."""
    cli = cli_context(ctx, json_output, fmt, columns)
    cli.need_tenant()
    with cli.client() as api:
        policy = policy_choice(api, qos_policy, no_qos_policy)
        if name is None and policy is UNSET:
            raise typer.BadParameter("nothing to set: give --name, --qos-policy or --no-qos-policy")
        output.network(cli, api.update_network(network_id, name=name, qos_policy_id=policy))
