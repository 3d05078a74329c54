"""How a QoS policy is enforced on a host's userspace bridge, read back, and put back.

Mechanisms (measured on OVS 3.1, datapath_type=netdev, see QOS_DEVICE_DRAFT.md for the numbers):

- egress limit (leaving the VM): an OpenFlow 1.3 meter (one drop band, kbps, burst = burst_kbps)
  applied by a flow on the VM port's in_port. `Interface ingress_policing_rate` is not used: OVSDB
  accepts it, but the userspace datapath reads packets before tc ingress runs, so nothing is limited;
- ingress limit (to the VM): a `linux-htb` QoS row on the VM's port (one queue, max-rate and
  burst), which ovs-vswitchd turns into an htb qdisc on the tap: it shapes what the bridge sends
  into the VM. `egress-policer` is DPDK-only and did nothing here;
- DSCP marking: `set_field:<dscp>->ip_dscp` on the VM's ip and ipv6 packets (the IPv4 TOS DSCP
  bits, the IPv6 traffic class), in the same flows as the meter.

Every flow ends in NORMAL, so VLAN tagging, the dead VLAN and `protected` (switch.py) still decide
where a packet may go: QoS flows only add a meter and a mark before the bridge's usual forwarding.
Each interface with a policy has a *slot* (allocated per host, qos_plugin.py): its meter id, and
the low 32 bits of the cookie of its flows; the high 32 bits (`COOKIE_BASE`) mark netprov's QoS
flows, so a dump finds exactly ours and a bundle replaces exactly one port's. The htb rows carry
`external_ids:netprov-iface-id`.

Meters and flows live in ovs-vswitchd: a restart loses them (the htb rows live in OVSDB and come
back by themselves). `read_host` reads what is really in force (dump-flows, dump-meters, OVSDB QoS
rows and the kernel's htb class); `problems` compares it with `enforcement(...)`, `converge` puts
it right, `sweep` removes what belongs to no policy.
"""

import json
import re
from dataclasses import dataclass, field

from netprov.qos import QosDirection, QosRule, QosRuleType, burst_kbps
from plugins.ovs import linux
from plugins.ovs.host_layout import host_netns
from plugins.ovs.ofctl import Meter, OpenFlowBridge
from plugins.ovs.switch import SwitchPort, VSwitch, _optional, _rows

COOKIE_BASE = 0x6E70716F << 32  # "npqo"
COOKIE_MASK = 0xFFFFFFFF << 32
# Above the bridge's own NORMAL flow (priority 0); the DSCP flows above the plain meter flow.
METER_PRIORITY = 100
DSCP_PRIORITY = 101
IFACE_KEY = "netprov-iface-id"
# The kernel shows htb rates rounded to units ("7500Kbit"); within this much they are equal.
_TC_TOLERANCE = 0.02
_TC_ROOT_CLASS = re.compile(r"class htb 1:fffe root .*?rate (?P<value>[\d.]+)(?P<unit>[KMGT]?)bit")
_UNITS = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def cookie_of(slot: int) -> int:
    return COOKIE_BASE | slot


@dataclass(frozen=True)
class Htb:
    rate_bps: int
    burst_bits: int


@dataclass(frozen=True)
class Enforcement:
    """What host H's switch must hold for one interface (port `port_id`, slot `slot`)."""

    port_id: str
    slot: int
    meter: Meter | None
    flows: frozenset[str]
    htb: Htb | None

    @property
    def cookie(self) -> int:
        return cookie_of(self.slot)


def enforcement(port_id: str, rules: list[QosRule], slot: int, ofport: int) -> Enforcement:
    """The meter, flows and htb that enforce `rules` for the interface at OpenFlow port `ofport`."""
    by_key = {rule.key: rule for rule in rules}
    egress = by_key.get(f"{QosRuleType.BANDWIDTH_LIMIT}/{QosDirection.EGRESS}")
    ingress = by_key.get(f"{QosRuleType.BANDWIDTH_LIMIT}/{QosDirection.INGRESS}")
    dscp = by_key.get(QosRuleType.DSCP_MARKING.value)
    meter = Meter(slot, egress.max_kbps or 0, burst_kbps(egress)) if egress else None
    metered = [f"meter:{slot}"] if meter else []
    flows = set()
    if meter:
        flows.add(f"priority={METER_PRIORITY},in_port={ofport} actions={','.join([*metered, 'NORMAL'])}")
    if dscp:
        actions = ",".join([*metered, f"set_field:{dscp.dscp_mark}->ip_dscp", "NORMAL"])
        flows |= {f"priority={DSCP_PRIORITY},{proto},in_port={ofport} actions={actions}" for proto in ("ip", "ipv6")}
    htb = Htb((ingress.max_kbps or 0) * 1000, burst_kbps(ingress) * 1000) if ingress else None
    return Enforcement(port_id, slot, meter, frozenset(flows), htb)


@dataclass(frozen=True)
class QosRow:
    """A QoS row of OVSDB with its queue 0."""

    uuid: str
    type: str
    max_rate: int | None
    iface_id: str | None
    queue_uuids: tuple[str, ...] = ()
    queue_max_rate: int | None = None
    queue_burst: int | None = None

    def matches(self, htb: Htb) -> bool:
        return (self.type, self.max_rate, self.queue_max_rate, self.queue_burst) == (
            "linux-htb", htb.rate_bps, htb.rate_bps, htb.burst_bits
        )  # fmt: skip


@dataclass
class HostQos:
    """What host H's switch really holds, read once for many ports."""

    host: str
    ports: dict[str, SwitchPort]  # by iface-id
    flows: dict[int, set[str]]  # by cookie, netprov's QoS flows only
    meters: dict[int, Meter]
    port_qos: dict[str, QosRow | None]  # by port name
    qos_rows: dict[str, QosRow]
    _tc: dict[str, int | None] = field(default_factory=dict)

    def tc_rate(self, device: str) -> int | None:
        """The rate (bit/s) of the htb root class the kernel has on `device`, None without one. The
        first call asks the kernel about every port with a netprov htb row, in one process."""
        if device not in self._tc:
            wanted = {device} | {name for name, row in self.port_qos.items() if row is not None and row.iface_id}
            self._tc.update(_tc_root_rates(self.host, sorted(wanted - set(self._tc))))
        return self._tc.get(device)


def _tc_root_rates(host: str, devices: list[str]) -> dict[str, int | None]:
    # Device names come from OVSDB port names (tap<hex>, trunk ends): quoted all the same.
    script = "; ".join(f"echo '== {d}'; tc class show dev '{d}' 2>/dev/null" for d in devices if "'" not in d)
    done = linux.run(["ip", "netns", "exec", host_netns(host), "sh", "-c", script], check=False)
    rates: dict[str, int | None] = dict.fromkeys(devices)
    for section in done.stdout.split("== ")[1:]:
        name, _, text = section.partition("\n")
        match = _TC_ROOT_CLASS.search(text)
        rates[name.strip()] = round(float(match["value"]) * _UNITS[match["unit"]]) if match else None
    return rates


def read_host(switch: VSwitch, bridge: OpenFlowBridge) -> HostQos:
    """Read host H's QoS state: OVSDB (ports, QoS and Queue rows), then ovs-vswitchd (flows, meters)."""
    out = switch.vsctl(
        "--format=json",
        "--columns=_uuid,type,other_config,queues,external_ids", "list", "QoS",
        "--", "--columns=_uuid,other_config", "list", "Queue",
        "--", "--columns=name,qos", "list", "Port",
    )  # fmt: skip
    qos_table, queue_table, port_table = (json.loads(line) for line in out.splitlines() if line.strip())
    queues = {row["_uuid"]: row["other_config"] for row in _rows(queue_table)}
    qos_rows = {}
    for row in _rows(qos_table):
        queue_map = row["queues"] if isinstance(row["queues"], dict) else {}
        first = queues.get(queue_map.get(0, ""), {})
        qos_rows[row["_uuid"]] = QosRow(
            uuid=row["_uuid"],
            type=row["type"],
            max_rate=_int(row["other_config"].get("max-rate")),
            iface_id=row["external_ids"].get(IFACE_KEY),
            queue_uuids=tuple(queue_map.values()),
            queue_max_rate=_int(first.get("max-rate")),
            queue_burst=_int(first.get("burst")),
        )
    port_qos = {row["name"]: qos_rows.get(_optional(row["qos"]) or "") for row in _rows(port_table)}
    return HostQos(
        host=switch.host,
        ports={port.iface_id: port for port in switch.ports() if port.iface_id},
        flows=bridge.flows(COOKIE_BASE, COOKIE_MASK),
        meters=bridge.meters(),
        port_qos=port_qos,
        qos_rows=qos_rows,
    )


def problem_reason(want: Enforcement, state: HostQos, port: SwitchPort) -> str | None:
    """`problems` as the one ERROR reason a read-back gives (None: the switch enforces exactly `want`)."""
    return "; ".join(problems(want, state, port)) or None


def problems(want: Enforcement, state: HostQos, port: SwitchPort) -> list[str]:
    """How the switch differs from `want`, one sentence each (empty: it enforces exactly that)."""
    host, subject = state.host, f"port {want.port_id}"
    found: list[str] = []
    meter = state.meters.get(want.slot)
    if want.meter and meter is None:
        found.append(f"meter for {subject} missing on host {host}")
    elif want.meter and meter != want.meter:
        found.append(f"meter for {subject} on host {host} limits {meter.rate_kbps} kbps (burst {meter.burst_kbit}),"
                     f" expected {want.meter.rate_kbps} kbps (burst {want.meter.burst_kbit})")  # fmt: skip
    elif not want.meter and meter is not None:
        found.append(f"meter for {subject} on host {host} still limits {meter.rate_kbps} kbps")
    flows = state.flows.get(want.cookie, set())
    if want.flows and not flows:
        found.append(f"QoS flows for {subject} missing on host {host}")
    elif flows != want.flows:
        found.append(f"QoS flows for {subject} on host {host} differ: {len(want.flows - flows)} missing,"
                     f" {len(flows - want.flows)} unexpected")  # fmt: skip
    row = state.port_qos.get(port.name)
    if want.htb is None:
        if row is not None and row.iface_id is not None:
            found.append(f"ingress limit for {subject} on host {host} still in place")
        return found
    return found + _htb_problems(want.htb, subject, state, port)


def _htb_problems(htb: Htb, subject: str, state: HostQos, port: SwitchPort) -> list[str]:
    """How the port's linux-htb QoS (OVSDB) and the kernel's htb class differ from `htb`."""
    host, kbps = state.host, htb.rate_bps // 1000
    row = state.port_qos.get(port.name)
    if row is None:
        return [f"ingress limit (linux-htb) for {subject} missing on host {host}"]
    if not row.matches(htb):
        have = "none" if row.queue_max_rate is None else f"{row.queue_max_rate // 1000} kbps"
        return [f"ingress limit for {subject} on host {host} is {row.type} {have}, expected linux-htb {kbps} kbps"]
    rate = state.tc_rate(port.interface)
    if rate is None:
        return [f"htb qdisc for {subject} missing on host {host} (interface {port.interface})"]
    if abs(rate - htb.rate_bps) > htb.rate_bps * _TC_TOLERANCE:
        return [f"htb on host {host} limits {subject} to {rate // 1000} kbps, expected {kbps} kbps"]
    return []


def converge(switch: VSwitch, bridge: OpenFlowBridge, want: Enforcement, state: HostQos, port: SwitchPort) -> list[str]:
    """Make the switch hold exactly `want` for this port; return what was changed, one item each.
    Order matters: a meter exists before a flow uses it and goes after the flows that used it."""
    changes = []
    meter = state.meters.get(want.slot)
    if want.meter and meter != want.meter:
        bridge.set_meter(want.meter, exists=meter is not None)
        changes.append(f"meter {want.slot} {'changed' if meter else 'added'}: {want.meter.rate_kbps} kbps")
    if state.flows.get(want.cookie, set()) != want.flows:
        bridge.replace_flows(want.cookie, sorted(want.flows))
        changes.append(f"QoS flows (cookie {want.cookie:#x}) {'replaced' if want.flows else 'removed'}")
    if not want.meter and meter is not None:
        bridge.delete_meter(want.slot)
        changes.append(f"meter {want.slot} removed")
    row = state.port_qos.get(port.name)
    if want.htb is not None:
        if _htb_problems(want.htb, want.port_id, state, port):
            _remove_htb(switch, port, row)
            _create_htb(switch, port, want.htb)
            changes.append(f"ingress linux-htb {want.htb.rate_bps // 1000} kbps set on {port.name}")
    elif row is not None and row.iface_id is not None:
        _remove_htb(switch, port, row)
        changes.append(f"ingress linux-htb removed from {port.name}")
    return changes


def sweep(switch: VSwitch, bridge: OpenFlowBridge, state: HostQos, slots: set[int], htb_ifaces: set[str]) -> list[str]:
    """Remove netprov's QoS flows and meters of no slot in `slots`, and netprov's htb rows of no
    interface in `htb_ifaces`; return what was removed."""
    removed = []
    for cookie in sorted(state.flows):
        if cookie & ~COOKIE_MASK not in slots:
            bridge.replace_flows(cookie, [])
            removed.append(f"stray QoS flows (cookie {cookie:#x}) removed")
    for meter_id in sorted(set(state.meters) - slots):
        bridge.delete_meter(meter_id)
        removed.append(f"stray meter {meter_id} removed")
    ports = {port.name: port for port in state.ports.values()}
    referenced = set()
    for name, row in state.port_qos.items():
        if row is None:
            continue
        referenced.add(row.uuid)
        if row.iface_id is not None and row.iface_id not in htb_ifaces and name in ports:
            _remove_htb(switch, ports[name], row)
            removed.append(f"stray ingress linux-htb removed from {name}")
    for row in state.qos_rows.values():
        if row.iface_id is not None and row.uuid not in referenced:
            _destroy_rows(switch, row)
            removed.append(f"unused linux-htb row {row.uuid} removed")
    return removed


def _create_htb(switch: VSwitch, port: SwitchPort, htb: Htb) -> None:
    iface_id = port.iface_id or ""
    switch.vsctl(
        "--", "set", "Port", port.name, "qos=@qos",
        "--", "--id=@qos", "create", "QoS", "type=linux-htb", f"other-config:max-rate={htb.rate_bps}",
        f"external-ids:{IFACE_KEY}={iface_id}", "queues:0=@queue",
        "--", "--id=@queue", "create", "Queue", f"other-config:max-rate={htb.rate_bps}",
        f"other-config:burst={htb.burst_bits}", f"external-ids:{IFACE_KEY}={iface_id}",
    )  # fmt: skip


def _remove_htb(switch: VSwitch, port: SwitchPort, row: QosRow | None) -> None:
    # Two transactions: ovs-vswitchd must see the port without QoS (and take the qdisc off the
    # tap) before a new row is set; clearing and setting in one would look like no change at all,
    # and an htb qdisc deleted by hand would stay deleted.
    switch.vsctl("clear", "Port", port.name, "qos")
    if row is not None and row.iface_id is not None:
        _destroy_rows(switch, row)


def _destroy_rows(switch: VSwitch, row: QosRow) -> None:
    args = ["--", "--if-exists", "destroy", "QoS", row.uuid]
    for queue in row.queue_uuids:
        args += ["--", "--if-exists", "destroy", "Queue", queue]
    switch.vsctl(*args)


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() else None
