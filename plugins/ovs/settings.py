"""The ovs plugin's own settings, read from the environment (`NETPROV_OVS_*`).

The data dir and the default host are the server's (netprov.settings); these are only the plugin's.
"""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from plugins.vlans import VlanRange, parse_range


class OvsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NETPROV_OVS_", extra="ignore")

    # VLAN ids handed to networks, lowest free first. 4095 is never in range: it is the dead VLAN.
    vlan_range: VlanRange = "100-199"
    # Bound on one ovs-vsctl call (a write waits until ovs-vswitchd has applied it).
    vsctl_timeout_s: float = Field(10.0, gt=0)

    @property
    def vlans(self) -> tuple[int, int]:
        return parse_range(self.vlan_range)
