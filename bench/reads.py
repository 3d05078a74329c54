"""Scenario 4: reads. GET one resource and list a network's 10,000 ports, one client, one request at a time.

The 10,000 ports are SEEDED: inserted straight into the API's database as settled rows (ACTIVE, every operation
applied) in a second, because creating them through workflows would take minutes and measure writes, not reads.
The API cannot tell them from ports it provisioned itself: reads go through exactly the same code.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

from sqlalchemy import insert
from sqlmodel import Session

from bench.context import BenchContext
from bench.load import TenantClient, expect
from bench.stats import summary_ms
from store.engine import make_engine
from store.tables import NetworkRow, PortRow, utcnow


def seed(ctx: BenchContext, tenant: str, count: int) -> tuple[str, list[str]]:
    """A settled network of `tenant` with `count` settled ports, written directly; returns their ids."""
    engine = make_engine(ctx.stack.database_url)
    network_id = str(uuid.uuid4())
    now = utcnow()
    ports = [
        {
            "id": str(uuid.uuid4()),
            "tenant_id": tenant,
            "network_id": network_id,
            "state": "ACTIVE",
            "status": "ACTIVE",
            "link_status": "DOWN",
            "link_status_string": "no attachment",
            "conditions": [],
            "tags": [],
            "accepted_seq": 1,
            "applied_seq": 1,
            "deleting": False,
            "created_at": now + timedelta(microseconds=i),
            "updated_at": now,
        }
        for i in range(count)
    ]
    try:
        with Session(engine) as session:
            session.add(
                NetworkRow(
                    id=network_id, tenant_id=tenant, name="bench-seeded", plugin="fake", status="AVAILABLE",
                    accepted_seq=1, applied_seq=1,
                )
            )
            session.execute(insert(PortRow), ports)
            session.commit()
    finally:
        engine.dispose()
    return network_id, [p["id"] for p in ports]


async def run(ctx: BenchContext) -> dict:
    size = ctx.size
    async with TenantClient(ctx.api_url, ctx.admin_token, connections=4) as api:
        started = time.perf_counter()
        network_id, port_ids = seed(ctx, api.tenant, size.seeded_ports)
        seed_seconds = time.perf_counter() - started
        ctx.log(f"reads: seeded {len(port_ids)} settled ports in {seed_seconds:.1f} s")
        port_path = f"networks/{network_id}/ports/{port_ids[len(port_ids) // 2]}"
        list_path = f"networks/{network_id}/ports"

        async def sample(path: str, n: int, check) -> tuple[list[float], int]:
            latencies, size_bytes = [], 0
            for _ in range(n):
                start = time.perf_counter()
                response = await api.request("GET", path)
                latencies.append(time.perf_counter() - start)
                expect(response, 200)
                size_bytes = len(response.content)
            check(response.json())
            return latencies, size_bytes

        for path in (port_path, f"networks/{network_id}", list_path):  # warm-up, not measured
            expect(await api.request("GET", path), 200)
        get_port, _ = await sample(port_path, size.get_samples, lambda body: body["port"]["status"] == "ACTIVE")
        get_network, _ = await sample(f"networks/{network_id}", size.get_samples, lambda body: body["network"])

        def full_list(body) -> None:
            if len(body["ports"]) != len(port_ids):
                raise AssertionError(f"list gave {len(body['ports'])} ports, {len(port_ids)} were seeded")

        listed, list_bytes = await sample(list_path, size.list_samples, full_list)
        detailed, detail_bytes = await sample(f"{list_path}?detail=true", size.detail_list_samples, full_list)
    return {
        "what": f"one client, sequential GETs; the {len(port_ids)} listed ports are SEEDED rows (written directly "
        "to the database, settled), not provisioned by workflows",
        "seeded_ports": len(port_ids),
        "seed_s": round(seed_seconds, 2),
        "get_port": summary_ms(get_port),
        "get_network": summary_ms(get_network),
        "list_ports": summary_ms(listed) | {"ports": len(port_ids), "bytes": list_bytes},
        "list_ports_detail": summary_ms(detailed) | {"ports": len(port_ids), "bytes": detail_bytes},
    }
