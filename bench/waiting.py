"""Scenario 5: what waiting costs the server. N clients each create a port and wait for it to settle, first with
`Prefer: wait=60` (the API holds the answer; the wait is a workflow update, pushed, not polled), then the same N
clients the contract's other way: POST, then GET every POLL_INTERVAL until the port leaves PROVISIONING.

Server CPU is the user+system time of the API, worker and Temporal processes (/proc/<pid>/stat) over each phase;
both phases provision the same number of ports, so the difference is the price of waiting.
"""

from __future__ import annotations

import asyncio
import time

from bench.context import BenchContext
from bench.load import TenantClient, expect
from bench.probes import cpu_seconds

POLL_INTERVAL = 0.5
WAIT_SECONDS = 60


async def run(ctx: BenchContext) -> dict:
    clients = ctx.size.wait_clients
    async with TenantClient(ctx.api_url, ctx.admin_token, connections=clients + 4, timeout=WAIT_SECONDS + 30) as api:
        network_id = await api.settled_network("bench-wait", ctx.watch)
        await ctx.watch.drain(ctx.size.drain_timeout)

        async def waiting_client(_i: int) -> dict:
            response = await api.post_port(network_id, "ACTIVE", headers={"Prefer": f"wait={WAIT_SECONDS}"})
            expect(response, 201, 202)
            return {"requests": 1, "settled_in_answer": response.status_code == 201}

        async def polling_client(_i: int) -> dict:
            response = expect(await api.post_port(network_id, "ACTIVE"), 202)
            path = f"networks/{network_id}/ports/{response.json()['port']['id']}"
            requests = 1
            while True:
                await asyncio.sleep(POLL_INTERVAL)
                requests += 1
                if expect(await api.request("GET", path), 200).json()["port"]["status"] != "PROVISIONING":
                    return {"requests": requests, "settled_in_answer": False}

        ctx.log(f"wait vs poll: {clients} clients with Prefer: wait")
        waited = await _phase(ctx, clients, waiting_client)
        ctx.log(f"wait vs poll: {clients} clients polling every {POLL_INTERVAL} s")
        polled = await _phase(ctx, clients, polling_client)
    ratio = None
    if polled["server_cpu_s"]:
        ratio = round(waited["server_cpu_s"] / polled["server_cpu_s"], 3)
    return {
        "what": f"{clients} concurrent clients each creating one port and waiting until it settles",
        "clients": clients,
        "poll_interval_s": POLL_INTERVAL,
        "wait": waited,
        "poll": polled,
        "wait_to_poll_cpu_ratio": ratio,
    }


async def _phase(ctx: BenchContext, clients: int, client) -> dict:
    pids = {name: pid for name, pid in ctx.stack.pids().items() if pid}
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    start = time.perf_counter()
    outcomes = await asyncio.gather(*(client(i) for i in range(clients)))
    answered = time.perf_counter() - start
    await ctx.watch.drain(ctx.size.drain_timeout)
    wall = time.perf_counter() - start
    cpu = {name: round(cpu_seconds(pid) - before[name], 2) for name, pid in pids.items()}
    return {
        "wall_s": round(wall, 2),
        "all_answered_s": round(answered, 2),
        "http_requests": sum(o["requests"] for o in outcomes),
        "settled_in_answer": sum(o["settled_in_answer"] for o in outcomes),
        "cpu_s": cpu,
        "server_cpu_s": round(sum(cpu.values()), 2),
    }
