"""The dev stack's parts as supervised services (devstack/supervisor.py): how each is restarted,
how its death is seen, and what is done right after it died."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from pathlib import Path

from devstack.children import Child
from devstack.supervisor import Service, exit_detail
from devstack.temporal_server import TemporalDevServer
from netprov.settings import Settings


def child_service(child: Child, env: dict[str, str], on_exit: Callable[[], None] | None = None) -> Service:
    return Service(
        name=child.name,
        start=lambda: child.start(env),
        alive=lambda: child.exit_code is None,
        pid=lambda: child.proc.pid if child.proc is not None else None,
        exit_detail=lambda: exit_detail(child.exit_code),
        on_exit=on_exit,
    )


def temporal_service(temporal: TemporalDevServer) -> Service:
    """Restarted on the same ports and database file: workflows, timers and search attributes
    survive, and the workers reconnect by themselves."""

    return Service(
        name="temporal",
        start=temporal.start,
        alive=lambda: temporal.running,
        pid=lambda: temporal.pid,
        exit_detail=lambda: exit_detail(temporal.exit_code),
    )


def switch_services(hosts: Sequence[str], data_dir: Path) -> list[Service]:
    """One service per host's Open vSwitch (its ovsdb-server and ovs-vswitchd), restarted as the
    distribution's units would be. A restart starts only what is missing and keeps conf.db, so the
    switch comes back with its configuration; the host's agent puts back anything it lost."""
    hosts_module = importlib.import_module("plugins.ovs.hosts")
    linux = importlib.import_module("plugins.ovs.linux")

    def service(host: str) -> Service:
        files = hosts_module.host_files(host, data_dir)
        return Service(
            name=f"switch {host}",
            start=lambda: hosts_module.start_hosts(list(hosts), data_dir),
            alive=lambda: hosts_module.host_running(host, data_dir),
            pid=lambda: linux.read_pidfile(files.vswitchd_pid),
            exit_detail=lambda: (
                "ovs-vswitchd not running" if not hosts_module.vswitchd_running(host, data_dir) else "ovsdb-server not running"
            ),
        )

    return [service(host) for host in hosts]


def agent_death_notice(settings: Settings, host: str) -> Callable[[], None]:
    """What runs when host H's agent died: its ports show link DOWN "agent on host H not running"
    now, not one monitor cycle plus a check timeout later. The restarted agent's first check
    writes what the switch then reports."""

    def notice() -> None:
        from activities.link_status import mark_agents_dead
        from store.engine import engine_for

        mark_agents_dead(engine_for(settings.resolved_database_url), [host])

    return notice

