"""Link status: what a plugin reports for a port's link, and the inputs and results of the link
monitor's workflow and activities (the wire format between them, as netprov/workflow_io.py is for the
resource workflows). Dataclasses with defaults, so fields can be added compatibly."""

from dataclasses import dataclass, field

from netprov.status import LinkStatus


@dataclass
class LinkReport:
    """A plugin's answer for one port: its link status and, unless UP, why."""

    status: LinkStatus
    reason: str | None = None


@dataclass
class LinkMonitorConfig:
    interval_s: float = 5.0
    agent_check_timeout_s: float = 5.0


@dataclass
class LinkMonitorInput:
    config: LinkMonitorConfig = field(default_factory=LinkMonitorConfig)
    # Carried over by continue-as-new: hosts found dead -> the newest poll seen when they were.
    dead: dict[str, float] = field(default_factory=dict)


@dataclass
class HostPollers:
    """What Temporal knows of the pollers on host H's check queue (`netprov-checks-H`)."""

    host: str
    pollers: int = 0
    # Epoch seconds of the newest poll seen (a poller's last_access_time); None when none is listed.
    last_poll: float | None = None
    identities: list[str] = field(default_factory=list)
    # Why the task queue could not be described (the check then goes ahead and decides).
    error: str | None = None


@dataclass
class MonitorPlan:
    hosts: list[HostPollers] = field(default_factory=list)


@dataclass
class HostCheckInput:
    host: str


@dataclass
class HostCheckResult:
    host: str
    ports: int = 0
    checked: int = 0
    up: int = 0
    written: int = 0
    # Drift repaired by reconcile, one sentence each (e.g. "interface-id vif-1 on host h1: tag none -> tag 101").
    repaired: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class DeadHostsInput:
    hosts: list[str] = field(default_factory=list)
