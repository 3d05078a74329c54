"""Plugins on real SQLite files in tmp_path, loaded through the entry points as a worker loads them."""

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from netprov.operations import PluginRequest
from netprov.settings import Settings
from plugins.base import Plugin
from plugins.registry import plugin_class


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides) -> Settings:
        values = {"data_dir": tmp_path, "plugin_settings": {"qbh-sim": {"latency_ms": 0}}, **overrides}
        return Settings(**values)

    return make


@pytest.fixture
def load(make_settings) -> Callable[..., Plugin]:
    """load("fake", latency_ms=5): a new plugin instance on this test's data dir, with those of the
    plugin's own settings (FakeSettings etc.) given."""

    def make(name: str, **options) -> Plugin:
        settings = make_settings()
        plugin_settings = {**settings.plugin_settings, name: {**settings.plugin_settings.get(name, {}), **options}}
        return plugin_class(name)(settings.model_copy(update={"plugin_settings": plugin_settings}))

    return make


@pytest.fixture
def make_request() -> Callable[..., PluginRequest]:
    """make_request("fake", network_id, name="flaky2-x", port_id=...): a request with a fresh request_id
    unless one is given."""

    def make(
        plugin: str, network_id: str, *, name: str = "net", request_id: str | None = None, **fields
    ) -> PluginRequest:
        return PluginRequest(
            plugin=plugin,
            request_id=request_id or str(uuid.uuid4()),
            tenant_id="t1",
            network_id=network_id,
            network_name=name,
            **fields,
        )

    return make
