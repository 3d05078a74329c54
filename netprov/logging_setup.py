"""Structured logs: one JSON object per line on stderr, for every process (API, worker, agent).

Each line carries `ts`, `level`, `logger`, `msg`, `service`, and, where they are known, `tenant_id`,
`resource_type`, `resource_id` and `workflow_id`:

- the API binds them per request (api/metrics.py, from the path and the `Location` of a create);
- workflow and activity lines get them from Temporal (`workflow_id` names the resource:
  `network-<id>`, `port-<id>`), activities also `activity_type` and `attempt`, and a plugin step
  its tenant (worker/metrics.py);
- any code may add its own with `log_context(...)`;
- a line logged inside a trace span (netprov.tracing) carries its `trace_id` and `span_id`.

`NETPROV_LOG_FORMAT=text` gives the classic one-line text format instead (context appended).
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import traceback
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from netprov.settings import Settings
from netprov.tracing import current_ids

_context: ContextVar[dict[str, Any]] = ContextVar("netprov_log_context", default={})  # noqa: B039 - never mutated

# LogRecord attributes that are not "extra" fields.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message", "asctime", "taskName", "color_message",  # uvicorn's ANSI-coloured copy of msg
}
_RESOURCE_PREFIXES = ("network", "port", "batch")


def current_context() -> dict[str, Any]:
    return dict(_context.get())


def bind(**fields: Any) -> None:
    """Add `fields` (None values are left out) to the log context of the current task or thread.
    Whoever opened the surrounding `log_context` undoes it."""
    _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Lines logged inside the block carry `fields` (None values are left out)."""
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def resource_of_workflow(workflow_id: str | None) -> dict[str, str]:
    """`network-<id>` -> {"resource_type": "network", "resource_id": "<id>"}; {} for other ids."""
    if workflow_id:
        kind, sep, rest = workflow_id.partition("-")
        if sep and kind in _RESOURCE_PREFIXES and rest:
            return {"resource_type": kind, "resource_id": rest}
    return {}


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The context of one log line: bound fields, then what Temporal knows of the workflow/activity."""
    fields: dict[str, Any] = {}
    workflow = getattr(record, "temporal_workflow", None)
    activity = getattr(record, "temporal_activity", None)
    if activity is None:
        activity = _activity_info()
    if isinstance(workflow, dict):
        fields["workflow_id"] = workflow.get("workflow_id")
        fields["workflow_type"] = workflow.get("workflow_type")
        fields["run_id"] = workflow.get("run_id")
    if isinstance(activity, dict):
        fields["workflow_id"] = activity.get("workflow_id")
        fields["activity_type"] = activity.get("activity_type")
        fields["attempt"] = activity.get("attempt")
    fields.update(resource_of_workflow(fields.get("workflow_id")))
    fields.update(current_ids())
    fields.update(_context.get())
    return {k: v for k, v in fields.items() if v is not None}


def _activity_info() -> dict[str, Any] | None:
    """The running activity's info when this line is logged from inside one (any logger)."""
    from temporalio import activity

    if not activity.in_activity():
        return None
    info = activity.info()
    return {"workflow_id": info.workflow_id, "activity_type": info.activity_type, "attempt": info.attempt}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "service": self.service,
        }
        entry.update(record_fields(record))
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in entry and not key.startswith(("temporal_", "_")):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = record_fields(record)
        if context:
            line += " [" + " ".join(f"{k}={v}" for k, v in context.items()) + "]"
        return line


def configure_logging(service: str, settings: Settings) -> None:
    """Send every logger's lines (uvicorn's and Temporal's included) to stderr in the configured format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service) if settings.log_format == "json" else TextFormatter(service))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # Our middleware logs every request with its context; uvicorn's access line would repeat it.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    # Temporal's loggers put the workflow/activity info into `extra`, which the formatters show;
    # appended to the message as well it would be said twice.
    from temporalio import activity, workflow

    activity.logger.activity_info_on_message = False
    workflow.logger.workflow_info_on_message = False
