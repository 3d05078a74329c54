"""qbh-sim: three steps per create/plug, each with an undo that really removes what it did."""

import time
import uuid

import pytest

from netprov.operations import PluginAction, StepSpec
from netprov.status import LinkStatus
from plugins.base import PermanentPluginError, PluginError, TransientPluginError
from plugins.qbh_sim import QbhSimPlugin

NO_RESIDUE = {"networks": 0, "ports": 0, "interfaces": 0}


def run_like_the_workflow(plugin, action, request) -> list[str]:
    """Each step in order; on a failure, the undo of the completed steps in reverse. Returns the
    completed steps, re-raising the failure after compensation."""
    done: list[StepSpec] = []
    try:
        for spec in plugin.steps(action):
            plugin.apply_step(spec.name, request)
            done.append(spec)
    except PluginError:
        for spec in reversed(done):
            plugin.apply_step(spec.undo, request)
        raise
    return [spec.name for spec in done]


def test_entry_point_and_steps(load):
    plugin = load("qbh-sim")
    assert isinstance(plugin, QbhSimPlugin)
    assert plugin.steps(PluginAction.CREATE_NETWORK) == [
        StepSpec("qbh_vswitch_create_network", undo="qbh_vswitch_delete_network"),
        StepSpec("qbh_ifvirt_create_network", undo="qbh_ifvirt_delete_network"),
        StepSpec("qbh_pswitch_create_network", undo="qbh_pswitch_delete_network"),
    ]
    assert plugin.steps(PluginAction.PLUG_INTERFACE) == [
        StepSpec("qbh_vswitch_plug", undo="qbh_vswitch_unplug"),
        StepSpec("qbh_ifvirt_plug", undo="qbh_ifvirt_unplug"),
        StepSpec("qbh_pswitch_plug", undo="qbh_pswitch_unplug"),
    ]
    assert plugin.steps(PluginAction.DELETE_NETWORK) == [StepSpec("delete_network")]
    assert plugin.steps(PluginAction.UNPLUG_INTERFACE) == [StepSpec("unplug_interface")]
    for action in (PluginAction.CREATE_NETWORK, PluginAction.PLUG_INTERFACE):
        for spec in plugin.steps(action):
            assert callable(getattr(plugin, spec.name)) and callable(getattr(plugin, spec.undo))


def test_steps_build_all_three_layers_once(load, make_request):
    plugin = load("qbh-sim")
    network, port = str(uuid.uuid4()), str(uuid.uuid4())
    create = make_request("qbh-sim", network)
    run_like_the_workflow(plugin, PluginAction.CREATE_NETWORK, create)
    run_like_the_workflow(plugin, PluginAction.CREATE_NETWORK, create)  # a replay
    plugin.create_port(make_request("qbh-sim", network, port_id=port, state="ACTIVE"))
    run_like_the_workflow(
        plugin, PluginAction.PLUG_INTERFACE, make_request("qbh-sim", network, port_id=port, iface_id="v", host="h1")
    )

    assert plugin.residue() == {"networks": 3, "ports": 1, "interfaces": 3}
    assert [e.action for e in plugin.ledger()] == [
        "qbh_vswitch_create_network",
        "qbh_ifvirt_create_network",
        "qbh_pswitch_create_network",
        "create_port",
        "qbh_vswitch_plug",
        "qbh_ifvirt_plug",
        "qbh_pswitch_plug",
    ]
    assert plugin.link_status(make_request("qbh-sim", network, port_id=port)).status == LinkStatus.UP


def test_failure_at_step_three_is_compensated_without_residue(load, make_request):
    plugin = load("qbh-sim")
    request = make_request("qbh-sim", str(uuid.uuid4()), name="fail3-net")

    with pytest.raises(PermanentPluginError, match="fail3-net' on the physical switch"):
        run_like_the_workflow(plugin, PluginAction.CREATE_NETWORK, request)

    assert plugin.residue() == NO_RESIDUE
    assert [e.action for e in plugin.ledger()] == [
        "qbh_vswitch_create_network",
        "qbh_ifvirt_create_network",
        "qbh_ifvirt_delete_network",
        "qbh_vswitch_delete_network",
    ]


def test_fail_prefix_fails_step_one(load, make_request):
    plugin = load("qbh-sim")
    request = make_request("qbh-sim", str(uuid.uuid4()), name="fail-x")
    with pytest.raises(PermanentPluginError, match="on the virtual switch"):
        run_like_the_workflow(plugin, PluginAction.CREATE_NETWORK, request)
    assert plugin.residue() == NO_RESIDUE
    assert plugin.ledger() == []


def test_direct_create_network_compensates_itself(load, make_request):
    plugin = load("qbh-sim")
    with pytest.raises(PermanentPluginError):
        plugin.create_network(make_request("qbh-sim", str(uuid.uuid4()), name="fail3-x"))
    assert plugin.residue() == NO_RESIDUE


def test_direct_create_network_keeps_completed_steps_after_a_transient_failure(load, make_request):
    plugin = load("qbh-sim")
    request = make_request("qbh-sim", str(uuid.uuid4()), name="flaky1-x")
    # Each step fails once; a retry of the whole action resumes where the last one stopped.
    for completed in range(3):
        with pytest.raises(TransientPluginError):
            plugin.create_network(request)
        assert plugin.residue()["networks"] == completed
    plugin.create_network(request)
    assert plugin.residue()["networks"] == 3
    assert len(plugin.ledger()) == 3


def test_flaky_fails_each_step_n_times_and_survives_a_restart(load, make_request):
    request = make_request("qbh-sim", str(uuid.uuid4()), name="flaky2-net")
    with pytest.raises(TransientPluginError):
        load("qbh-sim").qbh_vswitch_create_network(request)
    plugin = load("qbh-sim")
    with pytest.raises(TransientPluginError):
        plugin.qbh_vswitch_create_network(request)
    plugin.qbh_vswitch_create_network(request)
    with pytest.raises(TransientPluginError):
        plugin.qbh_ifvirt_create_network(request)


def test_plug_compensation_and_delete_network_remove_every_layer(load, make_request):
    plugin = load("qbh-sim")
    network, port = str(uuid.uuid4()), str(uuid.uuid4())
    plugin.create_network(make_request("qbh-sim", network))
    plugin.create_port(make_request("qbh-sim", network, port_id=port))
    plug = make_request("qbh-sim", network, port_id=port, iface_id="v", host="h1")
    plugin.qbh_vswitch_plug(plug)
    plugin.qbh_ifvirt_plug(plug)
    assert plugin.link_status(plug).reason == "interface not plugged on the physical switch"

    plugin.qbh_ifvirt_unplug(plug)
    plugin.qbh_vswitch_unplug(plug)
    assert plugin.residue()["interfaces"] == 0

    plugin.plug_interface(make_request("qbh-sim", network, port_id=port, iface_id="v", host="h1"))
    plugin.delete_network(make_request("qbh-sim", network))
    assert plugin.residue() == NO_RESIDUE


def test_unplug_removes_all_three_layers(load, make_request):
    plugin = load("qbh-sim")
    network, port = str(uuid.uuid4()), str(uuid.uuid4())
    plugin.create_network(make_request("qbh-sim", network))
    plugin.create_port(make_request("qbh-sim", network, port_id=port))
    plugin.plug_interface(make_request("qbh-sim", network, port_id=port, iface_id="v", host="h1"))

    plugin.unplug_interface(make_request("qbh-sim", network, port_id=port))
    assert plugin.residue() == {"networks": 3, "ports": 1, "interfaces": 0}
    plugin.delete_port(make_request("qbh-sim", network, port_id=port))
    plugin.delete_network(make_request("qbh-sim", network))
    assert plugin.residue() == NO_RESIDUE


def test_link_status_reasons(load, make_request):
    plugin = load("qbh-sim")
    network, port = str(uuid.uuid4()), str(uuid.uuid4())
    probe = make_request("qbh-sim", network, port_id=port)

    plugin.qbh_vswitch_create_network(make_request("qbh-sim", network))
    assert plugin.link_status(probe).reason == "network not AVAILABLE"
    plugin.create_network(make_request("qbh-sim", network))
    plugin.create_port(make_request("qbh-sim", network, port_id=port))
    assert plugin.link_status(probe).reason == "no attachment"
    plugin.plug_interface(make_request("qbh-sim", network, port_id=port, iface_id="v", host="h1"))
    assert plugin.link_status(probe).reason == "port admin DOWN"


def test_each_step_sleeps_its_latency(load, make_request):
    plugin = load("qbh-sim", latency_ms=40)
    request = make_request("qbh-sim", str(uuid.uuid4()))
    started = time.monotonic()
    plugin.qbh_ifvirt_create_network(request)  # the interface virtualizer is the slow one: x2
    assert time.monotonic() - started >= 0.08
