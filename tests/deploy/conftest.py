"""Real processes for the deployment tests: `python -m api` and `python -m worker` on one PostgreSQL
database and the session's Temporal dev server, each on its own task queue so the in-process
worker of the API tests never takes their work."""

import json
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from devstack.stack import Child, stop_children
from devstack.temporal_server import TemporalDevServer, free_port
from store.schema import scratch_database

ADMIN_SECRET = "deploy-admin-secret"
START_TIMEOUT = 45.0


def clean_environ() -> dict[str, str]:
    """This process's environment without settings a developer may have exported."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("NETPROV_", "TEMPORAL_"))}


class Services:
    """APIs and workers as child processes sharing one configuration; all stopped at teardown."""

    def __init__(self, root: Path, temporal: TemporalDevServer, database_url: str, **env: str) -> None:
        self.root = root
        self.task_queue = f"deploy-{uuid.uuid4().hex[:8]}"
        self.env = {
            **clean_environ(),
            "PYTHONUNBUFFERED": "1",
            "TEMPORAL_ADDRESS": temporal.target,
            "NETPROV_DATA_DIR": str(root),
            "NETPROV_DATABASE_URL": database_url,
            "NETPROV_TASK_QUEUE": self.task_queue,
            "NETPROV_ADMIN_TOKEN": ADMIN_SECRET,
            "NETPROV_PLUGIN": "fake",
            "NETPROV_API_HOST": "127.0.0.1",
            "NETPROV_PLUGIN_INITIAL_BACKOFF_MS": "50",
            **env,
        }
        self.children: list[Child] = []

    def start_api(self, name: str, **env: str) -> str:
        """Start `python -m api` on a free port; return its base URL (not yet healthy)."""
        port = free_port()
        self._start(name, ["-m", "api"], NETPROV_API_PORT=str(port), **env)
        return f"http://127.0.0.1:{port}"

    def start_worker(self, name: str, *args: str, **env: str) -> Child:
        return self._start(name, ["-m", "worker", *args], **env)

    def _start(self, name: str, args: list[str], **env: str) -> Child:
        child = Child(name, args, self.root / "logs" / f"{name}.log")
        child.start({**self.env, **env})
        self.children.append(child)
        return child

    def child(self, name: str) -> Child:
        return next(c for c in reversed(self.children) if c.name == name)

    def wait_healthy(self, url: str, timeout: float = START_TIMEOUT) -> None:
        self._wait(lambda: _healthy(url), f"{url}/healthz did not answer 200", timeout)

    def wait_worker(self, name: str, timeout: float = START_TIMEOUT) -> None:
        """Until the worker logs that it polls its task queue."""
        self._wait(lambda: any("started" in line.get("msg", "") for line in self.log_lines(name)),
                   f"{name} did not start", timeout)

    def _wait(self, ready: Callable[[], bool], what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            for child in self.children:
                if child.exit_code is not None and child.exit_code != 0:
                    raise AssertionError(f"{child.name} exited with {child.exit_code}:\n{child.tail(40)}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} within {timeout}s:\n" + "\n".join(c.tail(15) for c in self.children))
            time.sleep(0.1)

    def log_lines(self, name: str) -> list[dict]:
        """The JSON lines `name` has logged so far (every line must be JSON: a test fails otherwise)."""
        child = self.child(name)
        text = child.log_path.read_bytes()[child.log_offset:].decode(errors="replace")
        lines = []
        for raw in text.splitlines():
            if raw.strip():
                try:
                    lines.append(json.loads(raw))
                except json.JSONDecodeError:
                    raise AssertionError(f"{name} logged a line that is not JSON: {raw!r}") from None
        return lines

    def wait_log(self, names: list[str], match: Callable[[dict], bool], timeout: float = 10.0) -> list[dict]:
        """The JSON lines of `names` for which `match` is true, once there is at least one (a line is
        written just after the response it describes has been sent)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [line for name in names for line in self.log_lines(name) if match(line)]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def terminate(self, name: str, timeout: float = 30.0) -> int:
        """SIGTERM `name` and wait for it to exit; return its exit code."""
        child = self.child(name)
        child.signal(signal.SIGTERM)
        return child.proc.wait(timeout)

    def stop(self) -> None:
        stop_children(list(reversed(self.children)), timeout=5.0)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def deploy_database(postgres_server: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one test module."""
    with scratch_database(postgres_server, "netprov_deploy") as url:
        yield url


@pytest.fixture(scope="module")
def services_factory(tmp_path_factory, temporal_server: TemporalDevServer):
    made: list[Services] = []

    def make(database_url: str, **env: str) -> Services:
        services = Services(tmp_path_factory.mktemp("deploy"), temporal_server, database_url, **env)
        made.append(services)
        return services

    yield make
    for services in made:
        services.stop()
