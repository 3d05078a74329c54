"""A typed `ovs-vsctl` for one host's bridge, and how a port is put on a VLAN or cut off.

Errors are plugin errors, decided here once::

    PluginError
    ├── TransientPluginError
    │   └── OvsdbUnavailableError   the host's ovsdb cannot be reached, or vswitchd did not answer in time
    └── PermanentPluginError
        └── VsctlError              ovs-vsctl refused the command (no such port, bad value, ...)

Isolation ("dead" ports). A port that must not carry traffic (admin DOWN, not bound to any network)
gets three settings, all columns of OVSDB so they survive a restart of ovs-vswitchd, unlike
OpenFlow rules or port-mod flags:

- `tag=4095`: the dead VLAN, never allocated to a network (ranges lie within 1-4094), so the port
  shares no VLAN with any live port. Alone this is not enough: OVS forwards VLAN 4095 like any
  other, so two dead ports would reach each other, also across a trunk (measured);
- trunks carry 1-4094 only (hosts.py), so dead traffic never leaves its host;
- `protected=true`: protected ports do not forward to each other, so two dead ports on one bridge
  are cut off from each other too.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plugins.base import PermanentPluginError, TransientPluginError
from plugins.ovs import linux
from plugins.ovs.host_layout import BRIDGE, DEAD_VLAN, VSCTL_TIMEOUT_S, host_netns, vsctl_prefix, vswitchd_running
from plugins.ovs.linux import CommandError


# ovs-vsctl's words for "no database" / "no vswitchd": the host is down, not the request wrong.
_UNAVAILABLE = (
    "database connection failed",
    "timeout",
    "timed out",
    "connection refused",
    "not running",
    "alarm clock",
)


class OvsdbUnavailableError(TransientPluginError):
    pass


class VsctlError(PermanentPluginError):
    pass


@dataclass(frozen=True)
class SwitchPort:
    """One port of the bridge and its (single) interface, as OVSDB reports them."""

    name: str
    interface: str
    tag: int | None
    protected: bool
    trunks: tuple[int, ...]
    external_ids: dict[str, str] = field(default_factory=dict)
    link_state: str | None = None
    admin_state: str | None = None
    ofport: int | None = None
    error: str | None = None

    @property
    def iface_id(self) -> str | None:
        return self.external_ids.get("iface-id")

    @property
    def isolated(self) -> bool:
        return self.tag == DEAD_VLAN and self.protected


class VSwitch:
    """ovs-vsctl on host H's bridge `br-int`. Stateless: safe to share between threads."""

    def __init__(self, host: str, data_dir: Path | str, *, timeout: float = VSCTL_TIMEOUT_S) -> None:
        self.host = host
        self.data_dir = Path(data_dir)
        self.timeout = timeout
        self._prefix = vsctl_prefix(host, data_dir, timeout=timeout)

    def vsctl(self, *args: str) -> str:
        """Run `ovs-vsctl ARGS` against this host; return stdout. Writes wait until ovs-vswitchd has
        applied them (bounded by the timeout), so a returned call is in effect."""
        try:
            return linux.run([*self._prefix, *args], timeout=self.timeout + 5).stdout
        except CommandError as error:
            text = error.stderr.lower()
            if error.not_installed:
                raise VsctlError(f"Open vSwitch is not installed here: {error.stderr}") from None
            if any(word in text for word in _UNAVAILABLE) or error.returncode in (None, 142, -14):
                raise OvsdbUnavailableError(
                    f"Open vSwitch on host {self.host} is not reachable: {error.stderr}"
                ) from None
            raise VsctlError(f"ovs-vsctl on host {self.host} failed: {error.stderr}") from None

    # --- reading ---------------------------------------------------------------------------------

    def ports(self) -> list[SwitchPort]:
        """Every port of the bridge except the bridge's own internal port."""
        out = self.vsctl(
            "--format=json",
            "--columns=_uuid,name,tag,protected,trunks,interfaces", "list", "Port",
            "--", "--columns=_uuid,name,external_ids,link_state,admin_state,ofport,error", "list", "Interface",
        )  # fmt: skip
        port_table, iface_table = (json.loads(line) for line in out.splitlines() if line.strip())
        interfaces = {row["_uuid"]: row for row in _rows(iface_table)}
        ports = []
        for row in _rows(port_table):
            if row["name"] == BRIDGE:
                continue
            iface = next((interfaces[u] for u in _as_set(row["interfaces"]) if u in interfaces), None)
            if iface is None:
                continue
            ports.append(
                SwitchPort(
                    name=row["name"],
                    interface=iface["name"],
                    tag=_optional(row["tag"]),
                    protected=bool(row["protected"]),
                    trunks=tuple(sorted(_as_set(row["trunks"]))),
                    external_ids=iface["external_ids"],
                    link_state=_optional(iface["link_state"]),
                    admin_state=_optional(iface["admin_state"]),
                    ofport=_optional(iface["ofport"]),
                    error=_optional(iface["error"]),
                )
            )
        return ports

    def find(self, iface_id: str) -> SwitchPort | None:
        """The port whose interface has `external_ids:iface-id=<iface_id>`, or None."""
        return next((port for port in self.ports() if port.iface_id == iface_id), None)

    def kernel_operstate(self, device: str) -> str | None:
        """The kernel's operstate of `device` in this host's namespace, None when it is absent."""
        return linux.operstate(device, host_netns(self.host))

    def forwarding(self) -> bool:
        """True when this host's ovs-vswitchd runs (checked on the host itself, by its pid file)."""
        return vswitchd_running(self.host, self.data_dir)

    def link_up(self, port: SwitchPort) -> bool:
        """OVS sees the link up and so does the kernel (the VM end of the veth is up too)."""
        return port.link_state == "up" and self.kernel_operstate(port.interface) in ("UP", "UNKNOWN")

    # --- writing ---------------------------------------------------------------------------------

    def attach(self, port: str, vlan: int) -> None:
        """Put `port` on `vlan` as an access port, and lift any isolation."""
        if not 1 <= vlan <= 4094:
            raise VsctlError(f"VLAN {vlan} is not a usable VLAN id (1-4094)")
        self.vsctl("set", "Port", port, f"tag={vlan}", "protected=false")

    def isolate(self, port: str) -> None:
        """Cut `port` off from every network (see the module docstring)."""
        self.vsctl("set", "Port", port, f"tag={DEAD_VLAN}", "protected=true")

    def set_tag(self, port: str, vlan: int) -> None:
        self.vsctl("set", "Port", port, f"tag={vlan}")

    def clear_tag(self, port: str) -> None:
        self.vsctl("clear", "Port", port, "tag")


def _rows(table: dict[str, Any]) -> list[dict[str, Any]]:
    headings = table["headings"]
    return [{name: _decode(value) for name, value in zip(headings, row)} for row in table["data"]]


def _decode(value: Any) -> Any:
    """OVSDB JSON -> Python: ["uuid", u] -> u, ["set", [...]] -> list, ["map", [...]] -> dict."""
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
        kind, inner = value
        if kind in ("uuid", "named-uuid"):
            return inner
        if kind == "set":
            return [_decode(item) for item in inner]
        if kind == "map":
            return {_decode(k): _decode(v) for k, v in inner}
    return value


def _as_set(value: Any) -> list[Any]:
    """A set column: OVSDB writes a one-element set as the bare element."""
    return value if isinstance(value, list) else [value]


def _optional(value: Any) -> Any:
    """An optional OVSDB column is a set of zero or one value."""
    if isinstance(value, list):
        return value[0] if value else None
    return value
