"""QoS on the simulated plugins: recorded once, read back, cleared; faults by policy name; qbh-sim's
steps undone back to the previous policy. Real SQLite files, plugins loaded by entry point."""

import json
import uuid

import pytest

from netprov.operations import PluginAction, StepSpec
from netprov.qos import QosRuleError, QosSpec, bandwidth_limit, dscp_marking, rule_from_dict, rules_from_json
from netprov.status import QosStatus
from plugins.base import PermanentPluginError, TransientPluginError

GOLD = [bandwidth_limit(8000), bandwidth_limit(20000, 1000, "ingress"), dscp_marking(26)]
SILVER = [bandwidth_limit(4000)]
SIMS = ["fake", "ovs-sim", "qbh-sim"]


def spec(name: str, rules) -> QosSpec:
    return QosSpec(policy_id=str(uuid.uuid4()), policy_name=name, rules=list(rules))


def run_like_the_workflow(plugin, action, request) -> None:
    done: list[StepSpec] = []
    try:
        for step in plugin.steps(action):
            plugin.apply_step(step.name, request)
            done.append(step)
    except PermanentPluginError:  # a transient failure is retried, not compensated
        for step in reversed(done):
            if step.undo:
                plugin.apply_step(step.undo, request)
        raise


@pytest.fixture
def port(load, make_request):
    """(plugin, request factory for one provisioned port with an interface), per simulated plugin."""

    def make(name: str):
        plugin = load(name)
        network, port_id = str(uuid.uuid4()), str(uuid.uuid4())
        run_like_the_workflow(plugin, PluginAction.CREATE_NETWORK, make_request(name, network))
        plugin.create_port(make_request(name, network, port_id=port_id, state="ACTIVE"))
        run_like_the_workflow(
            plugin, PluginAction.PLUG_INTERFACE, make_request(name, network, port_id=port_id, iface_id="vif-1", host="h1")
        )

        def request(qos, **fields):
            values = {"port_id": port_id, "iface_id": "vif-1", "host": "h1", "qos": qos, **fields}
            return make_request(name, network, **values)

        return plugin, request

    return make


def qos_rows(plugin) -> int:
    table = "qos_layers" if plugin.name == "qbh-sim" else "qos"
    return plugin.store.count_rows({"n": table})["n"]


@pytest.mark.parametrize("name", SIMS)
def test_apply_is_recorded_once_read_back_and_cleared(port, name):
    plugin, request = port(name)
    gold = spec("gold", GOLD)
    assert plugin.qos_status(request(gold)).status == QosStatus.PROVISIONING  # nothing applied yet

    apply = request(gold)
    run_like_the_workflow(plugin, PluginAction.APPLY_QOS, apply)
    before = len(plugin.ledger())
    run_like_the_workflow(plugin, PluginAction.APPLY_QOS, apply)  # a retry: nothing applied again
    assert len(plugin.ledger()) == before
    run_like_the_workflow(plugin, PluginAction.APPLY_QOS, request(spec("gold", reversed(GOLD))))  # same rules
    assert plugin.qos_status(request(gold)).status == QosStatus.AVAILABLE
    assert plugin.qos_status(request(None)).status == QosStatus.AVAILABLE  # what was applied is in force

    other = plugin.qos_status(request(spec("silver", SILVER)))
    assert other.status == QosStatus.PROVISIONING and "silver" in other.reason
    moved = plugin.qos_status(request(gold, iface_id="vif-2"))
    assert moved.status == QosStatus.PROVISIONING and "vif-2" in moved.reason

    run_like_the_workflow(plugin, PluginAction.APPLY_QOS, request(QosSpec(policy_name="gold", rules=[])))
    assert qos_rows(plugin) == 0
    assert plugin.qos_status(request(QosSpec())).status == QosStatus.AVAILABLE
    assert plugin.qos_status(request(gold)).status == QosStatus.PROVISIONING


@pytest.mark.parametrize("name", SIMS)
def test_delete_port_removes_its_qos(port, name):
    plugin, request = port(name)
    run_like_the_workflow(plugin, PluginAction.APPLY_QOS, request(spec("gold", GOLD)))
    assert qos_rows(plugin) > 0
    plugin.delete_port(request(None))
    assert qos_rows(plugin) == 0


@pytest.mark.parametrize("name", ["fake", "qbh-sim"])
def test_fail_policy_is_refused_permanently_and_can_still_be_cleared(port, name):
    plugin, request = port(name)
    with pytest.raises(PermanentPluginError, match="QoS policy 'fail-gold'"):
        run_like_the_workflow(plugin, PluginAction.APPLY_QOS, request(spec("fail-gold", GOLD)))
    assert qos_rows(plugin) == 0
    run_like_the_workflow(plugin, PluginAction.APPLY_QOS, request(spec("fail-gold", [])))


@pytest.mark.parametrize("name", ["fake", "qbh-sim"])
def test_flaky_policy_fails_n_times_then_applies(port, name):
    """Each call (each step, for qbh-sim) fails twice transiently, then applies."""
    plugin, request = port(name)
    apply = request(spec("flaky2-gold", GOLD))
    failures = []
    for _ in range(10):
        try:
            run_like_the_workflow(plugin, PluginAction.APPLY_QOS, apply)
            break
        except TransientPluginError as error:
            failures.append(str(error))
    assert len(failures) == 2 * len(plugin.steps(PluginAction.APPLY_QOS))
    assert "transient fault 2 of 2 injected by name for QoS policy 'flaky2-gold'" in failures[1]
    assert plugin.qos_status(request(spec("flaky2-gold", GOLD))).status == QosStatus.AVAILABLE


def test_network_name_faults_do_not_touch_qos(load, make_request):
    plugin = load("fake")
    request = make_request("fake", str(uuid.uuid4()), name="fail-net", port_id="p1", qos=spec("gold", GOLD))
    plugin.apply_qos(request)
    assert plugin.qos_status(request).status == QosStatus.AVAILABLE


def test_fake_bulk_apply_qos_per_request_faults(load, make_request):
    plugin = load("fake")
    network = str(uuid.uuid4())
    requests = [
        make_request("fake", network, port_id=f"p{i}", qos=spec("fail-x" if i == 1 else "gold", GOLD)) for i in range(3)
    ]
    results = plugin.apply_many(PluginAction.APPLY_QOS.value, requests)
    assert isinstance(results[1], PermanentPluginError)
    assert results[0] == {} and results[2] == {}
    assert [r.status for r in plugin.qos_status_many(requests)] == [
        QosStatus.AVAILABLE, QosStatus.PROVISIONING, QosStatus.AVAILABLE
    ]  # fmt: skip


def test_ovs_sim_refuses_qos_for_an_unbound_port(load, make_request):
    plugin = load("ovs-sim")
    with pytest.raises(PermanentPluginError, match="not bound"):
        plugin.apply_qos(make_request("ovs-sim", "n1", port_id="nope", qos=spec("gold", GOLD)))
    plugin.apply_qos(make_request("ovs-sim", "n1", port_id="nope", qos=spec("gold", [])))  # clearing: fine


def test_qbh_steps_and_undo_restores_the_previous_policy(port):
    plugin, request = port("qbh-sim")
    assert [s.name for s in plugin.steps(PluginAction.APPLY_QOS)] == [
        "qbh_vswitch_apply_qos", "qbh_ifvirt_apply_qos", "qbh_pswitch_apply_qos"
    ]  # fmt: skip
    run_like_the_workflow(plugin, PluginAction.APPLY_QOS, request(spec("silver", SILVER)))
    # fail3-: the physical switch refuses; the two completed layers go back to silver, not to nothing.
    with pytest.raises(PermanentPluginError, match="physical switch"):
        run_like_the_workflow(plugin, PluginAction.APPLY_QOS, request(spec("fail3-gold", GOLD)))
    with plugin.store.transaction(write=False) as db:
        layers = {layer: json.loads(rules) for layer, rules in db.execute("SELECT layer, rules FROM qos_layers")}
    assert set(layers) == {"vswitch", "ifvirt", "pswitch"}
    assert all(rules == [{"type": "bandwidth_limit", "max_kbps": 4000, "max_burst_kbps": 0, "direction": "egress"}]
               for rules in layers.values())  # fmt: skip
    assert plugin.qos_status(request(spec("silver", SILVER))).status == QosStatus.AVAILABLE


def test_qbh_half_applied_policy_names_the_missing_layers(port):
    plugin, request = port("qbh-sim")
    plugin.qbh_vswitch_apply_qos(request(spec("gold", GOLD)))
    report = plugin.qos_status(request(spec("gold", GOLD)))
    assert report.status == QosStatus.PROVISIONING
    assert report.reason == "QoS not applied yet on the interface virtualizer and physical switch"
    assert plugin.qos_status(request(None)).status == QosStatus.PROVISIONING


def test_plugin_without_qos_refuses_rules_and_accepts_a_clear(load, make_request):
    from plugins.base import Plugin

    class Bare(Plugin):
        name = "bare"
        create_network = delete_network = plug_interface = unplug_interface = lambda self, r: None

    plugin = Bare(load("fake").settings)
    with pytest.raises(PermanentPluginError, match="does not support QoS"):
        plugin.apply_qos(make_request("bare", "n", qos=spec("gold", GOLD)))
    plugin.apply_qos(make_request("bare", "n", qos=QosSpec()))
    assert plugin.qos_status(make_request("bare", "n", qos=spec("gold", GOLD))).status == QosStatus.ERROR


@pytest.mark.parametrize(
    "rule, message",
    [
        ({"type": "bandwidth_limit", "max_kbps": 0}, "max_kbps 0 is out of range"),
        ({"type": "bandwidth_limit", "max_kbps": 100_000_001}, "out of range"),
        ({"type": "bandwidth_limit", "max_kbps": 10, "max_burst_kbps": -1}, "max_burst_kbps"),
        ({"type": "bandwidth_limit", "max_kbps": True}, "max_kbps True"),
        ({"type": "bandwidth_limit", "max_kbps": 10, "direction": "up"}, "direction 'up'"),
        ({"type": "bandwidth_limit"}, "needs max_kbps"),
        ({"type": "bandwidth_limit", "max_kbps": 10, "dscp_mark": 26}, "unknown field(s) dscp_mark"),
        ({"type": "dscp_marking", "dscp_mark": 27}, "not a valid DSCP mark"),
        ({"type": "dscp_marking"}, "needs dscp_mark"),
        ({"type": "minimum_bandwidth", "min_kbps": 1}, "unknown rule type"),
        ("bandwidth_limit", "must be an object"),
    ],
)
def test_rule_constraints(rule, message):
    with pytest.raises(QosRuleError, match=message.replace("(", r"\(").replace(")", r"\)")):
        rule_from_dict(rule)


def test_one_rule_per_type_and_direction():
    rules_from_json([{"type": "bandwidth_limit", "max_kbps": 1}, {"type": "bandwidth_limit", "max_kbps": 2,
                     "direction": "ingress"}, {"type": "dscp_marking", "dscp_mark": 0}])  # fmt: skip
    with pytest.raises(QosRuleError, match="two bandwidth_limit rules with direction egress"):
        rules_from_json([{"type": "bandwidth_limit", "max_kbps": 1}, {"type": "bandwidth_limit", "max_kbps": 2}])
    with pytest.raises(QosRuleError, match="two dscp_marking rules"):
        rules_from_json([{"type": "dscp_marking", "dscp_mark": 8}, {"type": "dscp_marking", "dscp_mark": 10}])


def test_request_with_qos_round_trips_through_temporals_converter():
    from temporalio.converter import DataConverter

    from netprov.operations import PluginRequest

    converter = DataConverter.default.payload_converter
    request = PluginRequest(plugin="fake", request_id="r", tenant_id="t", network_id="n", qos=spec("gold", GOLD))
    (payload,) = converter.to_payloads([request])
    assert converter.from_payloads([payload], [PluginRequest]) == [request]
    old = converter.to_payloads([{"plugin": "fake", "request_id": "r", "tenant_id": "t", "network_id": "n"}])
    assert converter.from_payloads(old, [PluginRequest])[0].qos is None  # recorded before QoS existed
