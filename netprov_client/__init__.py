"""The netprov REST API from Python: `Client` (sync) and `AsyncClient`, on httpx.

    from netprov_client import Client, NetworkNotFound

    with Client("http://127.0.0.1:8000", token, tenant="t1") as api:
        network = api.create_network("web")                  # 202: PROVISIONING
        port = api.create_port(network.id, state="ACTIVE", wait=10)   # Prefer: wait=10
        api.create_attachment(network.id, port.id, "vif-1", host="h1")
        port = api.wait_until(port, "ACTIVE", link_status="UP", timeout=30)
        for event in api.events():                            # live status events (SSE)
            print(event.id, event.type, event.data.status)

QoS: policies are definitions the service holds; ports (or their network) name one, and each port's
`qos_status` says how far its device enforces it:

        gold = api.create_qos_policy("gold", [BandwidthLimitRule(max_kbps=8000), DscpMarkingRule(dscp_mark=26)])
        api.set_port_qos_policy(network.id, port.id, gold.id)         # None clears it
        port = api.wait_until(port, qos_status="AVAILABLE", timeout=30)
        api.update_qos_policy(gold.id, rules=[{"type": "bandwidth_limit", "max_kbps": 4000}])  # re-applied to every port

Resources come back as the pydantic models of `netprov.resources` (NetworkBody, PortBody,
AttachmentBody, ...) and `netprov.qos_resources` (QosPolicyBody). `wait=N` on a write sends `Prefer: wait=N`: the API holds the answer until
the resource settles or N seconds pass. The async client has the same methods, awaited.

Exceptions: NetprovError, and under ProblemError one class per code of the problem table
(netprov/problems.py), e.g. NetworkNotFound (a NotFound), PortInUse (a Conflict); the tree is drawn in
netprov_client/errors.py. Installable alone: `pip install clients/python` (httpx and pydantic only).
"""

from netprov.qos_resources import BandwidthLimitRule, DscpMarkingRule, QosPolicyBody
from netprov_client.aio import AsyncClient
from netprov_client.calls import UNSET
from netprov_client.errors import (
    PROBLEM_CLASSES,
    ApiUnreachable,
    NetprovError,
    ProblemError,
    ResourceFailed,
    WaitTimeout,
    problem_from,
)
from netprov_client.sse import STREAM_IDLE_TIMEOUT, TRUNCATED, SseParser
from netprov_client.sync import Client

# The problem classes by their code (NetworkNotFound, PortInUse, ...), from the problem table.
globals().update(PROBLEM_CLASSES)

__all__ = [
    "AsyncClient", "Client", "ApiUnreachable", "NetprovError", "ProblemError", "ResourceFailed", "WaitTimeout",
    "SseParser", "STREAM_IDLE_TIMEOUT", "TRUNCATED", "problem_from", "UNSET", "BandwidthLimitRule", "DscpMarkingRule",
    "QosPolicyBody", *PROBLEM_CLASSES,
]
