"""Nothing lost, nothing twice: provision through real processes while the API, the worker and
the Temporal dev server are killed (SIGKILL) and restarted, then check every accepted request
reached its final status, no plugin action ran twice, and deleting everything leaves nothing.

Size: at least NETPROV_CHAOS_PORTS ports (default 60 in `make test`; the issue's full run is 200), and more
while the crashes go on, so that every crash lands during the load however fast the machine is."""

import asyncio
import os
import time
from collections import Counter

import httpx
import pytest
from rich.console import Console
from rich.table import Table
from sqlmodel import Session, create_engine, select

from devstack.processes import ADMIN_SECRET, ProcessStack
from netprov.settings import Settings
from plugins.registry import plugin_class
from store.tables import NetworkRow, PortRow

pytestmark = pytest.mark.chaos

PORTS = int(os.environ.get("NETPROV_CHAOS_PORTS", "60"))
NETWORKS = 4
CLIENTS = 8
# A bound on the load, should the crash plan stall.
MAX_PORTS = PORTS * 10
HEADERS = {"X-Auth-Token": ADMIN_SECRET}
TENANT = "chaos"


class Load:
    """Clients that retry like a careful caller: on connection errors and 503, with the same
    Idempotency-Key for POSTs, until the request is accepted (2xx) or refused (4xx)."""

    def __init__(self, url: str) -> None:
        self.http = httpx.AsyncClient(base_url=f"{url}/v1.1/tenants/{TENANT}", headers=HEADERS, timeout=20)
        self.retries = 0

    async def send(self, method: str, path: str, body=None, key: str | None = None) -> httpx.Response:
        headers = {"Idempotency-Key": key} if key else {}
        while True:
            try:
                response = await self.http.request(method, path, json=body, headers=headers)
                if response.status_code != 503:
                    return response
            except httpx.HTTPError:
                pass
            self.retries += 1
            await asyncio.sleep(0.3)


# (seconds into the load, the parts SIGKILLed then and restarted half a second later)
CRASH_PLAN = [
    (0.5, ["api"]),
    (2.0, ["worker"]),
    (3.5, ["temporal"]),
    (5.5, ["worker", "api"]),
    (7.0, ["temporal", "worker", "api"]),
]
CRASHES = sum(len(parts) for _, parts in CRASH_PLAN)


async def _crash_everything(stack: ProcessStack, log: list[str], plan=CRASH_PLAN) -> None:
    started = time.monotonic()
    for at, parts in plan:
        await asyncio.sleep(max(0.0, at - (time.monotonic() - started)))
        for part in parts:
            await asyncio.to_thread(stack.kill, part)
            log.append(part)
        await asyncio.sleep(0.5)
        for part in reversed(parts):
            await asyncio.to_thread(stack.restart, part)


async def _provision(load: Load, network_ids: list[str], index: int, accepted: dict) -> None:
    network_id = network_ids[index % len(network_ids)]
    response = await load.send("POST", f"/networks/{network_id}/ports", {"port": {"state": "DOWN"}}, key=f"port-{index}")
    assert response.status_code in (201, 202), response.text
    port_id = response.json()["port"]["id"]
    accepted[port_id] = {"network": network_id, "iface": f"vif-chaos-{index}"}
    base = f"/networks/{network_id}/ports/{port_id}"
    response = await load.send("PUT", base, {"port": {"state": "ACTIVE"}})
    assert response.status_code == 204, response.text
    response = await load.send("PUT", f"{base}/attachment", {"attachment": {"id": f"vif-chaos-{index}", "host": "h1"}})
    assert response.status_code in (200, 202), response.text


async def _settled(load: Load, accepted: dict, timeout: float) -> dict[str, dict]:
    deadline = time.monotonic() + timeout
    final: dict[str, dict] = {}
    while time.monotonic() < deadline:
        for port_id, where in accepted.items():
            if port_id in final:
                continue
            response = await load.send("GET", f"/networks/{where['network']}/ports/{port_id}")
            port = response.json()["port"]
            if port["status"] != "PROVISIONING" and port["attachment"] and port["attachment"]["status"] != "PROVISIONING":
                final[port_id] = port
        if len(final) == len(accepted):
            return final
        await asyncio.sleep(0.5)
    return final


async def test_every_accepted_request_completes_once_through_crashes(tmp_path):
    stack = ProcessStack(tmp_path, env={"NETPROV_FAKE_LATENCY_MS": "20"})
    stack.start()
    crashes: list[str] = []
    load = Load(stack.api_url)
    try:
        network_ids = []
        for n in range(NETWORKS):
            response = await load.send("POST", "/networks", {"network": {"name": f"chaos-{n}"}}, key=f"net-{n}")
            network_ids.append(response.json()["network"]["id"])

        accepted: dict[str, dict] = {}
        crashes_over = asyncio.Event()
        issued = 0

        async def client() -> None:
            nonlocal issued
            while (issued < PORTS or not crashes_over.is_set()) and issued < MAX_PORTS:
                index, issued = issued, issued + 1
                await _provision(load, network_ids, index, accepted)

        async def load_all() -> None:
            await asyncio.gather(*(client() for _ in range(CLIENTS)))
            crashes_during_load.append(len(crashes))

        async def crash_all() -> None:
            await _crash_everything(stack, crashes)
            crashes_over.set()

        crashes_during_load: list[int] = []
        await asyncio.gather(crash_all(), load_all())
        final = await _settled(load, accepted, timeout=240)

        settings = Settings(data_dir=tmp_path)
        ledger = plugin_class("fake")(settings).ledger()
        per_action = Counter((entry.resource_id, entry.action) for entry in ledger)
        duplicates = {key: count for key, count in per_action.items() if count > 1}

        engine = create_engine(settings.resolved_database_url)
        with Session(engine) as session:
            rows = session.execute(select(PortRow.id)).scalars().all()
            network_rows = session.execute(select(NetworkRow.id)).scalars().all()
        client_ = await stack_client(stack)
        missing_workflows = [pid for pid in rows if not await _has_workflow(client_, f"port-{pid}")]
        orphan_workflows = [
            wf.id async for wf in client_.list_workflows("WorkflowType = 'PortWorkflow'") if wf.id[5:] not in rows
        ]

        # Tear everything down; the plugin must be left with nothing.
        for port_id, where in accepted.items():
            base = f"/networks/{where['network']}/ports/{port_id}"
            assert (await load.send("DELETE", f"{base}/attachment")).status_code in (202, 204)
            assert (await load.send("DELETE", base)).status_code in (202, 204)
        for network_id in network_ids:
            response = await load.send("DELETE", f"/networks/{network_id}")
            assert response.status_code in (202, 204), response.text
        residue = await _wait_for_no_residue(load, settings, network_ids)

        summary = {
            "requests accepted": len(accepted) * 3 + NETWORKS,
            "crashes injected": len(crashes),
            "during load": crashes_during_load[0],
            "client retries": load.retries,
            "completed": len(final),
            "duplicates": len(duplicates),
            "residue": sum(residue.values()),
        }
        _print_summary(summary)

        assert crashes_during_load[0] == len(crashes) == CRASHES, "the load ended before the crashes did"
        assert len(accepted) == issued >= PORTS
        assert len(final) == len(accepted), f"{len(accepted) - len(final)} ports never settled"
        assert all(p["status"] == "ACTIVE" and p["attachment"]["status"] == "AVAILABLE" for p in final.values())
        assert all(p["link_status"] == "UP" for p in final.values())
        assert len(network_rows) == NETWORKS
        assert not duplicates, duplicates
        assert not missing_workflows and not orphan_workflows
        assert residue == {"networks": 0, "ports": 0, "interfaces": 0}
    finally:
        await load.http.aclose()
        stack.stop()


async def stack_client(stack: ProcessStack):
    from temporalio.client import Client

    return await Client.connect(stack.temporal.target)


async def _has_workflow(client, workflow_id: str) -> bool:
    try:
        await client.get_workflow_handle(workflow_id).describe()
        return True
    except Exception:  # noqa: BLE001 - not found
        return False


async def _wait_for_no_residue(load: Load, settings: Settings, network_ids: list[str], timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        statuses = [(await load.send("GET", f"/networks/{n}")).status_code for n in network_ids]
        residue = plugin_class("fake")(settings).residue()
        if all(s == 404 for s in statuses) and not any(residue.values()):
            return residue
        if time.monotonic() > deadline:
            return residue
        await asyncio.sleep(0.5)


def _print_summary(summary: dict) -> None:
    table = Table(title="chaos run")
    for column in summary:
        table.add_column(column)
    table.add_row(*(str(v) for v in summary.values()))
    Console(force_terminal=False, width=140).print(table)
