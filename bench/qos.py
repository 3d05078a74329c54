"""Scenario qos: how fast QoS reaches ports (fake plugin).

1. One port at a time: PUT `qos_policy_id` on a provisioned, attached port, then the time until its `qos_status`
   is AVAILABLE with every accepted operation applied (p50/p99), as a client that configures QoS right away sees it.
2. Fan-out: a policy used by `qos_fanout_ports` attached ports (through their network's policy) gets new rules; the
   time from the PUT until every one of those ports is AVAILABLE again (target: 1,000 ports in under 10 s). The
   PUT's own answer time is reported apart, and so is the fan-out that set the network's policy in the first place.

The ports are made by one batch on an AVAILABLE network. Observed in the API's database (bench/projection_watch.py),
polled every 2 ms for single ports and every 20 ms for the fan-out; the API's list confirms the end state.
"""

from __future__ import annotations

import asyncio
import time
import uuid

from bench.context import BenchContext
from bench.load import BenchHTTPError, TenantClient, expect
from bench.stats import summary_ms

SINGLE_POLL = 0.002
FANOUT_POLL = 0.02
SINGLE_TIMEOUT = 60.0
AVAILABLE = "AVAILABLE"


def _bandwidth(max_kbps: int) -> list[dict]:
    return [{"type": "bandwidth_limit", "max_kbps": max_kbps, "direction": "egress"}, {"type": "dscp_marking", "dscp_mark": 26}]


async def run(ctx: BenchContext) -> dict:
    size = ctx.size
    async with TenantClient(ctx.api_url, ctx.admin_token) as api:
        policy = await _policy(api, "bench-gold", _bandwidth(8_000))
        ctx.log(f"qos: PUT qos_policy_id on {size.qos_samples} attached ports, one at a time")
        single = await _one_at_a_time(ctx, api, policy)
        ctx.log(f"qos: a policy update fanned out to {size.qos_fanout_ports} ports")
        fanout = await _fan_out(ctx, api)
    return {"what": "fake plugin, NETPROV_FAKE_LATENCY_MS=0", "put_to_available": single, "fan_out": fanout,
            "fan_out_ports": size.qos_fanout_ports, "fan_out_s": fanout["update_to_all_available_s"]}


async def _policy(api: TenantClient, name: str, rules: list[dict]) -> str:
    response = expect(await api.request("POST", "qos_policies", json={"qos_policy": {"name": name, "rules": rules}}), 201)
    return response.json()["qos_policy"]["id"]


async def _attached_ports(ctx: BenchContext, api: TenantClient, network_id: str, count: int) -> list[str]:
    """`count` ACTIVE ports with an attachment on `network_id`, made by one batch, all settled."""
    tag = uuid.uuid4().hex[:8]
    body = {"batch": {
        "ports": [{"ref": f"p{i}", "network": network_id, "state": "ACTIVE"} for i in range(count)],
        "attachments": [{"port": f"p{i}", "id": f"vif-q-{tag}-{i}", "host": "h1"} for i in range(count)],
    }}
    batch = expect(await api.request("POST", "batches", json=body), 202).json()["batch"]
    deadline = time.monotonic() + ctx.size.drain_timeout
    while True:
        shown = expect(await api.request("GET", f"batches/{batch['id']}"), 200).json()["batch"]
        if shown["status"] != "PROVISIONING":
            break
        if time.monotonic() > deadline:
            raise BenchHTTPError(f"batch {batch['id']} still PROVISIONING after {ctx.size.drain_timeout} s")
        await asyncio.sleep(0.1)
    if shown["status"] != "COMPLETED":
        raise BenchHTTPError(f"batch {batch['id']} ended {shown['status']}: {shown['counts']}")
    await ctx.watch.drain(ctx.size.drain_timeout)
    return [item["id"] for item in shown["items"] if item["kind"] == "port"]


async def _one_at_a_time(ctx: BenchContext, api: TenantClient, policy_id: str) -> dict:
    network_id = await api.settled_network("bench-qos-single", ctx.watch)
    port_ids = await _attached_ports(ctx, api, network_id, ctx.size.qos_samples)
    samples, answers = [], []
    for port_id in port_ids:
        start = time.perf_counter()
        response = await api.request("PUT", f"networks/{network_id}/ports/{port_id}", json={"port": {"qos_policy_id": policy_id}})
        answers.append(time.perf_counter() - start)
        expect(response, 204, 202)
        while ctx.watch.port_qos(port_id) != (True, AVAILABLE):
            if time.perf_counter() - start > SINGLE_TIMEOUT:
                raise TimeoutError(f"port {port_id}: qos {ctx.watch.port_qos(port_id)} after {SINGLE_TIMEOUT:.0f} s")
            await asyncio.sleep(SINGLE_POLL)
        samples.append(time.perf_counter() - start)
    return summary_ms(samples) | {"put_answer": summary_ms(answers)}


async def _fan_out(ctx: BenchContext, api: TenantClient) -> dict:
    count = ctx.size.qos_fanout_ports
    policy_id = await _policy(api, "bench-fanout", _bandwidth(10_000))
    network_id = await api.settled_network("bench-qos-fanout", ctx.watch)
    await _attached_ports(ctx, api, network_id, count)
    # The network's policy reaches every port without one of its own: the first fan-out.
    network_fanout = await _timed_fan_out(
        ctx, api, network_id, count, "PUT", f"networks/{network_id}", {"network": {"qos_policy_id": policy_id}})
    # The figure asked for: new rules for a policy in use, re-applied to every port.
    update = await _timed_fan_out(
        ctx, api, network_id, count, "PUT", f"qos_policies/{policy_id}", {"qos_policy": {"rules": _bandwidth(4_000)}})
    listed = expect(await api.request("GET", f"networks/{network_id}/ports", params={"detail": "true"}), 200).json()["ports"]
    final: dict[str, int] = {}
    for port in listed:
        final[str(port.get("qos_status"))] = final.get(str(port.get("qos_status")), 0) + 1
    return {
        "ports": count,
        "update_answer_ms": update["answer_ms"],
        "update_to_all_available_s": update["all_available_s"],
        "update_progress": update["progress"],
        "network_policy_answer_ms": network_fanout["answer_ms"],
        "network_policy_to_all_available_s": network_fanout["all_available_s"],
        "final_qos_statuses": final,
    }


async def _timed_fan_out(ctx: BenchContext, api: TenantClient, network_id: str, count: int, method: str, path: str,
                         body: dict) -> dict:
    """Send the request that fans out, then watch until all `count` ports are settled and AVAILABLE; the
    answer time, the time to all AVAILABLE, and when each quarter of the ports got there."""
    start = time.perf_counter()
    response = await api.request(method, path, json=body)
    answer = time.perf_counter() - start
    expect(response, 200, 202, 204)
    marks: dict[str, float] = {}
    deadline = start + ctx.size.drain_timeout
    while True:
        available = ctx.watch.qos_counts(network_id).get(AVAILABLE, 0)
        now = time.perf_counter()
        for quarter in (25, 50, 75, 100):
            if available * 100 >= quarter * count:
                marks.setdefault(f"{quarter}%", round(now - start, 3))
        if available >= count:
            break
        if now > deadline:
            raise TimeoutError(f"{method} {path}: {ctx.watch.qos_counts(network_id)} after {ctx.size.drain_timeout} s")
        await asyncio.sleep(FANOUT_POLL)
    return {"answer_ms": round(answer * 1000, 2), "all_available_s": marks["100%"], "progress": marks}
