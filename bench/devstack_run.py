"""`python -m devstack` (what `make run` runs) as a child of a bench or a test, on free ports and its own
data dir, driven through its /healthz `processes` table (which child runs, under which pid)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from devstack.temporal_server import free_ports

ADMIN = "devstack-run-admin"


class DevStack:
    """One `python -m devstack` in the foreground, as `make run` starts it."""

    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        api, temporal, ui = free_ports(3)
        self.data_dir = data_dir
        self.url = f"http://127.0.0.1:{api}"
        self.log = data_dir / "devstack.out"
        self.env = {
            **os.environ,
            "NETPROV_DATA_DIR": str(data_dir),
            "NETPROV_API_PORT": str(api),
            "NETPROV_API_HOST": "127.0.0.1",
            "NETPROV_TEMPORAL_PORT": str(temporal),
            "NETPROV_TEMPORAL_UI_PORT": str(ui),
            "NETPROV_ADMIN_TOKEN": ADMIN,
            "NETPROV_LINK_MONITOR_INTERVAL_S": "1",
            "NETPROV_AGENT_CHECK_TIMEOUT_S": "2",
            "NETPROV_LOG_FORMAT": "text",
            **env,
        }
        self.proc: subprocess.Popen | None = None
        self.http = httpx.Client(base_url=self.url, headers={"X-Auth-Token": ADMIN}, timeout=40)

    def start(self) -> None:
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "devstack"], env=self.env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        self.wait(lambda h: h.get("processes") and all(p["state"] == "running" for p in h["processes"]), 120, "up")

    def health(self) -> dict:
        response = self.http.get("/healthz", timeout=5)
        return response.json()

    def process(self, name: str) -> dict:
        return next(p for p in self.health()["processes"] if p["name"] == name)

    def wait(self, until: Callable[[dict], object], timeout: float, what: str) -> dict:
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, f"devstack exited:\n{self.output()}"
            try:
                last = self.health()
                if until(last):
                    return last
            except httpx.HTTPError as error:
                last = error
            time.sleep(0.2)
        raise AssertionError(f"dev stack not {what} within {timeout:.0f} s (last: {last}):\n{self.output()}")

    def kill(self, name: str) -> int:
        pid = self.process(name)["pid"]
        os.kill(pid, signal.SIGKILL)
        return pid

    def stop(self) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return None

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""
