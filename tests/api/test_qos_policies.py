"""QoS policies on /v1.1 (contract, "QoS policies"): create, list, show, update, delete, and every
rule constraint and error, against the real stack."""

import uuid

import pytest

GOLD = [{"type": "bandwidth_limit", "max_kbps": 10000, "max_burst_kbps": 1000, "direction": "egress"},
        {"type": "dscp_marking", "dscp_mark": 26}]  # fmt: skip
BODY_KEYS = {"id", "name", "rules", "status", "status_reason", "created_at", "updated_at", "links"}


async def create_policy(api, name="gold", rules=GOLD) -> dict:
    response = await api.request("POST", "qos_policies", json={"qos_policy": {"name": name, "rules": rules}})
    assert response.status_code == 201, response.text
    return response.json()["qos_policy"]


def problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code, body
    return body


async def test_create_is_available_at_once_with_its_rules(api):
    response = await api.request("POST", "qos_policies", json={"qos_policy": {"name": "gold", "rules": GOLD}})

    assert response.status_code == 201, response.text
    policy = response.json()["qos_policy"]
    assert set(policy) == BODY_KEYS
    assert policy["status"] == "AVAILABLE" and policy["status_reason"] is None
    assert policy["name"] == "gold"
    assert policy["rules"] == GOLD
    uuid.UUID(policy["id"])
    path = f"{api.base}/qos_policies/{policy['id']}"
    assert policy["links"]["self"] == path
    assert response.headers["location"] == path
    assert (await api.get(f"qos_policies/{policy['id']}"))["qos_policy"] == policy


async def test_defaults_are_filled_in(api):
    policy = await create_policy(api, rules=[{"type": "bandwidth_limit", "max_kbps": 500}])

    assert policy["rules"] == [{"type": "bandwidth_limit", "max_kbps": 500, "max_burst_kbps": 0, "direction": "egress"}]


async def test_list_summaries_and_detail(api):
    first = await create_policy(api, "a")
    second = await create_policy(api, "b", rules=[])

    summaries = (await api.get("qos_policies"))["qos_policies"]
    detailed = (await api.get("qos_policies?detail=true"))["qos_policies"]

    assert summaries == [{"id": p["id"], "name": p["name"], "status": "AVAILABLE"} for p in (first, second)]
    assert detailed == [first, second]
    problem(await api.request("GET", "qos_policies?detail=maybe"), 400, "BadRequest")
    problem(await api.request("GET", "qos_policies?colour=red"), 400, "BadRequest")


async def test_put_replaces_name_and_rules(api):
    policy = await create_policy(api)

    renamed = await api.request("PUT", f"qos_policies/{policy['id']}", json={"qos_policy": {"name": "silver"}})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["qos_policy"]["name"] == "silver"
    assert renamed.json()["qos_policy"]["rules"] == GOLD

    new_rules = [{"type": "bandwidth_limit", "max_kbps": 2000, "max_burst_kbps": 0, "direction": "ingress"}]
    replaced = await api.request("PUT", f"qos_policies/{policy['id']}", json={"qos_policy": {"rules": new_rules}})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["qos_policy"]["rules"] == new_rules
    assert replaced.json()["qos_policy"]["name"] == "silver"
    assert (await api.get(f"qos_policies/{policy['id']}"))["qos_policy"]["rules"] == new_rules


async def test_delete(api):
    policy = await create_policy(api)

    response = await api.request("DELETE", f"qos_policies/{policy['id']}")

    assert response.status_code == 204
    problem(await api.request("GET", f"qos_policies/{policy['id']}"), 404, "QosPolicyNotFound")
    problem(await api.request("DELETE", f"qos_policies/{policy['id']}"), 404, "QosPolicyNotFound")


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_unknown_and_other_tenants_policy_is_not_found(api, admin, method):
    other = await create_policy(admin.__class__(admin.http, admin.headers["X-Auth-Token"], f"{admin.tenant}-other"))
    body = {"json": {"qos_policy": {"name": "x"}}} if method == "PUT" else {}

    for policy_id in (str(uuid.uuid4()), other["id"]):
        problem(await api.request(method, f"qos_policies/{policy_id}", **body), 404, "QosPolicyNotFound")
    problem(await api.request(method, "qos_policies/not-a-uuid", **body), 400, "BadRequest")


BAD_RULES = {
    "max_kbps zero": [{"type": "bandwidth_limit", "max_kbps": 0}],
    "max_kbps too big": [{"type": "bandwidth_limit", "max_kbps": 100_000_001}],
    "max_kbps missing": [{"type": "bandwidth_limit"}],
    "max_kbps a string": [{"type": "bandwidth_limit", "max_kbps": "10"}],
    "max_kbps a bool": [{"type": "bandwidth_limit", "max_kbps": True}],
    "max_kbps a float": [{"type": "bandwidth_limit", "max_kbps": 10.5}],
    "burst negative": [{"type": "bandwidth_limit", "max_kbps": 10, "max_burst_kbps": -1}],
    "burst too big": [{"type": "bandwidth_limit", "max_kbps": 10, "max_burst_kbps": 100_000_001}],
    "bad direction": [{"type": "bandwidth_limit", "max_kbps": 10, "direction": "both"}],
    "unknown type": [{"type": "minimum_bandwidth", "min_kbps": 10}],
    "no type": [{"max_kbps": 10}],
    "unknown field": [{"type": "bandwidth_limit", "max_kbps": 10, "colour": "red"}],
    "dscp field on limit": [{"type": "bandwidth_limit", "max_kbps": 10, "dscp_mark": 26}],
    "dscp mark not in the set": [{"type": "dscp_marking", "dscp_mark": 27}],
    "dscp mark too big": [{"type": "dscp_marking", "dscp_mark": 64}],
    "dscp mark missing": [{"type": "dscp_marking"}],
    "two egress limits": [{"type": "bandwidth_limit", "max_kbps": 10}, {"type": "bandwidth_limit", "max_kbps": 20, "direction": "egress"}],
    "two dscp marks": [{"type": "dscp_marking", "dscp_mark": 26}, {"type": "dscp_marking", "dscp_mark": 10}],
    "a rule not an object": ["bandwidth_limit"],
    "rules not a list": {"type": "dscp_marking", "dscp_mark": 26},
}


@pytest.mark.parametrize("rules", BAD_RULES.values(), ids=BAD_RULES.keys())
async def test_every_invalid_rule_is_400_on_create_and_update(api, rules):
    policy = await create_policy(api)

    created = await api.request("POST", "qos_policies", json={"qos_policy": {"name": "bad", "rules": rules}})
    updated = await api.request("PUT", f"qos_policies/{policy['id']}", json={"qos_policy": {"rules": rules}})

    for response in (created, updated):
        body = problem(response, 400, "BadRequest")
        assert "Traceback" not in body["detail"] and len(body["detail"]) > 10
    assert (await api.get(f"qos_policies/{policy['id']}"))["qos_policy"]["rules"] == GOLD
    assert [p["name"] for p in (await api.get("qos_policies"))["qos_policies"]] == ["gold"]


async def test_error_messages_say_what_is_wrong(api):
    cases = {
        "out of range": [{"type": "bandwidth_limit", "max_kbps": 0}],
        "unknown rule type": [{"type": "nope"}],
        "unknown field": [{"type": "dscp_marking", "dscp_mark": 26, "x": 1}],
        "at most one per type and direction": [{"type": "bandwidth_limit", "max_kbps": 1}] * 2,
        "not a valid DSCP mark": [{"type": "dscp_marking", "dscp_mark": 1}],
    }
    for words, rules in cases.items():
        response = await api.request("POST", "qos_policies", json={"qos_policy": {"name": "x", "rules": rules}})
        assert words in problem(response, 400, "BadRequest")["detail"]


async def test_one_limit_per_direction_and_every_valid_mark(api):
    both = [{"type": "bandwidth_limit", "max_kbps": 1, "max_burst_kbps": 100_000_000, "direction": "egress"},
            {"type": "bandwidth_limit", "max_kbps": 100_000_000, "max_burst_kbps": 0, "direction": "ingress"}]  # fmt: skip
    assert (await create_policy(api, rules=both))["rules"] == both
    for mark in (0, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40, 46, 48, 56):
        await create_policy(api, f"m{mark}", rules=[{"type": "dscp_marking", "dscp_mark": mark}])


@pytest.mark.parametrize(
    "body",
    [{}, {"qos_policy": {}}, {"qos_policy": {"name": ""}}, {"qos_policy": {"name": "x" * 256}},
     {"qos_policy": {"name": "x", "colour": "red"}}, {"qos_policy": {"name": 5}}, {"qos_policy": {"rules": []}}],
)  # fmt: skip
async def test_bad_create_bodies_are_bad_requests(api, body):
    response = await api.request("POST", "qos_policies", json=body)

    assert response.status_code in (400, 422), response.text
    assert response.json()["code"] == "BadRequest"


async def test_tenant_token_on_another_tenants_path_is_forbidden(api):
    response = await api.request("GET", f"/v1.1/tenants/{api.tenant}-x/qos_policies")

    assert response.status_code == 403
