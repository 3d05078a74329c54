"""Scenario 2: time to settled. From POST to AVAILABLE/ACTIVE for one resource at a time (p50/p99), and the
throughput of settled ports/s for ports created by one POST each, compared with baseline (a) measured in rounds
right beside it (this machine's load drifts by the minute: a baseline measured minutes earlier would not do).

Settling is observed in the API's database (see `projection_watch`), polled every 2 ms for single resources and
every 20 ms during the throughput run; the API's own list confirms the final statuses.
"""

from __future__ import annotations

import asyncio
import time
import uuid

from bench import baselines
from bench.context import BenchContext
from bench.load import TenantClient, closed_loop, expect
from bench.probes import cpu_seconds
from bench.stats import percentile, rate, summary_ms

SINGLE_POLL = 0.002
THROUGHPUT_POLL = 0.02
SINGLE_TIMEOUT = 60.0


async def run(ctx: BenchContext) -> dict:
    async with TenantClient(ctx.api_url, ctx.admin_token) as api:
        network_id = await api.settled_network("bench-settle", ctx.watch)
        await ctx.watch.drain(ctx.size.drain_timeout)
        ctx.log(f"settle: one resource at a time, {ctx.size.one_at_a_time} of each kind")
        single = await _one_at_a_time(ctx, api, network_id)
        throughput = await _paired_rounds(ctx, api)
    return {"one_at_a_time": single, "throughput": throughput}


async def _paired_rounds(ctx: BenchContext, api: TenantClient) -> dict:
    """The ports in rounds, each beside as many bare-Temporal workflows (before it in even rounds, after it in
    odd ones): the ratio of each pair is measured under the same load, and the run's ratio is their median."""
    size = ctx.size
    bare = await baselines.BareTemporal.of(ctx)
    per_round = max(1, size.throughput_count // size.throughput_rounds)
    rounds = []
    for index in range(size.throughput_rounds):
        measured = {}
        for which in ("bare", "netprov") if index % 2 == 0 else ("netprov", "bare"):
            await ctx.watch.drain(size.drain_timeout)
            ctx.log(f"settle: round {index + 1}, {per_round} {'bare workflows' if which == 'bare' else 'ports, one POST each'}")
            if which == "bare":
                measured[which] = await bare.throughput(per_round, size.submit_concurrency)
            else:
                measured[which] = await _throughput(ctx, api, per_round)
        ratio = None
        if measured["netprov"]["settled_per_s"] and measured["bare"]["completed_per_s"]:
            ratio = round(measured["netprov"]["settled_per_s"] / measured["bare"]["completed_per_s"], 3)
        rounds.append({"netprov": measured["netprov"], "bare_temporal": measured["bare"], "ratio": ratio})
    ports = [r["netprov"] for r in rounds]
    walls = sum(p["wall_s"] for p in ports)
    bare_walls = sum(r["bare_temporal"]["wall_s"] for r in rounds)
    ratios = [r["ratio"] for r in rounds if r["ratio"] is not None]
    return {
        "count": per_round * len(rounds),
        "rounds": rounds,
        "submit_concurrency": size.submit_concurrency,
        "settled": sum(p["settled"] for p in ports),
        "settled_per_s": rate(sum(p["settled"] for p in ports), walls),
        "bare_completed_per_s": rate(per_round * len(rounds), bare_walls),
        "ratio_to_bare_temporal": round(percentile(ratios, 50), 3) if ratios else None,
        "post_to_settled_under_load": ports[0]["post_to_settled_under_load"] if len(ports) == 1 else {
            "rounds_p50_ms": [p["post_to_settled_under_load"]["p50_ms"] for p in ports],
            "rounds_p99_ms": [p["post_to_settled_under_load"]["p99_ms"] for p in ports],
        },
        "final_statuses": _sum_counts(p["final_statuses"] for p in ports),
        "cpu_ms_per_port": _mean_each(p["cpu_ms_per_port"] for p in ports),
        "bare_cpu_ms_per_workflow": _mean_each(r["bare_temporal"]["cpu_ms_per_workflow"] for r in rounds),
    }


def _sum_counts(counts) -> dict[str, int]:
    total: dict[str, int] = {}
    for count in counts:
        for key, value in count.items():
            total[key] = total.get(key, 0) + value
    return total


def _mean_each(dicts) -> dict[str, float]:
    dicts = list(dicts)
    return {key: round(sum(d[key] for d in dicts) / len(dicts), 2) for key in dicts[0]} if dicts else {}


async def _one_at_a_time(ctx: BenchContext, api: TenantClient, network_id: str) -> dict:
    n, watch, run = ctx.size.one_at_a_time, ctx.watch, uuid.uuid4().hex[:6]
    networks, ports, attachments, port_ids = [], [], [], []
    for i in range(n):
        start = time.perf_counter()
        response = expect(await api.post_network(f"bench-s-{run}-{i}"), 202)
        new_id = response.json()["network"]["id"]
        networks.append(await _until(lambda: watch.network_state(new_id) == (True, "AVAILABLE"), start))
    for i in range(n):
        start = time.perf_counter()
        response = expect(await api.post_port(network_id, "ACTIVE"), 202)
        port_id = response.json()["port"]["id"]
        ports.append(await _until(lambda: watch.port_state(port_id)[:2] == (True, "ACTIVE"), start))
        port_ids.append(port_id)
    for i, port_id in enumerate(port_ids):
        start = time.perf_counter()
        expect(await api.put_attachment(network_id, port_id, f"vif-s-{run}-{i}"), 202)
        attachments.append(await _until(lambda: watch.port_state(port_id) == (True, "ACTIVE", "AVAILABLE"), start))
    return {
        "network_to_available": summary_ms(networks),
        "port_to_active": summary_ms(ports),
        "attachment_to_available": summary_ms(attachments),
    }


async def _until(done, start: float) -> float:
    while not done():
        if time.perf_counter() - start > SINGLE_TIMEOUT:
            raise TimeoutError(f"resource not settled after {SINGLE_TIMEOUT:.0f} s")
        await asyncio.sleep(SINGLE_POLL)
    return time.perf_counter() - start


async def _throughput(ctx: BenchContext, api: TenantClient, count: int) -> dict:
    """`count` ports POSTed on a fresh network by `submit_concurrency` clients; settled/s from the first POST to
    the last port settled."""
    watch = ctx.watch
    network_id = await api.settled_network("bench-throughput", watch)
    sent: dict[int, float] = {}
    posted_at: dict[str, float] = {}
    settled_at: dict[str, float] = {}

    def keep(index: int, response) -> None:
        if response.status_code == 202:
            posted_at[response.json()["port"]["id"]] = sent[index]

    async def send(i: int):
        sent[i] = time.perf_counter()
        return await api.post_port(network_id, "ACTIVE")

    async def observe() -> None:
        while len(settled_at) < count:
            now = time.perf_counter()
            for port_id in watch.settled_ports(network_id):
                settled_at.setdefault(port_id, now)
            await asyncio.sleep(THROUGHPUT_POLL)

    pids = {name: pid for name, pid in ctx.stack.pids().items() if pid}
    cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    start = time.perf_counter()
    observer = asyncio.create_task(observe())
    posts = await closed_loop(count, ctx.size.submit_concurrency, send, keep)
    submit_seconds = time.perf_counter() - start
    try:
        await asyncio.wait_for(observer, ctx.size.drain_timeout)
    except TimeoutError:
        pass
    wall = (max(settled_at.values()) - start) if settled_at else 0.0
    cpu = {name: round((cpu_seconds(pid) - cpu_before[name]) / count * 1000, 2) for name, pid in pids.items()}
    final = await api.request("GET", f"networks/{network_id}/ports")
    statuses: dict[str, int] = {}
    for port in expect(final, 200).json()["ports"]:
        statuses[port["status"]] = statuses.get(port["status"], 0) + 1
    return {
        "count": count,
        "submit_concurrency": ctx.size.submit_concurrency,
        "post": posts.summary((202,)),
        "submit_s": round(submit_seconds, 3),
        "wall_s": round(wall, 3),
        "settled": len(settled_at),
        "settled_per_s": rate(len(settled_at), wall),
        "post_to_settled_under_load": summary_ms([settled_at[p] - posted_at[p] for p in settled_at if p in posted_at]),
        "final_statuses": statuses,
        "cpu_ms_per_port": cpu,
    }
