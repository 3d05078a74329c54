"""netprov_client and QoS against the real stack (uvicorn + worker + Temporal, fake plugin): typed policy
models, the policy of ports and networks, qos_status, and QosPolicyNotFound / QosPolicyInUse as typed
exceptions; the sync client in a thread (the API serves on the test loop), the async one on the loop."""

import asyncio
import uuid

import pytest

import netprov_client as typed
from netprov.qos import QosDirection
from netprov.status import QosStatus
from netprov_client import UNSET, BandwidthLimitRule, Client, DscpMarkingRule, QosPolicyBody


def _sync_story(client: Client) -> dict:
    """Create a policy, name it on a port right away (network still PROVISIONING), and follow it."""
    gold = client.create_qos_policy("gold", [BandwidthLimitRule(max_kbps=8000, max_burst_kbps=800), DscpMarkingRule(dscp_mark=26)])
    network = client.create_network("qos-sync")  # PROVISIONING: the four immediate calls answer at once
    port = client.create_port(network.id, state="ACTIVE")
    client.create_attachment(network.id, port.id, f"vif-{uuid.uuid4().hex[:8]}", host="h1")
    set_at_once = client.set_port_qos_policy(network.id, port.id, gold.id)
    settled = client.wait_until(set_at_once, "ACTIVE", qos_status="AVAILABLE", attachment_status="AVAILABLE", timeout=30)
    listed = client.list_qos_policies()
    renamed = client.update_qos_policy(gold.id, name="gold-2")
    with pytest.raises(typed.QosPolicyInUse) as in_use:
        client.delete_qos_policy(gold.id)
    with pytest.raises(typed.QosPolicyNotFound) as missing:
        client.set_port_qos_policy(network.id, port.id, str(uuid.uuid4()))
    with pytest.raises(typed.BadRequest) as bad_rule:
        client.create_qos_policy("bad", [{"type": "bandwidth_limit", "max_kbps": 0}])
    cleared = client.set_port_qos_policy(network.id, port.id, None, wait=20)  # Prefer: wait: as the wait left it
    client.delete_qos_policy(gold.id)
    return {"gold": gold, "settled": settled, "listed": listed, "renamed": renamed, "in_use": in_use.value,
            "missing": missing.value, "bad_rule": bad_rule.value, "cleared": cleared, "network": network,
            "gone": client.list_qos_policies()}


async def test_sync_client_policies_and_a_port_configured_right_away(sync_client):
    story = await asyncio.to_thread(_sync_story, sync_client)
    gold: QosPolicyBody = story["gold"]
    assert gold.status == QosStatus.AVAILABLE and gold.name == "gold" and gold.links.self.endswith(f"/qos_policies/{gold.id}")
    bandwidth, dscp = gold.rules
    assert (bandwidth.type, bandwidth.max_kbps, bandwidth.max_burst_kbps, bandwidth.direction) == ("bandwidth_limit", 8000, 800, QosDirection.EGRESS)
    assert (dscp.type, dscp.dscp_mark) == ("dscp_marking", 26)
    settled = story["settled"]
    assert (settled.qos_policy_id, settled.qos_status, settled.qos_status_reason) == (gold.id, QosStatus.AVAILABLE, None)
    assert settled.link_status == "UP"
    assert [p.id for p in story["listed"]] == [gold.id] and story["listed"][0].rules == gold.rules
    assert story["renamed"].name == "gold-2" and story["renamed"].rules == gold.rules
    assert (story["in_use"].status, story["in_use"].code) == (409, "QosPolicyInUse") and isinstance(story["in_use"], typed.Conflict)
    assert (story["missing"].status, story["missing"].code) == (404, "QosPolicyNotFound") and isinstance(story["missing"], typed.NotFound)
    assert story["bad_rule"].status == 400 and "max_kbps" in story["bad_rule"].detail
    cleared = story["cleared"]
    assert (cleared.qos_policy_id, cleared.qos_status) == (None, None)
    assert story["gone"] == []


async def test_async_client_network_policy_reaches_its_ports(async_client):
    silver = await async_client.create_qos_policy("silver", [{"type": "bandwidth_limit", "max_kbps": 2000, "direction": "ingress"}])
    network = await async_client.create_network("qos-async", qos_policy_id=silver.id)
    assert network.qos_policy_id == silver.id
    port = await async_client.create_port(network.id, state="ACTIVE")
    inherited = await async_client.wait_until(port, "ACTIVE", qos_status="AVAILABLE", timeout=30)
    assert (inherited.qos_policy_id, inherited.qos_network_policy_id, inherited.qos_status) == (None, silver.id, QosStatus.AVAILABLE)
    # A rename leaves the policy alone (UNSET); None clears it.
    renamed = await async_client.update_network(network.id, name="qos-async-2")
    assert (renamed.name, renamed.qos_policy_id) == ("qos-async-2", silver.id)
    cleared = await async_client.set_network_qos_policy(network.id, None)
    assert cleared.qos_policy_id is None
    for _ in range(300):  # the fan-out clears the port's QoS: no policy applies any more
        shown = await async_client.show_port(network.id, port.id)
        if shown.qos_status is None and shown.status == "ACTIVE":
            break
        await asyncio.sleep(0.1)
    assert (shown.qos_network_policy_id, shown.qos_status, shown.qos_status_reason) == (None, None, None)
    with pytest.raises(typed.QosPolicyNotFound):
        await async_client.show_qos_policy(str(uuid.uuid4()))
    # A port created with its own policy (POST port {"qos_policy_id": ...}).
    own = await async_client.create_port(network.id, qos_policy_id=silver.id, wait=20)
    assert (own.qos_policy_id, own.qos_network_policy_id) == (silver.id, None)
    assert await async_client.delete_port(network.id, own.id, wait=20)
    updated = await async_client.update_qos_policy(silver.id, rules=[DscpMarkingRule(dscp_mark=46)])
    assert [rule.model_dump(mode="json") for rule in updated.rules] == [{"type": "dscp_marking", "dscp_mark": 46}]
    assert (await async_client.show_qos_policy(silver.id)).rules == updated.rules
    await async_client.delete_qos_policy(silver.id)
    with pytest.raises(typed.QosPolicyNotFound):
        await async_client.delete_qos_policy(silver.id)
    assert UNSET is typed.UNSET and repr(UNSET) == "UNSET"
