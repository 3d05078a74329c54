"""Plugin.apply_many, the call a batch chunk makes: per request exactly what the single call does
(same faults, same ledger, same idempotency), in one device session for a bulk plugin."""

from netprov.operations import PluginRequest
from netprov.settings import Settings
from plugins.base import PermanentPluginError, TransientPluginError
from plugins.fake import FakePlugin
from plugins.qbh_sim import QbhSimPlugin


def _request(plugin: str, request_id: str, network: str, port: str) -> PluginRequest:
    return PluginRequest(plugin, request_id, "t1", f"net-{network}", network, port_id=port, state="ACTIVE")


def test_fake_bulk_call_settles_each_request_on_its_own(tmp_path):
    plugin = FakePlugin(Settings(data_dir=tmp_path))
    requests = [
        _request("fake", "op-1:create_port", "good", "p1"),
        _request("fake", "op-2:create_port", "fail-bad", "p2"),
        _request("fake", "op-3:create_port", "flaky1-slow", "p3"),
        _request("fake", "op-4:create_port", "good", "p4"),
    ]
    first = plugin.apply_many("create_port", requests)
    assert first[0] == {} and first[3] == {}
    assert isinstance(first[1], PermanentPluginError) and isinstance(first[2], TransientPluginError)
    assert [(e.request_id, e.resource_id) for e in plugin.ledger()] == [("op-1:create_port", "p1"), ("op-4:create_port", "p4")]
    # Again (a retried chunk): done ones are ledger no-ops, the transient one now succeeds.
    second = plugin.apply_many("create_port", requests)
    assert second[0] == {} and isinstance(second[1], PermanentPluginError) and second[2] == {}
    assert sorted(e.resource_id for e in plugin.ledger()) == ["p1", "p3", "p4"]
    assert plugin.residue()["ports"] == 3
    links = plugin.link_status_many(requests)
    assert [r.reason for r in links] == ["network not AVAILABLE"] * 4


def test_default_apply_many_calls_the_action_per_request(tmp_path):
    plugin = QbhSimPlugin(Settings(data_dir=tmp_path, plugin_settings={"qbh-sim": {"latency_ms": 0}}))
    assert plugin.bulk is False
    requests = [
        PluginRequest("qbh-sim", "op-1:create_network", "t1", "n1", "ok"),
        PluginRequest("qbh-sim", "op-2:create_network", "t1", "n2", "fail2-half"),
    ]
    results = plugin.apply_many("create_network", requests)
    assert results[0] == {} and isinstance(results[1], PermanentPluginError)
    # The failed one's completed first step was undone by the plugin's own compensation.
    assert [e.action for e in plugin.ledger() if e.resource_id == "n2"] == ["qbh_vswitch_create_network", "qbh_vswitch_delete_network"]
    assert plugin.residue()["networks"] == 3
