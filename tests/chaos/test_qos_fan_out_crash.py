"""A QoS policy's new rules fanned out to N ports while the API, the worker and the Temporal dev
server are SIGKILLed and restarted (contract, "QoS policies"; issue 14 item 3): every port ends
AVAILABLE with the new rules, and the fake plugin's ledger shows each port's APPLY_QOS exactly once
per policy revision (none skipped, none applied twice).

Both ways a fan-out reaches ports are crashed: one QoS fan-out batch for the idle ports
(store/qos_fan_out.py; chunks made small and the plugin slow so that the batch is still running
when the crashes come), and an operation delivered to each port's workflow (the batch path turned off).

Size: NETPROV_CHAOS_QOS_PORTS (default 200)."""

import asyncio
import os
import time
from collections import Counter

import pytest

from devstack.processes import ProcessStack
from netprov.settings import Settings
from plugins.qos_records import read_qos
from plugins.registry import plugin_class
from tests.chaos.test_crash_recovery import Load, _crash_everything, _print_summary

pytestmark = pytest.mark.chaos

PORTS = int(os.environ.get("NETPROV_CHAOS_QOS_PORTS", "200"))
OLD = [{"type": "bandwidth_limit", "max_kbps": 8000, "max_burst_kbps": 0, "direction": "egress"}]
NEW = [{"type": "bandwidth_limit", "max_kbps": 2000, "max_burst_kbps": 500, "direction": "ingress"},
       {"type": "dscp_marking", "dscp_mark": 46}]  # fmt: skip
# (seconds after the API was killed in the middle of delivering the fan-out, the parts SIGKILLed
# then, restarted half a second later)
CRASH_PLAN = [
    (1.5, ["worker"]),
    (3.0, ["temporal"]),
    (4.5, ["worker", "api"]),
    (6.0, ["temporal", "worker", "api"]),
]


# The stack's environment for each path.
PATHS = {
    "batch": {"NETPROV_FAKE_LATENCY_MS": "40", "NETPROV_BATCH_CHUNK_SIZE": "20", "NETPROV_BATCH_MAX_PARALLEL_CHUNKS": "1"},
    "workflows": {"NETPROV_FAKE_LATENCY_MS": "5", "NETPROV_QOS_FAN_OUT_BATCH_MIN_PORTS": "1000000"},
}


def _fan_out_state(settings: Settings) -> tuple[int, int]:
    """(SET_QOS operations accepted, of them not applied yet: undelivered to a workflow or in a
    QoS fan-out batch's item still PROVISIONING), read from the API's database."""
    from sqlalchemy import create_engine, text

    engine = create_engine(settings.resolved_database_url)
    try:
        with engine.connect() as db:
            return tuple(db.execute(text(
                "SELECT count(*), coalesce(sum(CASE WHEN delivered THEN 0 ELSE 1 END), 0)"
                " + (SELECT count(*) FROM batch_items WHERE kind = 'qos' AND status = 'PROVISIONING')"
                " FROM operations WHERE kind = 'set_qos'"
            )).one())  # fmt: skip
    finally:
        engine.dispose()


async def _kill_api_mid_delivery(stack: ProcessStack, settings: Settings, log: list[str]) -> int:
    """SIGKILL the API as soon as the second fan-out is committed (applying it takes seconds);
    return how many of its operations were still not applied then."""
    deadline = time.monotonic() + 60
    while (state := await asyncio.to_thread(_fan_out_state, settings))[0] <= PORTS:
        assert time.monotonic() < deadline, "the policy update was never accepted"
        await asyncio.sleep(0.01)
    await asyncio.to_thread(stack.kill, "api")
    log.append("api")
    undelivered = (await asyncio.to_thread(_fan_out_state, settings))[1]
    await asyncio.sleep(0.5)
    await asyncio.to_thread(stack.restart, "api")
    return undelivered


def _recorded(settings: Settings, port_ids: list[str]) -> dict[str, list[dict] | None]:
    from netprov.qos import rule_to_dict

    fake = plugin_class("fake")(settings)
    with fake.store.transaction(write=False) as db:
        found = {p: read_qos(db, p) for p in port_ids}
    return {p: None if r is None else sorted((rule_to_dict(x) for x in r[0]), key=repr) for p, r in found.items()}


async def _all_available(load: Load, network_id: str, timeout: float) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        ports = (await load.send("GET", f"/networks/{network_id}/ports?detail=true")).json()["ports"]
        if all(p["qos_status"] == "AVAILABLE" for p in ports):
            return ports
        if time.monotonic() > deadline:
            return ports
        await asyncio.sleep(0.5)


@pytest.mark.parametrize("path", list(PATHS))
async def test_fan_out_survives_crashes_applied_once_per_revision(tmp_path, path):
    stack = ProcessStack(tmp_path, env=PATHS[path])
    stack.start()
    load = Load(stack.api_url)
    crashes: list[str] = []
    try:
        policy = (await load.send("POST", "/qos_policies", {"qos_policy": {"name": "chaos-gold", "rules": OLD}})).json()["qos_policy"]
        network = (await load.send("POST", "/networks", {"network": {"name": "chaos-qos"}}, key="net")).json()["network"]
        ports = {"batch": {"ports": [{"ref": f"p{i}", "network": network["id"], "state": "ACTIVE"} for i in range(PORTS)],
                           "attachments": [{"port": f"p{i}", "id": f"vif-qos-{i}", "host": "h1"} for i in range(PORTS)]}}  # fmt: skip
        batch = (await load.send("POST", "/batches", ports)).json()["batch"]
        while (done := (await load.send("GET", f"/batches/{batch['id']}")).json()["batch"])["status"] == "PROVISIONING":
            await asyncio.sleep(0.5)
        assert done["status"] == "COMPLETED", done["counts"]
        port_ids = [item["id"] for item in done["items"] if item["kind"] == "port"]
        # Revision 1: the network's policy reaches every port (no crash yet).
        response = await load.send("PUT", f"/networks/{network['id']}", {"network": {"qos_policy_id": policy["id"]}})
        assert response.status_code == 204, response.text
        assert all(p["qos_status"] == "AVAILABLE" for p in await _all_available(load, network["id"], 240))

        # Revision 2: new rules, while everything crashes.
        settings = Settings(data_dir=tmp_path)
        started = time.monotonic()
        put = asyncio.create_task(load.send("PUT", f"/qos_policies/{policy['id']}", {"qos_policy": {"rules": NEW}}))
        undelivered_at_kill = await _kill_api_mid_delivery(stack, settings, crashes)
        await _crash_everything(stack, crashes, CRASH_PLAN)
        response = await put
        assert response.status_code == 200, response.text
        final = await _all_available(load, network["id"], 300)
        settled_after = time.monotonic() - started

        recorded = _recorded(settings, port_ids)
        applies = Counter(e.resource_id for e in plugin_class("fake")(settings).ledger() if e.action == "apply_qos")
        summary = {
            "ports": len(port_ids),
            "crashes injected": len(crashes),
            "path": path,
            "not applied when the API died": undelivered_at_kill,
            "client retries": load.retries,
            "qos AVAILABLE": sum(p["qos_status"] == "AVAILABLE" for p in final),
            "new rules recorded": sum(r == sorted(NEW, key=repr) for r in recorded.values()),
            "applies per port": dict(Counter(applies[p] for p in port_ids)),
            "settled after s": round(settled_after, 1),
        }
        _print_summary(summary)

        assert len(crashes) == 1 + sum(len(parts) for _, parts in CRASH_PLAN)
        assert undelivered_at_kill > 0, "the API was not killed in the middle of delivering the fan-out"
        assert len(final) == PORTS and all(p["qos_status"] == "AVAILABLE" for p in final), [
            p for p in final if p["qos_status"] != "AVAILABLE"][:3]  # fmt: skip
        assert all(p["qos_status_reason"] is None and p["qos_network_policy_id"] == policy["id"] for p in final)
        assert all(r == sorted(NEW, key=repr) for r in recorded.values())
        # Exactly once per revision: the network's policy (1), the new rules (2); nothing else applied QoS.
        assert {p: applies[p] for p in port_ids} == dict.fromkeys(port_ids, 2)
    finally:
        await load.http.aclose()
        stack.stop()
