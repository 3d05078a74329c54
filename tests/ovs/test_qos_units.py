"""The ovs plugin's QoS parts that need no switch: what a policy becomes (meter, flows, htb), how
dumps are parsed, where APPLY_QOS runs. These run everywhere, root or not."""

import uuid

from netprov.operations import PluginAction, PluginRequest, StepSpec
from netprov.qos import QosSpec, bandwidth_limit, dscp_marking
from netprov.settings import Settings
from netprov.status import QosStatus
from plugins.ovs.ofctl import _METER, Meter
from plugins.ovs.plugin import OvsPlugin
from plugins.ovs.qos import _TC_ROOT_CLASS, Htb, cookie_of, enforcement
from netprov.qos import QosDrift
from plugins.registry import needs_agent


def test_apply_qos_records_centrally_then_enforces_on_the_host():
    assert OvsPlugin.steps(PluginAction.APPLY_QOS) == [
        StepSpec("record_qos"), StepSpec("enforce_qos", host_bound=True)
    ]  # fmt: skip
    assert needs_agent("ovs")


def test_policy_becomes_meter_flows_and_htb():
    rules = [bandwidth_limit(8000), bandwidth_limit(20000, 1000, "ingress"), dscp_marking(26)]
    want = enforcement("p1", rules, slot=7, ofport=3)
    assert want.meter == Meter(7, 8000, 6400)  # burst 0: 80% of max_kbps
    assert want.htb == Htb(20_000_000, 1_000_000)
    assert want.cookie == cookie_of(7) == 0x6E70716F00000007
    assert want.flows == {
        "priority=100,in_port=3 actions=meter:7,NORMAL",
        "priority=101,ip,in_port=3 actions=meter:7,set_field:26->ip_dscp,NORMAL",
        "priority=101,ipv6,in_port=3 actions=meter:7,set_field:26->ip_dscp,NORMAL",
    }
    only_dscp = enforcement("p1", [dscp_marking(46)], slot=1, ofport=9)
    assert only_dscp.meter is None and only_dscp.htb is None
    assert all("meter" not in flow and "set_field:46->ip_dscp" in flow for flow in only_dscp.flows)
    assert enforcement("p1", [], slot=1, ofport=9).flows == frozenset()


def test_dump_parsing():
    dump = "OFPST_METER_CONFIG reply (OF1.3) (xid=0x2):\nmeter=7 kbps burst stats bands=\ntype=drop rate=8000 burst_size=6400\n"
    (meter,) = _METER.finditer(" ".join(dump.split()))
    assert (meter["id"], meter["rate"], meter["burst"]) == ("7", "8000", "6400")
    tc = "class htb 1:1 parent 1:fffe prio 0 rate 12Kbit ceil 8Mbit burst 99999b cburst 100000b \n" \
         "class htb 1:fffe root rate 7500Kbit ceil 7500Kbit burst 1499b cburst 1499b \n"  # fmt: skip
    match = _TC_ROOT_CLASS.search(tc)
    assert (match["value"], match["unit"]) == ("7500", "K")


def test_port_without_interface_reads_its_central_record(tmp_path):
    plugin = OvsPlugin(Settings(data_dir=tmp_path))
    spec = QosSpec(policy_id="q", policy_name="gold", rules=[dscp_marking(26)])
    request = PluginRequest(plugin="ovs", request_id=str(uuid.uuid4()), tenant_id="t", network_id="n",
                            port_id="p", qos=spec)  # fmt: skip
    assert plugin.qos_status(request).status == QosStatus.PROVISIONING
    for step in plugin.steps(PluginAction.APPLY_QOS):
        plugin.apply_step(step.name, request)  # enforce_qos: no interface, nothing on any host
    assert plugin.qos_status(request).status == QosStatus.AVAILABLE
    plugin.delete_port(PluginRequest(plugin="ovs", request_id="d", tenant_id="t", network_id="n", port_id="p"))
    assert plugin.qos_status(request).status == QosStatus.PROVISIONING


def test_drift_reads_as_a_sentence():
    assert str(QosDrift("q1", "vif-1", "meter 3 added: 8000 kbps")) == (
        "QoS of interface-id vif-1 on host q1: meter 3 added: 8000 kbps"
    )
