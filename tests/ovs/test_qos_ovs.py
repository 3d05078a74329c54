"""QoS on real Open vSwitch (userspace datapath, as `make run`): limits and marks measured on TCP
streams and captured packets between dev VMs, on one host and across the trunk; the read-back sees
tampering and an ovs-vswitchd restart, and reconcile puts everything back.

Hosts q1 and q2 (names of this suite only: a host's namespace is machine-wide). Each iperf3 run
lasts 3 s (1 s omitted, 2 s measured).
"""

import os
import re
import signal
import subprocess
import time
import uuid

import pytest
from qos_measure import captured_tos, tcp_rate_kbps

from netprov.operations import PluginAction
from netprov.qos import QosSpec, bandwidth_limit, dscp_marking
from netprov.status import QosStatus
from plugins.ovs import linux
from plugins.ovs.hosts import host_files, host_netns, start_hosts
from plugins.ovs.ofctl import OpenFlowBridge
from plugins.ovs.qos import COOKIE_BASE, COOKIE_MASK

pytestmark = pytest.mark.ovs

HOSTS = ["q1", "q2"]
LIMIT_KBPS = 8000
LOW, HIGH = 0.3 * LIMIT_KBPS, 1.3 * LIMIT_KBPS
WELL_ABOVE = 3 * LIMIT_KBPS


@pytest.fixture
def net(qos_fabric) -> "QosNet":
    return QosNet(qos_fabric)


class QosNet:
    """The lab's Fabric plus APPLY_QOS as the workflow runs it (every step, in order)."""

    def __init__(self, fabric) -> None:
        self.fabric = fabric
        self.plugin = fabric.plugin

    def __getattr__(self, name: str):
        return getattr(self.fabric, name)

    def three_vms(self, subnet: int):
        """VMs a (q1), b (q1), c (q2) on one network: (attachment a, b, c, ip of a, b, c)."""
        network, _ = self.fabric.network()
        ips = [f"10.{subnet}.0.{i}" for i in (1, 2, 3)]
        places = [("q1", "a"), ("q1", "b"), ("q2", "c")]
        attachments = [
            self.fabric.attach(network, host, self.fabric.vm(host, f"{name}{subnet}", f"{ip}/24"))
            for (host, name), ip in zip(places, ips)
        ]
        for ip in ips[1:]:
            assert self.fabric.ping(attachments[0].iface_id, ip)
        return (*attachments, *ips)

    def apply(self, attachment, rules, name: str = "gold") -> QosSpec:
        spec = QosSpec(policy_id=str(uuid.uuid4()), policy_name=name, rules=list(rules))
        request = attachment.request(qos=spec)
        for step in self.plugin.steps(PluginAction.APPLY_QOS):
            self.plugin.apply_step(step.name, request)
        return spec

    def status(self, attachment, spec: QosSpec | None = None):
        return self.plugin.qos_status(attachment.request(qos=spec))


def _ours(host: str, lab) -> tuple[dict, dict]:
    bridge = OpenFlowBridge(host, lab.data_dir)
    return bridge.flows(COOKIE_BASE, COOKIE_MASK), bridge.meters()


def _youngest_flow_s(host: str, lab) -> float:
    bridge = OpenFlowBridge(host, lab.data_dir)
    out = bridge.ofctl("dump-flows", bridge.target, f"cookie={COOKIE_BASE:#x}/{COOKIE_MASK:#x}")
    return min(float(age) for age in re.findall(r"duration=([\d.]+)s", out))


def _htb_rows(host: str, lab) -> str:
    return lab.switch(host).vsctl("--bare", "--columns=_uuid", "list", "QoS").strip()


@pytest.mark.parametrize("direction", ["egress", "ingress"])
def test_limit_holds_on_one_host_and_across_hosts(net, direction):
    """a's limit holds for a stream with b (same host) and with c (across the trunk) in the limited
    direction (from a for egress, to a for ingress), and not in the other one."""
    a, b, c, ip_a, ip_b, ip_c = net.three_vms(61 if direction == "egress" else 62)
    egress = direction == "egress"

    def limited() -> tuple[float, float]:
        if egress:
            return tcp_rate_kbps(a.iface_id, b.iface_id, ip_b), tcp_rate_kbps(a.iface_id, c.iface_id, ip_c)
        return tcp_rate_kbps(b.iface_id, a.iface_id, ip_a), tcp_rate_kbps(c.iface_id, a.iface_id, ip_a)

    free_same, free_across = limited()
    assert free_same > WELL_ABOVE and free_across > WELL_ABOVE, (free_same, free_across)
    spec = net.apply(a, [bandwidth_limit(LIMIT_KBPS, direction=direction)])
    assert net.status(a, spec).status == QosStatus.AVAILABLE
    same, across = limited()
    other = tcp_rate_kbps(b.iface_id, a.iface_id, ip_a) if egress else tcp_rate_kbps(a.iface_id, b.iface_id, ip_b)
    print(f"{direction} 8000 kbps: unlimited {free_same:.0f}/{free_across:.0f}, limited {same:.0f}/{across:.0f},"
          f" other direction {other:.0f} kbps (same host/across)")  # fmt: skip
    assert LOW <= same <= HIGH and LOW <= across <= HIGH, (same, across)
    assert other > WELL_ABOVE


def test_dscp_mark_arrives_at_the_other_vm_ipv4_and_ipv6(net):
    a, b, c, ip_a, ip_b, ip_c = net.three_vms(63)
    net.apply(a, [dscp_marking(26)])
    ping = ["ping", "-c", "3", "-i", "0.2", "-W", "1"]
    assert captured_tos(b.iface_id, ip_a, [*ping, ip_b], a.iface_id) == [26 << 2] * 3  # 0x68, same host
    assert captured_tos(c.iface_id, ip_a, [*ping, ip_c], a.iface_id) == [26 << 2] * 3  # across the trunk
    assert captured_tos(a.iface_id, ip_b, [*ping, ip_a], b.iface_id) == [0] * 3  # b has no policy

    for attachment, address in ((a, "fd63::1"), (b, "fd63::2")):
        subprocess.run(["ip", "netns", "exec", f"netprov-vm-{attachment.iface_id}", "ip", "-6", "addr", "add",
                        f"{address}/64", "dev", "eth0", "nodad"], check=True)  # fmt: skip
    assert captured_tos(b.iface_id, "fd63::1", [*ping, "-6", "fd63::2"], a.iface_id) == [26 << 2] * 3


def test_every_rule_together_and_vlan_isolation_kept(net):
    a, b, _, ip_a, ip_b, _ = net.three_vms(64)
    other, _ = net.network()
    stranger = net.attach(other, "q1", net.vm("q1", "x64", "10.64.0.9/24"))
    spec = net.apply(a, [bandwidth_limit(LIMIT_KBPS), bandwidth_limit(LIMIT_KBPS, 0, "ingress"), dscp_marking(46)])
    assert net.status(a, spec).status == QosStatus.AVAILABLE
    assert net.isolated(stranger.iface_id, ip_a) and net.isolated(a.iface_id, "10.64.0.9")  # other VLAN
    assert LOW <= tcp_rate_kbps(a.iface_id, b.iface_id, ip_b) <= HIGH
    assert LOW <= tcp_rate_kbps(b.iface_id, a.iface_id, ip_a) <= HIGH


def test_apply_twice_changes_nothing_and_clear_removes_everything(net, qos_lab):
    a, b, *_ = net.three_vms(65)
    rules = [bandwidth_limit(LIMIT_KBPS), bandwidth_limit(4000, 500, "ingress"), dscp_marking(26)]
    net.apply(a, rules)
    flows, meters = _ours("q1", qos_lab)
    enforced = len(qos_lab.plugin.qos_ledger("q1"))
    time.sleep(1.2)
    net.apply(a, list(reversed(rules)), name="gold-again")  # same rules, another request
    assert _ours("q1", qos_lab) == (flows, meters)
    assert _youngest_flow_s("q1", qos_lab) >= 1.0  # not re-installed
    assert len(qos_lab.plugin.qos_ledger("q1")) == enforced + 1  # recorded, nothing changed on the switch
    assert qos_lab.plugin.reconcile("q1") == []
    assert len(next(iter(flows.values()))) == 3 and len(meters) == 1

    net.plugin.apply_qos(b.request(qos=QosSpec(policy_name="b", rules=[dscp_marking(10)])))  # whole, as batches
    net.apply(a, [])
    flows, meters = _ours("q1", qos_lab)
    assert len(flows) == 1 and meters == {}  # only b's marking is left
    assert _htb_rows("q1", qos_lab) == ""
    assert net.status(a, QosSpec()).status == QosStatus.AVAILABLE

    net.apply(a, rules)
    net.plugin.unplug_interface(a.request())
    assert len(_ours("q1", qos_lab)[0]) == 1 and _htb_rows("q1", qos_lab) == ""
    net.attachments.remove(a)


def test_tampering_is_read_back_and_repaired(net, qos_lab):
    a, b, _, ip_a, ip_b, _ = net.three_vms(66)
    spec = net.apply(a, [bandwidth_limit(LIMIT_KBPS), bandwidth_limit(LIMIT_KBPS, direction="ingress"), dscp_marking(26)])
    record = qos_lab.plugin.iface_qos("q1", a.iface_id)
    mgmt = f"unix:{host_files('q1', qos_lab.data_dir).dir / 'br-int.mgmt'}"
    ofctl = ["ovs-ofctl", "-O", "OpenFlow13"]
    tap = qos_lab.switch("q1").find(a.iface_id).name
    tamper = {
        "meter removed": ([*ofctl, "del-meter", mgmt, f"meter={record.slot}"], f"meter for port {a.port_id} missing on host q1"),
        "meter changed": ([*ofctl, "mod-meter", mgmt, f"meter={record.slot},kbps,burst,bands=type=drop,rate=80000,burst_size=100"],
                          "limits 80000 kbps (burst 100), expected 8000 kbps (burst 6400)"),
        "flows removed": ([*ofctl, "del-flows", mgmt, f"cookie={COOKIE_BASE | record.slot:#x}/-1"],
                          f"QoS flows for port {a.port_id} missing on host q1"),
        "qdisc removed": (["ip", "netns", "exec", host_netns("q1"), "tc", "qdisc", "del", "dev", tap, "root"],
                          f"htb qdisc for port {a.port_id} missing on host q1"),
        "htb cleared": ([*qos_lab.switch("q1")._prefix, "clear", "Port", tap, "qos"],
                        f"ingress limit (linux-htb) for port {a.port_id} missing on host q1"),
    }  # fmt: skip
    for what, (argv, reason) in tamper.items():
        linux.run(argv)
        report = net.status(a, spec)
        assert report.status == QosStatus.ERROR and reason in report.reason, (what, report)
        assert net.status(a).status == QosStatus.ERROR  # also against what was applied
        repairs = [drift for drift in qos_lab.plugin.reconcile("q1") if getattr(drift, "iface_id", None) == a.iface_id]
        assert repairs and all(str(d).startswith(f"QoS of interface-id {a.iface_id} on host q1") for d in repairs), what
        # Each repair carries what the read-back would have said (the agent shows it, however short-lived).
        assert all(d.found == report.reason for d in repairs), (what, repairs, report)
        assert net.status(a, spec).status == QosStatus.AVAILABLE, what
    assert LOW <= tcp_rate_kbps(a.iface_id, b.iface_id, ip_b) <= HIGH
    assert LOW <= tcp_rate_kbps(b.iface_id, a.iface_id, ip_a) <= HIGH


def test_vswitchd_restart_loses_meters_and_flows_and_reconcile_puts_them_back(net, qos_lab):
    a, b, _, _, ip_b, _ = net.three_vms(67)
    spec = net.apply(a, [bandwidth_limit(LIMIT_KBPS), dscp_marking(26)])
    pid = linux.read_pidfile(host_files("q1", qos_lab.data_dir).vswitchd_pid)
    os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        if not linux.process_alive(pid):
            break
        time.sleep(0.05)
    assert net.status(a, spec).reason == "ovs-vswitchd not running on host q1"
    assert qos_lab.plugin.reconcile_qos("q1") == []  # nothing to converge with
    start_hosts(HOSTS, qos_lab.data_dir)

    report = net.status(a, spec)
    assert report.status == QosStatus.ERROR and f"meter for port {a.port_id} missing on host q1" in report.reason
    qos_lab.plugin.reconcile("q1")
    assert net.status(a, spec).status == QosStatus.AVAILABLE
    assert net.ping(a.iface_id, ip_b)
    assert LOW <= tcp_rate_kbps(a.iface_id, b.iface_id, ip_b) <= HIGH


def test_interface_that_appears_later_is_enforced_by_reconcile(net, qos_lab):
    network, _ = net.network()
    late = qos_lab.iface("late68")
    attachment = net.attach(network, "q1", late)  # no VM yet
    spec = net.apply(attachment, [bandwidth_limit(LIMIT_KBPS)])
    report = net.status(attachment, spec)
    assert report == type(report)(QosStatus.PROVISIONING, f"interface-id {late} not found on host q1")
    net.vm("q1", "late68", "10.68.0.1/24")
    assert net.status(attachment, spec).status == QosStatus.ERROR  # there, but not enforced yet
    qos_lab.plugin.reconcile("q1")
    assert net.status(attachment, spec).status == QosStatus.AVAILABLE


def test_port_without_interface_and_pending_policy(net, qos_lab):
    network, _ = net.network()
    port = net.attach(network, "q1", qos_lab.iface("none69"))
    bare = type(port)(port.network_id, port.port_id, None, None, port.state)  # no attachment
    gold = net.apply(bare, [dscp_marking(26)])
    assert net.status(bare, gold).status == QosStatus.AVAILABLE  # recorded: nothing to enforce
    silver = QosSpec(policy_name="silver", rules=[dscp_marking(8)])
    assert net.status(bare, silver).status == QosStatus.PROVISIONING
    report = net.status(port, gold)  # the interface's host has not had it yet
    assert report.status == QosStatus.PROVISIONING and "not applied yet on host q1" in report.reason
