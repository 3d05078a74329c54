"""Issue 17: netprov at the engine's speed, measured open loop against bare Temporal in the same run.

    python -m bench --open-loop [--quick] [--db postgresql] [--scale-out]      (make bench [DB=postgresql])

In order, each netprov figure right beside the bare-Temporal one it is compared with:
1. capacity: bare Temporal's one-activity workflows/s (before and after), then netprov's ports settled/s, one POST
   per port, POSTed as fast as 32 clients can (a 429 is retried after its Retry-After);
2. open loop at 80% of bare capacity: bare Temporal start -> close, then netprov POST -> 202 (ack) and POST ->
   settled, while one client GETs a port, another lists 10,000 (seeded) ports, and the API's event-loop lag is read
   from its histogram; CPU per port of every process;
3. overload at 150% of capacity: only 2xx, 429 or 503 with Retry-After; ack p99; every 2xx port ends settled;
4. a batch of 10,000 ports on 10 networks, every port attached (20,010 items, one POST): POST to COMPLETED;
5. peak RSS of every API and worker.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import asdict, dataclass

import httpx

from bench import baselines, lag_baseline
from bench.arrivals import lag_buckets, lag_summary, paced
from bench.bare_workflow import TASK_QUEUE, BenchNoopWorkflow
from bench.batch import measure_batch
from bench.context import BenchContext
from bench.load import TenantClient, expect
from bench.probes import cpu_seconds, memory_mb
from bench.reads import seed
from bench.stats import rate, summary_ms

SETTLE_POLL = 0.02
CAPACITY_CLIENTS = 32
# Readers during the load, one client each: a GET every 50 ms and a list of 10,000 ports every second, so that the
# reads sample the API's latency without becoming its main load (a list costs the API tens of ms of CPU).
GET_PAUSE = 0.05
LIST_PAUSE = 1.0


@dataclass(frozen=True)
class OpenLoopSize:
    capacity_ports: int
    open_seconds: float
    overload_seconds: float
    batch_networks: int
    batch_ports: int
    seeded_ports: int
    settle_timeout: float


SIZES = {
    "full": OpenLoopSize(600, 60, 15, 10, 10_000, 10_000, 180),
    "quick": OpenLoopSize(200, 20, 8, 10, 2_000, 10_000, 120),
    "smoke": OpenLoopSize(20, 3, 2, 2, 20, 100, 60),
}


class Spread:
    """One tenant's requests spread round-robin over every API of the run (two when scaled out)."""

    def __init__(self, api: TenantClient, urls: list[str]) -> None:
        self.api = api
        limits = httpx.Limits(max_connections=512, max_keepalive_connections=512)
        self.clients = [httpx.AsyncClient(base_url=url, limits=limits, timeout=120) for url in urls]
        self._next = 0

    async def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        client = self.clients[self._next % len(self.clients)]
        self._next += 1
        return await client.request(method, f"{self.api.base}/{path}", headers=self.api.headers, **kwargs)

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()


async def run(ctx: BenchContext) -> dict:
    size = SIZES[ctx.size.name]
    stack = ctx.stack
    bare = await baselines.BareTemporal.of(ctx)
    result: dict = {"sizes": asdict(size), "apis": len(stack.api_urls)}
    async with TenantClient(ctx.api_url, ctx.admin_token) as api:
        spread = Spread(api, stack.api_urls)
        try:
            ctx.log(f"open loop: capacity, {size.capacity_ports} bare workflows / ports")
            before = await bare.throughput(size.capacity_ports, CAPACITY_CLIENTS)
            ours = await _capacity(ctx, spread, size)
            after = await bare.throughput(size.capacity_ports, CAPACITY_CLIENTS)
            bare_rate = (before["completed_per_s"] + after["completed_per_s"]) / 2
            result["capacity"] = {
                "bare_temporal": {"before": before, "after": after, "completed_per_s": round(bare_rate, 2)},
                "netprov": ours,
                "ratio": round(ours["settled_per_s"] / bare_rate, 3) if ours["settled_per_s"] else None,
            }
            offered = round(0.8 * bare_rate, 2)
            network_id, port_ids = seed(ctx, api.tenant, size.seeded_ports)
            ctx.log(f"open loop: {offered}/s for {size.open_seconds:.0f} s, bare Temporal then netprov")
            bare_open = await _bare_open_loop(bare, offered, size.open_seconds)
            ours_open = await _open_loop(ctx, spread, offered, size, reads=(network_id, port_ids[len(port_ids) // 2]))
            result["open_loop"] = {"offered_per_s": offered, "bare_temporal": bare_open, "netprov": ours_open}
            overload = round(1.5 * bare_rate, 2)
            ctx.log(f"open loop: overload, {overload}/s for {size.overload_seconds:.0f} s")
            result["overload"] = await _overload(ctx, spread, overload, size)
            ctx.log(f"open loop: batch of {size.batch_ports} ports on {size.batch_networks} networks")
            result["batch"] = await measure_batch(api, size.batch_networks, size.batch_ports, size.settle_timeout)
        finally:
            await spread.aclose()
    result["memory"] = {name: memory_mb(pid) for name, pid in stack.pids().items() if pid}
    return result


async def _settled_network(spread: Spread, watch, name: str) -> str:
    network_id = expect(await spread.request("POST", "networks", json={"network": {"name": name}}), 202).json()["network"]["id"]
    deadline = time.monotonic() + 60
    while watch.network_state(network_id) != (True, "AVAILABLE"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"network {network_id} not AVAILABLE after 60 s")
        await asyncio.sleep(0.01)
    return network_id


class SettleClock:
    """When each port of a network was first seen settled (polled every SETTLE_POLL in the database)."""

    def __init__(self, watch, network_id: str) -> None:
        self.watch, self.network_id = watch, network_id
        self.settled_at: dict[str, float] = {}
        self.statuses: dict[str, str] = {}

    async def until(self, port_ids: set[str] | None, timeout: float, stop: asyncio.Event | None = None) -> None:
        """Poll until every port in `port_ids` settled (None: until `stop` is set), or `timeout`."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            now = time.perf_counter()
            for port_id, status in self.watch.settled_ports(self.network_id).items():
                self.settled_at.setdefault(port_id, now)
                self.statuses[port_id] = status
            if port_ids is not None and port_ids <= self.settled_at.keys():
                return
            if stop is not None and stop.is_set() and port_ids is None:
                return
            await asyncio.sleep(SETTLE_POLL)


def _cpu(pids: dict[str, int]) -> dict[str, float]:
    return {name: cpu_seconds(pid) or 0.0 for name, pid in pids.items()}


def _cpu_ms_per(before: dict[str, float], after: dict[str, float], count: int) -> dict[str, float]:
    per = {name: round((after[name] - before[name]) / max(count, 1) * 1000, 2) for name in before}
    per["total"] = round(sum(per.values()), 2)
    return per


async def _post_port(spread: Spread, network_id: str, retry_429: bool = False) -> httpx.Response:
    while True:
        response = await spread.request("POST", f"networks/{network_id}/ports", json={"port": {"state": "ACTIVE"}})
        if not (retry_429 and response.status_code == 429):
            return response
        await asyncio.sleep(float(response.headers.get("Retry-After", "1")))


async def _timed_post(spread: Spread, network_id: str) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = await _post_port(spread, network_id)
    return time.perf_counter() - started, response


async def _capacity(ctx: BenchContext, spread: Spread, size: OpenLoopSize) -> dict:
    network_id = await _settled_network(spread, ctx.watch, "bench-capacity")
    clock, ids = SettleClock(ctx.watch, network_id), set()
    pids = {n: p for n, p in ctx.stack.pids().items() if p}
    cpu_before, start = _cpu(pids), time.perf_counter()
    pending = iter(range(size.capacity_ports))

    async def client() -> None:
        for _ in pending:
            ids.add(expect(await _post_port(spread, network_id, retry_429=True), 202).json()["port"]["id"])

    await asyncio.gather(*(client() for _ in range(CAPACITY_CLIENTS)))
    await clock.until(ids, size.settle_timeout)
    wall = max(clock.settled_at.values()) - start if clock.settled_at else 0.0
    return {
        "ports": len(ids), "settled": len(ids & clock.settled_at.keys()), "wall_s": round(wall, 3),
        "settled_per_s": rate(len(ids & clock.settled_at.keys()), wall),
        "cpu_ms_per_port": _cpu_ms_per(cpu_before, _cpu(pids), len(ids)),
    }


async def _bare_open_loop(bare: baselines.BareTemporal, offered: float, seconds: float) -> dict:
    run = uuid.uuid4().hex[:8]

    async def one(i: int) -> tuple[float, float]:
        started = time.perf_counter()
        handle = await bare.client.start_workflow(BenchNoopWorkflow.run, i, id=f"bench-open-{run}-{i}", task_queue=TASK_QUEUE)
        acked = time.perf_counter() - started
        await handle.result()
        return acked, time.perf_counter() - started

    outcomes = [o for _, o in await paced(offered, seconds, one) if isinstance(o, tuple)]
    return {
        "started": len(outcomes),
        "start_ack": summary_ms([a for a, _ in outcomes]),
        "start_to_close": summary_ms([c for _, c in outcomes]),
    }


async def _readers(spread: Spread, reads: tuple[str, str], stop: asyncio.Event) -> dict:
    network_id, port_id = reads
    gets, lists, errors = [], [], 0

    async def loop(path: str, samples: list, pause: float) -> None:
        nonlocal errors
        while not stop.is_set():
            started = time.perf_counter()
            response = await spread.request("GET", path)
            samples.append(time.perf_counter() - started)
            errors += response.status_code != 200
            await asyncio.sleep(pause)

    await asyncio.gather(
        loop(f"networks/{network_id}/ports/{port_id}", gets, GET_PAUSE),
        loop(f"networks/{network_id}/ports", lists, LIST_PAUSE),
    )
    return {"get_port": summary_ms(gets), "list_10000_ports": summary_ms(lists), "non_200": errors}


async def _open_loop(ctx: BenchContext, spread: Spread, offered: float, size: OpenLoopSize, reads) -> dict:
    network_id = await _settled_network(spread, ctx.watch, "bench-open-loop")
    clock, stop = SettleClock(ctx.watch, network_id), asyncio.Event()
    pids = {n: p for n, p in ctx.stack.pids().items() if p}
    lag_before, cpu_before = await lag_buckets(ctx.stack.api_urls), _cpu(pids)
    readers = asyncio.create_task(_readers(spread, reads, stop))
    machine_lag = asyncio.create_task(lag_baseline.beside(size.open_seconds))
    watcher = asyncio.create_task(clock.until(None, size.open_seconds + size.settle_timeout, stop))

    sent = await paced(offered, size.open_seconds, lambda _i: _timed_post(spread, network_id))
    stop.set()
    read_figures = await readers
    lag = lag_summary(lag_before, await lag_buckets(ctx.stack.api_urls))
    watcher.cancel()
    answered = [(at, o) for at, o in sent if isinstance(o, tuple)]
    posted = {o[1].json()["port"]["id"]: at for at, o in answered if o[1].status_code == 202}
    await clock.until(set(posted), size.settle_timeout)
    cpu = _cpu_ms_per(cpu_before, _cpu(pids), len(posted))
    statuses = _count(str(response.status_code) for _, (_, response) in answered)
    return {
        "sent": len(sent), "statuses": statuses, "connection_errors": len(sent) - len(answered),
        "connection_error_types": _count(type(o).__name__ for _, o in sent if not isinstance(o, tuple)),
        "ack": summary_ms([o[0] for _, o in answered if o[1].status_code == 202]),
        "post_to_settled": summary_ms([clock.settled_at[p] - at for p, at in posted.items() if p in clock.settled_at]),
        "not_settled": len(set(posted) - clock.settled_at.keys()),
        "reads": read_figures, "event_loop_lag": lag, "machine_lag_idle_process": await machine_lag,
        "cpu_ms_per_port": cpu,
    }


async def _overload(ctx: BenchContext, spread: Spread, offered: float, size: OpenLoopSize) -> dict:
    network_id = await _settled_network(spread, ctx.watch, "bench-overload")
    clock = SettleClock(ctx.watch, network_id)

    sent = await paced(offered, size.overload_seconds, lambda _i: _timed_post(spread, network_id))
    answered = [o for _, o in sent if isinstance(o, tuple)]
    statuses = _count(str(response.status_code) for _, response in answered)
    without_retry_after = sum(r.status_code in (429, 503) and "retry-after" not in r.headers for _, r in answered)
    accepted = {r.json()["port"]["id"] for _, r in answered if 200 <= r.status_code < 300}
    drain_started = time.perf_counter()
    await clock.until(accepted, size.settle_timeout)
    allowed = all(code.startswith("2") or code in ("429", "503") for code in statuses)
    return {
        "offered_per_s": offered, "sent": len(sent), "statuses": statuses,
        "connection_errors": len(sent) - len(answered),
        "connection_error_types": _count(type(o).__name__ for _, o in sent if not isinstance(o, tuple)),
        "only_2xx_429_503": allowed and len(answered) == len(sent), "429_503_without_retry_after": without_retry_after,
        "ack_all_answers": summary_ms([t for t, _ in answered]),
        "ack_2xx": summary_ms([t for t, r in answered if 200 <= r.status_code < 300]),
        "accepted": len(accepted), "accepted_settled": len(accepted & clock.settled_at.keys()),
        "lost": len(accepted - clock.settled_at.keys()),
        "final_statuses": _count(clock.statuses[p] for p in accepted if p in clock.statuses),
        "drain_s": round(time.perf_counter() - drain_started, 2),
    }


def _count(values) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts
