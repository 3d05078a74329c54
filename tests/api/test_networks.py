"""Networks against the real stack: every status transition, rename, delete, and the list endpoints.

Faults come from the fake plugin's name prefixes (CONTRACT.md): `fail-` fails permanently,
`flaky<N>-` fails each plugin call N times transiently. The test settings give a plugin budget of
4 attempts with 50 ms initial backoff, so `flaky3-` succeeds on its last attempt and `flaky9-`
exhausts the budget.
"""

import asyncio
import time

from plugins.registry import plugin_class

SUMMARY_KEYS = {"id", "name", "status"}
BODY_KEYS = {"id", "name", "status", "status_reason", "plugin", "plugin_data", "qos_policy_id", "created_at", "updated_at", "links"}


async def watch(api, path: str, key: str, timeout: float = 30.0) -> tuple[dict, list[tuple[str, str | None]]]:
    """Poll `path` as fast as the stack answers until the resource leaves PROVISIONING; return the
    settled body and every distinct (status, status_reason) seen on the way."""
    seen: list[tuple[str, str | None]] = []
    deadline = time.monotonic() + timeout
    while True:
        response = await api.request("GET", path)
        assert response.status_code == 200, response.text
        body = response.json()[key]
        if not seen or seen[-1] != (body["status"], body["status_reason"]):
            seen.append((body["status"], body["status_reason"]))
        if body["status"] != "PROVISIONING":
            return body, seen
        assert time.monotonic() < deadline, f"{path} still PROVISIONING after {timeout}s: {seen}"
        await asyncio.sleep(0.005)


def fake_ledger(stack, resource_id: str) -> list[tuple[str, str]]:
    """(request_id, action) of every action the fake plugin applied for `resource_id`."""
    fake = plugin_class("fake")(stack.settings)
    return [(e.request_id, e.action) for e in fake.ledger() if e.resource_id == resource_id]


async def test_create_answers_202_provisioning_then_available(api, stack):
    response = await api.request("POST", "networks", json={"network": {"name": "web"}})

    assert response.status_code == 202, response.text
    network = response.json()["network"]
    assert set(network) == BODY_KEYS
    assert network["status"] == "PROVISIONING"
    assert network["status_reason"]  # says what it waits on
    assert network["plugin"] == "fake"
    assert response.headers["location"] == f"{api.base}/networks/{network['id']}"
    assert network["links"]["self"] == f"{api.base}/networks/{network['id']}"
    assert f"network-{network['id']}" in network["links"]["workflow"]
    assert network["links"]["workflow"].startswith(stack.settings.temporal_ui_url)

    settled = await api.settle(f"networks/{network['id']}", "network")
    assert settled["status"] == "AVAILABLE"
    assert settled["status_reason"] is None
    assert settled["name"] == "web"
    assert [action for _, action in fake_ledger(stack, network["id"])] == ["create_network"]


async def test_permanent_failure_goes_to_error_with_the_reason(api, stack):
    network = await api.create_network("fail-web")

    settled = await api.settle(f"networks/{network['id']}", "network")

    assert settled["status"] == "ERROR"
    assert "create_network failed" in settled["status_reason"]
    assert "permanent fault" in settled["status_reason"]
    assert fake_ledger(stack, network["id"]) == []


async def test_transient_failures_stay_provisioning_while_retrying_then_available(api, stack):
    network = await api.create_network("flaky3-web")

    settled, seen = await watch(api, f"networks/{network['id']}", "network")

    assert settled["status"] == "AVAILABLE"
    assert settled["status_reason"] is None
    retrying = [reason for status, reason in seen if status == "PROVISIONING" and reason and "retrying" in reason]
    assert retrying, f"never saw a retry reason: {seen}"
    assert "create_network" in retrying[0] and "transient fault" in retrying[0]
    assert {status for status, _ in seen} == {"PROVISIONING", "AVAILABLE"}
    # Three failed attempts and one success: applied once.
    assert [action for _, action in fake_ledger(stack, network["id"])] == ["create_network"]


async def test_exhausted_retries_go_to_error_with_the_reason(api, stack):
    network = await api.create_network("flaky9-web")

    settled, seen = await watch(api, f"networks/{network['id']}", "network")

    assert settled["status"] == "ERROR"
    max_attempts = stack.settings.plugin_max_attempts
    assert f"create_network failed after {max_attempts} attempts" in settled["status_reason"]
    assert f"transient fault {max_attempts} of 9" in settled["status_reason"]
    assert all(status in ("PROVISIONING", "ERROR") for status, _ in seen)
    assert fake_ledger(stack, network["id"]) == []


async def test_prefer_wait_answers_201_with_the_settled_network(api):
    response = await api.request(
        "POST", "networks", json={"network": {"name": "waited"}}, headers={"Prefer": "wait=10"}
    )

    assert response.status_code == 201, response.text
    assert response.headers["preference-applied"] == "wait=10"
    assert response.json()["network"]["status"] == "AVAILABLE"


async def test_prefer_wait_on_a_failing_network_answers_with_error(api):
    response = await api.request(
        "POST", "networks", json={"network": {"name": "fail-waited"}}, headers={"Prefer": "wait=10"}
    )

    assert response.status_code == 201, response.text
    assert response.json()["network"]["status"] == "ERROR"


async def test_rename_is_applied_at_once(api):
    network = await api.create_network("old")

    response = await api.request("PUT", f"networks/{network['id']}", json={"network": {"name": "new"}})

    assert response.status_code == 204, response.text
    assert (await api.get(f"networks/{network['id']}"))["network"]["name"] == "new"
    settled = await api.settle(f"networks/{network['id']}", "network")
    assert settled["name"] == "new" and settled["status"] == "AVAILABLE"


async def test_delete_removes_the_network_and_its_plugin_state(api, stack):
    network = await api.create_network("doomed")
    await api.settle(f"networks/{network['id']}", "network")

    response = await api.request("DELETE", f"networks/{network['id']}")

    assert response.status_code in (202, 204), response.text
    await api.gone(f"networks/{network['id']}")
    missing = await api.request("GET", f"networks/{network['id']}")
    assert missing.status_code == 404
    assert missing.json()["code"] == "NetworkNotFound"
    assert network["id"] not in [n["id"] for n in (await api.get("networks"))["networks"]]
    assert [action for _, action in fake_ledger(stack, network["id"])] == ["create_network", "delete_network"]


async def test_delete_with_prefer_wait_answers_204_once_gone(api):
    network = await api.create_network("doomed-waited")
    await api.settle(f"networks/{network['id']}", "network")

    response = await api.request("DELETE", f"networks/{network['id']}", headers={"Prefer": "wait=10"})

    assert response.status_code == 204, response.text
    assert (await api.request("GET", f"networks/{network['id']}")).status_code == 404


async def test_deleting_a_network_in_error_works(api):
    network = await api.create_network("fail-then-delete")
    await api.settle(f"networks/{network['id']}", "network")

    response = await api.request("DELETE", f"networks/{network['id']}")

    assert response.status_code in (202, 204)
    await api.gone(f"networks/{network['id']}")


async def test_list_summary_detail_and_status_filter(api):
    good = await api.create_network("good")
    bad = await api.create_network("fail-bad")
    for network in (good, bad):
        await api.settle(f"networks/{network['id']}", "network")

    summary = (await api.get("networks"))["networks"]
    assert [n["id"] for n in summary] == [good["id"], bad["id"]]
    assert all(set(n) == SUMMARY_KEYS for n in summary)
    assert {n["id"]: n["status"] for n in summary} == {good["id"]: "AVAILABLE", bad["id"]: "ERROR"}

    detailed = (await api.get("networks?detail=true"))["networks"]
    assert all(set(n) == BODY_KEYS for n in detailed)
    # Once settled, the list and the single GET agree field for field.
    for body in detailed:
        assert body == (await api.get(f"networks/{body['id']}"))["network"]

    assert [n["id"] for n in (await api.get("networks?status=ERROR"))["networks"]] == [bad["id"]]
    assert [n["id"] for n in (await api.get("networks?status=available"))["networks"]] == [good["id"]]
    assert (await api.get("networks?status=PROVISIONING"))["networks"] == []
    both = (await api.get("networks?status=AVAILABLE,ERROR&detail=true"))["networks"]
    assert {n["id"] for n in both} == {good["id"], bad["id"]}
    assert all(set(n) == BODY_KEYS for n in both)
    repeated = (await api.get("networks?status=AVAILABLE&status=ERROR"))["networks"]
    assert {n["id"] for n in repeated} == {good["id"], bad["id"]}


async def test_list_filter_sees_provisioning_networks(api):
    network = await api.create_network("flaky1-slow")

    provisioning = (await api.get("networks?status=PROVISIONING"))["networks"]

    assert [n["id"] for n in provisioning] == [network["id"]]
    await api.settle(f"networks/{network['id']}", "network")
    assert (await api.get("networks?status=PROVISIONING"))["networks"] == []


async def test_tenants_see_only_their_own_networks(api, admin, stack):
    mine = await api.create_network("mine")
    response = await admin.request("POST", "/v1.1/tokens", json={"token": {"tenant_id": f"{api.tenant}-other"}})
    other = type(api)(stack.http, response.json()["token"]["secret"], f"{api.tenant}-other")

    assert (await other.get("networks"))["networks"] == []
    # Another tenant's id under one's own path is unknown, exactly like an id that never existed.
    response = await other.request("GET", f"networks/{mine['id']}")
    assert response.status_code == 404
    assert response.json()["code"] == "NetworkNotFound"
    # And one's own token on another tenant's path is forbidden.
    assert (await other.request("GET", f"{api.base}/networks")).status_code == 403
