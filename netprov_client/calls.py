"""Every endpoint as a _Call (method, path, body, headers, how to read the answer), shared by
Client and AsyncClient, which only execute them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx
from pydantic import BaseModel

from netprov.resources import AttachmentBody, Health, HistoryBody, NetworkBody, PortBody, TokenBody

T = TypeVar("T")
DEFAULT_TIMEOUT = 90.0  # longer than the longest Prefer: wait (60 s)


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
    def create_network(self, name: str, plugin: str | None, wait: int | None, idempotency_key: str | None) -> Call:
        body: dict[str, Any] = {"name": name} | ({"plugin": plugin} if plugin else {})
        headers = _prefer(wait) | ({"Idempotency-Key": idempotency_key} if idempotency_key else {})
        return Call("POST", self.networks(), _model("network", NetworkBody), json={"network": body}, headers=headers)

    def list_networks(self, status: str | Iterable[str] | None) -> Call:
        params = {"detail": "true"} | ({"status": ",".join(sorted(statuses(status)))} if status else {})
        return Call("GET", self.networks(), _models("networks", NetworkBody), params=params)

    def show_network(self, network_id: str) -> Call:
        return Call("GET", self.networks(network_id), _model("network", NetworkBody))

    def rename_network(self, network_id: str, name: str) -> Call:
        return Call("PUT", self.networks(network_id), _nothing, json={"network": {"name": name}})

    def delete_network(self, network_id: str, wait: int | None) -> Call:
        return Call("DELETE", self.networks(network_id), _gone, headers=_prefer(wait))

    # ports
    def create_port(self, network_id: str, state: str | None, wait: int | None, idempotency_key: str | None) -> Call:
        headers = _prefer(wait) | ({"Idempotency-Key": idempotency_key} if idempotency_key else {})
        body = {"port": {"state": state}} if state else None
        return Call("POST", self.ports(network_id), _model("port", PortBody), json=body, headers=headers)

    def list_ports(self, network_id: str, status: str | Iterable[str] | None) -> Call:
        params = {"detail": "true"} | ({"status": ",".join(sorted(statuses(status)))} if status else {})
        return Call("GET", self.ports(network_id), _models("ports", PortBody), params=params)

    def show_port(self, network_id: str, port_id: str) -> Call:
        return Call("GET", self.ports(network_id, port_id), _model("port", PortBody))

    def update_port(self, network_id: str, port_id: str, state: str, wait: int | None) -> Call:
        # 204 without a wait; with one, 200 and the port as the wait left it.
        def parse(response: httpx.Response) -> PortBody | None:
            return PortBody.model_validate(response.json()["port"]) if response.status_code == 200 else None

        return Call("PUT", self.ports(network_id, port_id), parse, json={"port": {"state": state}}, headers=_prefer(wait))

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
