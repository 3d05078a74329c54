"""Every endpoint as a _Call (method, path, body, headers, how to read the answer), shared by
Client and AsyncClient, which only execute them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx
from pydantic import BaseModel

from netprov.qos_resources import BandwidthLimitRule, DscpMarkingRule, QosPolicyBody
from netprov.resources import AttachmentBody, Health, HistoryBody, NetworkBody, PortBody, TokenBody

T = TypeVar("T")
DEFAULT_TIMEOUT = 90.0  # longer than the longest Prefer: wait (60 s)

# A QoS rule as the client takes it: a rule model, or its JSON form as a dict (the API checks it).
Rule = BandwidthLimitRule | DscpMarkingRule | Mapping[str, Any]


class Unset:
    """The type of UNSET."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = Unset()
"""`qos_policy_id=UNSET` leaves a resource's policy as it is; None clears it (the API's null)."""


def client_headers(token: str | None) -> dict[str, str]:
    headers = {"User-Agent": "netprov-client/0.1", "Accept": "application/json"}
    if token:
        headers["X-Auth-Token"] = token
    return headers


@dataclass
class Call(Generic[T]):
    """One HTTP request and how to read its answer; executed by Client or AsyncClient."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    json: Any = None
    params: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _prefer(wait: int | None) -> dict[str, str]:
    return {"Prefer": f"wait={int(wait)}"} if wait is not None else {}


def _model(key: str, model: type[BaseModel]) -> Callable[[httpx.Response], Any]:
    return lambda response: model.model_validate(response.json()[key])


def _models(key: str, model: type[BaseModel]) -> Callable[[httpx.Response], Any]:
    return lambda response: [model.model_validate(item) for item in response.json()[key]]


def _gone(response: httpx.Response) -> bool:
    """A DELETE's answer: True when the resource is gone (204), False while deprovisioning (202)."""
    return response.status_code == 204


def _nothing(response: httpx.Response) -> None:
    return None


def _with_policy(body: dict[str, Any], qos_policy_id: str | None | Unset) -> dict[str, Any]:
    return body if qos_policy_id is UNSET else body | {"qos_policy_id": qos_policy_id}


def rule_json(rule: Rule) -> dict[str, Any]:
    return rule.model_dump(mode="json") if isinstance(rule, BaseModel) else dict(rule)


def _key(idempotency_key: str | None) -> dict[str, str]:
    return {"Idempotency-Key": idempotency_key} if idempotency_key else {}


def _attachment_or_none(response: httpx.Response) -> AttachmentBody | None:
    body = response.json()["attachment"]
    return None if body is None else AttachmentBody.model_validate(body)


def statuses(status: str | Iterable[str] | None) -> set[str]:
    if status is None:
        return set()
    return {status} if isinstance(status, str) else set(status)


class Requests:
    """Every endpoint as a Call; the clients only execute them."""

    def __init__(self, tenant: str | None) -> None:
        self.tenant = tenant

    @property
    def base(self) -> str:
        if not self.tenant:
            raise ValueError("this call needs a tenant: Client(..., tenant='t1') or client.with_tenant('t1')")
        return f"/v1.1/tenants/{self.tenant}"

    def networks(self, network_id: str | None = None) -> str:
        return f"{self.base}/networks" + (f"/{network_id}" if network_id else "")

    def ports(self, network_id: str, port_id: str | None = None) -> str:
        return f"{self.networks(network_id)}/ports" + (f"/{port_id}" if port_id else "")

    # networks
    def create_network(self, name: str, plugin: str | None, wait: int | None, idempotency_key: str | None,
                       qos_policy_id: str | None | Unset = UNSET) -> Call:
        body: dict[str, Any] = _with_policy({"name": name} | ({"plugin": plugin} if plugin else {}), qos_policy_id)
        headers = _prefer(wait) | _key(idempotency_key)
        return Call("POST", self.networks(), _model("network", NetworkBody), json={"network": body}, headers=headers)

    def list_networks(self, status: str | Iterable[str] | None) -> Call:
        params = {"detail": "true"} | ({"status": ",".join(sorted(statuses(status)))} if status else {})
        return Call("GET", self.networks(), _models("networks", NetworkBody), params=params)

    def show_network(self, network_id: str) -> Call:
        return Call("GET", self.networks(network_id), _model("network", NetworkBody))

    def update_network(self, network_id: str, name: str | None, qos_policy_id: str | None | Unset = UNSET) -> Call:
        body = _with_policy({"name": name} if name is not None else {}, qos_policy_id)
        if not body:
            raise ValueError("update_network needs a name or a qos_policy_id")
        return Call("PUT", self.networks(network_id), _nothing, json={"network": body})

    def delete_network(self, network_id: str, wait: int | None) -> Call:
        return Call("DELETE", self.networks(network_id), _gone, headers=_prefer(wait))

    # ports
    def create_port(self, network_id: str, state: str | None, wait: int | None, idempotency_key: str | None,
                    qos_policy_id: str | None | Unset = UNSET) -> Call:
        headers = _prefer(wait) | _key(idempotency_key)
        fields = _with_policy({"state": state} if state else {}, qos_policy_id)
        body = {"port": fields} if fields else None
        return Call("POST", self.ports(network_id), _model("port", PortBody), json=body, headers=headers)

    def list_ports(self, network_id: str, status: str | Iterable[str] | None) -> Call:
        params = {"detail": "true"} | ({"status": ",".join(sorted(statuses(status)))} if status else {})
        return Call("GET", self.ports(network_id), _models("ports", PortBody), params=params)

    def show_port(self, network_id: str, port_id: str) -> Call:
        return Call("GET", self.ports(network_id, port_id), _model("port", PortBody))

    def update_port(self, network_id: str, port_id: str, state: str | None, wait: int | None,
                    qos_policy_id: str | None | Unset = UNSET) -> Call:
        # 204 without a wait; with one, 200 and the port as the wait left it.
        def parse(response: httpx.Response) -> PortBody | None:
            return PortBody.model_validate(response.json()["port"]) if response.status_code == 200 else None

        body = _with_policy({"state": state} if state is not None else {}, qos_policy_id)
        if not body:
            raise ValueError("update_port needs a state or a qos_policy_id")
        return Call("PUT", self.ports(network_id, port_id), parse, json={"port": body}, headers=_prefer(wait))

    def delete_port(self, network_id: str, port_id: str, wait: int | None) -> Call:
        return Call("DELETE", self.ports(network_id, port_id), _gone, headers=_prefer(wait))

    # attachments
    def attachment(self, network_id: str, port_id: str) -> str:
        return f"{self.ports(network_id, port_id)}/attachment"

    def create_attachment(self, network_id: str, port_id: str, iface_id: str, host: str | None, wait: int | None) -> Call:
        body: dict[str, Any] = {"id": iface_id} | ({"host": host} if host else {})
        return Call("PUT", self.attachment(network_id, port_id), _model("attachment", AttachmentBody),
                     json={"attachment": body}, headers=_prefer(wait))

    def show_attachment(self, network_id: str, port_id: str) -> Call:
        return Call("GET", self.attachment(network_id, port_id), _attachment_or_none)

    def delete_attachment(self, network_id: str, port_id: str, wait: int | None) -> Call:
        return Call("DELETE", self.attachment(network_id, port_id), _gone, headers=_prefer(wait))

    # QoS policies
    def qos_policies(self, policy_id: str | None = None) -> str:
        return f"{self.base}/qos_policies" + (f"/{policy_id}" if policy_id else "")

    def create_qos_policy(self, name: str, rules: Iterable[Rule]) -> Call:
        body = {"qos_policy": {"name": name, "rules": [rule_json(rule) for rule in rules]}}
        return Call("POST", self.qos_policies(), _model("qos_policy", QosPolicyBody), json=body)

    def list_qos_policies(self) -> Call:
        return Call("GET", self.qos_policies(), _models("qos_policies", QosPolicyBody), params={"detail": "true"})

    def show_qos_policy(self, policy_id: str) -> Call:
        return Call("GET", self.qos_policies(policy_id), _model("qos_policy", QosPolicyBody))

    def update_qos_policy(self, policy_id: str, name: str | None, rules: Iterable[Rule] | None) -> Call:
        body: dict[str, Any] = ({"name": name} if name is not None else {}) | (
            {"rules": [rule_json(rule) for rule in rules]} if rules is not None else {})
        if not body:
            raise ValueError("update_qos_policy needs a name or rules")
        return Call("PUT", self.qos_policies(policy_id), _model("qos_policy", QosPolicyBody), json={"qos_policy": body})

    def delete_qos_policy(self, policy_id: str) -> Call:
        return Call("DELETE", self.qos_policies(policy_id), _nothing)

    # tokens, health
    def create_token(self, tenant_id: str | None, admin: bool) -> Call:
        body = {"admin": True} if admin else {"tenant_id": tenant_id}
        return Call("POST", "/v1.1/tokens", _model("token", TokenBody), json={"token": body})

    def delete_token(self, token_id: str) -> Call:
        return Call("DELETE", f"/v1.1/tokens/{token_id}", _nothing)

    def health(self) -> Call:
        return Call("GET", "/healthz", lambda response: Health.model_validate(response.json()))

    # operator actions
    def action(self, network_id: str, port_id: str | None, action: str, wait: int | None) -> Call:
        if port_id:
            return Call("POST", f"{self.ports(network_id, port_id)}/actions/{action}", _model("port", PortBody), headers=_prefer(wait))
        return Call("POST", f"{self.networks(network_id)}/actions/{action}", _model("network", NetworkBody), headers=_prefer(wait))

    def history(self, network_id: str, port_id: str | None) -> Call:
        path = f"{self.ports(network_id, port_id)}/history" if port_id else f"{self.networks(network_id)}/history"
        return Call("GET", path, _model("history", HistoryBody))

    def show(self, resource: NetworkBody | PortBody) -> Call:
        if isinstance(resource, PortBody):
            return self.show_port(resource.network_id, resource.id)
        if isinstance(resource, NetworkBody):
            return self.show_network(resource.id)
        raise TypeError(f"wait_until takes a NetworkBody or PortBody, not {type(resource).__name__}")
