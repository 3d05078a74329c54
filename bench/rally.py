"""`python -m bench.rally [--iterations N] [--concurrency C] [--output PATH]`: Rally's scenario
NeutronNetworks.create_and_delete_ports, driven through openstacksdk against netprov's v2.0 API on
a stack of its own (bench/stack.py: Temporal dev server, worker, API; fake plugin, no latency).

One iteration, as the brief defines it after Rally's scenario: create one network, create 10 ports
on it one after another (as Rally's `_create_port` does), poll the network's ports until none is
BUILD, delete every port, delete the network. The iteration's time runs from the first create to
the answer of the last DELETE (Rally does not wait for deletions to finish either). `concurrency`
iterations run at once, each on a thread with its own SDK connection. Prints one JSON document
(median/p90 seconds per iteration beside Neutron's published figure) and writes it to
bench/results/rally.json.

Bare Temporal in the same shape (bench/rally_bare.py: 11 one-activity workflows started one after another, all
awaited, 11 more started) runs on the same dev server right before and right after netprov's run (after netprov's
deprovisioning has finished): its median/p90, writes/s and the ratio netprov/bare are in the same document. The
ratio is what netprov costs over the engine it is built on, in the same sitting; the bare median is the floor
this shape has on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import json
import os
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openstack

from bench import rally_bare
from bench.probes import machine
from bench.stack import BenchStack
from bench.stats import percentile
from netprov.settings import Settings

PORTS_PER_NETWORK = 10
SETTLE_TIMEOUT = 60.0
# Rally polls too; a tighter loop would only load the API it measures.
POLL_SECONDS = 0.25
RESULTS = Path(__file__).with_name("results") / "rally.json"
# OpenStack performance-docs, "Neutron features scale testing" (Rally), create_and_delete_ports with
# 10 ports per network and concurrency 6, on three 48-core controllers: median seconds per iteration.
NEUTRON_PUBLISHED = {"median_s": 8.5, "setup": "three 48-core controllers, OpenStack performance-docs"}


def tenant_token(url: str, admin_token: str, tenant: str) -> str:
    response = httpx.post(f"{url}/v1.1/tokens", json={"token": {"tenant_id": tenant}},
                          headers={"X-Auth-Token": admin_token}, timeout=30)  # fmt: skip
    response.raise_for_status()
    return response.json()["token"]["secret"]


def connect(url: str, token: str):
    """openstacksdk pointed at netprov exactly as the README says: no identity service."""
    return openstack.connect(auth_type="admin_token", auth={"endpoint": url, "token": token})


def iteration(conn, index: int) -> dict[str, float]:
    """One create_and_delete_ports iteration: its duration in seconds ("total") and its phases'
    ("create": the 11 POSTs, "settle": until no port is BUILD, "delete": the 11 DELETEs). Raises
    when a port ends in ERROR or does not settle within SETTLE_TIMEOUT."""
    net = conn.network
    started = time.monotonic()
    network = net.create_network(name=f"rally-{index}-{uuid.uuid4().hex[:6]}")
    ports = [net.create_port(network_id=network.id, name=f"rally-port-{i}") for i in range(PORTS_PER_NETWORK)]
    created = time.monotonic()
    deadline = started + SETTLE_TIMEOUT
    while True:
        statuses = [p.status for p in net.ports(network_id=network.id, fields=["id", "status"])]
        if "ERROR" in statuses:
            raise RuntimeError(f"iteration {index}: a port ended in ERROR")
        if len(statuses) == PORTS_PER_NETWORK and "BUILD" not in statuses:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"iteration {index}: ports still BUILD after {SETTLE_TIMEOUT}s: {statuses}")
        time.sleep(POLL_SECONDS)
    settled = time.monotonic()
    for port in ports:
        net.delete_port(port, ignore_missing=False)
    net.delete_network(network, ignore_missing=False)
    done = time.monotonic()
    return {"total": done - started, "create": created - started, "settle": settled - created, "delete": done - settled}


def run(url: str, admin_token: str, iterations: int, concurrency: int) -> dict:
    token = tenant_token(url, admin_token, f"rally-{uuid.uuid4().hex[:8]}")
    local = threading.local()
    connections = []
    lock = threading.Lock()

    def one(index: int) -> dict[str, float]:
        if not hasattr(local, "conn"):
            local.conn = connect(url, token)
            with lock:
                connections.append(local.conn)
        return iteration(local.conn, index)

    wall = time.monotonic()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        phases = list(pool.map(one, range(iterations)))
    wall = time.monotonic() - wall
    for conn in connections:
        conn.close()
    durations = [p["total"] for p in phases]
    median = percentile(durations, 50)
    return {
        "scenario": "NeutronNetworks.create_and_delete_ports",
        "client": f"openstacksdk {importlib.metadata.version('openstacksdk')}",
        "iterations": iterations,
        "concurrency": concurrency,
        "ports_per_network": PORTS_PER_NETWORK,
        "median_s": round(median, 3),
        "p90_s": round(percentile(durations, 90), 3),
        "min_s": round(min(durations), 3),
        "max_s": round(max(durations), 3),
        "wall_s": round(wall, 3),
        "iterations_s": [round(d, 3) for d in durations],
        "phase_median_s": {name: round(percentile([p[name] for p in phases], 50), 3)
                           for name in ("create", "settle", "delete")},
        "writes_per_iteration": 2 * (PORTS_PER_NETWORK + 1),
        "writes_per_s": round(2 * (PORTS_PER_NETWORK + 1) * iterations / wall, 2),
        "target_median_s": 2.0,
        "target_met": median < 2.0,
        "neutron_published": NEUTRON_PUBLISHED,
        "machine": machine(),
    }


async def measure(stack: BenchStack, iterations: int, concurrency: int) -> dict:
    """Bare Temporal, netprov, bare Temporal again, on the one stack; netprov's document with the bare figures."""
    bare = await rally_bare.start_bare(stack)
    before = await rally_bare.run(bare, iterations, concurrency)
    baseline = await rally_bare.running(bare.client)
    doc = await asyncio.to_thread(run, stack.api_url, stack.admin_token, iterations, concurrency)
    idle_after = await rally_bare.wait_idle(bare.client, baseline)
    after = await rally_bare.run(bare, iterations, concurrency)
    doc["bare_temporal"] = rally_bare.summary(before, after) | {"waited_for_netprov_idle_s": idle_after}
    bare_median = doc["bare_temporal"]["median_s"]
    doc["ratio_to_bare"] = {
        "median": round(doc["median_s"] / bare_median, 2),
        "p90": round(doc["p90_s"] / doc["bare_temporal"]["p90_s"], 2),
        "median_vs_before": round(doc["median_s"] / before["median_s"], 2),
        "median_vs_after": round(doc["median_s"] / after["median_s"], 2),
    }
    doc["bare_target_met"] = bare_median < doc["target_median_s"]
    return doc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rally", description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=6)
    parser.add_argument("--output", type=Path, default=RESULTS)
    steps = parser.add_mutually_exclusive_group()
    steps.add_argument("--local-steps", action="store_const", const=True, dest="local_steps",
                       help="NETPROV_LOCAL_STEPS=true (see README, Performance)")
    steps.add_argument("--no-local-steps", action="store_const", const=False, dest="local_steps",
                       help="NETPROV_LOCAL_STEPS=false; neither flag: the settings' default")
    args = parser.parse_args(argv)
    stack = BenchStack(local_steps=args.local_steps)
    load_before = _load()
    try:
        stack.start()
        doc = asyncio.run(measure(stack, args.iterations, args.concurrency))
        # The 1-minute load average before the stack started, at netprov's start (also in "machine") and at the end.
        doc["load_average_1m"] = {"before_stack": load_before, "netprov_start": doc["machine"]["load_average_1m_at_start"],
                                  "end": _load()}  # fmt: skip
        doc["local_steps"] = Settings.model_fields["local_steps"].default if args.local_steps is None else args.local_steps
    finally:
        stack.stop()
    text = json.dumps(doc, indent=2)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text + "\n")
    bare = doc["bare_temporal"]
    print(f"netprov: median {doc['median_s']} s, p90 {doc['p90_s']} s per iteration, {doc['writes_per_s']} writes/s "
          f"(Neutron published: median {NEUTRON_PUBLISHED['median_s']} s)\n"
          f"bare Temporal, same shape: median {bare['median_s']} s, p90 {bare['p90_s']} s, {bare['writes_per_s']} "
          f"writes/s (before {bare['before']['median_s']} s, after {bare['after']['median_s']} s)\n"
          f"netprov/bare: median x{doc['ratio_to_bare']['median']}, p90 x{doc['ratio_to_bare']['p90']}; "
          f"load (1 min) {doc['load_average_1m']}",
          file=sys.stderr)  # fmt: skip
    return 0


def _load() -> float:
    return round(os.getloadavg()[0], 2)


if __name__ == "__main__":
    sys.exit(main())
