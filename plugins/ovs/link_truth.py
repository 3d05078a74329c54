"""The ovs plugin's link status: what UP is based on.

A port's link is UP only when all of these hold on its host, checked in this order (the first that
fails is the DOWN reason):

1. the host's ovsdb-server answers (else DOWN "ovsdb-server on host H not running" when it died,
   UNKNOWN "Open vSwitch on host H not reachable" when there is no such switch here);
2. an interface with the attachment's iface-id is a port of the bridge;
3. ovs-vswitchd runs ("ovs-vswitchd on host H not running");
4. the port is admin ACTIVE, its network has a VLAN, the bridge port carries that VLAN as its tag
   and is not isolated (the configuration, from OVSDB);
5. ovs-vswitchd opened the interface (`ofport` is not -1) and OVS and the kernel see its link up;
6. the datapath forwards (datapath.py): ovs-vswitchd, asked over its control socket, has the port
   in its datapath, and a traced broadcast frame from the interface reaches exactly the network's
   other ports on this host (untagged) and every trunk (tagged with the VLAN). A switch that does
   not answer is "switch on host H restarting (...)".

Steps 1-5 read configuration and state columns, which ovs-vswitchd writes late or not at all
(stuck, restarting); step 6 is what the switch does with a frame now. Cost per host and check:
one OVSDB listing, one bindings read, one control-socket connection with one trace per port.
"""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from netprov.status import NO_ATTACHMENT, AdminState, LinkStatus
from plugins.base import LinkReport
from plugins.ovs import datapath
from plugins.ovs.hosts import BRIDGE, host_files, ovsdb_running
from plugins.ovs.switch import OvsdbUnavailableError, SwitchPort, VSwitch

TRACE_TIMEOUT_S = 3.0
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


@dataclass(frozen=True)
class Wanted:
    """What the API describes for one attached port."""

    host: str
    iface_id: str
    network_id: str
    state: str | None
    vlan: int | None


class BindingLike(Protocol):
    iface_id: str
    network_id: str

    @property
    def live(self) -> bool: ...


def evaluate(
    wanted: Sequence[Wanted | None],
    *,
    switch_for: Callable[[str], VSwitch],
    bindings_for: Callable[[str], Sequence[BindingLike]],
) -> list[LinkReport]:
    """One report per entry (None: a port without attachment)."""
    reports: list[LinkReport | None] = [None] * len(wanted)
    by_host: dict[str, list[int]] = {}
    for index, item in enumerate(wanted):
        if item is None:
            reports[index] = LinkReport(LinkStatus.DOWN, NO_ATTACHMENT)
        else:
            by_host.setdefault(item.host, []).append(index)
    for host, indexes in by_host.items():
        for index, report in zip(indexes, _host_reports(switch_for(host), [wanted[i] for i in indexes], bindings_for)):
            reports[index] = report
    return [report or LinkReport(LinkStatus.UNKNOWN, "not evaluated") for report in reports]


def _host_reports(
    switch: VSwitch, wanted: list[Wanted], bindings_for: Callable[[str], Sequence[BindingLike]]
) -> list[LinkReport]:
    host = switch.host
    try:
        ports = switch.ports()
    except OvsdbUnavailableError:
        return [_unreachable(switch)] * len(wanted)
    by_iface = {port.iface_id: port for port in ports if port.iface_id}
    forwarding = switch.forwarding()
    reports: list[LinkReport | None] = []
    reaches: list[tuple[int, datapath.Reach]] = []
    bindings = {binding.iface_id: binding for binding in bindings_for(host)}
    for index, item in enumerate(wanted):
        port = by_iface.get(item.iface_id)
        report = _configured(switch, item, port, forwarding)
        reports.append(report)
        if report is None and port is not None:
            reaches.append((index, _reach(item, port, ports, bindings)))
    if reaches:
        try:
            verdicts = datapath.verify(
                BRIDGE, host_files(host, switch.data_dir).vswitchd_ctl, [r for _, r in reaches], timeout=TRACE_TIMEOUT_S
            )
        except datapath.SwitchNotAnswering as error:
            verdicts = [f"switch on host {host} restarting or stuck: {error}"] * len(reaches)
        for (index, _), verdict in zip(reaches, verdicts):
            if verdict is None:
                reports[index] = LinkReport(LinkStatus.UP)
            elif verdict.startswith("switch on host"):
                reports[index] = LinkReport(LinkStatus.DOWN, verdict)
            else:
                reports[index] = LinkReport(LinkStatus.DOWN, f"{verdict} on host {host}")
    return [report or LinkReport(LinkStatus.UNKNOWN, "not evaluated") for report in reports]


def _unreachable(switch: VSwitch) -> LinkReport:
    files = host_files(switch.host, switch.data_dir)
    if files.conf_db.exists() and not ovsdb_running(switch.host, switch.data_dir):
        return LinkReport(LinkStatus.DOWN, f"ovsdb-server on host {switch.host} not running")
    return LinkReport(LinkStatus.UNKNOWN, f"Open vSwitch on host {switch.host} not reachable")


def _configured(switch: VSwitch, item: Wanted, port: SwitchPort | None, forwarding: bool) -> LinkReport | None:
    """Steps 2-5: the DOWN report of the first that fails, or None when all hold."""
    host = switch.host
    if port is None:
        return LinkReport(LinkStatus.DOWN, f"interface-id {item.iface_id} not found on host {host}")
    if not forwarding:
        return LinkReport(LinkStatus.DOWN, f"ovs-vswitchd on host {host} not running")
    if item.state == AdminState.DOWN:
        return LinkReport(LinkStatus.DOWN, "port admin DOWN")
    if item.vlan is None:
        return LinkReport(LinkStatus.DOWN, "network not AVAILABLE")
    if port.tag != item.vlan:
        found = "none" if port.tag is None else str(port.tag)
        return LinkReport(LinkStatus.DOWN, f"VLAN tag on host {host} is {found}, expected {item.vlan}")
    if port.protected:
        return LinkReport(LinkStatus.DOWN, f"port isolated on host {host} (protected)")
    if port.ofport is None or port.ofport < 0:
        why = f": {port.error}" if port.error else ""
        return LinkReport(LinkStatus.DOWN, f"switch on host {host} has not opened port {port.name} (ofport -1{why})")
    if not switch.link_up(port):
        return LinkReport(LinkStatus.DOWN, f"link down on host {host}")
    return None


def _reach(item: Wanted, port: SwitchPort, ports: list[SwitchPort], bindings: dict[str, BindingLike]) -> datapath.Reach:
    """Where a broadcast from `port` must go: the bridge ports of this network's other live
    bindings on the host, and every trunk."""
    access = set()
    for other in ports:
        binding = bindings.get(other.iface_id or "")
        if other.name != port.name and binding is not None and binding.live and binding.network_id == item.network_id:
            access.add(other.name)
    trunks = {other.name for other in ports if other.trunks or "netprov-trunk-to" in other.external_ids}
    mac = port.external_ids.get("attached-mac", "").lower()
    return datapath.Reach(
        port=port.name,
        mac=mac if _MAC.match(mac) else None,
        vlan=item.vlan or 0,
        access=frozenset(access),
        trunks=frozenset(trunks),
    )
