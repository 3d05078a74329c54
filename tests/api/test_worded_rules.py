"""A rule broken by a client-chosen identifier is said in words, in the API's problem and so in the
CLI, never as the regular expression that checks it."""

import pytest


@pytest.mark.parametrize("iface", ["vif 1", "vif\t1", "vif\n1"])
async def test_an_interface_id_with_whitespace_is_refused_in_words(api, iface):
    network = await api.create_network("worded")
    port = await api.create_port(network["id"])
    response = await api.attach(network["id"], port["id"], iface)
    assert response.status_code in (400, 422), response.text
    problem = response.json()
    assert problem["code"] == "BadRequest"
    assert "no whitespace" in problem["detail"] and "attachment.id" in problem["detail"]
    assert "pattern" not in problem["detail"] and "\\s" not in problem["detail"]


async def test_a_batch_ref_with_whitespace_is_refused_in_words(api):
    response = await api.request("POST", "batches", json={"batch": {"networks": [{"ref": "a b", "name": "n"}]}})
    assert response.status_code in (400, 422), response.text
    detail = response.json()["detail"]
    assert "no whitespace" in detail and "pattern" not in detail


async def test_the_openapi_document_still_shows_the_pattern(stack):
    schema = (await stack.http.get("/openapi.json")).json()["components"]["schemas"]
    attachment = schema["AttachmentPut"]["properties"]["id"]
    assert attachment["pattern"] == r"^[^\s\x00]+$" and attachment["maxLength"] == 255


@pytest.mark.parametrize("bad, more", [(2, "(and 1 more problem)"), (3, "(and 2 more problems)")])
async def test_a_refused_batch_counts_its_other_problems_in_proper_english(api, bad, more):
    ports = [{"ref": f"p{i}", "network": f"no-such-network-{i}"} for i in range(bad)]
    response = await api.request("POST", "batches", json={"batch": {"ports": ports}})
    assert response.status_code in (400, 404, 409, 422), response.text
    assert more in response.json()["detail"], response.json()["detail"]
