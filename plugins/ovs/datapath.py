"""Does host H's ovs-vswitchd forward as the API describes? Asked of the switch's datapath, not of
its configuration.

OVSDB holds what was *asked* of the switch; ovs-vswitchd applies it later, and its columns
(link_state, ofport) keep their last values when it is stuck or gone. So a port whose OVSDB row is
right may still not forward: the daemon has not opened the interface yet, has not applied the tag,
or an OpenFlow rule drops the frames. UP is therefore earned by asking ovs-vswitchd itself, over
its unixctl socket (no fork per port):

1. `dpif/show`: the interface is a port of the bridge's datapath (it has a datapath port number);
2. `ofproto/trace br-int in_port=<port>,dl_src=<VM MAC>,dl_dst=ff:ff:ff:ff:ff:ff`: where the
   switch sends a broadcast frame from the interface, through its real flow tables and port
   configuration. The datapath actions must output it to exactly the network's other ports on
   this host (untagged) and to every trunk (tagged with the network's VLAN): nothing missing,
   nothing more (the bridge's own local port aside).

A trace does not change the switch (no MAC learning, no flow installed). Cost per host and check:
one connection, one `dpif/show`, one trace per checked port, all sent at once. What it cannot see:
the kernel side of a veth and the far host (each host traces its own ports), and a frame towards
the VM (the trace is of frames from it); `link_up` and the peer's own check cover those.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from plugins.ovs.unixctl import Unixctl, UnixctlCommandError

BROADCAST = "ff:ff:ff:ff:ff:ff"
# Used when the port does not say its VM's MAC (locally administered, never a real NIC's).
PROBE_MAC = "02:00:00:00:00:01"
# Actions that send the frame somewhere this check does not follow: it cannot vouch for them.
_OPAQUE = ("recirc", "clone", "userspace", "tnl_push", "ct(", "check_pkt_len", "sample")


class SwitchNotAnswering(RuntimeError):
    """The host's ovs-vswitchd does not answer on its control socket (restarting, stuck, gone)."""


@dataclass(frozen=True)
class Reach:
    """What a broadcast frame from one bridge port must reach: `access` ports untagged, `trunks`
    tagged with `vlan`."""

    port: str
    mac: str | None
    vlan: int
    access: frozenset[str]
    trunks: frozenset[str]


@dataclass(frozen=True)
class Output:
    port: str
    vlan: int | None  # None: untagged


def verify(bridge: str, ctl: Path, reaches: Sequence[Reach], *, timeout: float) -> list[str | None]:
    """For each reach, None when the datapath forwards as it says, else why not (one sentence,
    without the host: the caller adds it). Raises SwitchNotAnswering when ovs-vswitchd cannot be
    asked at all."""
    if not reaches:
        return []
    try:
        with Unixctl(ctl, timeout=timeout) as unixctl:
            ports = datapath_ports(unixctl.call("dpif/show"), bridge)
            calls = [("ofproto/trace", [bridge, _flow(reach)]) for reach in reaches if reach.port in ports.values()]
            answers = iter(unixctl.call_many(calls) if calls else [])
    except UnixctlCommandError as error:
        raise SwitchNotAnswering(f"ovs-vswitchd refused dpif/show: {error}") from None
    except (OSError, RuntimeError) as error:
        raise SwitchNotAnswering(f"ovs-vswitchd does not answer ({error})") from None
    verdicts: list[str | None] = []
    for reach in reaches:
        if reach.port not in ports.values():
            verdicts.append(f"port {reach.port} is not in the datapath")
            continue
        answer = next(answers)
        if isinstance(answer, UnixctlCommandError):
            verdicts.append(f"datapath cannot trace port {reach.port}: {answer}")
            continue
        verdicts.append(judge(reach, answer, ports, bridge))
    return verdicts


def datapath_ports(dpif_show: str, bridge: str) -> dict[int, str]:
    """`dpif/show` text -> {datapath port number: port name} of `bridge`'s ports. Its lines read
    `    <name> <ofport>/<datapath port>: (<type>)` under `  <bridge>:`."""
    ports: dict[int, str] = {}
    inside = False
    for line in dpif_show.splitlines():
        if line.startswith("  ") and not line.startswith("    "):
            inside = line.strip() == f"{bridge}:"
            continue
        if not inside or not line.startswith("    "):
            continue
        name, _, rest = line.strip().partition(" ")
        numbers = rest.split(":", 1)[0]
        odp = numbers.rpartition("/")[2]
        if odp.isdigit():
            ports[int(odp)] = name
    return ports


def datapath_outputs(trace: str, ports: dict[int, str]) -> tuple[list[Output], list[str]]:
    """The trace's `Datapath actions:` -> where the frame goes (with its VLAN at that point), and
    the actions this check cannot follow."""
    line = next((ln for ln in trace.splitlines() if ln.startswith("Datapath actions:")), None)
    if line is None:
        return [], ["no datapath actions in the trace"]
    vlan: int | None = None
    outputs: list[Output] = []
    opaque: list[str] = []
    for action in _split_actions(line.partition(":")[2].strip()):
        if action.isdigit():
            outputs.append(Output(ports.get(int(action), f"datapath port {action}"), vlan))
        elif action.startswith("push_vlan("):
            vid = next((kv.partition("=")[2] for kv in action[10:-1].split(",") if kv.startswith("vid=")), "")
            vlan = int(vid) if vid.isdigit() else vlan
        elif action == "pop_vlan":
            vlan = None
        elif action.startswith(_OPAQUE):
            opaque.append(action)
        # "drop", set(...), meter(...): no output, or the frame's fields only
    return outputs, opaque


def judge(reach: Reach, trace: str, ports: dict[int, str], bridge: str) -> str | None:
    outputs, opaque = datapath_outputs(trace, ports)
    if opaque:
        return f"datapath sends frames from port {reach.port} through {', '.join(opaque)}, which this check cannot follow"
    got = {out.port: out.vlan for out in outputs if out.port != bridge}
    for peer in sorted(reach.access):
        if peer not in got:
            return f"datapath does not forward frames from port {reach.port} to port {peer} of its network"
        if got[peer] is not None:
            return f"datapath sends frames from port {reach.port} to port {peer} tagged {got[peer]}, not untagged"
    for trunk in sorted(reach.trunks):
        if trunk not in got:
            return f"datapath does not forward frames from port {reach.port} to trunk {trunk}"
        if got[trunk] != reach.vlan:
            found = "untagged" if got[trunk] is None else f"tagged {got[trunk]}"
            return f"datapath sends frames from port {reach.port} to trunk {trunk} {found}, not tagged {reach.vlan}"
    extra = sorted(set(got) - reach.access - reach.trunks)
    if extra:
        return f"datapath forwards frames from port {reach.port} to port {extra[0]}, not of its network"
    return None


def _flow(reach: Reach) -> str:
    return f"in_port={reach.port},dl_src={reach.mac or PROBE_MAC},dl_dst={BROADCAST}"


def _split_actions(text: str) -> list[str]:
    """Split datapath actions at top-level commas: `push_vlan(vid=1,pcp=0),2` -> two actions."""
    parts, depth, current = [], 0, []
    for char in text:
        if char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        depth += (char == "(") - (char == ")")
        current.append(char)
    if current:
        parts.append("".join(current).strip())
    return [part for part in parts if part]
