"""The workflow engine down: writes answer 503 with Retry-After and leave nothing in the database,
reads keep answering from it, /healthz says which part is down. An operation that was committed
to the outbox but never delivered (an API crash between the two) is delivered by the sweeper once
the engine is back, and its resource ends as asked.

A Temporal dev server of its own is stopped here, with an API (and, while the server runs, a worker)
pointed at it; the session's server is not touched."""

import asyncio
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlmodel import Session
from temporalio.client import Client

from api.app import create_app
from api.outbox import accept, sweep_once
from devstack.temporal_server import TemporalDevServer, free_port
from netprov.operations import OpKind
from netprov.status import PROVISIONING
from store.tables import IdempotencyRow, NetworkRow, OperationRow, PortRow, utcnow
from worker.build import MAX_CONCURRENT_ACTIVITIES, central_worker

PROBLEM = "application/problem+json"
WAIT = {"Prefer": "wait=15"}


def counts(engine) -> dict[str, int]:
    with Session(engine) as session:
        return {
            table.__tablename__: session.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (NetworkRow, PortRow, OperationRow, IdempotencyRow)
        } | {"undelivered": session.execute(select(func.count()).select_from(OperationRow).where(OperationRow.delivered == False)).scalar_one()}  # noqa: E712


@pytest.fixture
async def own_server(tmp_path):
    server = TemporalDevServer(tmp_path / "temporal", port=free_port(), headless=True)
    await server.start_async()
    try:
        yield server
    finally:
        server.stop()


async def test_engine_down_then_back(stack, own_server, tmp_path):
    settings = stack.settings.model_copy(
        update={
            "data_dir": tmp_path,
            "database_url": f"sqlite:///{tmp_path / 'netprov.db'}",
            "temporal_address": own_server.target,
            "task_queue": "engine-down",
        }
    )
    executor = ThreadPoolExecutor(max_workers=MAX_CONCURRENT_ACTIVITIES)
    app = create_app(settings, sweeper=False)  # its gateway connects to `own_server` by itself
    engine = app.state.engine
    base = f"/v1.1/tenants/t-{uuid.uuid4().hex[:8]}"
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://down.test", headers={"X-Auth-Token": settings.admin_token}, timeout=60
        ) as http:
            # Resources to read and to try writing to, made while everything runs.
            client = await Client.connect(own_server.target)
            async with central_worker(client, settings, executor):
                network = (await http.post(f"{base}/networks", json={"network": {"name": "kept"}}, headers=WAIT)).json()["network"]
                bare = (await http.post(f"{base}/networks", json={"network": {"name": "bare"}}, headers=WAIT)).json()["network"]
                ports = f"{base}/networks/{network['id']}/ports"
                attached = (await http.post(ports, json={"port": {"state": "ACTIVE"}}, headers=WAIT)).json()["port"]
                loose = (await http.post(ports, headers=WAIT)).json()["port"]
                response = await http.put(f"{ports}/{attached['id']}/attachment", json={"attachment": {"id": "vif-down", "host": "h1"}}, headers=WAIT)
                assert response.status_code == 200, response.text
                assert network["status"] == bare["status"] == "AVAILABLE" and loose["status"] == "DOWN"

            own_server.stop()
            before = counts(engine)
            reads = [f"{base}/networks", f"{base}/networks?detail=true", f"{base}/networks/{network['id']}", ports,
                     f"{ports}/{attached['id']}", f"{ports}/{attached['id']}/attachment", f"{ports}/{loose['id']}"]
            seen = [(await http.get(url)).json() for url in reads]

            writes = [
                ("POST", f"{base}/networks", {"network": {"name": "refused"}}, {"Idempotency-Key": "k-down"}),
                ("POST", ports, {"port": {"state": "ACTIVE"}}, {}),
                ("PUT", f"{ports}/{loose['id']}", {"port": {"state": "ACTIVE"}}, WAIT),
                ("PUT", f"{ports}/{loose['id']}/attachment", {"attachment": {"id": "vif-refused"}}, {}),
                ("DELETE", f"{ports}/{attached['id']}/attachment", None, {}),
                ("DELETE", f"{ports}/{loose['id']}", None, WAIT),
                ("DELETE", f"{base}/networks/{bare['id']}", None, {}),
            ]
            for method, url, body, headers in writes:
                started = time.monotonic()
                response = await http.request(method, url, json=body, headers=headers)
                assert response.status_code == 503, (method, url, response.text)
                assert response.headers["content-type"] == PROBLEM
                assert response.json()["code"] == "ServiceUnavailable"
                assert int(response.headers["Retry-After"]) > 0
                assert time.monotonic() - started < 3, "a refused write should not hang on the dead engine"
            # Nothing half-written: same rows, same bodies (timestamps included).
            assert counts(engine) == before
            assert [(await http.get(url)).json() for url in reads] == seen

            response = await http.get("/healthz")
            assert response.status_code == 503
            assert response.json() == {"status": "degraded", "temporal": "unreachable", "database": "ok"}

            # An API that crashed after committing: accepted operations that were never delivered.
            with Session(engine) as session:
                created = NetworkRow(id=str(uuid.uuid4()), tenant_id=base.rsplit("/", 1)[1], name="swept", plugin="fake", status=PROVISIONING)
                session.add(created)
                session.flush()
                accept(session, resource_type="network", resource_id=created.id, tenant_id=created.tenant_id, kind=OpKind.CREATE)
                session.execute(update(PortRow).where(PortRow.id == loose["id"]).values(state="ACTIVE"))
                accept(session, resource_type="port", resource_id=loose["id"], tenant_id=created.tenant_id, kind=OpKind.UPDATE, state="ACTIVE")
                session.execute(update(OperationRow).where(OperationRow.delivered == False).values(accepted_at=utcnow() - timedelta(minutes=1)))  # noqa: E712
                session.commit()
                created_id = created.id
            started = time.monotonic()
            assert await sweep_once(engine, app.state.gateway) == 0  # still down: kept for later, quickly
            assert time.monotonic() - started < 3
            assert counts(engine)["undelivered"] == 2

            await own_server.start_async()
            client = await Client.connect(own_server.target)
            async with central_worker(client, settings, executor):
                assert await sweep_once(engine, app.state.gateway) == 2
                assert counts(engine)["undelivered"] == 0
                for url, field, final in [
                    (f"{base}/networks/{created_id}", "network", "AVAILABLE"),
                    (f"{ports}/{loose['id']}", "port", "ACTIVE"),
                ]:
                    deadline = time.monotonic() + 20
                    while (body := (await http.get(url)).json()[field])["status"] != final:
                        assert time.monotonic() < deadline, body
                        await asyncio.sleep(0.1)
                assert (await http.get("/healthz")).status_code == 200
                # The key of the refused POST was not kept: the same request now creates the network.
                response = await http.post(f"{base}/networks", json={"network": {"name": "refused"}}, headers={"Idempotency-Key": "k-down", **WAIT})
                assert response.status_code == 201, response.text
    executor.shutdown(wait=False, cancel_futures=True)
