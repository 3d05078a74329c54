"""HTTP load against the API under test: one tenant's client and a closed-loop load generator.

Closed loop: `concurrency` clients each send a request, wait for its answer, and send the next, until `count`
requests are done. Latency is measured per request on the monotonic clock, from sending to the full answer.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from bench.stats import rate, summary_ms


class BenchHTTPError(RuntimeError):
    pass


class TenantClient:
    """A fresh tenant with its own token, over keep-alive HTTP connections to the API."""

    def __init__(self, api_url: str, admin_token: str, *, connections: int = 64, timeout: float = 120.0) -> None:
        self.tenant = f"bench-{uuid.uuid4().hex[:8]}"
        self.base = f"/v1.1/tenants/{self.tenant}"
        self.admin_token = admin_token
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self.http = httpx.AsyncClient(base_url=api_url, limits=limits, timeout=timeout)
        self.headers = {"X-Auth-Token": admin_token}

    async def __aenter__(self) -> TenantClient:
        response = await self.http.post(
            "/v1.1/tokens", json={"token": {"tenant_id": self.tenant}}, headers={"X-Auth-Token": self.admin_token}
        )
        expect(response, 201)
        self.headers = {"X-Auth-Token": response.json()["token"]["secret"]}
        return self

    async def __aexit__(self, *exc) -> None:
        await self.http.aclose()

    async def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        url = path if path.startswith("/") else f"{self.base}/{path}"
        return await self.http.request(method, url, headers=headers, **kwargs)

    async def post_network(self, name: str, **kwargs) -> httpx.Response:
        return await self.request("POST", "networks", json={"network": {"name": name}}, **kwargs)

    async def post_port(self, network_id: str, state: str = "ACTIVE", **kwargs) -> httpx.Response:
        return await self.request("POST", f"networks/{network_id}/ports", json={"port": {"state": state}}, **kwargs)

    async def put_attachment(self, network_id: str, port_id: str, iface: str, host: str = "h1", **kwargs) -> httpx.Response:
        return await self.request(
            "PUT",
            f"networks/{network_id}/ports/{port_id}/attachment",
            json={"attachment": {"id": iface, "host": host}},
            **kwargs,
        )

    async def settled_network(self, name: str, watch, timeout: float = 60.0) -> str:
        """Create a network and return its id once it is AVAILABLE."""
        response = await self.post_network(name)
        expect(response, 202)
        network_id = response.json()["network"]["id"]
        deadline = time.monotonic() + timeout
        while watch.network_state(network_id) != (True, "AVAILABLE"):
            if time.monotonic() > deadline:
                raise BenchHTTPError(f"network {network_id} not AVAILABLE after {timeout:.0f} s: {watch.network_state(network_id)}")
            await asyncio.sleep(0.01)
        return network_id


def expect(response: httpx.Response, *codes: int) -> httpx.Response:
    if response.status_code not in codes:
        raise BenchHTTPError(
            f"{response.request.method} {response.request.url.path} answered {response.status_code}, "
            f"expected {codes}: {response.text[:300]}"
        )
    return response


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    wall_seconds: float = 0.0
    results: list = field(default_factory=list)

    def summary(self, ok: tuple[int, ...]) -> dict:
        """Latency summary of every request (answered OK or not), its rate, and the unexpected answers."""
        unexpected = {str(code): n for code, n in self.statuses.items() if code not in ok}
        return {
            **summary_ms(self.latencies),
            "requests_per_s": rate(len(self.latencies), self.wall_seconds),
            "wall_s": round(self.wall_seconds, 3),
            "unexpected_statuses": unexpected,
        }


async def closed_loop(
    count: int, concurrency: int, send: Callable[[int], Awaitable[httpx.Response]], keep: Callable | None = None
) -> LoadResult:
    """Send requests 0..count-1 from `concurrency` clients; `keep(i, response)` picks what to keep of each
    answer (in `results[i]`), e.g. the new resource's id."""
    result = LoadResult(results=[None] * count)
    next_index = iter(range(count))

    async def client() -> None:
        for index in next_index:
            start = time.perf_counter()
            response = await send(index)
            result.latencies.append(time.perf_counter() - start)
            result.statuses[response.status_code] += 1
            if keep is not None:
                result.results[index] = keep(index, response)

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(min(concurrency, count))))
    result.wall_seconds = time.perf_counter() - start
    return result
