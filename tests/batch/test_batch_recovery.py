"""A batch is never half-accepted: stored but not started (the API died in between) it is started
by the outbox sweeper; refused because the workflow engine is unreachable, nothing of it stays."""

import asyncio

import httpx
from batch_helpers import post_batch, topology, wait_batch
from sqlalchemy import select
from sqlmodel import Session

from api.app import create_app
from api.batch_write_flow import store_batch
from devstack.temporal_server import TemporalDevServer, free_port
from netprov.batch_requests import BatchCreateRequest
from store.engine import engine_for
from store.tables import BatchRow, EventRow


def _event_kinds(settings, tenant_id: str) -> set[tuple[str, str]]:
    with Session(engine_for(settings.resolved_database_url)) as session:
        rows = session.execute(select(EventRow.resource_type, EventRow.kind).where(EventRow.tenant_id == tenant_id)).all()
        return {(resource_type, kind) for resource_type, kind in rows}


async def test_a_batch_stored_but_never_started_is_started_by_the_sweeper(api, settings):
    engine = engine_for(settings.resolved_database_url)
    spec = BatchCreateRequest.model_validate(topology(["orphan"], 3)).batch
    # What POST does up to its commit; the API "dies" before starting the workflow.
    batch, kinds = await asyncio.to_thread(store_batch, engine, settings, api.tenant, spec, None, False)
    assert kinds == {"network": 1, "port": 3, "attachment": 3}
    with Session(engine) as session:
        assert session.get(BatchRow, batch.id).started is False
    settled = await wait_batch(api, batch.id, timeout=30)
    assert settled["status"] == "COMPLETED"
    with Session(engine) as session:
        assert session.get(BatchRow, batch.id).started is True


async def test_engine_unreachable_at_start_undoes_everything(tmp_path, settings, rows, admin, api):
    server = TemporalDevServer(tmp_path / "temporal", port=free_port(), headless=True)
    await server.start_async()
    own = settings.model_copy(update={"temporal_address": server.target, "task_queue": "batch-nobody-listens"})
    app = create_app(own, sweeper=False)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://netprov.test", timeout=60) as http:
                tenant = type(api)(http, api.headers["X-Auth-Token"], api.tenant)
                before = rows(api.tenant)
                # The engine answered a moment ago (the API trusts that for a second), then dies.
                await app.state.gateway.ensure_reachable(probe=True)
                server.kill()
                response = await tenant.request("POST", "batches", json=topology(["unlucky"], 2))
                assert response.status_code == 503, response.text
                assert response.json()["code"] == "ServiceUnavailable" and response.headers["Retry-After"]
                assert rows(api.tenant) == before
                # It was stored and then undone (callers of GET .../events saw it come and go).
                assert _event_kinds(settings, api.tenant) == {("network", "status"), ("network", "deleted"),
                                                              ("port", "status"), ("port", "link_status"), ("port", "deleted"),
                                                              ("attachment", "status"), ("attachment", "deleted")}
                # Known down: refused before anything is stored, too.
                response = await tenant.request("POST", "batches", json=topology(["unlucky"], 2))
                assert response.status_code == 503 and rows(api.tenant) == before
    finally:
        server.stop()
    # The same batch, once the engine is reachable, is accepted.
    accepted = await post_batch(api, topology(["unlucky"], 2))
    await wait_batch(api, accepted["batch"]["id"])
