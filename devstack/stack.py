"""The whole dev stack in the foreground: Temporal dev server, worker, host agents, API.

`run()` is what `make run` (`python -m devstack`) executes. It starts, in order: the Temporal dev server with its
UI, the Open vSwitch instances (only with NETPROV_PLUGIN=ovs), one `python -m worker`, one
`python -m worker --host H` per host (ovs only), and `python -m api`; waits until GET /healthz answers 200;
prints a banner; and then runs until SIGINT or SIGTERM, when it stops the API and the workers, then the switches,
then Temporal, and returns 0. A part that fails while the stack starts stops everything with a non-zero code and
the last lines of that part's log. Once the stack is up it is supervised (devstack/supervisor.py): a part that
dies (Temporal, the worker, an agent, the API, a host's Open vSwitch) is logged and restarted with exponential
backoff while the others keep running; a dead agent's ports show "agent on host H not running" at once. GET
/healthz and `netprov health` show every part's state. Every child runs in its own process group, so none
outlives the stack.

All state stays under NETPROV_DATA_DIR: `temporal.db`, the API's database, `admin-token`, and `logs/`.
"""

from __future__ import annotations

import importlib
import os
import secrets
import signal
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from pydantic_settings import BaseSettings, SettingsConfigDict

from devstack.children import STOP_TIMEOUT, Child, stop_children
from devstack.services import agent_death_notice, child_service, switch_services, temporal_service
from devstack.supervisor import Supervisor
from devstack.temporal_server import TemporalDevServer, TemporalServerError
from netprov.settings import Settings, get_settings

__all__ = ["STOP_TIMEOUT", "Child", "DevStackError", "run", "stop_children"]

HEALTH_TIMEOUT = 60.0  # seconds for the API to answer /healthz with 200 once started
SUPERVISE_EVERY_S = 0.25
OVS_PLUGIN = "ovs"


class DevStackError(Exception):
    """The stack cannot run; the message says why and is shown to the developer as is."""


class StopRequested(BaseException):
    """SIGINT or SIGTERM arrived: unwind and stop every part. BaseException so no `except Exception` eats it."""


class DevStackSettings(BaseSettings):
    """Settings only `make run` reads, on top of netprov.settings.Settings."""

    model_config = SettingsConfigDict(env_prefix="NETPROV_", extra="ignore")

    temporal_port: int = 7233
    temporal_ui_port: int = 8233


def _ovs_hosts_module():
    try:
        return importlib.import_module("plugins.ovs.hosts")
    except ModuleNotFoundError as exc:
        if exc.name not in ("plugins", "plugins.ovs", "plugins.ovs.hosts"):
            raise
        raise DevStackError(
            f"NETPROV_PLUGIN={OVS_PLUGIN} needs the Open vSwitch plugin (module plugins.ovs.hosts), "
            "which is not installed"
        ) from None


def start_host_switches(hosts: list[str], data_dir: Path) -> None:
    """Start one Open vSwitch instance per host, the hosts' bridges joined by a trunk.

    Hook into the ovs plugin: `plugins.ovs.hosts.start_hosts(hosts, data_dir)`, imported only when the ovs
    plugin is selected. Raises DevStackError when that module does not exist.
    """
    _ovs_hosts_module().start_hosts(hosts, data_dir)


def stop_host_switches(hosts: list[str], data_dir: Path) -> None:
    """Tear down what `start_host_switches` started: `plugins.ovs.hosts.stop_hosts(hosts, data_dir)`."""
    _ovs_hosts_module().stop_hosts(hosts, data_dir)


def admin_token(settings: Settings) -> tuple[str, str]:
    """The dev stack's admin token and where it came from.

    NETPROV_ADMIN_TOKEN wins; otherwise the token kept in `<data_dir>/admin-token`, generated on first use, so
    a restart prints the same one.
    """
    if settings.admin_token:
        return settings.admin_token, "from NETPROV_ADMIN_TOKEN"
    path = settings.data_dir / "admin-token"
    if path.is_file() and (token := path.read_text().strip()):
        return token, f"kept in {path}"
    token = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(token + "\n")
    return token, f"generated, kept in {path}"


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def _client_host(bind_host: str) -> str:
    """Where a local client reaches a server bound to `bind_host`."""
    return "127.0.0.1" if bind_host in ("", "0.0.0.0", "::") else bind_host


def _raise_if_dead(children: list[Child]) -> None:
    for child in children:
        code = child.exit_code
        if code is not None:
            raise DevStackError(
                f"{child.name} exited with code {code}; last lines of {child.log_path}:\n{child.tail()}"
            )


def wait_healthy(url: str, children: list[Child], timeout: float = HEALTH_TIMEOUT) -> None:
    """Poll `url` until it answers 200; raise DevStackError if a child dies first or time runs out."""
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    with httpx.Client(timeout=2.0) as http:
        while True:
            _raise_if_dead(children)
            try:
                response = http.get(url)
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text[:200]}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            if time.monotonic() > deadline:
                raise DevStackError(f"{url} did not answer 200 within {timeout:.0f} s (last: {last})")
            time.sleep(0.25)


@contextmanager
def _stop_on_signals() -> Iterator[None]:
    """Turn SIGINT/SIGTERM into StopRequested while the body runs; restore the previous handlers after."""

    def handler(signum: int, frame: object) -> None:
        # Once shutdown began, a second Ctrl-C must not abandon children half-stopped.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise StopRequested(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _banner(
    *, api_url: str, ui_url: str | None, token: str, token_origin: str, logs_dir: Path, hosts: list[str]
) -> str:
    lines = [
        "",
        "netprov dev stack is up",
        f"  API           {api_url}",
        f"  OpenAPI docs  {api_url}/docs",
        f"  Topology page {api_url}/ui/  (sign in with a tenant and its token)",
        f"  Temporal UI   {ui_url}",
        f"  Admin token   {token}  ({token_origin})",
    ]
    if hosts:
        lines.append(f"  Hosts         {', '.join(hosts)} (Open vSwitch, one agent each)")
    lines += [
        f"  Logs          {logs_dir}/",
        "",
        f"  export NETPROV_TOKEN={token}",
        "",
        "Ctrl-C stops everything.",
        "",
    ]
    return "\n".join(lines)


def _services(
    temporal: TemporalDevServer, children: list[Child], env: dict[str, str], settings: Settings, hosts: list[str],
    data_dir: Path,
) -> list:
    """Temporal first and the switches next: a tick restarts what is needed by what follows first."""
    agents = {f"agent {host}": host for host in hosts}
    services = [temporal_service(temporal), *switch_services(hosts, data_dir)]
    for child in children:
        host = agents.get(child.name)
        services.append(child_service(child, env, agent_death_notice(settings, host) if host else None))
    return services


def run() -> int:
    """Run the dev stack until SIGINT/SIGTERM; return the process exit code."""
    settings = get_settings()
    stack_settings = DevStackSettings()
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    logs_dir = data_dir / "logs"
    settings = settings.model_copy(update={"data_dir": data_dir})

    hosts: list[str] = []
    if settings.plugin == OVS_PLUGIN:
        hosts = settings.host_list or [settings.default_host]

    temporal = TemporalDevServer(
        data_dir,
        port=stack_settings.temporal_port,
        ui_port=stack_settings.temporal_ui_port,
        namespaces=("default", settings.temporal_namespace),
        log_path=logs_dir / "temporal.log",
        die_with_parent=True,
    )
    api_host = _client_host(settings.api_host)
    api_url = f"http://{api_host}:{settings.api_port}"
    children = [Child("worker", ["-m", "worker"], logs_dir / "worker.log", die_with_parent=True)]
    children += [
        Child(f"agent {h}", ["-m", "worker", "--host", h], logs_dir / f"agent-{h}.log", die_with_parent=True)
        for h in hosts
    ]
    children.append(Child("api", ["-m", "api"], logs_dir / "api.log", die_with_parent=True))
    switches_started = False
    supervisor: Supervisor | None = None
    code = 1

    with _stop_on_signals():
        try:
            if hosts:
                _ovs_hosts_module()  # fail before anything starts when the plugin is missing
            if _port_in_use(api_host, settings.api_port):
                raise DevStackError(f"port {settings.api_port} is already in use; set NETPROV_API_PORT")
            token, token_origin = admin_token(settings)
            print(f"devstack: starting Temporal on {temporal.target} (log: {temporal.log_path})", flush=True)
            temporal.start()
            if hosts:
                print(f"devstack: starting Open vSwitch for hosts {', '.join(hosts)}", flush=True)
                switches_started = True  # start_hosts may fail halfway: always ask to stop what it began
                start_host_switches(hosts, data_dir)
            env = {
                **os.environ,
                "NETPROV_DATA_DIR": str(data_dir),
                "NETPROV_ADMIN_TOKEN": token,
                "TEMPORAL_ADDRESS": temporal.target,
                "NETPROV_TEMPORAL_UI_URL": temporal.ui_url or "",
                "PYTHONUNBUFFERED": "1",
            }
            if hosts:  # the API and the agents see the same host list, even when it fell back to the default
                env["NETPROV_HOSTS"] = ",".join(hosts)
            for child in children:
                print(f"devstack: starting {child.name} (log: {child.log_path})", flush=True)
                child.start(env)
            wait_healthy(f"{api_url}/healthz", children)
            print(
                _banner(
                    api_url=api_url,
                    ui_url=temporal.ui_url,
                    token=token,
                    token_origin=token_origin,
                    logs_dir=logs_dir,
                    hosts=hosts,
                ),
                flush=True,
            )
            supervisor = Supervisor(_services(temporal, children, env, settings, hosts, data_dir), data_dir)
            supervisor.adopt_all()
            while True:
                supervisor.tick()
                time.sleep(SUPERVISE_EVERY_S)
        except StopRequested as stop:
            print(f"\ndevstack: {stop} received, stopping", flush=True)
            code = 0
        except (DevStackError, TemporalServerError) as exc:
            print(f"devstack: {exc}", file=sys.stderr, flush=True)
            code = 1
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            stop_children(list(reversed(children)))
            if switches_started:
                try:
                    stop_host_switches(hosts, data_dir)
                except Exception as exc:  # still stop Temporal below
                    print(f"devstack: stopping Open vSwitch failed: {exc!r}", file=sys.stderr)
                    code = 1
            temporal.stop()
            if supervisor is not None:
                supervisor.close()
            print("devstack: stopped", flush=True)
    return code
