"""The dev stack supervisor's table of its children, shared through a file in the data dir.

The supervisor (devstack/supervisor.py) rewrites `<data_dir>/devstack/processes.json` whenever a
child changes state; the API reads it for GET /healthz (`processes`) and the CLI shows it
(`netprov health`). A table whose supervisor no longer runs is stale and read as absent.
"""

import json
import os
from pathlib import Path

from netprov.resources import ProcessState


def table_path(data_dir: Path | str) -> Path:
    return Path(data_dir) / "devstack" / "processes.json"


def write_table(data_dir: Path | str, processes: list[ProcessState]) -> None:
    """Replace the table atomically (a reader never sees half of it)."""
    path = table_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"supervisor_pid": os.getpid(), "processes": [p.model_dump() for p in processes]}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(body))
    tmp.replace(path)


def remove_table(data_dir: Path | str) -> None:
    table_path(data_dir).unlink(missing_ok=True)


def read_table(data_dir: Path | str) -> list[ProcessState] | None:
    """The children as the running supervisor last wrote them; None without a live supervisor."""
    try:
        body = json.loads(table_path(data_dir).read_text())
        pid = int(body["supervisor_pid"])
        os.kill(pid, 0)
        return [ProcessState.model_validate(p) for p in body["processes"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
