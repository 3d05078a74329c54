"""Scenario 1: write latency. POST network, POST port, PUT attachment from 1, 10 and 50 concurrent clients:
p50/p99 of the 202 answer and requests/s, plus the API's CPU time per request.

Each level starts from an idle stack (every earlier write applied), then runs its three phases back to back while
the workflows of the writes already accepted run beside them, as they would in production. Ports go on one
network that is already AVAILABLE; each attachment goes on a port created in the same level.
"""

from __future__ import annotations

import uuid

from bench.context import BenchContext
from bench.load import TenantClient, closed_loop, expect
from bench.probes import cpu_seconds

OK = (202,)


async def run(ctx: BenchContext) -> dict:
    async with TenantClient(ctx.api_url, ctx.admin_token) as api:
        network_id = await api.settled_network("bench-writes", ctx.watch)
        levels = {}
        for clients, count in ctx.size.write_levels:
            ctx.log(f"writes: {clients} concurrent clients, {count} requests per kind")
            levels[str(clients)] = await _level(ctx, api, network_id, clients, count)
            ctx.stack.check_alive()
    return {
        "what": "closed-loop clients over keep-alive HTTP; latency from sending to the full 202 answer",
        "levels": levels,
    }


async def _level(ctx: BenchContext, api: TenantClient, network_id: str, clients: int, count: int) -> dict:
    run = uuid.uuid4().hex[:6]
    # Warm-up: open every client's connection and touch every code path once; not measured.
    warm = await closed_loop(clients, clients, lambda i: api.post_port(network_id), keep=_port_id)
    for port_id in filter(None, warm.results):
        expect(await api.put_attachment(network_id, port_id, f"warm-{run}-{port_id[:8]}"), 202)
    await ctx.watch.drain(ctx.size.drain_timeout)

    api_pid = ctx.stack.pids()["api"]
    phases = {}

    async def phase(name: str, n: int, send, keep=None):
        cpu_before = cpu_seconds(api_pid)
        result = await closed_loop(n, clients, send, keep)
        cpu = cpu_seconds(api_pid) - cpu_before
        phases[name] = result.summary(OK) | {"api_cpu_ms_per_request": round(cpu / max(n, 1) * 1000, 2)}
        return result

    await phase("network", count, lambda i: api.post_network(f"bench-w{clients}-{run}-{i}"))
    ports = await phase("port", count, lambda i: api.post_port(network_id), keep=_port_id)
    port_ids = [p for p in ports.results if p]
    await phase(
        "attachment", len(port_ids), lambda i: api.put_attachment(network_id, port_ids[i], f"vif-{run}-{i}")
    )
    drain = await ctx.watch.drain(ctx.size.drain_timeout)
    return phases | {"drain_after_s": round(drain, 2)}


def _port_id(_index: int, response) -> str | None:
    return response.json()["port"]["id"] if response.status_code == 202 else None
