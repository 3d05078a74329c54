"""`--wait SECONDS` on a write: progress while the API holds the answer (on a terminal only), and the
exit code for how it ended (cli.context): 0 settled as asked, 1 in ERROR (its reason on stderr),
2 still not settled when the wait ran out. What the resource is then is printed either way."""

import contextlib
from collections.abc import Iterator

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from cli.context import EXIT_FAILED, EXIT_TIMEOUT, on_terminal
from netprov.resources import AttachmentBody, NetworkBody, PortBody

PROVISIONING, ERROR = "PROVISIONING", "ERROR"


@contextlib.contextmanager
def waiting(what: str, seconds: int | None) -> Iterator[None]:
    """A spinner and the time waited so far, on stderr, while the block runs (nothing when piped)."""
    if not seconds or not on_terminal():
        yield
        return
    progress = Progress(
        SpinnerColumn(), TextColumn(f"{what}: waiting up to {seconds} s"), BarColumn(), TimeElapsedColumn(),
        console=Console(stderr=True), transient=True,
    )
    with progress:
        progress.add_task(what, total=None)
        yield


def _fail(message: str) -> None:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(EXIT_FAILED)


def _timeout(message: str, seconds: int) -> None:
    typer.echo(f"Error: {message} after waiting {seconds} s", err=True)
    raise typer.Exit(EXIT_TIMEOUT)


def check_network(body: NetworkBody, seconds: int | None) -> None:
    if seconds is None:
        return
    if body.status == ERROR:
        _fail(f"network {body.id} is in ERROR: {body.status_reason}")
    if body.status == PROVISIONING:
        _timeout(f"network {body.id} is still PROVISIONING ({body.status_reason or 'no reason given'})", seconds)


def check_port(body: PortBody, seconds: int | None, state: str | None = None) -> None:
    """Settled as asked: out of PROVISIONING, not ERROR, and in the admin `state` asked for (if any)."""
    if seconds is None:
        return
    if body.status == ERROR:
        _fail(f"port {body.id} is in ERROR: {body.status_reason}")
    if body.status == PROVISIONING or (state is not None and body.status != state.upper()):
        _timeout(f"port {body.id} is still {body.status}, not {state or 'settled'} "
                 f"({body.status_reason or 'no reason given'})", seconds)


def check_attachment(body: AttachmentBody | None, seconds: int | None) -> None:
    if seconds is None or body is None:
        return
    if body.status == ERROR:
        _fail(f"attachment {body.id} is in ERROR: {body.status_reason}")
    if body.status == PROVISIONING:
        _timeout(f"attachment {body.id} is still PROVISIONING ({body.status_reason or 'no reason given'})", seconds)


def check_deleted(what: str, gone: bool, seconds: int | None) -> None:
    if seconds is not None and not gone:
        _timeout(f"{what} is still being deleted", seconds)
