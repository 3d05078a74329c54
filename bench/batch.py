"""Scenario 3: a batch of 1,000 ports on 10 networks, all ACTIVE and attached, from POST to COMPLETED,
against the same topology made with one POST per resource (fire-and-forget: POST network, POST port, PUT
attachment, without waiting; 16 requests in flight), in the same stack.

    python -m bench.batch                      # its own stack; prints one JSON document
    python -m bench.batch --ports 200 --baseline-ports 100

Targets (issue 6): POST to COMPLETED under 10 s, and at least 10 times faster than one POST per resource. The
one-POST-per-resource run may be scaled down (`baseline_ports`): its time is then extrapolated linearly to the
batch's size (per-resource throughput is flat once the pipeline is full), and the document says so.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid

from bench.load import TenantClient, expect
from bench.stack import BenchStack, given_or_own

TARGET_SECONDS = 10.0
TARGET_SPEEDUP = 10.0
POLL_S = 0.1
# Requests in flight in the one-POST-per-resource run.
SUBMIT_CONCURRENCY = 16


def topology(networks: int, ports: int, tag: str) -> dict:
    """`ports` ACTIVE ports spread over `networks` networks, each with an attachment on host h1."""
    return {
        "batch": {
            "networks": [{"ref": f"n{i}", "name": f"bench-net-{i}"} for i in range(networks)],
            "ports": [{"ref": f"p{i}", "network": f"n{i % networks}", "state": "ACTIVE"} for i in range(ports)],
            "attachments": [{"port": f"p{i}", "id": f"vif-{tag}-{i}", "host": "h1"} for i in range(ports)],
        }
    }


async def measure_batch(client: TenantClient, networks: int, ports: int, timeout: float) -> dict:
    body = topology(networks, ports, uuid.uuid4().hex[:8])
    size = len(json.dumps(body))
    started = time.monotonic()
    response = await client.request("POST", "batches?items=false", json=body)
    expect(response, 202)
    answered = time.monotonic() - started
    batch_id = response.json()["batch"]["id"]
    polls = 0
    while True:
        response = await client.request("GET", f"batches/{batch_id}?items=false")
        expect(response, 200)
        batch = response.json()["batch"]
        polls += 1
        if batch["status"] != "PROVISIONING":
            break
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"batch {batch_id} still PROVISIONING after {timeout} s: {batch['counts']}")
        await asyncio.sleep(POLL_S)
    elapsed = time.monotonic() - started
    return {
        "batch_id": batch_id,
        "status": batch["status"],
        "counts": batch["counts"],
        "body_bytes": size,
        "post_answer_s": round(answered, 3),
        "completed_s": round(elapsed, 3),
        "items": networks + 2 * ports,
        "items_per_s": round((networks + 2 * ports) / elapsed, 1),
        "polls": polls,
    }


async def measure_one_by_one(client: TenantClient, networks: int, ports: int, timeout: float) -> dict:
    """The same topology, one POST/PUT per resource, `SUBMIT_CONCURRENCY` requests in flight; timed until every
    port is ACTIVE with its attachment AVAILABLE."""
    tag = uuid.uuid4().hex[:8]
    gate = asyncio.Semaphore(SUBMIT_CONCURRENCY)
    started = time.monotonic()
    network_ids = []
    for i in range(networks):
        response = await client.post_network(f"bench-one-{i}")
        expect(response, 202)
        network_ids.append(response.json()["network"]["id"])

    async def port_with_attachment(i: int) -> None:
        async with gate:
            network_id = network_ids[i % networks]
            response = await client.post_port(network_id, "ACTIVE")
            expect(response, 202)
            port_id = response.json()["port"]["id"]
            expect(await client.put_attachment(network_id, port_id, f"vif-one-{tag}-{i}"), 202)

    await asyncio.gather(*(port_with_attachment(i) for i in range(ports)))
    submitted = time.monotonic() - started
    while True:
        settled = 0
        for network_id in network_ids:
            response = await client.request("GET", f"networks/{network_id}/ports?detail=true")
            expect(response, 200)
            settled += sum(
                1
                for port in response.json()["ports"]
                if port["status"] == "ACTIVE" and port["attachment"] and port["attachment"]["status"] == "AVAILABLE"
            )
        if settled == ports:
            break
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"one-by-one: {settled} of {ports} ports settled after {timeout} s")
        await asyncio.sleep(0.5)
    elapsed = time.monotonic() - started
    return {
        "networks": networks,
        "ports": ports,
        "items": networks + 2 * ports,
        "submitted_s": round(submitted, 3),
        "settled_s": round(elapsed, 3),
        "items_per_s": round((networks + 2 * ports) / elapsed, 1),
    }


async def measure(api_url: str, admin_token: str, *, networks: int, ports: int, baseline_ports: int, timeout: float) -> dict:
    async with TenantClient(api_url, admin_token) as client:
        batch = await measure_batch(client, networks, ports, timeout)
    result: dict = {"scenario": "batch", "networks": networks, "ports": ports, "attachments": ports, "batch": batch}
    if baseline_ports:
        baseline_networks = max(1, round(networks * baseline_ports / ports))
        async with TenantClient(api_url, admin_token) as client:
            one = await measure_one_by_one(client, baseline_networks, baseline_ports, timeout * 20)
        scale = (networks + 2 * ports) / one["items"]
        one["extrapolated_to_batch_size_s"] = round(one["settled_s"] * scale, 3)
        one["extrapolated"] = scale != 1
        result["one_post_per_resource"] = one
        result["speedup"] = round(one["extrapolated_to_batch_size_s"] / batch["completed_s"], 1)
    result["targets"] = {
        "completed_under_s": TARGET_SECONDS,
        "completed_ok": batch["status"] == "COMPLETED" and batch["completed_s"] < TARGET_SECONDS,
        "speedup_at_least": TARGET_SPEEDUP,
        "speedup_ok": result.get("speedup", 0) >= TARGET_SPEEDUP if baseline_ports else None,
    }
    return result


def run(
    stack: BenchStack | None = None,
    *,
    networks: int = 10,
    ports: int = 1000,
    baseline_ports: int = 200,
    timeout: float = 120.0,
) -> dict:
    """Measure scenario 3 on `stack` (started and stopped here when None); return the figures."""
    with given_or_own(stack) as stack:
        result = asyncio.run(
            measure(stack.api_url, stack.admin_token, networks=networks, ports=ports, baseline_ports=baseline_ports, timeout=timeout)
        )
    result["machine"] = {"cpus": os.cpu_count()}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.batch", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--networks", type=int, default=10)
    parser.add_argument("--ports", type=int, default=1000)
    parser.add_argument("--baseline-ports", type=int, default=200, help="ports created one POST at a time (0: skip)")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    print(json.dumps(run(networks=args.networks, ports=args.ports, baseline_ports=args.baseline_ports, timeout=args.timeout), indent=2))


if __name__ == "__main__":
    main()
