"""Scenario 5: what `Prefer: wait` costs the workflow engine, against clients that poll.

`python -m bench.wait_vs_poll [--clients 200] [--seconds 10] [--poll-interval 0.1]` prints one JSON document.
`run(...) -> dict` is the same measurement for `python -m bench`.

Its own stack (Temporal dev server, `python -m api`, `python -m worker`, see bench/stack.py) whose fake plugin
takes ten minutes per call: the one network of the run stays PROVISIONING throughout, and so does every port
created on it (a port waits for its network; no plugin call runs for it). Before each phase, `clients` such ports
are created (not measured). In the phase, each client sets its port ACTIVE (a PUT: an operation queued behind the
port's creation, so it stays pending) and then, for the same `seconds`:

- `idle`:  does nothing (the price of the PUTs alone: the reference);
- `wait`:  the PUT carries `Prefer: wait=<seconds>`, so the API holds it; the API waits with one workflow update
  per request, which the workflow answers when the operation is applied or its timer fires (pushed, not polled);
- `poll`:  GETs the port every `poll_interval` (the contract's other way to learn the status; reads come from the
  database, so they load the API, not the engine);
- `engine_poll`, for comparison: queries the port's workflow every `poll_interval` (what a wait built as a poll
  loop on the engine would do).

CPU seconds (user + system, /proc/<pid>/stat) of the Temporal server, the API and the worker are read around each
phase. The figure that matters is the Temporal server's: `wait` must cost it about what `idle` does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
from temporalio.client import Client
from temporalio.service import RPCError

from bench.probes import cpu_seconds
from bench.stack import BenchStack
from netprov.naming import port_workflow_id

# Longer than the whole run: the network never settles while the phases are measured (a step times out and is
# retried every 15 s, a handful of engine events over the run).
HOLD_MS = 600_000
# Engine + worker CPU per second below which the stack counts as idle between phases.
QUIET_CPU = 0.25


class HeldNetworkStack(BenchStack):
    """The bench stack, with a fake plugin slow enough that nothing settles during the run."""

    def env(self) -> dict[str, str]:
        # Each held call times out after the step timeout (15 s) and is tried again, without end.
        return super().env() | {"NETPROV_FAKE_LATENCY_MS": str(HOLD_MS), "NETPROV_PLUGIN_MAX_ATTEMPTS": "100000"}


def run(
    size=None,
    log=None,
    clients: int = 200,
    seconds: float = 10.0,
    poll_interval: float = 0.1,
    workdir: Path | None = None,
) -> dict:
    """Start the stack, measure the four phases, stop the stack. Call it outside a running event loop (the
    harness runs it in a thread). With `size` (the harness' run size), its `wait_clients` clients; a smoke run
    also shortens the phases."""
    if size is not None:
        clients = size.wait_clients
        if size.name == "smoke":
            seconds = 2.0
    say = log or (lambda message: print(message, file=sys.stderr))
    stack = HeldNetworkStack(workdir)
    say(f"wait vs poll: starting its own stack under {stack.data_dir}")
    stack.start()
    try:
        return asyncio.run(_measure(stack, clients, seconds, poll_interval, say))
    finally:
        stack.stop()


async def _measure(stack: BenchStack, clients: int, seconds: float, poll_interval: float, say) -> dict:
    # Idle connections are dropped before uvicorn would close them (5 s): no request on a closing socket.
    limits = httpx.Limits(max_connections=clients + 8, max_keepalive_connections=clients + 8, keepalive_expiry=2.0)
    async with httpx.AsyncClient(base_url=stack.api_url, limits=limits, timeout=seconds + 60) as http:
        admin = {"X-Auth-Token": stack.admin_token}
        response = await http.post("/v1.1/tokens", json={"token": {"tenant_id": "bench-wait"}}, headers=admin)
        response.raise_for_status()
        headers = {"X-Auth-Token": response.json()["token"]["secret"]}
        response = await http.post("/v1.1/tenants/bench-wait/networks", json={"network": {"name": "held"}}, headers=headers)
        response.raise_for_status()
        ports_url = f"/v1.1/tenants/bench-wait/networks/{response.json()['network']['id']}/ports"
        temporal = await Client.connect(stack.temporal_address)
        # Let the network's workflow start its (held) step, then learn what "idle" costs on this machine.
        await asyncio.sleep(2)
        quiet_cpu = max(QUIET_CPU, 1.5 * await _busy(stack, 3.0) / 3.0)

        async def create() -> str:
            response = await http.post(ports_url, json={"port": {"state": "DOWN"}}, headers=headers)
            if response.status_code != 202 or response.json()["port"]["status"] != "PROVISIONING":
                raise RuntimeError(f"expected 202 PROVISIONING, got {response.status_code}: {response.text[:300]}")
            return response.json()["port"]["id"]

        async def set_active(port_id: str, wait: bool) -> None:
            """The phase's one write: queued behind the port's creation, so it stays pending all along."""
            extra = {"Prefer": f"wait={int(seconds)}"} if wait else {}
            response = await http.put(f"{ports_url}/{port_id}", json={"port": {"state": "ACTIVE"}}, headers={**headers, **extra})
            expected = 200 if wait else 204
            if response.status_code != expected or (wait and response.json()["port"]["status"] != "PROVISIONING"):
                raise RuntimeError(f"expected {expected} PROVISIONING, got {response.status_code}: {response.text[:300]}")

        async def idle(port_id: str, deadline: float) -> int:
            await set_active(port_id, wait=False)
            await asyncio.sleep(max(0.0, deadline - time.monotonic()))
            return 1

        async def wait(port_id: str, deadline: float) -> int:
            await set_active(port_id, wait=True)
            return 1

        async def poll(port_id: str, deadline: float) -> int:
            await set_active(port_id, wait=False)
            requests = 1
            while time.monotonic() + poll_interval < deadline:
                await asyncio.sleep(poll_interval)
                response = await http.get(f"{ports_url}/{port_id}", headers=headers)
                response.raise_for_status()
                requests += 1
            return requests

        failed_queries = 0

        async def engine_poll(port_id: str, deadline: float) -> int:
            nonlocal failed_queries
            await set_active(port_id, wait=False)
            handle = temporal.get_workflow_handle(port_workflow_id(port_id))
            queries = 0
            while time.monotonic() + poll_interval < deadline:
                await asyncio.sleep(poll_interval)
                try:
                    await handle.query("describe", rpc_timeout=timedelta(seconds=5))
                except RPCError:
                    failed_queries += 1  # the engine could not keep up: counted, not fatal
                queries += 1
            return 1 + queries

        phases = {}
        for name, client in (("idle", idle), ("wait", wait), ("poll", poll), ("engine_poll", engine_poll)):
            say(f"wait vs poll: {clients} ports created for phase {name}")
            ports = await asyncio.gather(*(create() for _ in range(clients)))
            quiet = await _quiesce(stack, quiet_cpu)  # their workflows start and settle into waiting for the network
            say(f"wait vs poll: quiet after {quiet:.1f} s")
            say(f"wait vs poll: {clients} clients, phase {name} ({seconds:.0f} s)")
            phases[name] = await _phase(stack, ports, seconds, client)
            phases[name]["quiet_before_s"] = round(quiet, 1)

    phases["engine_poll"]["failed_queries"] = failed_queries
    base = phases["idle"]["cpu_s"]["temporal"]
    extra_requests = {name: p["requests"] - clients for name, p in phases.items()}
    return {
        "what": f"{clients} clients each set a PROVISIONING port ACTIVE, then wait {seconds:.0f} s for it: "
        "idle (reference), Prefer: wait, GET polling, workflow-query polling",
        "clients": clients,
        "seconds": seconds,
        "poll_interval_s": poll_interval,
        "idle_cpu_threshold": round(quiet_cpu, 3),
        **phases,
        "temporal_cpu_s_over_idle": {name: round(p["cpu_s"]["temporal"] - base, 2) for name, p in phases.items()},
        # What one client's waiting cost the engine: once per wait with Prefer: wait, once per request when polling.
        "temporal_cpu_ms_per_wait": round(1000 * (phases["wait"]["cpu_s"]["temporal"] - base) / clients, 1),
        "temporal_cpu_ms_per_engine_query": _ratio(1000 * (phases["engine_poll"]["cpu_s"]["temporal"] - base), extra_requests["engine_poll"]),
        "api_cpu_ms_per_get": _ratio(1000 * (phases["poll"]["cpu_s"]["api"] - phases["idle"]["cpu_s"]["api"]), extra_requests["poll"]),
        # Harness names (bench/report.py): server CPU of the waiting clients against the polling ones.
        "wait_to_poll_cpu_ratio": _ratio(phases["wait"]["server_cpu_s"], phases["poll"]["server_cpu_s"]),
        "wait_to_poll_temporal_cpu_ratio": _ratio(phases["wait"]["cpu_s"]["temporal"], phases["poll"]["cpu_s"]["temporal"]),
    }


async def _busy(stack: BenchStack, seconds: float) -> float:
    """CPU seconds the engine and the worker use over the next `seconds`."""
    pids = [pid for name, pid in stack.pids().items() if pid and name in ("temporal", "worker")]
    before = sum(cpu_seconds(pid) or 0 for pid in pids)
    await asyncio.sleep(seconds)
    return sum(cpu_seconds(pid) or 0 for pid in pids) - before


async def _quiesce(stack: BenchStack, quiet_cpu: float, most: float = 60.0) -> float:
    """Wait until the engine and the worker are idle again (under `quiet_cpu` of a core over a second): what an
    earlier step started must not be measured in the next phase. Returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < most and await _busy(stack, 1.0) >= quiet_cpu:
        pass
    return time.monotonic() - started


async def _phase(stack: BenchStack, ports: list[str], seconds: float, client) -> dict:
    pids = {name: pid for name, pid in stack.pids().items() if pid}
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    started = time.monotonic()
    deadline = started + seconds
    requests = await asyncio.gather(*(client(port_id, deadline) for port_id in ports))
    wall = time.monotonic() - started
    cpu = {name: round(cpu_seconds(pid) - before[name], 2) for name, pid in pids.items()}
    return {
        "wall_s": round(wall, 2),
        "requests": sum(requests),
        "cpu_s": cpu,
        "server_cpu_s": round(sum(cpu.values()), 2),
        "temporal_cpu_share_of_one_core": round(cpu["temporal"] / wall, 3),
    }


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.wait_vs_poll", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--poll-interval", type=float, default=0.1)
    parser.add_argument("--workdir", type=Path, help="keep the run's data and logs here (default: a temporary directory, removed)")
    args = parser.parse_args(argv)
    result = run(clients=args.clients, seconds=args.seconds, poll_interval=args.poll_interval, workdir=args.workdir)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
