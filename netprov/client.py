"""The netprov REST API from Python: `Client` (sync) and `AsyncClient`, on httpx.

    from netprov.client import Client, NetworkNotFound

    with Client("http://127.0.0.1:8000", token, tenant="t1") as api:
        network = api.create_network("web")                  # 202: PROVISIONING
        port = api.create_port(network.id, state="ACTIVE", wait=10)   # Prefer: wait=10
        api.create_attachment(network.id, port.id, "vif-1", host="h1")
        port = api.wait_until(port, "ACTIVE", link_status="UP", timeout=30)
        for event in api.events():                            # live status events (SSE)
            print(event.id, event.type, event.data.status)

Resources come back as the pydantic models of `netprov.resources` (NetworkBody, PortBody,
AttachmentBody, ...). `wait=N` on a write sends `Prefer: wait=N`: the API holds the answer until
the resource settles or N seconds pass. The async client has the same methods, awaited.

Exceptions (problems the API answers are raised as the class named by their `code`)::

    NetprovError
    ├── ApiUnreachable                no answer from the API (connection refused, timed out)
    ├── WaitTimeout                   wait_until: not reached in time (also a TimeoutError)
    ├── ResourceFailed                wait_until: the resource went to ERROR instead
    └── ProblemError                  an application/problem+json answer: .status .title .detail .code
        ├── BadRequest (400, 422)     ├── RequestedStateInvalid (400)
        ├── Unauthorized (401)        ├── Forbidden (403)
        ├── NotFound (404)
        │   └── NetworkNotFound, PortNotFound, TokenNotFound, BatchNotFound
        ├── MethodNotAllowed (405)
        ├── Conflict (409)
        │   └── NetworkInUse, PortInUse, AlreadyAttached, ResourceNotAvailable,
        │       NothingToRetry, NothingToCancel
        ├── IdempotencyKeyReused (422)
        ├── RequestTooLarge (413)     ├── UnsupportedMediaType (415)
        ├── ServiceUnavailable (503)  .retry_after: seconds, from Retry-After
        └── InternalError (500)
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx
from pydantic import BaseModel

from netprov.resources import (
    AttachmentBody,
    EventData,
    Health,
    HistoryBody,
    NetworkBody,
    PortBody,
    StatusEvent,
    TokenBody,
)

T = TypeVar("T")
DEFAULT_TIMEOUT = 90.0  # longer than the longest Prefer: wait (60 s)
# A stream idle this long is taken for dead and reopened (the API sends a keep-alive every 15 s).
STREAM_IDLE_TIMEOUT = 40.0
TRUNCATED = "truncated"
ERROR = "ERROR"


# -- exceptions -------------------------------------------------------------------------------


class NetprovError(Exception):
    """Base of every error this client raises."""


class ApiUnreachable(NetprovError):
    """The API did not answer: nothing is known about the request's effect."""


class WaitTimeout(NetprovError, TimeoutError):
    """wait_until gave up; `resource` is the last state seen."""

    def __init__(self, message: str, resource: BaseModel | None = None) -> None:
        super().__init__(message)
        self.resource = resource


class ResourceFailed(NetprovError):
    """wait_until saw the resource (or its attachment) reach ERROR, which was not asked for."""

    def __init__(self, message: str, resource: BaseModel) -> None:
        super().__init__(message)
        self.resource = resource


class ProblemError(NetprovError):
    """The API answered with a problem document (RFC 9457)."""

    def __init__(
        self,
        *,
        status: int,
        title: str,
        detail: str,
        code: str,
        type: str | None = None,
        body: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{title}: {detail}")
        self.status, self.title, self.detail, self.code = status, title, detail, code
        self.type = type
        self.body = body or {}
        self.retry_after = retry_after


class BadRequest(ProblemError): ...
class RequestedStateInvalid(ProblemError): ...
class Unauthorized(ProblemError): ...
class Forbidden(ProblemError): ...
class NotFound(ProblemError): ...
class NetworkNotFound(NotFound): ...
class PortNotFound(NotFound): ...
class TokenNotFound(NotFound): ...
class BatchNotFound(NotFound): ...
class MethodNotAllowed(ProblemError): ...
class Conflict(ProblemError): ...
class NetworkInUse(Conflict): ...
class PortInUse(Conflict): ...
class AlreadyAttached(Conflict): ...
class ResourceNotAvailable(Conflict): ...
class NothingToRetry(Conflict): ...
class NothingToCancel(Conflict): ...
class IdempotencyKeyReused(ProblemError): ...
class RequestTooLarge(ProblemError): ...
class UnsupportedMediaType(ProblemError): ...
class ServiceUnavailable(ProblemError): ...
class InternalError(ProblemError): ...


_BY_CODE: dict[str, type[ProblemError]] = {
    cls.__name__: cls
    for cls in (
        BadRequest, RequestedStateInvalid, Unauthorized, Forbidden, NotFound, NetworkNotFound, PortNotFound,
        TokenNotFound, BatchNotFound, MethodNotAllowed, Conflict, NetworkInUse, PortInUse, AlreadyAttached,
        ResourceNotAvailable, NothingToRetry, NothingToCancel, IdempotencyKeyReused, RequestTooLarge,
        UnsupportedMediaType, ServiceUnavailable, InternalError,
    )
}
_BY_STATUS: dict[int, type[ProblemError]] = {
    400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 405: MethodNotAllowed, 409: Conflict,
    413: RequestTooLarge, 415: UnsupportedMediaType, 422: BadRequest, 500: InternalError, 503: ServiceUnavailable,
}


def problem_from(response: httpx.Response) -> ProblemError:
    """The typed exception for an error answer (any body: a proxy's HTML page too)."""
    try:
        body = response.json()
        if not isinstance(body, dict):
            body = {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = {}
    code = str(body.get("code") or "")
    cls = _BY_CODE.get(code) or _BY_STATUS.get(response.status_code) or ProblemError
    retry_after = response.headers.get("Retry-After")
    return cls(
        status=int(body.get("status") or response.status_code),
        title=str(body.get("title") or response.reason_phrase or "Error"),
        detail=str(body.get("detail") or response.text[:300] or f"HTTP {response.status_code}"),
        code=code or cls.__name__,
        type=body.get("type"),
        body=body,
        retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
    )


# -- requests, shared by both clients ------------------------------------------------------------


@dataclass
class _Call(Generic[T]):
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


def _statuses(status: str | Iterable[str] | None) -> set[str]:
    if status is None:
        return set()
    return {status} if isinstance(status, str) else set(status)


class _Requests:
    """Every endpoint as a _Call; the clients only execute them."""

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
    def create_network(self, name: str, plugin: str | None, wait: int | None, idempotency_key: str | None) -> _Call:
        body: dict[str, Any] = {"name": name} | ({"plugin": plugin} if plugin else {})
        headers = _prefer(wait) | ({"Idempotency-Key": idempotency_key} if idempotency_key else {})
        return _Call("POST", self.networks(), _model("network", NetworkBody), json={"network": body}, headers=headers)

    def list_networks(self, status: str | Iterable[str] | None) -> _Call:
        params = {"detail": "true"} | ({"status": ",".join(sorted(_statuses(status)))} if status else {})
        return _Call("GET", self.networks(), _models("networks", NetworkBody), params=params)

    def show_network(self, network_id: str) -> _Call:
        return _Call("GET", self.networks(network_id), _model("network", NetworkBody))

    def rename_network(self, network_id: str, name: str) -> _Call:
        return _Call("PUT", self.networks(network_id), _nothing, json={"network": {"name": name}})

    def delete_network(self, network_id: str, wait: int | None) -> _Call:
        return _Call("DELETE", self.networks(network_id), _gone, headers=_prefer(wait))

    # ports
    def create_port(self, network_id: str, state: str | None, wait: int | None, idempotency_key: str | None) -> _Call:
        headers = _prefer(wait) | ({"Idempotency-Key": idempotency_key} if idempotency_key else {})
        body = {"port": {"state": state}} if state else None
        return _Call("POST", self.ports(network_id), _model("port", PortBody), json=body, headers=headers)

    def list_ports(self, network_id: str, status: str | Iterable[str] | None) -> _Call:
        params = {"detail": "true"} | ({"status": ",".join(sorted(_statuses(status)))} if status else {})
        return _Call("GET", self.ports(network_id), _models("ports", PortBody), params=params)

    def show_port(self, network_id: str, port_id: str) -> _Call:
        return _Call("GET", self.ports(network_id, port_id), _model("port", PortBody))

    def update_port(self, network_id: str, port_id: str, state: str, wait: int | None) -> _Call:
        # 204 without a wait; with one, 200 and the port as the wait left it.
        def parse(response: httpx.Response) -> PortBody | None:
            return PortBody.model_validate(response.json()["port"]) if response.status_code == 200 else None

        return _Call("PUT", self.ports(network_id, port_id), parse, json={"port": {"state": state}}, headers=_prefer(wait))

    def delete_port(self, network_id: str, port_id: str, wait: int | None) -> _Call:
        return _Call("DELETE", self.ports(network_id, port_id), _gone, headers=_prefer(wait))

    # attachments
    def attachment(self, network_id: str, port_id: str) -> str:
        return f"{self.ports(network_id, port_id)}/attachment"

    def create_attachment(self, network_id: str, port_id: str, iface_id: str, host: str | None, wait: int | None) -> _Call:
        body: dict[str, Any] = {"id": iface_id} | ({"host": host} if host else {})
        return _Call("PUT", self.attachment(network_id, port_id), _model("attachment", AttachmentBody),
                     json={"attachment": body}, headers=_prefer(wait))

    def show_attachment(self, network_id: str, port_id: str) -> _Call:
        return _Call("GET", self.attachment(network_id, port_id), _attachment_or_none)

    def delete_attachment(self, network_id: str, port_id: str, wait: int | None) -> _Call:
        return _Call("DELETE", self.attachment(network_id, port_id), _gone, headers=_prefer(wait))

    # tokens, health
    def create_token(self, tenant_id: str | None, admin: bool) -> _Call:
        body = {"admin": True} if admin else {"tenant_id": tenant_id}
        return _Call("POST", "/v1.1/tokens", _model("token", TokenBody), json={"token": body})

    def delete_token(self, token_id: str) -> _Call:
        return _Call("DELETE", f"/v1.1/tokens/{token_id}", _nothing)

    def health(self) -> _Call:
        return _Call("GET", "/healthz", lambda response: Health.model_validate(response.json()))

    # operator actions
    def action(self, network_id: str, port_id: str | None, action: str, wait: int | None) -> _Call:
        if port_id:
            return _Call("POST", f"{self.ports(network_id, port_id)}/actions/{action}", _model("port", PortBody), headers=_prefer(wait))
        return _Call("POST", f"{self.networks(network_id)}/actions/{action}", _model("network", NetworkBody), headers=_prefer(wait))

    def history(self, network_id: str, port_id: str | None) -> _Call:
        path = f"{self.ports(network_id, port_id)}/history" if port_id else f"{self.networks(network_id)}/history"
        return _Call("GET", path, _model("history", HistoryBody))

    def show(self, resource: NetworkBody | PortBody) -> _Call:
        if isinstance(resource, PortBody):
            return self.show_port(resource.network_id, resource.id)
        if isinstance(resource, NetworkBody):
            return self.show_network(resource.id)
        raise TypeError(f"wait_until takes a NetworkBody or PortBody, not {type(resource).__name__}")


# -- Server-Sent Events ------------------------------------------------------------------------


class SseParser:
    """Turns the lines of a text/event-stream into StatusEvents (the W3C parsing rules)."""

    def __init__(self) -> None:
        self.last_id: str | None = None
        self._event, self._data, self._id = "", [], None

    def feed(self, line: str) -> StatusEvent | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._id = value
        return None

    def _dispatch(self) -> StatusEvent | None:
        event, data, event_id = self._event, self._data, self._id
        self._event, self._data, self._id = "", [], None
        if event_id is not None:
            self.last_id = event_id
        if not data:
            return None
        payload = json.loads("\n".join(data))
        if event == TRUNCATED:
            # Events after our Last-Event-ID were pruned: the caller must re-read the resources.
            data_model = EventData(resource_type="stream", id=None, status_reason=payload.get("reason"))
            return StatusEvent(id=int(self.last_id or 0), type=TRUNCATED, data=data_model)
        return StatusEvent(id=int(event_id or self.last_id or 0), type=event or "message", data=EventData.model_validate(payload))


def _concerns(event: StatusEvent, resource: NetworkBody | PortBody) -> bool:
    data = event.data
    return event.type == TRUNCATED or data.id == resource.id or data.port_id == resource.id


def _check(resource: BaseModel, wanted: set[str], link_status: str | None, attachment_status: str | None) -> bool:
    """True when `resource` is as asked; raises ResourceFailed on an ERROR that was not asked for."""
    status = resource.status  # type: ignore[attr-defined]
    attachment = getattr(resource, "attachment", None)
    if status == ERROR and ERROR not in wanted:
        raise ResourceFailed(f"{type(resource).__name__} {resource.id} is in ERROR: {resource.status_reason}", resource)  # type: ignore[attr-defined]
    if attachment_status and attachment is not None and attachment.status == ERROR and attachment_status != ERROR:
        raise ResourceFailed(f"attachment {attachment.id} is in ERROR: {attachment.status_reason}", resource)
    if wanted and status not in wanted:
        return False
    if link_status and getattr(resource, "link_status", None) != link_status:
        return False
    if attachment_status and (attachment is None or attachment.status != attachment_status):
        return False
    return True


# -- the clients -------------------------------------------------------------------------------


def _headers(token: str | None) -> dict[str, str]:
    headers = {"User-Agent": "netprov-client/0.1", "Accept": "application/json"}
    if token:
        headers["X-Auth-Token"] = token
    return headers


class Client:
    """Synchronous client. `transport` (an httpx transport) is for tests and special setups."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        tenant: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tenant = tenant
        self._requests = _Requests(tenant)
        self._http = http or httpx.Client(base_url=self.base_url, headers=_headers(token), timeout=timeout, transport=transport)

    def with_tenant(self, tenant: str) -> Client:
        """The same connection, on another tenant's paths (for admin tokens)."""
        return Client(self.base_url, tenant=tenant, http=self._http)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _run(self, call: _Call[T]) -> T:
        try:
            response = self._http.request(call.method, call.path, json=call.json, params=call.params, headers=call.headers)
        except httpx.TransportError as error:
            raise ApiUnreachable(f"cannot reach the netprov API at {self.base_url}: {error}") from error
        if response.is_error:
            raise problem_from(response)
        return call.parse(response)

    # networks
    def create_network(self, name: str, *, plugin: str | None = None, wait: int | None = None,
                       idempotency_key: str | None = None) -> NetworkBody:
        return self._run(self._requests.create_network(name, plugin, wait, idempotency_key))

    def list_networks(self, *, status: str | Iterable[str] | None = None) -> list[NetworkBody]:
        return self._run(self._requests.list_networks(status))

    def show_network(self, network_id: str) -> NetworkBody:
        return self._run(self._requests.show_network(network_id))

    def update_network(self, network_id: str, *, name: str) -> NetworkBody:
        """Rename (applied at once, no device is touched); returns the network as it now is."""
        self._run(self._requests.rename_network(network_id, name))
        return self.show_network(network_id)

    def delete_network(self, network_id: str, *, wait: int | None = None) -> bool:
        """True when the network is gone, False while it is being deprovisioned."""
        return self._run(self._requests.delete_network(network_id, wait))

    # ports
    def create_port(self, network_id: str, *, state: str | None = None, wait: int | None = None,
                    idempotency_key: str | None = None) -> PortBody:
        return self._run(self._requests.create_port(network_id, state, wait, idempotency_key))

    def list_ports(self, network_id: str, *, status: str | Iterable[str] | None = None) -> list[PortBody]:
        return self._run(self._requests.list_ports(network_id, status))

    def show_port(self, network_id: str, port_id: str) -> PortBody:
        return self._run(self._requests.show_port(network_id, port_id))

    def update_port(self, network_id: str, port_id: str, *, state: str, wait: int | None = None) -> PortBody:
        """Set the admin state; returns the port (as the wait left it, with `wait`)."""
        port = self._run(self._requests.update_port(network_id, port_id, state, wait))
        return port or self.show_port(network_id, port_id)

    def delete_port(self, network_id: str, port_id: str, *, wait: int | None = None) -> bool:
        return self._run(self._requests.delete_port(network_id, port_id, wait))

    # attachments
    def create_attachment(self, network_id: str, port_id: str, iface_id: str, *, host: str | None = None,
                          wait: int | None = None) -> AttachmentBody:
        return self._run(self._requests.create_attachment(network_id, port_id, iface_id, host, wait))

    def show_attachment(self, network_id: str, port_id: str) -> AttachmentBody | None:
        return self._run(self._requests.show_attachment(network_id, port_id))

    def list_attachments(self, network_id: str) -> dict[str, AttachmentBody]:
        """The attachments of a network's ports, by port id."""
        return {port.id: port.attachment for port in self.list_ports(network_id) if port.attachment is not None}

    def update_attachment(self, network_id: str, port_id: str, iface_id: str, *, host: str | None = None,
                          wait: int | None = None) -> AttachmentBody:
        """Plug `iface_id` into the port, unplugging whatever other interface it has first (two
        requests: the port is without attachment in between)."""
        current = self.show_attachment(network_id, port_id)
        if current is not None and (current.id != iface_id or (host and current.host != host)):
            self.delete_attachment(network_id, port_id, wait=wait)
        return self.create_attachment(network_id, port_id, iface_id, host=host, wait=wait)

    def delete_attachment(self, network_id: str, port_id: str, *, wait: int | None = None) -> bool:
        return self._run(self._requests.delete_attachment(network_id, port_id, wait))

    # tokens, health
    def create_token(self, *, tenant_id: str | None = None, admin: bool = False) -> TokenBody:
        return self._run(self._requests.create_token(tenant_id, admin))

    def delete_token(self, token_id: str) -> None:
        self._run(self._requests.delete_token(token_id))

    def health(self) -> Health:
        return self._run(self._requests.health())

    # operator actions
    def retry(self, network_id: str, port_id: str | None = None, *, wait: int | None = None) -> NetworkBody | PortBody:
        """Re-drive a network (or, with `port_id`, a port or its attachment) that is in ERROR."""
        return self._run(self._requests.action(network_id, port_id, "retry", wait))

    def cancel(self, network_id: str, port_id: str | None = None, *, wait: int | None = None) -> NetworkBody | PortBody:
        """Stop the operation in flight: it ends in ERROR "cancelled by operator"."""
        return self._run(self._requests.action(network_id, port_id, "cancel", wait))

    def history(self, network_id: str, port_id: str | None = None) -> HistoryBody:
        return self._run(self._requests.history(network_id, port_id))

    # events
    def events(self, *, last_event_id: int | None = None, reconnect: bool = True,
               idle_timeout: float = STREAM_IDLE_TIMEOUT, on_open: Callable[[], None] | None = None) -> Iterator[StatusEvent]:
        """The tenant's live status events, for ever (break out of the loop to stop). A dropped
        stream is reopened with Last-Event-ID, so no event is missed or repeated. An event of
        type "truncated" says events were pruned before they could be read: re-read the resources.
        `on_open` is called each time the stream is open: events committed after it are delivered
        (list the resources after it to have a snapshot that misses nothing)."""
        cursor = last_event_id
        while True:
            try:
                opened = False
                for event in self._stream(cursor, idle_timeout):
                    if not opened:
                        opened = True
                        if on_open is not None:
                            on_open()
                    if event is None:
                        continue
                    if event.type != TRUNCATED:
                        cursor = event.id
                    yield event
            except (httpx.TransportError, ApiUnreachable):
                if not reconnect:
                    raise
                time.sleep(0.5)

    def _stream(self, last_event_id: int | None, idle_timeout: float) -> Iterator[StatusEvent | None]:
        """Events of one connection; yields None once the stream is open, and on keep-alives."""
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        timeout = httpx.Timeout(DEFAULT_TIMEOUT, read=idle_timeout)
        try:
            with self._http.stream("GET", f"{self._requests.base}/events", headers=headers, timeout=timeout) as response:
                if response.is_error:
                    response.read()
                    raise problem_from(response)
                parser = SseParser()
                opened = False
                for line in response.iter_lines():
                    event = parser.feed(line)
                    if event is not None or not opened or line.startswith(":"):
                        opened = True
                        yield event
        except httpx.ConnectError as error:
            raise ApiUnreachable(f"cannot reach the netprov API at {self.base_url}: {error}") from error

    def wait_until(
        self,
        resource: NetworkBody | PortBody,
        status: str | Iterable[str] | None = None,
        *,
        timeout: float = 60.0,
        link_status: str | None = None,
        attachment_status: str | None = None,
    ) -> NetworkBody | PortBody:
        """Block until `resource` (a network or port from this client) has `status` (one or any
        of several) and, when given, the port's `link_status` / attachment status; return it as
        it then is.

        How: it subscribes to the tenant's live event stream (GET .../events, Server-Sent
        Events), reads the resource once, and re-reads it only when an event names it: no
        polling and no sleeps. Where the stream cannot be opened (an API without it), it falls
        back to short GETs with backoff (0.1 s doubling to 2 s).

        Raises WaitTimeout after `timeout` seconds, ResourceFailed when it (or its attachment)
        reaches ERROR and ERROR was not asked for, NetworkNotFound/PortNotFound when deleted."""
        wanted = _statuses(status)
        deadline = time.monotonic() + timeout
        current: BaseModel = resource
        try:
            stream = self._stream(None, idle_timeout=max(0.1, min(STREAM_IDLE_TIMEOUT, timeout)))
            first = next(stream)  # the stream is open: no event after this point is missed
            del first
        except (ProblemError, ApiUnreachable, httpx.TransportError):
            return self._poll_until(resource, wanted, deadline, link_status, attachment_status)
        try:
            while True:
                current = self._run(self._requests.show(resource))
                if _check(current, wanted, link_status, attachment_status):
                    return current  # type: ignore[return-value]
                while True:
                    if time.monotonic() >= deadline:
                        raise WaitTimeout(f"{resource.id} did not reach {status} within {timeout} s", current)
                    try:
                        event = next(stream)
                    except (httpx.ReadTimeout, StopIteration, httpx.TransportError):
                        stream.close()
                        remaining = deadline - time.monotonic()
                        stream = self._stream(None, idle_timeout=max(0.1, min(STREAM_IDLE_TIMEOUT, remaining)))
                        next(stream)
                        break
                    if event is not None and _concerns(event, resource):
                        break
        finally:
            stream.close()

    def _poll_until(self, resource, wanted, deadline, link_status, attachment_status):
        delay = 0.1
        while True:
            current = self._run(self._requests.show(resource))
            if _check(current, wanted, link_status, attachment_status):
                return current
            if time.monotonic() >= deadline:
                raise WaitTimeout(f"{resource.id} did not reach {sorted(wanted)} in time", current)
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 2.0)


class AsyncClient:
    """The asynchronous client: the methods of Client, awaited; events() is an async iterator."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        tenant: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tenant = tenant
        self._requests = _Requests(tenant)
        self._http = http or httpx.AsyncClient(base_url=self.base_url, headers=_headers(token), timeout=timeout, transport=transport)

    def with_tenant(self, tenant: str) -> AsyncClient:
        return AsyncClient(self.base_url, tenant=tenant, http=self._http)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _run(self, call: _Call[T]) -> T:
        try:
            response = await self._http.request(call.method, call.path, json=call.json, params=call.params, headers=call.headers)
        except httpx.TransportError as error:
            raise ApiUnreachable(f"cannot reach the netprov API at {self.base_url}: {error}") from error
        if response.is_error:
            raise problem_from(response)
        return call.parse(response)

    async def create_network(self, name: str, *, plugin: str | None = None, wait: int | None = None,
                             idempotency_key: str | None = None) -> NetworkBody:
        return await self._run(self._requests.create_network(name, plugin, wait, idempotency_key))

    async def list_networks(self, *, status: str | Iterable[str] | None = None) -> list[NetworkBody]:
        return await self._run(self._requests.list_networks(status))

    async def show_network(self, network_id: str) -> NetworkBody:
        return await self._run(self._requests.show_network(network_id))

    async def update_network(self, network_id: str, *, name: str) -> NetworkBody:
        await self._run(self._requests.rename_network(network_id, name))
        return await self.show_network(network_id)

    async def delete_network(self, network_id: str, *, wait: int | None = None) -> bool:
        return await self._run(self._requests.delete_network(network_id, wait))

    async def create_port(self, network_id: str, *, state: str | None = None, wait: int | None = None,
                          idempotency_key: str | None = None) -> PortBody:
        return await self._run(self._requests.create_port(network_id, state, wait, idempotency_key))

    async def list_ports(self, network_id: str, *, status: str | Iterable[str] | None = None) -> list[PortBody]:
        return await self._run(self._requests.list_ports(network_id, status))

    async def show_port(self, network_id: str, port_id: str) -> PortBody:
        return await self._run(self._requests.show_port(network_id, port_id))

    async def update_port(self, network_id: str, port_id: str, *, state: str, wait: int | None = None) -> PortBody:
        port = await self._run(self._requests.update_port(network_id, port_id, state, wait))
        return port or await self.show_port(network_id, port_id)

    async def delete_port(self, network_id: str, port_id: str, *, wait: int | None = None) -> bool:
        return await self._run(self._requests.delete_port(network_id, port_id, wait))

    async def create_attachment(self, network_id: str, port_id: str, iface_id: str, *, host: str | None = None,
                                wait: int | None = None) -> AttachmentBody:
        return await self._run(self._requests.create_attachment(network_id, port_id, iface_id, host, wait))

    async def show_attachment(self, network_id: str, port_id: str) -> AttachmentBody | None:
        return await self._run(self._requests.show_attachment(network_id, port_id))

    async def list_attachments(self, network_id: str) -> dict[str, AttachmentBody]:
        return {port.id: port.attachment for port in await self.list_ports(network_id) if port.attachment is not None}

    async def update_attachment(self, network_id: str, port_id: str, iface_id: str, *, host: str | None = None,
                                wait: int | None = None) -> AttachmentBody:
        current = await self.show_attachment(network_id, port_id)
        if current is not None and (current.id != iface_id or (host and current.host != host)):
            await self.delete_attachment(network_id, port_id, wait=wait)
        return await self.create_attachment(network_id, port_id, iface_id, host=host, wait=wait)

    async def delete_attachment(self, network_id: str, port_id: str, *, wait: int | None = None) -> bool:
        return await self._run(self._requests.delete_attachment(network_id, port_id, wait))

    async def create_token(self, *, tenant_id: str | None = None, admin: bool = False) -> TokenBody:
        return await self._run(self._requests.create_token(tenant_id, admin))

    async def delete_token(self, token_id: str) -> None:
        await self._run(self._requests.delete_token(token_id))

    async def health(self) -> Health:
        return await self._run(self._requests.health())

    async def retry(self, network_id: str, port_id: str | None = None, *, wait: int | None = None) -> NetworkBody | PortBody:
        return await self._run(self._requests.action(network_id, port_id, "retry", wait))

    async def cancel(self, network_id: str, port_id: str | None = None, *, wait: int | None = None) -> NetworkBody | PortBody:
        return await self._run(self._requests.action(network_id, port_id, "cancel", wait))

    async def history(self, network_id: str, port_id: str | None = None) -> HistoryBody:
        return await self._run(self._requests.history(network_id, port_id))

    async def events(self, *, last_event_id: int | None = None, reconnect: bool = True,
                     idle_timeout: float = STREAM_IDLE_TIMEOUT, on_open: Callable[[], None] | None = None) -> AsyncIterator[StatusEvent]:
        """As Client.events: live status events, reopened with Last-Event-ID when dropped."""
        cursor = last_event_id
        while True:
            try:
                opened = False
                async for event in self._stream(cursor, idle_timeout):
                    if not opened:
                        opened = True
                        if on_open is not None:
                            on_open()
                    if event is None:
                        continue
                    if event.type != TRUNCATED:
                        cursor = event.id
                    yield event
            except (httpx.TransportError, ApiUnreachable):
                if not reconnect:
                    raise
                await asyncio.sleep(0.5)

    async def _stream(self, last_event_id: int | None, idle_timeout: float) -> AsyncIterator[StatusEvent | None]:
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        timeout = httpx.Timeout(DEFAULT_TIMEOUT, read=idle_timeout)
        try:
            async with self._http.stream("GET", f"{self._requests.base}/events", headers=headers, timeout=timeout) as response:
                if response.is_error:
                    await response.aread()
                    raise problem_from(response)
                parser = SseParser()
                opened = False
                async for line in response.aiter_lines():
                    event = parser.feed(line)
                    if event is not None or not opened or line.startswith(":"):
                        opened = True
                        yield event
        except httpx.ConnectError as error:
            raise ApiUnreachable(f"cannot reach the netprov API at {self.base_url}: {error}") from error

    async def wait_until(
        self,
        resource: NetworkBody | PortBody,
        status: str | Iterable[str] | None = None,
        *,
        timeout: float = 60.0,
        link_status: str | None = None,
        attachment_status: str | None = None,
    ) -> NetworkBody | PortBody:
        """As Client.wait_until: on the live event stream, falling back to GETs with backoff."""
        wanted = _statuses(status)
        current: BaseModel = resource
        try:
            async with asyncio.timeout(timeout):
                stream = self._stream(None, idle_timeout=STREAM_IDLE_TIMEOUT)
                try:
                    try:
                        await anext(stream)  # open: no event after this point is missed
                    except (ProblemError, ApiUnreachable, httpx.TransportError):
                        return await self._poll_until(resource, wanted, link_status, attachment_status)
                    while True:
                        current = await self._run(self._requests.show(resource))
                        if _check(current, wanted, link_status, attachment_status):
                            return current  # type: ignore[return-value]
                        while True:
                            try:
                                event = await anext(stream)
                            except (StopAsyncIteration, httpx.TransportError):
                                await stream.aclose()
                                stream = self._stream(None, idle_timeout=STREAM_IDLE_TIMEOUT)
                                await anext(stream)
                                break
                            if event is not None and _concerns(event, resource):
                                break
                finally:
                    await stream.aclose()
        except TimeoutError:
            raise WaitTimeout(f"{resource.id} did not reach {status} within {timeout} s", current) from None

    async def _poll_until(self, resource, wanted, link_status, attachment_status):
        delay = 0.1
        while True:
            current = await self._run(self._requests.show(resource))
            if _check(current, wanted, link_status, attachment_status):
                return current
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
