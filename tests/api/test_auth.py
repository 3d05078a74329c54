"""Tokens: issued and revoked by an admin, stored hashed, checked on every route but /healthz;
401 / 403 / 404 exactly as the contract says."""

import hashlib
import re
import uuid
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlmodel import Session, SQLModel

from store.engine import engine_for
from store.tables import TokenRow

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body = response.json()
    assert body["status"] == status and body["code"] == code, body
    assert {"type", "title", "detail"} <= body.keys()
    return body


async def issue(admin_api, **token) -> dict:
    response = await admin_api.request("POST", "/v1.1/tokens", json={"token": token})
    assert response.status_code == 201, response.text
    return response.json()["token"]


def concrete_paths(app) -> list[tuple[str, str]]:
    """Every (method, path) the OpenAPI document lists, but /healthz and /metrics (no auth: probes and
    scrapes), with made-up ids in place of path parameters."""
    pairs = []
    for template, operations in app.openapi()["paths"].items():
        if template in ("/healthz", "/metrics"):
            continue
        path = template.replace("{tenant_id}", "t-someone")
        path = re.sub(r"\{[a-z_]+\}", lambda _: str(uuid.uuid4()), path)
        pairs += [(method.upper(), path) for method in sorted(operations)]
    return pairs


async def test_admin_issues_tenant_and_admin_tokens(admin, tenant, stack):
    tenant_token = await issue(admin, tenant_id=tenant)
    assert tenant_token["tenant_id"] == tenant and tenant_token["admin"] is False
    assert tenant_token["id"] and tenant_token["secret"] and tenant_token["id"] != tenant_token["secret"]

    admin_token = await issue(admin, admin=True)
    assert admin_token["admin"] is True and admin_token["tenant_id"] is None
    # The new admin token is a working admin token: it issues tokens and works on any tenant's paths.
    second_admin = {"X-Auth-Token": admin_token["secret"]}
    response = await stack.http.post("/v1.1/tokens", json={"token": {"tenant_id": "t-other"}}, headers=second_admin)
    assert response.status_code == 201, response.text
    response = await stack.http.get(f"/v1.1/tenants/{tenant}/networks", headers=second_admin)
    assert response.status_code == 200 and response.json() == {"networks": []}

    # The tenant token works on its own paths only, and cannot issue tokens.
    own = {"X-Auth-Token": tenant_token["secret"]}
    assert (await stack.http.get(f"/v1.1/tenants/{tenant}/networks", headers=own)).status_code == 200
    response = await stack.http.post("/v1.1/tokens", json={"token": {"tenant_id": tenant}}, headers=own)
    assert_problem(response, 403, "Forbidden")
    response = await stack.http.post("/v1.1/tokens", json={"token": {"admin": True}}, headers=own)
    assert_problem(response, 403, "Forbidden")


async def test_token_requests_are_checked(admin):
    for body in ({"token": {}}, {"token": {"tenant_id": "t1", "admin": True}}, {"token": {"admin": False}}):
        assert_problem(await admin.request("POST", "/v1.1/tokens", json=body), 400, "BadRequest")
    for body in ({"token": {"tenant_id": "t1", "role": "x"}}, {"token": {"tenant_id": 5}}, {"token": {"tenant_id": "x" * 256}}, {}):
        assert_problem(await admin.request("POST", "/v1.1/tokens", json=body), 422, "BadRequest")


async def test_secrets_are_stored_hashed_only(admin, tenant, stack, settings):
    token = await issue(admin, tenant_id=tenant)
    secret = token["secret"]
    engine = engine_for(settings.resolved_database_url)
    with Session(engine) as session:
        row = session.get(TokenRow, token["id"])
        assert row is not None and row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
        # No column of any table holds the secret in clear.
        for table in SQLModel.metadata.sorted_tables:
            for values in session.execute(select(table)).all():
                assert not any(secret in str(value) for value in values), f"secret found in table {table.name}"
    if engine.dialect.name == "sqlite":
        database = Path(engine.url.database)
        for path in database.parent.glob(database.name + "*"):  # the database, its WAL and shared memory
            assert secret.encode() not in path.read_bytes(), f"secret found in {path}"
    # What a stolen database does hold is of no use as a token.
    response = await stack.http.get(f"/v1.1/tenants/{tenant}/networks", headers={"X-Auth-Token": row.secret_hash})
    assert_problem(response, 401, "Unauthorized")


async def test_every_route_but_healthz_needs_a_known_token(stack):
    pairs = concrete_paths(stack.app)
    assert len(pairs) >= 15, pairs
    for method, path in pairs:
        for headers in ({}, {"X-Auth-Token": "not-a-token"}, {"X-Auth-Token": ""}):
            # A body and a query parameter do not get past the token check either.
            response = await stack.http.request(method, path, headers=headers, params={"bogus": "1"}, json={"x": 1})
            assert_problem(response, 401, "Unauthorized")
    response = await stack.http.get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"


async def test_tenant_token_on_another_tenants_path_is_forbidden(api, stack):
    for method, path in concrete_paths(stack.app):
        if path.startswith("/v1.1/tenants/"):
            response = await api.request(method, path, json={"network": {"name": "x"}})
            body = assert_problem(response, 403, "Forbidden")
            assert "t-someone" not in body["detail"]


async def test_another_tenants_ids_are_not_found_like_unknown_ones(api, admin, stack):
    other = await issue(admin, tenant_id=f"t-{uuid.uuid4().hex[:8]}")
    async with httpx_api(stack, other) as theirs:
        their_net = (await theirs.post("networks", json={"network": {"name": "their-secret-name"}})).json()["network"]
        their_port = (await theirs.post(f"networks/{their_net['id']}/ports")).json()["port"]
    mine = await api.create_network("mine")
    unknown = str(uuid.uuid4())
    cases = [
        ("networks/{}", their_net["id"], "NetworkNotFound"),
        ("networks/{}/ports", their_net["id"], "NetworkNotFound"),
        (f"networks/{their_net['id']}/ports/{{}}", their_port["id"], "NetworkNotFound"),
        (f"networks/{mine['id']}/ports/{{}}", their_port["id"], "PortNotFound"),
        (f"networks/{mine['id']}/ports/{{}}/attachment", their_port["id"], "PortNotFound"),
    ]
    for template, their_id, code in cases:
        theirs_answer = await api.request("GET", template.format(their_id))
        unknown_answer = await api.request("GET", template.format(unknown))
        a, b = assert_problem(theirs_answer, 404, code), assert_problem(unknown_answer, 404, code)
        assert a["detail"].replace(their_id, "ID") == b["detail"].replace(unknown, "ID"), (a, b)
        assert {k: v for k, v in a.items() if k != "detail"} == {k: v for k, v in b.items() if k != "detail"}
        assert "their-secret-name" not in theirs_answer.text and other["tenant_id"] not in theirs_answer.text


def httpx_api(stack, token: dict):
    """A client bound to `token`'s tenant paths."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=stack.app),
        base_url=f"http://netprov.test/v1.1/tenants/{token['tenant_id']}/",
        headers={"X-Auth-Token": token["secret"]},
    )


async def test_revocation_by_admin_and_by_the_token_itself(admin, tenant, stack):
    url = f"/v1.1/tenants/{tenant}/networks"
    by_admin, by_itself, bystander = [await issue(admin, tenant_id=tenant) for _ in range(3)]
    for token in (by_admin, by_itself, bystander):
        assert (await stack.http.get(url, headers={"X-Auth-Token": token["secret"]})).status_code == 200

    # A tenant token cannot revoke another token, not even of its own tenant: it is "not found" to it.
    other_tenant = await issue(admin, tenant_id="t-elsewhere")
    for target in (by_admin, other_tenant, {"id": str(uuid.uuid4())}):
        response = await stack.http.delete(f"/v1.1/tokens/{target['id']}", headers={"X-Auth-Token": bystander["secret"]})
        body = assert_problem(response, 404, "TokenNotFound")
        assert body["detail"] == f"Token {target['id']} not found."

    response = await admin.request("DELETE", f"/v1.1/tokens/{by_admin['id']}")
    assert response.status_code == 204 and response.content == b""
    response = await stack.http.delete(f"/v1.1/tokens/{by_itself['id']}", headers={"X-Auth-Token": by_itself["secret"]})
    assert response.status_code == 204

    for token in (by_admin, by_itself):
        assert_problem(await stack.http.get(url, headers={"X-Auth-Token": token["secret"]}), 401, "Unauthorized")
        assert_problem(await admin.request("DELETE", f"/v1.1/tokens/{token['id']}"), 404, "TokenNotFound")
    assert (await stack.http.get(url, headers={"X-Auth-Token": bystander["secret"]})).status_code == 200
    assert (await stack.http.get("/v1.1/tenants/t-elsewhere/networks", headers={"X-Auth-Token": other_tenant["secret"]})).status_code == 200
