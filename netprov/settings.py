"""Settings every part honours, read from the environment once and validated at start."""

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from netprov.naming import TASK_QUEUE


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NETPROV_", extra="ignore", populate_by_name=True)

    temporal_address: str = Field(
        "localhost:7233", validation_alias=AliasChoices("TEMPORAL_ADDRESS", "temporal_address")
    )
    temporal_namespace: str = Field(
        "default", validation_alias=AliasChoices("TEMPORAL_NAMESPACE", "temporal_namespace")
    )
    data_dir: Path = Path(".data")
    database_url: str = ""
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    admin_token: str = ""
    plugin: str = "fake"
    temporal_ui_url: str = "http://localhost:8233"
    task_queue: str = TASK_QUEUE
    # Reject mode: writes on resources that are not settled get 409 ResourceNotAvailable.
    strict: bool = False
    default_host: str = "h1"
    hosts: str = ""

    # Each plugin reads its own settings from the environment under its own prefix (plugins/fake.py
    # FakeSettings: NETPROV_FAKE_LATENCY_MS, ...). Values here, by plugin name, win over the environment:
    # for tests and embedding, e.g. {"fake": {"latency_ms": 20}}.
    plugin_settings: dict[str, dict[str, Any]] = Field(default_factory=dict)

    # Retry budget for transient plugin failures (per plugin call).
    plugin_max_attempts: int = Field(6, ge=1)
    plugin_initial_backoff_ms: int = Field(200, ge=1)
    # Per-plugin budgets, e.g. "ovs=10,qbh-sim=3"; otherwise the plugin's own, then plugin_max_attempts.
    plugin_retry_budgets: str = ""
    # One-step plugin actions that run centrally (not on a host's agent) as Temporal local activities: in the
    # worker that runs the workflow, recorded as a marker, with no activity task to dispatch. bench/: one POST
    # per port settles about 1.4 times as fast. It was off by default while the API committed on its event loop
    # (the faster worker's projection writes then stalled the API's writes on SQLite's lock); API writes now run
    # on a writer thread (api/db_threads.py), so it is on. NETPROV_LOCAL_STEPS=false: every step an activity.
    local_steps: bool = True

    # Writes one API process hands to the engine at once (api/admission.py); one more answers 429 with
    # Retry-After. bench/ (open loop at 1.5x capacity): enough to keep the engine busy, few enough that an
    # ack waits well under a second.
    max_writes_in_flight: int = Field(32, ge=1)

    # Batches: items per chunk activity, chunks in flight per plugin (and per host for attachments),
    # and plugin calls in flight within one chunk for plugins without a bulk path.
    batch_chunk_size: int = Field(200, ge=1, le=5000)
    batch_max_parallel_chunks: int = Field(4, ge=1)
    batch_item_threads: int = Field(8, ge=1)
    # A QoS policy change reaching at least this many idle ports applies to them as one batch
    # (store/qos_fan_out.py); fewer, or ports with work in flight, go through their own workflows.
    qos_fan_out_batch_min_ports: int = Field(16, ge=1)

    # Link monitor (workflows/link_monitor.py, docs/readme/ovs.md): how often link status is re-checked and
    # hosts reconciled, and how long a check waits for a host's agent to pick it up before that agent
    # counts as not running. NETPROV_LINK_MONITOR=false: the central worker does not start the monitor.
    link_monitor: bool = True
    link_monitor_interval_s: float = Field(5.0, gt=0, le=3600)
    agent_check_timeout_s: float = Field(5.0, gt=0, le=600)

    # Deployment: schema migrations at start, logs, worker metrics (docs/readme/deploying.md).
    auto_migrate: bool = True
    log_format: Literal["json", "text"] = "json"
    log_level: str = "INFO"
    worker_metrics_port: int = Field(0, ge=0, le=65535)

    @field_validator("plugin_retry_budgets")
    @classmethod
    def _budgets(cls, value: str) -> str:
        parse_budgets(value)
        return value

    def max_attempts_for(self, plugin: str, plugin_default: int | None = None) -> int:
        """How many times a transient failure of `plugin` is tried before the resource is ERROR."""
        return parse_budgets(self.plugin_retry_budgets).get(plugin) or plugin_default or self.plugin_max_attempts

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'netprov.db').resolve()}"

    @property
    def host_list(self) -> list[str]:
        return [h.strip() for h in self.hosts.split(",") if h.strip()]


def parse_budgets(value: str) -> dict[str, int]:
    """Parse "ovs=10,fake=4" into {"ovs": 10, "fake": 4}."""
    budgets: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        name, sep, attempts = item.partition("=")
        if not sep or not name.strip() or not attempts.strip().isdigit() or int(attempts) < 1:
            raise ValueError(f"retry budgets look like ovs=10,fake=4, not {value!r}")
        budgets[name.strip()] = int(attempts)
    return budgets


@lru_cache
def get_settings() -> Settings:
    return Settings()
