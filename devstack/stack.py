"""The whole dev stack in the foreground: Temporal dev server, worker, host agents, API.

`run()` is what `make run` (`python -m devstack`) executes. It starts, in order: the Temporal dev server with its
UI, the Open vSwitch instances (only with NETPROV_PLUGIN=ovs), one `python -m worker`, one
`python -m worker --host H` per host (ovs only), and `python -m api`; waits until GET /healthz answers 200;
prints a banner; and then runs until SIGINT or SIGTERM, when it stops the API and the workers, then the switches,
then Temporal, and returns 0. A part that fails to start or dies later stops everything with a non-zero code and
the last lines of that part's log. Every child runs in its own process group, so none outlives the stack.

All state stays under NETPROV_DATA_DIR: `temporal.db`, the API's database, `admin-token`, and `logs/`.
"""

from __future__ import annotations

import importlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from pydantic_settings import BaseSettings, SettingsConfigDict

from devstack.temporal_server import TemporalDevServer, TemporalServerError, die_with_parent_preexec, log_tail
from netprov.settings import Settings, get_settings

HEALTH_TIMEOUT = 60.0  # seconds for the API to answer /healthz with 200 once started
STOP_TIMEOUT = 10.0  # seconds a child gets between SIGTERM and SIGKILL
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


@dataclass
class Child:
    """One `python -m ...` part of the stack, logging to `log_path`, in a process group of its own.

    `die_with_parent` (Linux): the kernel SIGTERMs the child when the thread that started it exits, so even a
    SIGKILLed owner leaves no orphan. Only for children started on the main thread (a pool thread's exit
    would end them).
    """

    name: str
    args: list[str]
    log_path: Path
    die_with_parent: bool = False
    proc: subprocess.Popen[bytes] | None = None
    log_offset: int = field(default=0)

    def start(self, env: dict[str, str]) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} devstack starts: {' '.join(self.args)}\n".encode())
            log.flush()
            self.log_offset = log.tell()
            self.proc = subprocess.Popen(
                [sys.executable, *self.args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                preexec_fn=die_with_parent_preexec() if self.die_with_parent else None,
            )

    @property
    def exit_code(self) -> int | None:
        """None while running (or never started), else the exit code (negative: killed by that signal)."""
        return None if self.proc is None else self.proc.poll()

    def signal(self, sig: signal.Signals) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def tail(self, lines: int = 30) -> str:
        return log_tail(self.log_path, lines, self.log_offset)


def stop_children(children: list[Child], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM every child at once, then SIGKILL whatever process group is still there after `timeout`."""
    for child in children:
        child.signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in children:
        if child.proc is None:
            continue
        try:
            child.proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"devstack: {child.name} did not stop within {timeout:.0f} s; killing it", file=sys.stderr)
        # Also reaches grandchildren left in the group after the leader exited.
        try:
            os.killpg(child.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        child.proc.wait()


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
            while True:
                _raise_if_dead(children)
                if not temporal.running:
                    raise DevStackError(f"Temporal exited; last lines of {temporal.log_path}:\n{temporal.log_tail()}")
                time.sleep(0.5)
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
            print("devstack: stopped", flush=True)
    return code
