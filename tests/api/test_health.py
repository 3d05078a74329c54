"""/healthz: no token needed, each part's state, 503 when a part is down. With the database down,
every other route answers 503 problem+json too (never a 500). The engine-down case is in
test_engine_down.py."""

import uuid

import httpx

from api.app import create_app
from store.engine import make_engine

PROBLEM = "application/problem+json"


async def test_healthz_reports_each_part_without_a_token(stack):
    response = await stack.http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "temporal": "ok", "database": "ok"}
    response = await stack.http.get("/healthz", headers={"X-Auth-Token": "whatever"})
    assert response.status_code == 200
    response = await stack.http.get("/healthz?verbose=1")
    assert response.status_code == 400 and response.headers["content-type"] == PROBLEM


async def test_database_down(stack, tmp_path):
    settings = stack.settings.model_copy(update={"data_dir": tmp_path, "database_url": f"sqlite:///{tmp_path / 'netprov.db'}"})
    app = create_app(settings, stack.client, sweeper=False)
    async with app.router.lifespan_context(app):
        # From here on the API's database is a server nobody listens on.
        app.state.engine = make_engine("postgresql+psycopg://netprov@127.0.0.1:1/netprov")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dbdown.test") as http:
            response = await http.get("/healthz")
            assert response.status_code == 503
            assert response.json() == {"status": "degraded", "temporal": "ok", "database": "unreachable"}
            headers = {"X-Auth-Token": settings.admin_token}
            base = f"/v1.1/tenants/t-{uuid.uuid4().hex[:6]}"
            for method, path, body in [
                ("GET", f"{base}/networks", None),
                ("POST", f"{base}/networks", {"network": {"name": "n"}}),
                ("GET", f"{base}/networks/{uuid.uuid4()}", None),
                ("POST", "/v1.1/tokens", {"token": {"admin": True}}),
            ]:
                response = await http.request(method, path, json=body, headers=headers)
                assert response.status_code == 503, (method, path, response.text)
                assert response.headers["content-type"] == PROBLEM and "Retry-After" in response.headers
                assert response.json()["code"] == "ServiceUnavailable"
