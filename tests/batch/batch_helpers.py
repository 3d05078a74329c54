"""Helpers of the batch tests: posting topologies, waiting for a batch to settle, reading the fake
plugin's ledger and the rows a tenant has."""

import asyncio
import time
import uuid
from collections import Counter

from sqlalchemy import func, select
from sqlmodel import Session

from netprov.settings import Settings
from plugins.fake import FakePlugin
from store.engine import engine_for
from store.tables import BatchItemRow, BatchRow, NetworkRow, OperationRow, PortRow


def topology(networks: list[str], ports_per_network: int, *, state: str = "ACTIVE", attach: bool = True, tag: str | None = None) -> dict:
    """Networks named `networks`, `ports_per_network` ports on each (refs n<i>, p<i>-<j>), each attached."""
    tag = tag or uuid.uuid4().hex[:8]
    body: dict = {"networks": [], "ports": [], "attachments": []}
    for i, name in enumerate(networks):
        body["networks"].append({"ref": f"n{i}", "name": name})
        for j in range(ports_per_network):
            body["ports"].append({"ref": f"p{i}-{j}", "network": f"n{i}", "state": state})
            if attach:
                body["attachments"].append({"port": f"p{i}-{j}", "id": f"vif-{tag}-{i}-{j}", "host": "h1"})
    return {"batch": body}


async def post_batch(api, body: dict, expect: int = 202, **kwargs) -> dict:
    response = await api.request("POST", "batches", json=body, **kwargs)
    assert response.status_code == expect, response.text
    return response.json()


async def wait_batch(api, batch_id: str, timeout: float = 60.0, until=None) -> dict:
    """GET the batch until `until(batch)` holds (default: it left PROVISIONING)."""
    until = until or (lambda batch: batch["status"] != "PROVISIONING")
    deadline = time.monotonic() + timeout
    while True:
        response = await api.request("GET", f"batches/{batch_id}")
        assert response.status_code == 200, response.text
        batch = response.json()["batch"]
        if until(batch):
            return batch
        if time.monotonic() > deadline:
            raise AssertionError(f"batch {batch_id} not as expected after {timeout}s: {batch['status']} {batch['counts']}")
        await asyncio.sleep(0.1)


def items_by(batch: dict) -> dict[tuple[str, str], dict]:
    """The batch's items by (kind, ref)."""
    return {(item["kind"], item["ref"]): item for item in batch["items"]}


def ledger_counts(settings: Settings, resource_ids: set[str]) -> Counter:
    """How often each (resource, plugin action) is in the fake plugin's ledger, for `resource_ids`."""
    return Counter(
        (entry.resource_id, entry.action) for entry in FakePlugin(settings).ledger() if entry.resource_id in resource_ids
    )


def tenant_rows(settings: Settings, tenant_id: str) -> dict[str, int]:
    """How many rows of each kind the tenant has: proof that nothing was written."""
    engine = engine_for(settings.resolved_database_url)
    with Session(engine) as session:
        count = lambda table, column: session.execute(select(func.count()).select_from(table).where(column == tenant_id)).scalar_one()  # noqa: E731
        batches = session.execute(select(BatchRow.id).where(BatchRow.tenant_id == tenant_id)).scalars().all()
        items = session.execute(select(func.count()).select_from(BatchItemRow).where(BatchItemRow.batch_id.in_(batches))).scalar_one()
        return {
            "networks": count(NetworkRow, NetworkRow.tenant_id),
            "ports": count(PortRow, PortRow.tenant_id),
            "operations": count(OperationRow, OperationRow.tenant_id),
            "batches": len(batches),
            "items": items,
        }
