"""`qos_policy_id` on v2.0 networks and ports. Until the QoS store exists no policy does: naming
one is 404 QosPolicyNotFound, null is accepted (nothing to clear)."""

from typing import Any

from api.problems import QosPolicyNotFound
from api.write_flow import Writer


async def check_policy(writer: Writer, values: dict[str, Any]) -> None:
    policy_id = values.get("qos_policy_id")
    if policy_id is not None:
        raise QosPolicyNotFound(f"QoS policy {policy_id} could not be found.")


async def set_network_policy(writer: Writer, row: Any, values: dict[str, Any]) -> Any:
    return row


async def set_port_policy(writer: Writer, row: Any, values: dict[str, Any]) -> Any:
    return row
