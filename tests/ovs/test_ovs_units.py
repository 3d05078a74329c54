"""The ovs plugin's parts that need no switch: names, settings, VLAN pool, OVSDB decoding, errors.
These run everywhere, root or not."""

import uuid

import pytest

from netprov.operations import PluginAction, PluginRequest
from netprov.settings import Settings
from plugins.base import PermanentPluginError, TransientPluginError
from plugins.ovs import linux
from plugins.ovs.hosts import host_netns, trunk_device, validate_host, vsctl_prefix
from plugins.ovs.plugin import APPLY_PORT_STATE, OvsPlugin
from plugins.ovs.settings import OvsSettings
from plugins.ovs.switch import OvsdbUnavailableError, VSwitch, VsctlError, _decode, _rows
from plugins.ovs.vms import VmError, tap_name, validate_iface_id, vm_netns


def _request(network_id: str, request_id: str | None = None, **fields) -> PluginRequest:
    return PluginRequest(
        plugin="ovs", request_id=request_id or str(uuid.uuid4()), tenant_id="t1", network_id=network_id, **fields
    )


def test_device_names_fit_linux_limits_and_are_deterministic():
    longest = "a" * 40
    assert len(tap_name(longest)) <= 15 and tap_name(longest) == tap_name(longest)
    assert tap_name("vif-1") != tap_name("vif-2")
    assert vm_netns("vif-1") == "netprov-vm-vif-1"
    assert trunk_device("h2") == "tr-h2"
    assert len(trunk_device("a-very-long-host-name")) <= 15
    assert host_netns("h1") == "netprov-hv-h1"


@pytest.mark.parametrize("bad", ["", "A", "vif_1", "vif 1", "a" * 41, "vif/1"])
def test_iface_ids_are_validated(bad):
    with pytest.raises(VmError):
        validate_iface_id(bad)


def test_host_names_are_validated():
    assert validate_host("h1") == "h1"
    for bad in ("", "-h", "H1", "h/1", "h" * 33):
        with pytest.raises(ValueError):
            validate_host(bad)


def test_vsctl_prefix_names_the_host_socket(tmp_path):
    prefix = vsctl_prefix("h1", tmp_path, timeout=3)
    assert prefix == ["ovs-vsctl", f"--db=unix:{tmp_path.absolute()}/ovs/h1/db.sock", "--timeout=3"]


def test_settings_from_environment(monkeypatch):
    monkeypatch.setenv("NETPROV_OVS_VLAN_RANGE", "300-301")
    assert OvsSettings().vlans == (300, 301)
    monkeypatch.setenv("NETPROV_OVS_VLAN_RANGE", "1-4095")
    with pytest.raises(ValueError):
        OvsSettings()
    monkeypatch.delenv("NETPROV_OVS_VLAN_RANGE")
    assert OvsSettings().vlans == (100, 199)


def test_vlan_pool_lowest_free_idempotent_freed_exhausted(tmp_path):
    plugin = OvsPlugin(Settings(data_dir=tmp_path), OvsSettings(vlan_range="100-101"))
    first = _request("n1", "r1")
    assert plugin.create_network(first) == {"vlan": "100"}
    assert plugin.create_network(first) == {"vlan": "100"}  # same request
    assert plugin.create_network(_request("n1")) == {"vlan": "100"}  # same network, new request
    assert plugin.create_network(_request("n2")) == {"vlan": "101"}
    with pytest.raises(PermanentPluginError, match="exhausted"):
        plugin.create_network(_request("n3"))
    plugin.delete_network(_request("n1"))
    assert plugin.create_network(_request("n3")) == {"vlan": "100"}
    # Another plugin instance (another worker) sees the same pool.
    assert OvsPlugin(Settings(data_dir=tmp_path), OvsSettings(vlan_range="100-101")).vlan_of("n3") == 100
    assert plugin.residue() == {"networks": 2, "ports": 0, "bindings": 0}


def test_where_actions_run():
    assert OvsPlugin.host_bound(PluginAction.PLUG_INTERFACE)
    assert OvsPlugin.host_bound(PluginAction.UNPLUG_INTERFACE)
    assert not OvsPlugin.host_bound(PluginAction.CREATE_NETWORK)
    steps = OvsPlugin.steps(PluginAction.UPDATE_PORT)
    assert [(s.name, s.host_bound) for s in steps] == [("update_port", False), (APPLY_PORT_STATE, True)]
    assert [(s.name, s.host_bound) for s in OvsPlugin.steps(PluginAction.PLUG_INTERFACE)] == [
        ("plug_interface", True)
    ]


def test_apply_port_state_without_attachment_is_a_no_op(tmp_path):
    plugin = OvsPlugin(Settings(data_dir=tmp_path))
    plugin.apply_port_state(_request("n1", port_id="p1", state="DOWN"))  # no host, no interface


def test_plug_needs_the_network_vlan(tmp_path):
    plugin = OvsPlugin(Settings(data_dir=tmp_path))
    with pytest.raises(PermanentPluginError, match="no VLAN"):
        plugin.plug_interface(_request("unknown", port_id="p1", iface_id="vif-1", host="h1"))


def test_ovsdb_json_decoding():
    table = {
        "headings": ["_uuid", "name", "tag", "trunks", "external_ids", "interfaces"],
        "data": [
            [["uuid", "u1"], "p1", ["set", []], ["set", [1, 2]], ["map", [["iface-id", "vif-1"]]], ["uuid", "i1"]],
            [["uuid", "u2"], "p2", 101, 5, ["map", []], ["set", [["uuid", "i2"], ["uuid", "i3"]]]],
        ],
    }
    rows = _rows(table)
    assert rows[0] == {
        "_uuid": "u1",
        "name": "p1",
        "tag": [],
        "trunks": [1, 2],
        "external_ids": {"iface-id": "vif-1"},
        "interfaces": "i1",
    }
    assert rows[1]["tag"] == 101 and rows[1]["interfaces"] == ["i2", "i3"]
    assert _decode(["map", [["a", "b"]]]) == {"a": "b"}


@pytest.mark.skipif(linux.which("ovs-vsctl") is None, reason="ovs-vsctl not installed")
def test_unreachable_ovsdb_is_transient(tmp_path):
    with pytest.raises(OvsdbUnavailableError) as caught:
        VSwitch("h1", tmp_path, timeout=2).ports()
    assert isinstance(caught.value, TransientPluginError)
    assert "host h1" in str(caught.value)


def test_missing_ovs_vsctl_is_permanent(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(linux, "_SBIN", ())
    with pytest.raises(VsctlError, match="not installed"):
        VSwitch("h1", tmp_path).ports()
