"""Each plugin owns its settings under its own env prefix; every documented variable keeps working."""

import uuid

import pydantic
import pytest

from netprov.settings import Settings
from plugins.base import PermanentPluginError
from plugins.fake import FakePlugin
from plugins.ovs.plugin import OvsPlugin
from plugins.ovs_sim import OvsSimPlugin
from plugins.qbh_sim import QbhSimPlugin


def test_documented_variables_reach_their_plugin(monkeypatch, tmp_path):
    monkeypatch.setenv("NETPROV_FAKE_LATENCY_MS", "7")
    monkeypatch.setenv("NETPROV_FAKE_TRANSIENT_FAILURE_RATE", "0.25")
    monkeypatch.setenv("NETPROV_QBH_SIM_LATENCY_MS", "3")
    monkeypatch.setenv("NETPROV_OVS_SIM_VLAN_RANGE", "200-201")
    monkeypatch.setenv("NETPROV_OVS_VLAN_RANGE", "300-302")
    settings = Settings(data_dir=tmp_path)

    fake = FakePlugin(settings)
    assert (fake.options.latency_ms, fake.options.transient_failure_rate) == (7, 0.25)
    assert QbhSimPlugin(settings).options.latency_ms == 3
    assert (OvsSimPlugin(settings).vlans.low, OvsSimPlugin(settings).vlans.high) == (200, 201)
    assert OvsPlugin(settings).vlans.low == 300
    # The core settings know nothing of any plugin's knobs.
    assert not any(name.startswith(("fake_", "qbh_", "ovs_")) for name in Settings.model_fields)


def test_server_overrides_win_over_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("NETPROV_FAKE_LATENCY_MS", "7")
    settings = Settings(data_dir=tmp_path, plugin_settings={"fake": {"latency_ms": 1}})
    assert FakePlugin(settings).options.latency_ms == 1


@pytest.mark.parametrize("variable", ["NETPROV_OVS_SIM_VLAN_RANGE", "NETPROV_OVS_VLAN_RANGE"])
def test_a_bad_vlan_range_is_refused(monkeypatch, tmp_path, variable):
    monkeypatch.setenv(variable, "0-5000")
    plugin = OvsSimPlugin if "SIM" in variable else OvsPlugin
    with pytest.raises(pydantic.ValidationError, match="1-4094"):
        plugin(Settings(data_dir=tmp_path))


def test_both_vlan_plugins_allocate_lowest_free_first_and_reuse_freed_ids(tmp_path, make_request):
    ranges = {"ovs-sim": {"vlan_range": "100-101"}, "ovs": {"vlan_range": "100-101"}}
    settings = Settings(data_dir=tmp_path, plugin_settings=ranges)
    for plugin in (OvsSimPlugin(settings), OvsPlugin(settings)):
        first, second, third = (make_request(plugin.name, str(uuid.uuid4())) for _ in range(3))
        assert plugin.create_network(first) == {"vlan": "100"}
        assert plugin.create_network(second) == {"vlan": "101"}
        with pytest.raises(PermanentPluginError, match="exhausted"):
            plugin.create_network(third)
        plugin.delete_network(make_request(plugin.name, first.network_id))
        assert plugin.create_network(make_request(plugin.name, third.network_id)) == {"vlan": "100"}
