"""The OpenAPI document speaks the shared vocabulary: status fields are typed by the status enums, and
the documented error answers name the codes of the problem table."""

from netprov.problems import PROBLEMS
from netprov.status import AdminState, AttachmentStatus, LinkStatus, NetworkStatus, PortStatus


def _enum(schemas: dict, model: str, field: str) -> list[str]:
    prop = schemas[model]["properties"][field]
    target = prop["$ref"] if "$ref" in prop else next(o["$ref"] for o in prop.get("anyOf", []) if "$ref" in o)
    return schemas[target.rsplit("/", 1)[-1]]["enum"]


async def test_status_fields_are_typed_by_the_enums(stack):
    response = await stack.http.get("/openapi.json")
    assert response.status_code == 200
    schemas = response.json()["components"]["schemas"]
    expected = {
        ("NetworkBody", "status"): NetworkStatus,
        ("NetworkSummary", "status"): NetworkStatus,
        ("PortBody", "status"): PortStatus,
        ("PortBody", "state"): AdminState,
        ("PortBody", "link_status"): LinkStatus,
        ("PortSummary", "status"): PortStatus,
        ("PortSummary", "state"): AdminState,
        ("AttachmentBody", "status"): AttachmentStatus,
    }
    for (model, field), enum in expected.items():
        assert _enum(schemas, model, field) == [member.value for member in enum], (model, field)


async def test_documented_errors_name_every_code_of_the_table(stack):
    document = (await stack.http.get("/openapi.json")).json()
    responses = document["paths"]["/v1.1/tenants/{tenant_id}/networks/{network_id}"]["get"]["responses"]
    documented = " ".join(answer["description"] for answer in responses.values())
    for row in PROBLEMS:
        if str(row.status) in responses:
            assert row.code in documented, row.code


async def test_answers_carry_the_table_status_and_title(api):
    rows = {row.code: row for row in PROBLEMS}
    network = await api.create_network("vocab")
    missing = await api.request("GET", "networks/00000000-0000-4000-8000-000000000000")
    bad_state = await api.request("POST", f"networks/{network['id']}/ports", json={"port": {"state": "SIDEWAYS"}})
    for response, code in ((missing, "NetworkNotFound"), (bad_state, "RequestedStateInvalid")):
        body = response.json()
        assert body.get("code") == code, (response.status_code, body)
        assert (response.status_code, body["status"], body["title"]) == (rows[code].status,) * 2 + (rows[code].title,)
