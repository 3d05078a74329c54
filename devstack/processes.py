"""A whole netprov stack as real processes, for crash tests and benchmarks: a Temporal dev
server, `python -m worker` processes and `python -m api` processes on free ports, one data dir.

    stack = ProcessStack(tmp_path, env={"NETPROV_FAKE_LATENCY_MS": "20"})
    stack.start()
    stack.kill("worker")      # SIGKILL, as a crash would (host agents: agents=["h1"], then "agent-h1")
    stack.restart("worker")
    stack.stop()
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from devstack.stack import Child, stop_children
from devstack.temporal_server import TemporalDevServer, free_port

ADMIN_SECRET = "process-stack-admin"


class ProcessStack:
    def __init__(
        self, data_dir: Path, *, env: dict[str, str] | None = None, workers: int = 1, agents: Sequence[str] = ()
    ) -> None:
        self.data_dir = Path(data_dir)
        self.temporal = TemporalDevServer(self.data_dir / "temporal", port=free_port(), headless=True)
        self.api_port = free_port()
        self.env = {
            **os.environ,
            "TEMPORAL_ADDRESS": self.temporal.target,
            "NETPROV_DATA_DIR": str(self.data_dir),
            "NETPROV_API_PORT": str(self.api_port),
            "NETPROV_API_HOST": "127.0.0.1",
            "NETPROV_ADMIN_TOKEN": ADMIN_SECRET,
            "NETPROV_PLUGIN": "fake",
            **(env or {}),
        }
        logs = self.data_dir / "logs"
        self.children: dict[str, Child] = {"api": Child("api", ["-m", "api"], logs / "api.log")}
        for index in range(workers):
            name = "worker" if index == 0 else f"worker{index + 1}"
            self.children[name] = Child(name, ["-m", "worker"], logs / f"{name}.log")
        # Host agents (`python -m worker --host H`), named "agent-H".
        for host in agents:
            self.children[f"agent-{host}"] = Child(f"agent-{host}", ["-m", "worker", "--host", host], logs / f"agent-{host}.log")

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def start(self) -> None:
        self.temporal.start()
        for name in self.children:
            self.children[name].start(self.env)
        self.wait_healthy()

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, child in self.children.items():
                if child.exit_code is not None:
                    raise RuntimeError(f"{name} exited with {child.exit_code}:\n{child.tail()}")
            try:
                if httpx.get(f"{self.api_url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"API not healthy within {timeout}s:\n{self.children['api'].tail()}")

    def kill(self, name: str) -> None:
        """SIGKILL one part: "temporal", "api", "worker", "worker2", ..."""
        if name == "temporal":
            self.temporal.kill()
            return
        child = self.children[name]
        child.signal(signal.SIGKILL)
        if child.proc is not None:
            child.proc.wait()

    def restart(self, name: str) -> None:
        if name == "temporal":
            self.temporal.start()
            return
        self.children[name].start(self.env)

    def stop(self) -> None:
        stop_children(list(self.children.values()))
        self.temporal.stop()
