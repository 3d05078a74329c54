"""What both Open vSwitch suites need before they start: root and OVS (else skip, or fail under
CI=true), and a data dir of their own, after removing labs that a killed test run left behind."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from plugins.ovs import linux
from plugins.ovs.hosts import ToolsUnavailableError, ensure_ovs_installed, stop_hosts


def require_ovs(suite: str) -> None:
    """Skip `suite` (fail it under CI=true) unless this process may run Open vSwitch."""
    if os.geteuid() != 0:
        _unavailable(f"{suite} need root (network namespaces, veths)")
    try:
        ensure_ovs_installed({"ping": "iputils-ping"})
    except ToolsUnavailableError as error:
        _unavailable(f"Open vSwitch unavailable: {error}")


def new_lab(prefix: str) -> Path:
    """A fresh data dir owned by this process, once abandoned labs with `prefix` are gone."""
    for lab in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        owner = linux.read_pidfile(lab / "owner.pid")
        if owner is not None and linux.process_alive(owner):
            continue
        stop_hosts([d.name for d in (lab / "ovs").glob("*") if d.is_dir() and d.name != "vms"], lab)
        shutil.rmtree(lab, ignore_errors=True)
    data_dir = Path(tempfile.mkdtemp(prefix=prefix))
    (data_dir / "owner.pid").write_text(str(os.getpid()))
    return data_dir


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the Open vSwitch tests must run)", pytrace=False)
    pytest.skip(reason)
