"""What every `netprov` command shares: where the API is, whose token, how to print, and how
errors become a message and an exit code.

Exit codes, as the `openstack` CLI's: 0 done (with --wait: settled as asked); 1 the API refused
(its problem's title and detail are printed) or, with --wait, the resource ended in ERROR (its
reason on stderr); 2 bad usage, or a --wait that ran out before the resource settled; 3 the API
cannot be reached.
"""

import functools
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console

from netprov_client import ApiUnreachable, Client, ProblemError, ResourceFailed, WaitTimeout

from cli.formats import OutputFormat

DEFAULT_API_URL = "http://127.0.0.1:8000"
EXIT_PROBLEM, EXIT_FAILED, EXIT_TIMEOUT, EXIT_UNREACHABLE = 1, 1, 2, 3
# Piped output is laid out for this width (or $COLUMNS); ids are never cut, long text wraps.
PIPE_WIDTH = 120

F = TypeVar("F", bound=Callable[..., Any])

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
WaitOpt = Annotated[
    int | None,
    typer.Option("--wait", min=0, max=60, metavar="SECONDS", help="Hold until settled, up to SECONDS (Prefer: wait)."),
]
NetworkArg = Annotated[str, typer.Argument(help="Network id.")]
PortArg = Annotated[str, typer.Argument(help="Port id.")]


@dataclass
class CliContext:
    api_url: str
    token: str | None
    tenant: str | None
    json: bool = False
    format: OutputFormat | None = None
    columns: list[str] | None = None

    @property
    def output(self) -> OutputFormat:
        """-f, else json for --json, else table."""
        return self.format or (OutputFormat.json if self.json else OutputFormat.table)

    def client(self) -> Client:
        return Client(self.api_url, self.token, self.tenant)

    def need_tenant(self) -> None:
        if not self.tenant:
            raise typer.BadParameter("give the tenant with --tenant or NETPROV_TENANT", param_hint="--tenant")


def cli_context(ctx: typer.Context, json_output: bool = False, fmt: OutputFormat | None = None,
                columns: list[str] | None = None) -> CliContext:
    settings: CliContext = ctx.find_root().obj
    if json_output:
        settings.json = True
    if fmt is not None:
        settings.format = fmt
        settings.json = fmt == OutputFormat.json
    if columns:
        settings.columns = columns
    return settings


def console() -> Console:
    # Bound to the sys.stdout of the moment (test runners swap it).
    if sys.stdout.isatty():
        return Console(file=sys.stdout, highlight=False)
    width = os.environ.get("COLUMNS", "")
    return Console(file=sys.stdout, width=int(width) if width.isdigit() else PIPE_WIDTH, highlight=False)


def on_terminal() -> bool:
    """Progress is shown only to a person: stderr is a terminal (never in a pipe or a log)."""
    return sys.stderr.isatty()


def print_json(value: Any) -> None:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    elif isinstance(value, list):
        value = [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value]
    elif isinstance(value, dict):
        value = {k: v.model_dump(mode="json") if isinstance(v, BaseModel) else v for k, v in value.items()}
    typer.echo(json.dumps(value, indent=2, default=str))


def reports_errors(command: F) -> F:
    """Turn the client's exceptions into a message on stderr and the exit code for them."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ProblemError as problem:
            typer.echo(f"Error: {problem.title}: {problem.detail} [{problem.code}, HTTP {problem.status}]", err=True)
            ctx = kwargs.get("ctx")
            if ctx is not None and isinstance(ctx.find_root().obj, CliContext) and ctx.find_root().obj.json:
                typer.echo(json.dumps(problem.body or {"status": problem.status, "title": problem.title,
                                                       "detail": problem.detail, "code": problem.code}, indent=2))
            raise typer.Exit(EXIT_PROBLEM) from None
        except ApiUnreachable as error:
            typer.echo(f"Error: {error}. Is the API running (make run)? Set --api-url or NETPROV_API_URL.", err=True)
            raise typer.Exit(EXIT_UNREACHABLE) from None
        except ResourceFailed as error:
            typer.echo(f"Error: {error}", err=True)
            raise typer.Exit(EXIT_FAILED) from None
        except WaitTimeout as error:
            typer.echo(f"Error: {error}", err=True)
            raise typer.Exit(EXIT_TIMEOUT) from None

    return run  # type: ignore[return-value]
