"""Plugins are loaded by name from the `netprov.plugins` entry-point group."""

from functools import lru_cache
from importlib.metadata import entry_points

from netprov.operations import PluginAction
from netprov.settings import Settings
from plugins.base import Plugin

ENTRY_POINT_GROUP = "netprov.plugins"


class UnknownPluginError(LookupError):
    pass


def plugin_names() -> list[str]:
    return sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))


@lru_cache
def plugin_class(name: str) -> type[Plugin]:
    matches = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
    if not matches:
        raise UnknownPluginError(f"no plugin named {name!r}; installed: {', '.join(plugin_names())}")
    return matches[0].load()


class PluginSet:
    """One instance per plugin, created on first use and shared by every activity of a worker."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._instances: dict[str, Plugin] = {}

    def get(self, name: str) -> Plugin:
        if name not in self._instances:
            self._instances[name] = plugin_class(name)(self.settings)
        return self._instances[name]


@lru_cache
def needs_agent(name: str) -> bool:
    """True when plugin `name` has steps bound to a host's agent (then link status is checked there,
    and a dead agent shows on its ports). False for unknown plugins."""
    try:
        cls = plugin_class(name)
    except UnknownPluginError:
        return False
    return any(step.host_bound for action in PluginAction for step in cls.steps(action))


def agent_plugins() -> list[str]:
    """The installed plugins that need host agents."""
    return [name for name in plugin_names() if needs_agent(name)]


def agentless_plugins() -> set[str]:
    """The installed plugins that need no host agent (the store is told them at process start)."""
    return set(plugin_names()) - set(agent_plugins())
