"""What the OpenAPI document (and so /docs) says about the operator actions and /metrics."""

import pytest


@pytest.fixture
async def document(stack) -> dict:
    response = await stack.http.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize("path, model", [
    ("/v1.1/tenants/{tenant_id}/networks/{network_id}/actions/retry", "NetworkResponse"),
    ("/v1.1/tenants/{tenant_id}/networks/{network_id}/actions/cancel", "NetworkResponse"),
    ("/v1.1/tenants/{tenant_id}/networks/{network_id}/ports/{port_id}/actions/retry", "PortResponse"),
    ("/v1.1/tenants/{tenant_id}/networks/{network_id}/ports/{port_id}/actions/cancel", "PortResponse"),
])
def test_actions_answer_202_and_200_with_prefer_wait(document, path, model):
    responses = document["paths"][path]["post"]["responses"]
    for code in ("200", "202"):
        schema = responses[code]["content"]["application/json"]["schema"]
        assert schema["$ref"] == f"#/components/schemas/{model}", (code, schema)
    assert "Prefer: wait" in responses["200"]["description"]


def test_metrics_is_listed(document):
    metrics = document["paths"]["/metrics"]["get"]
    assert "text/plain" in metrics["responses"]["200"]["content"]
    assert "security" not in metrics


async def test_docs_page_references_no_other_host(stack):
    page = (await stack.http.get("/docs")).text
    assert "/docs/assets/swagger-ui-bundle.js" in page and "/docs/assets/swagger-ui.css" in page
    assert "http://" not in page and "https://" not in page and "//cdn" not in page
    bundle = await stack.http.get("/docs/assets/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and len(bundle.content) > 100_000
    redoc = (await stack.http.get("/redoc")).text
    assert "/docs/assets/redoc.standalone.js" in redoc and "https://" not in redoc
