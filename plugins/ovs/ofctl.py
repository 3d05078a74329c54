"""A typed `ovs-ofctl -O OpenFlow13` for one host's bridge: flows by cookie, and meters.

Flows and meters live in ovs-vswitchd only (not in OVSDB): they are gone when it restarts, and only
a dump tells what is really installed. Errors map to the plugin errors as in switch.py: the bridge's
management socket not answering (vswitchd down) is `OvsdbUnavailableError` (transient), anything
else ovs-ofctl refuses is `VsctlError` (permanent).
"""

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from plugins.ovs import linux
from plugins.ovs.host_layout import BRIDGE, host_files
from plugins.ovs.linux import CommandError
from plugins.ovs.switch import OvsdbUnavailableError, VsctlError

_UNREACHABLE = ("failed to connect", "connection refused", "no such file", "timed out", "connection reset")
_METER = re.compile(
    r"meter=(?P<id>\d+)\s+(?P<flags>[a-z ]*?)\s*bands=\s*type=drop\s+rate=(?P<rate>\d+)(?:\s+burst_size=(?P<burst>\d+))?"
)


@dataclass(frozen=True)
class Meter:
    """An OpenFlow meter with one drop band, in kbps / kbit."""

    meter_id: int
    rate_kbps: int
    burst_kbit: int


class OpenFlowBridge:
    """ovs-ofctl on host H's `br-int`, over its management socket. Stateless: safe to share."""

    def __init__(self, host: str, data_dir: Path | str, *, timeout: float = 10.0) -> None:
        self.host = host
        self.timeout = timeout
        self.target = f"unix:{host_files(host, data_dir).dir / f'{BRIDGE}.mgmt'}"

    def ofctl(self, *args: str) -> str:
        argv = ["ovs-ofctl", "-O", "OpenFlow13", f"--timeout={max(1, round(self.timeout))}", *args]
        try:
            return linux.run(argv, timeout=self.timeout + 5).stdout
        except CommandError as error:
            if error.not_installed:
                raise VsctlError(f"Open vSwitch is not installed here: {error.stderr}") from None
            if any(word in error.stderr.lower() for word in _UNREACHABLE) or error.returncode is None:
                raise OvsdbUnavailableError(f"ovs-vswitchd on host {self.host} is not reachable: {error.stderr}") from None
            raise VsctlError(f"ovs-ofctl on host {self.host} failed: {error.stderr}") from None

    # --- flows ------------------------------------------------------------------------------------

    def flows(self, cookie: int, mask: int) -> dict[int, set[str]]:
        """{cookie: {"priority=...,match actions=..."}} of the flows whose cookie matches under `mask`."""
        out = self.ofctl("--no-stats", "--no-names", "dump-flows", self.target, f"cookie={cookie:#x}/{mask:#x}")
        found: dict[int, set[str]] = {}
        for line in out.splitlines():
            line = line.strip()
            if not line.startswith("cookie="):
                continue
            head, _, flow = line.partition(", ")
            found.setdefault(int(head.removeprefix("cookie="), 16), set()).add(flow.strip())
        return found

    def replace_flows(self, cookie: int, flows: list[str]) -> None:
        """Atomically (one bundle) delete every flow with exactly `cookie` and add `flows`
        ("priority=...,match actions=..."), all with that cookie."""
        lines = [f"delete cookie={cookie:#x}/-1"]
        lines += [f"add cookie={cookie:#x},{flow.replace(' actions=', ',actions=')}" for flow in flows]
        with tempfile.NamedTemporaryFile("w", suffix=".flows") as batch:
            batch.write("\n".join(lines) + "\n")
            batch.flush()
            self.ofctl("--bundle", "add-flows", self.target, batch.name)

    # --- meters -----------------------------------------------------------------------------------

    def meters(self) -> dict[int, Meter]:
        out = self.ofctl("dump-meters", self.target)
        return {
            int(m["id"]): Meter(int(m["id"]), int(m["rate"]), int(m["burst"] or 0))
            for m in _METER.finditer(" ".join(out.split()))
        }

    def set_meter(self, meter: Meter, *, exists: bool) -> None:
        """Add the meter, or (`exists`) change the one with its id."""
        spec = f"meter={meter.meter_id},kbps,burst,stats,bands=type=drop,rate={meter.rate_kbps},burst_size={meter.burst_kbit}"
        self.ofctl("mod-meter" if exists else "add-meter", self.target, spec)

    def delete_meter(self, meter_id: int) -> None:
        self.ofctl("del-meter", self.target, f"meter={meter_id}")
