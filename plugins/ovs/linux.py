"""The Linux side of the ovs plugin: running tools, network namespaces, links, processes.

Every command runs with /usr/sbin and /sbin on PATH (Open vSwitch's daemons live there, and CI may
run with a user's PATH). Failures raise `CommandError` with the command's own stderr.
"""

import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

_SBIN = ("/usr/local/sbin", "/usr/sbin", "/sbin")

# Tool -> Debian package that ships it. ovs-vsctl and ovsdb-tool come with openvswitch-common, a
# dependency of openvswitch-switch. ethtool turns off TX checksum offload on dev VM veths: the
# userspace datapath forwards their packets with the checksum left unfilled, so TCP would fail.
OVS_TOOLS: dict[str, str] = {
    "ovs-vsctl": "openvswitch-switch",
    "ovsdb-tool": "openvswitch-switch",
    "ovsdb-server": "openvswitch-switch",
    "ovs-vswitchd": "openvswitch-switch",
    "ip": "iproute2",
    "ethtool": "ethtool",
}
OVS_SCHEMA = Path("/usr/share/openvswitch/vswitch.ovsschema")


class CommandError(RuntimeError):
    """A command exited non-zero, timed out, or is not installed."""

    def __init__(
        self, argv: Sequence[str], message: str, *, returncode: int | None = None, not_installed: bool = False
    ) -> None:
        super().__init__(f"{' '.join(argv)}: {message}")
        self.argv = list(argv)
        self.stderr = message
        self.returncode = returncode
        self.not_installed = not_installed


class ToolsUnavailableError(RuntimeError):
    """Open vSwitch (or another tool it needs) is missing and cannot be installed here."""


def command_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    path = env.get("PATH", "/usr/bin:/bin").split(os.pathsep)
    env["PATH"] = os.pathsep.join(path + [d for d in _SBIN if d not in path])
    env.update(extra or {})
    return env


def which(tool: str) -> str | None:
    return shutil.which(tool, path=command_env()["PATH"])


def run(
    argv: Sequence[str],
    *,
    timeout: float = 30.0,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run `argv` without a shell; return the finished process (stdout/stderr as text)."""
    try:
        done = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=command_env(env),
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise CommandError(argv, f"{argv[0]} is not installed", not_installed=True) from None
    except subprocess.TimeoutExpired:
        raise CommandError(argv, f"timed out after {timeout:g} s") from None
    if check and done.returncode != 0:
        raise CommandError(argv, (done.stderr or done.stdout).strip(), returncode=done.returncode)
    return done


# --- tools ---------------------------------------------------------------------------------------


def missing_tools(tools: Mapping[str, str]) -> list[str]:
    missing = [tool for tool in tools if which(tool) is None]
    if "ovsdb-tool" in tools and not OVS_SCHEMA.exists():
        missing.append(str(OVS_SCHEMA))
    return missing


def ensure_tools(tools: Mapping[str, str]) -> None:
    """Install the Debian packages of missing `tools` ({tool: package}) when we are root and have
    apt-get; raise ToolsUnavailableError (one line) when they are missing and cannot be installed."""
    missing = missing_tools(tools)
    if not missing:
        return
    packages = sorted({tools.get(tool, "openvswitch-switch") for tool in missing})
    if os.geteuid() != 0 or which("apt-get") is None:
        raise ToolsUnavailableError(
            f"missing {', '.join(missing)}; install {' '.join(packages)} as root (apt-get install)"
        )
    apt_env = {"DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]
    try:
        if run(install, timeout=600, env=apt_env, check=False).returncode != 0:
            # A fresh machine has no package lists yet.
            run(["apt-get", "update", "-q"], timeout=600, env=apt_env)
            run(install, timeout=600, env=apt_env)
    except CommandError as error:
        raise ToolsUnavailableError(f"cannot install {' '.join(packages)}: {error}") from None
    still = missing_tools(tools)
    if still:
        raise ToolsUnavailableError(f"still missing after installing {' '.join(packages)}: {', '.join(still)}")


# --- network namespaces and links ---------------------------------------------------------------


def netns_exists(name: str) -> bool:
    return Path("/run/netns", name).exists() or Path("/var/run/netns", name).exists()


def netns_add(name: str) -> None:
    """Create namespace `name` with its loopback up; an existing one is kept."""
    if not netns_exists(name):
        run(["ip", "netns", "add", name])
    run(["ip", "-n", name, "link", "set", "lo", "up"])


def disable_ipv6(netns: str) -> None:
    """No IPv6 on links created in `netns` from now on (and on those already there)."""
    for scope in ("default", "all"):
        path = f"/proc/sys/net/ipv6/conf/{scope}/disable_ipv6"
        # /proc/sys/net shows the namespace of the process reading it; no such file without IPv6.
        run(["ip", "netns", "exec", netns, "sh", "-c", f"test ! -e {path} || echo 1 > {path}"], check=False)


def netns_delete(name: str) -> None:
    if netns_exists(name):
        run(["ip", "netns", "delete", name], check=False)


def netns_pids(name: str) -> list[int]:
    if not netns_exists(name):
        return []
    done = run(["ip", "netns", "pids", name], check=False)
    return [int(pid) for pid in done.stdout.split() if pid.isdigit()]


def link_info(device: str, netns: str | None = None) -> dict | None:
    """`ip -j link show` for one device (in `netns`), or None when it does not exist."""
    argv = ["ip", *(["-n", netns] if netns else []), "-j", "link", "show", "dev", device]
    done = run(argv, check=False)
    if done.returncode != 0:
        return None
    try:
        rows = json.loads(done.stdout or "[]")
    except json.JSONDecodeError:
        return None
    return rows[0] if rows else None


def operstate(device: str, netns: str | None = None) -> str | None:
    """The kernel's operstate of `device` ("UP", "DOWN", "LOWERLAYERDOWN", ...), None when absent."""
    info = link_info(device, netns)
    return None if info is None else str(info.get("operstate", "UNKNOWN"))


def link_delete(device: str, netns: str | None = None) -> None:
    if link_info(device, netns) is not None:
        run(["ip", *(["-n", netns] if netns else []), "link", "delete", "dev", device], check=False)


def veth_pair(name: str, netns: str, peer: str, peer_netns: str) -> None:
    """Create veth `name` in `netns` with its peer `peer` in `peer_netns`, both set up. Created
    directly inside the namespaces, so the names only need to be unique there."""
    run(["ip", "link", "add", name, "netns", netns, "type", "veth", "peer", "name", peer, "netns", peer_netns])
    run(["ip", "-n", netns, "link", "set", name, "up"])
    run(["ip", "-n", peer_netns, "link", "set", peer, "up"])


def disable_tx_checksum_offload(device: str, netns: str) -> None:
    # Best effort: without ethtool only TCP suffers (ICMP carries a full checksum).
    if which("ethtool") is not None:
        run(["ip", "netns", "exec", netns, "ethtool", "-K", device, "tx", "off"], check=False)


# --- processes -----------------------------------------------------------------------------------


def process_alive(pid: int) -> bool:
    """True when `pid` runs and is not a zombie (a daemon whose parent never reaps it stays one)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state follows the parenthesised command name, which may itself contain spaces.
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def process_cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def read_pidfile(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
