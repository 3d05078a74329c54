"""`netprov batch`: whole topologies in one request.

    netprov batch apply topology.yaml          # live progress per kind, then a summary table
    netprov batch apply topology.json --no-wait  # prints the batch id
    netprov batch status BATCH_ID [--all]      # counts, and the failed items (every item with --all)
    netprov batch retry BATCH_ID               # re-drive the failed items
    netprov batch cancel BATCH_ID              # stop what has not run yet
    netprov batch list

A topology file (YAML or JSON) holds the batch's networks, ports and attachments, with or without
the `batch:` wrapper the API takes:

    networks:
      - {ref: web, name: web}
    ports:
      - {ref: web-1, network: web, state: ACTIVE}
    attachments:
      - {port: web-1, id: vif-web-1, host: h1}

Exit codes as for every command (cli.context): 1 also when the batch ended PARTIAL or ERROR, 2 when
the wait (--timeout) ended first. The progress bars show on a terminal only, never in a pipe.
"""

import json
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
import yaml
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from cli.context import EXIT_FAILED, EXIT_TIMEOUT, CliContext, JsonOpt, cli_context, console, on_terminal, print_json, reports_errors
from cli.output import status_text
from netprov_client import ApiUnreachable, problem_from

app = typer.Typer(help="Batches: whole topologies (networks, ports, attachments) in one request.", no_args_is_help=True)

KINDS = ("network", "port", "attachment")
POLL_S = 0.5
MAX_FAILED_SHOWN = 50
BatchArg = Annotated[str, typer.Argument(help="Batch id.")]
TimeoutOpt = Annotated[float, typer.Option("--timeout", min=1, help="Give up waiting after this many seconds.")]


class BatchApi:
    """The batch endpoints, over the CLI's API address and token; errors as netprov_client raises them."""

    def __init__(self, cli: CliContext) -> None:
        cli.need_tenant()
        headers = {"Accept": "application/json", "User-Agent": "netprov-cli"}
        if cli.token:
            headers["X-Auth-Token"] = cli.token
        self.base = f"/v1.1/tenants/{cli.tenant}/batches"
        self.url = cli.api_url
        self.http = httpx.Client(base_url=cli.api_url.rstrip("/"), headers=headers, timeout=120)

    def __enter__(self) -> "BatchApi":
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def call(self, method: str, path: str = "", **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, f"{self.base}{path}", **kwargs)
        except httpx.TransportError as error:
            raise ApiUnreachable(f"cannot reach the netprov API at {self.url}: {error}") from error
        if response.is_error:
            raise problem_from(response)
        return response

    def create(self, topology: dict, idempotency_key: str | None) -> dict:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return self.call("POST", "?items=false", json=topology, headers=headers).json()["batch"]

    def show(self, batch_id: str, items: bool = True) -> dict:
        return self.call("GET", f"/{batch_id}" + ("" if items else "?items=false")).json()["batch"]


def load_topology(path: Path) -> dict:
    """The file's topology, wrapped as the API takes it: {"batch": {...}}."""
    try:
        text = path.read_text()
    except OSError as error:
        raise typer.BadParameter(f"cannot read {path}: {error.strerror}", param_hint="TOPOLOGY") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise typer.BadParameter(f"{path} is not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: {error}",
                                 param_hint="TOPOLOGY") from None
    if not isinstance(data, dict):
        raise typer.BadParameter(f"{path} must hold a mapping with networks, ports and attachments", param_hint="TOPOLOGY")
    return data if set(data) == {"batch"} else {"batch": data}


@app.command("apply")
@reports_errors
def apply(
    ctx: typer.Context,
    topology: Annotated[Path, typer.Argument(help="YAML or JSON file with networks, ports and attachments.")],
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Print the batch id and return at once.")] = False,
    timeout: TimeoutOpt = 600.0,
    idempotency_key: Annotated[str | None, typer.Option("--idempotency-key", help="Send again safely: same key, same batch.")] = None,
    json_output: JsonOpt = False,
) -> None:
    """Provision a topology in one batch; by default show its progress until it has settled."""
    cli = cli_context(ctx, json_output)
    body = load_topology(topology)
    with BatchApi(cli) as api:
        batch = api.create(body, idempotency_key)
        if no_wait:
            if cli.json:
                print_json(batch)
            else:
                typer.echo(batch["id"])
            return
        batch = _follow(api, batch, timeout, show=not cli.json and on_terminal())
        final = api.show(batch["id"])
    _report(cli, final)
    if final["status"] != "COMPLETED":
        raise typer.Exit(EXIT_FAILED)


@app.command("status")
@reports_errors
def status(
    ctx: typer.Context,
    batch_id: BatchArg,
    all_items: Annotated[bool, typer.Option("--all", help="List every item, not only the failed ones.")] = False,
    json_output: JsonOpt = False,
) -> None:
    """A batch's status, its counts per kind and status, and its failed items."""
    cli = cli_context(ctx, json_output)
    with BatchApi(cli) as api:
        batch = api.show(batch_id)
    _report(cli, batch, all_items=all_items)


@app.command("retry")
@reports_errors
def retry(ctx: typer.Context, batch_id: BatchArg, no_wait: Annotated[bool, typer.Option("--no-wait")] = False,
          timeout: TimeoutOpt = 600.0, json_output: JsonOpt = False) -> None:
    """Re-drive the batch's failed items; by default follow them until the batch has settled."""
    cli = cli_context(ctx, json_output)
    with BatchApi(cli) as api:
        batch = api.call("POST", f"/{batch_id}/actions/retry?items=false").json()["batch"]
        if not no_wait:
            _follow(api, batch, timeout, show=not cli.json and on_terminal())
        batch = api.show(batch_id)
    _report(cli, batch)
    if not no_wait and batch["status"] != "COMPLETED":
        raise typer.Exit(EXIT_FAILED)


@app.command("cancel")
@reports_errors
def cancel(ctx: typer.Context, batch_id: BatchArg, json_output: JsonOpt = False) -> None:
    """Cancel what the batch has not applied yet (nothing that completed is undone)."""
    cli = cli_context(ctx, json_output)
    with BatchApi(cli) as api:
        response = api.call("DELETE", f"/{batch_id}")
    if cli.json:
        print_json({"cancelled": response.status_code == 202})
    else:
        typer.echo("cancelling: items not applied yet end ERROR (cancelled)" if response.status_code == 202
                   else "nothing to cancel: every item had already been applied")


@app.command("list")
@reports_errors
def list_(ctx: typer.Context, json_output: JsonOpt = False) -> None:
    """The tenant's batches."""
    cli = cli_context(ctx, json_output)
    with BatchApi(cli) as api:
        batches = api.call("GET").json()["batches"]
    if cli.json:
        print_json(batches)
        return
    table = Table(header_style="bold")
    for column in ("ID", "STATUS", "CREATED"):
        table.add_column(column, no_wrap=True)
    for batch in batches:
        table.add_row(batch["id"], status_text(batch["status"]), batch["created_at"])
    console().print(table)


# -- inside ------------------------------------------------------------------------------------


def _follow(api: BatchApi, batch: dict, timeout: float, show: bool) -> dict:
    """Poll the batch (counts only) until it leaves PROVISIONING, with a progress bar per kind."""
    deadline = time.monotonic() + timeout
    progress = Progress(
        TextColumn("{task.description:<12}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(), console=Console(stderr=True), disable=not show, transient=False,
    )
    with progress:
        tasks = {
            kind: progress.add_task(f"{kind}s", total=batch["counts"][kind]["total"] or 1, detail="")
            for kind in KINDS if batch["counts"][kind]["total"]
        }
        while True:
            for kind, task in tasks.items():
                counts = batch["counts"][kind]
                done = counts["total"] - counts.get("PROVISIONING", 0)
                detail = ", ".join(f"{n} {status}" for status, n in counts.items() if status not in ("total", "PROVISIONING") and n)
                progress.update(task, completed=done, detail=detail)
            if batch["status"] != "PROVISIONING":
                return batch
            if time.monotonic() > deadline:
                typer.echo(f"Error: batch {batch['id']} still PROVISIONING after {timeout:.0f} s; "
                           f"follow it with `netprov batch status {batch['id']}`", err=True)
                raise typer.Exit(EXIT_TIMEOUT)
            time.sleep(POLL_S)
            batch = api.show(batch["id"], items=False)


def _report(cli: CliContext, batch: dict, all_items: bool = False) -> None:
    if cli.json:
        print_json(batch)
        return
    out = console()
    out.print(Text.assemble("batch ", (batch["id"], "bold"), ": ", status_text(batch["status"]),
                            f" (retries {batch['retries']})" if batch.get("retries") else ""))
    summary = Table(header_style="bold")
    statuses = sorted({s for kind in KINDS for s in batch["counts"][kind] if s != "total"},
                      key=lambda s: (s == "ERROR", s == "PROVISIONING", s))
    summary.add_column("KIND")
    summary.add_column("TOTAL", justify="right")
    for status_name in statuses:
        summary.add_column(status_name, justify="right")
    for kind in KINDS:
        counts = batch["counts"][kind]
        if counts["total"]:
            summary.add_row(f"{kind}s", str(counts["total"]),
                            *[Text(str(counts.get(s, 0)), style="" if not counts.get(s) else status_text(s).style) for s in statuses])
    out.print(summary)
    items = batch.get("items") or []
    shown = items if all_items else [item for item in items if item["status"] == "ERROR"]
    if not shown:
        return
    table = Table(title=None if all_items else "failed items", title_justify="left", header_style="bold")
    for column in ("KIND", "REF", "ID", "STATUS", "ERROR"):
        table.add_column(column, no_wrap=column in ("KIND", "ID", "STATUS"), overflow="fold")
    for item in shown if all_items else shown[:MAX_FAILED_SHOWN]:
        table.add_row(item["kind"], item["ref"], item["id"], status_text(item["status"]), item["error"] or "")
    out.print(table)
    if not all_items and len(shown) > MAX_FAILED_SHOWN:
        out.print(f"... and {len(shown) - MAX_FAILED_SHOWN} more failed items (netprov batch status {batch['id']} --all --json)")
