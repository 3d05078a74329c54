"""The processes under test, started for one bench run and stopped at its end, whatever happened.

A Temporal dev server on a fresh data directory (SQLite file, WAL, exactly as `make run` starts it) and, as
subprocesses, `python -m worker` and `python -m api`, configured only through the environment the contract
names: fake plugin, zero latency, no random failures. Ports are free ports; nothing is shared with a dev stack
that may be running on the same machine.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from devstack.stack import Child, DevStackError, stop_children, wait_healthy
from devstack.temporal_server import TemporalDevServer, free_ports
from netprov.settings import Settings

# The queue the API sends resource workflows to: the default, since the stack sets no NETPROV_TASK_QUEUE.
TASK_QUEUE = Settings.model_fields["task_queue"].default

HEALTH_TIMEOUT = 90.0
STOP_TIMEOUT = 3.0


class BenchStack:
    """Temporal + worker + API for one run. `start()` returns once GET /healthz answers 200; `stop()` is safe to
    call at any point, also after a failed start, and removes the data directory unless `keep` is set."""

    def __init__(
        self, data_dir: Path | None = None, *, keep: bool = False, local_steps: bool | None = None,
        database: str = "sqlite", scale_out: bool = False,
    ) -> None:
        self.data_dir = Path(data_dir or tempfile.mkdtemp(prefix="netprov-bench-")).resolve()
        # None: the settings' default (what a user gets); True/False: NETPROV_LOCAL_STEPS set so.
        self.local_steps = local_steps
        self.postgres = ScratchPostgres() if database == "postgresql" else None
        self.scale_out = scale_out
        # A directory the caller named is never removed.
        self.keep = keep or data_dir is not None
        self.admin_token = secrets.token_urlsafe(24)
        temporal_port, self.api_port = free_ports(2)
        self.temporal = TemporalDevServer(
            self.data_dir / "temporal", port=temporal_port, headless=True)
        self.worker = self._child("worker", ["-m", "worker"])
        self.api = self._child("api", ["-m", "api"])
        self.extra: list[Child] = []
        # Scale-out: a second API (its own port) and a second worker on the same database and task queue.
        self.api2_port = free_ports(1)[0] if scale_out else None
        self.api2 = self._child("api2", ["-m", "api"]) if scale_out else None
        self.worker2 = self._child("worker2", ["-m", "worker"]) if scale_out else None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def api_urls(self) -> list[str]:
        """Every API of the run (two when scaled out): clients spread their requests over them."""
        return [self.api_url] + ([f"http://127.0.0.1:{self.api2_port}"] if self.api2_port else [])

    @property
    def database_path(self) -> Path:
        """The API's SQLite file (NETPROV_DATABASE_URL is left unset, so it lives under the data dir)."""
        return self.data_dir / "netprov.db"

    @property
    def database_url(self) -> str:
        return self.postgres.url if self.postgres else f"sqlite:///{self.database_path}"

    @property
    def temporal_address(self) -> str:
        return self.temporal.target

    def env(self) -> dict[str, str]:
        """The environment of every netprov process of the run: the caller's, minus any NETPROV_/TEMPORAL_
        setting that could change what is measured, plus the run's own."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NETPROV_", "TEMPORAL_"))}
        env.update(
            TEMPORAL_ADDRESS=self.temporal.target,
            NETPROV_DATA_DIR=str(self.data_dir),
            NETPROV_API_HOST="127.0.0.1",
            NETPROV_API_PORT=str(self.api_port),
            NETPROV_ADMIN_TOKEN=self.admin_token,
            NETPROV_PLUGIN="fake",
            NETPROV_FAKE_LATENCY_MS="0",
            NETPROV_FAKE_TRANSIENT_FAILURE_RATE="0",
            NETPROV_TEMPORAL_UI_URL="http://127.0.0.1:8233",
            PYTHONUNBUFFERED="1",
        )
        if self.local_steps is not None:
            env["NETPROV_LOCAL_STEPS"] = str(self.local_steps).lower()
        if self.postgres:
            env["NETPROV_DATABASE_URL"] = self.postgres.url
        return env

    def pids(self) -> dict[str, int | None]:
        pids = {"temporal": self.temporal.pid, "worker": _pid(self.worker), "api": _pid(self.api)}
        if self.scale_out:
            pids.update(worker2=_pid(self.worker2), api2=_pid(self.api2))
        return pids

    def all_pids(self) -> list[int]:
        """Every process of the run still running, the extra ones (e.g. the bare-Temporal worker) included."""
        return [pid for pid in (*self.pids().values(), *(_pid(child) for child in self.extra)) if pid]

    def start(self) -> None:
        """Temporal, then the API (which migrates the fresh database), then the worker; returns once the API is
        healthy and the worker polls its task queue. Call it outside a running event loop."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.temporal.die_with_parent = threading.current_thread() is threading.main_thread()
            self.temporal.start(timeout=60)
            if self.postgres:
                self.postgres.create()
            env = self.env()
            self._start(self.api, env)
            wait_healthy(f"{self.api_url}/healthz", [self.api], timeout=HEALTH_TIMEOUT)
            self._start(self.worker, env)
            if self.scale_out:
                self._start(self.api2, env | {"NETPROV_API_PORT": str(self.api2_port)})
                wait_healthy(f"{self.api_urls[1]}/healthz", [self.api2], timeout=HEALTH_TIMEOUT)
                self._start(self.worker2, env)
            asyncio.run(self._wait_for_poller(TASK_QUEUE, [self.worker, self.api]))
        except BaseException:
            # Whatever started is stopped here: a caller that never got a stack cannot be expected to.
            self.stop(keep=True)
            raise

    async def _wait_for_poller(self, task_queue: str, children: list[Child], timeout: float = HEALTH_TIMEOUT) -> None:
        """Until some worker polls `task_queue` for workflow tasks; DevStackError if a child dies first."""
        client = await Client.connect(self.temporal.target)
        request = DescribeTaskQueueRequest(
            namespace="default",
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
        deadline = time.monotonic() + timeout
        while not (await client.workflow_service.describe_task_queue(request)).pollers:
            for child in children:
                if child.exit_code is not None:
                    raise DevStackError(f"{child.name} exited with code {child.exit_code}; last lines of {child.log_path}:\n{child.tail()}")
            if time.monotonic() > deadline:
                raise DevStackError(f"no worker polls task queue {task_queue} after {timeout:.0f} s")
            await asyncio.sleep(0.1)

    def start_child(self, name: str, args: list[str]) -> Child:
        """Another process of the run (e.g. the bare-Temporal worker), stopped with the stack."""
        child = self._child(name, args)
        self._start(child, self.env())
        self.extra.append(child)
        return child

    def _child(self, name: str, args: list[str]) -> Child:
        return Child(name, args, self.data_dir / "logs" / f"{name}.log")

    def _start(self, child: Child, env: dict[str, str]) -> None:
        # The kernel ends a child when the thread that started it exits: safe only on the main thread, where it
        # also covers a SIGKILLed bench (its children go with it).
        child.die_with_parent = threading.current_thread() is threading.main_thread()
        child.start(env)

    def stop_child(self, child: Child) -> None:
        stop_children([child], timeout=STOP_TIMEOUT)
        if child in self.extra:
            self.extra.remove(child)

    def check_alive(self) -> None:
        """Raise when the worker or the API died: figures measured after that would be meaningless."""
        for child in self._own_children():
            code = child.exit_code
            if child.proc is not None and code is not None:
                raise RuntimeError(f"{child.name} exited with code {code}; last lines of {child.log_path}:\n{child.tail()}")
        if not self.temporal.running:
            raise RuntimeError(f"Temporal exited; {self.temporal.log_path} ends with:\n{self.temporal.log_tail()}")

    def logs_tail(self, lines: int = 20) -> dict[str, str]:
        return {child.name: child.tail(lines) for child in (*self._own_children(), *self.extra)} | {
            "temporal": self.temporal.log_tail(lines)
        }

    def stop(self, keep: bool = False) -> None:
        """Stop every process (SIGTERM, then SIGKILL whatever does not stop in time) and remove the data
        directory unless `keep` (or the stack's own `keep`) says otherwise."""
        try:
            # Nothing of a bench run is kept, so a worker finishing its activities gracefully is not waited for.
            apis = [c for c in (self.api, self.api2) if c]
            workers = [c for c in (self.worker, self.worker2) if c]
            stop_children([*apis, *self.extra, *workers], timeout=STOP_TIMEOUT)
        finally:
            self.temporal.stop()
            if self.postgres:
                self.postgres.drop()
            if not (self.keep or keep):
                shutil.rmtree(self.data_dir, ignore_errors=True)

    def _own_children(self) -> list[Child]:
        return [c for c in (self.worker, self.api, self.worker2, self.api2) if c is not None]


class ScratchPostgres:
    """A fresh database on the machine's PostgreSQL (NETPROV_BENCH_POSTGRES_URL, default
    postgres@127.0.0.1:5432, trust auth) for one run, dropped at its end."""

    def __init__(self) -> None:
        server = os.environ.get("NETPROV_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
        self.name = f"netprov_bench_{secrets.token_hex(4)}"
        self.server = make_url(server)
        self.url = self.server.set(database=self.name).render_as_string(hide_password=False)

    def _admin(self, sql: str) -> None:
        import psycopg

        dsn = self.server.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql)

    def create(self) -> None:
        self._admin(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        try:
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        except Exception:  # noqa: BLE001 - a server gone meanwhile keeps its scratch database
            pass


def _pid(child: Child) -> int | None:
    return child.proc.pid if child.proc is not None and child.proc.poll() is None else None


@contextmanager
def given_or_own(stack: BenchStack | None) -> Iterator[BenchStack]:
    """`stack` as it is; or, when None, a stack of its own, started here and stopped when the block ends (for
    scenarios that also run alone: `python -m bench.batch`, `python -m bench.long_history`)."""
    if stack is not None:
        yield stack
        return
    own = BenchStack()
    try:
        own.start()
        yield own
    finally:
        own.stop()
