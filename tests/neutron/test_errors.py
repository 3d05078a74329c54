"""NeutronError at the edge: FastAPI's own validation errors and unexpected errors under /v2.0
come out as NeutronError; the same failures on v1.1 stay problem+json."""

import httpx
from fastapi import FastAPI

from api.neutron import errors
from api.problems import NetworkInUse, ServiceUnavailable, install_problem_handlers


def app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    for prefix in ("/v2.0", "/v1.1"):
        @app.get(f"{prefix}/typed")
        async def typed(count: int) -> dict:
            return {"count": count}

        @app.get(f"{prefix}/boom")
        async def boom() -> dict:
            raise RuntimeError("a bug")

        @app.get(f"{prefix}/busy")
        async def busy() -> dict:
            raise ServiceUnavailable("The workflow engine cannot be reached.", retry_after=7)

        @app.get(f"{prefix}/in-use")
        async def in_use() -> dict:
            raise NetworkInUse("Unable to complete operation on network n1. There are one or more ports still in use on the network.")

    errors.install(app)
    return app


async def call(path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get(path)


async def test_validation_error_is_400_neutron_error():
    response = await call("/v2.0/typed?count=many")
    assert response.status_code == 400 and response.headers["content-type"] == "application/json"
    error = response.json()["NeutronError"]
    assert error["type"] == "HTTPBadRequest" and "count" in error["message"] and error["detail"] == ""
    v1 = await call("/v1.1/typed?count=many")
    assert v1.status_code == 422 and v1.headers["content-type"].startswith("application/problem+json")


async def test_unexpected_error_is_500_neutron_error_without_a_traceback():
    response = await call("/v2.0/boom")
    assert response.status_code == 500
    assert response.json()["NeutronError"]["type"] == "HTTPInternalServerError" and "a bug" not in response.text
    assert (await call("/v1.1/boom")).headers["content-type"].startswith("application/problem+json")


async def test_problem_types_and_headers_carry_over():
    busy = await call("/v2.0/busy")
    assert busy.status_code == 503 and busy.headers["retry-after"] == "7"
    assert busy.json()["NeutronError"]["type"] == "HTTPServiceUnavailable"
    in_use = await call("/v2.0/in-use")
    assert in_use.status_code == 409 and in_use.json()["NeutronError"]["type"] == "NetworkInUse"
    assert int(in_use.headers["content-length"]) == len(in_use.content)


def test_every_problem_code_has_a_neutron_rendering():
    from netprov.problems import BY_CODE, PROBLEMS

    assert set(errors._WEBOB_TYPES) <= set(BY_CODE)  # no stale row in the Neutron rendering
    for row in PROBLEMS:
        body, status = errors.neutron_error({"code": row.code, "detail": "why"}, row.status)
        kind = body["NeutronError"]["type"]
        assert status == row.status and body["NeutronError"]["message"] == "why"
        # Neutron's own fault names pass through (NetworkNotFound, PortInUse, QosRuleNotFound, ...);
        # the others become the webob class Neutron's fault map answers with.
        assert kind == row.code or kind.startswith("HTTP"), row
    assert errors.neutron_error({"code": "QosRuleNotFound"}, 404)[0]["NeutronError"]["type"] == "QosRuleNotFound"
    assert errors.neutron_error({"code": "BadRequest"}, 422)[1] == 400  # a schema error: Neutron has no 422
