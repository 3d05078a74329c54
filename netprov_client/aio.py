"""The asynchronous client: the methods of Client, awaited; events() is an async iterator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable

import httpx
from pydantic import BaseModel

from netprov.qos_resources import QosPolicyBody
from netprov.resources import AttachmentBody, Health, HistoryBody, NetworkBody, PortBody, StatusEvent, TokenBody
from netprov_client.calls import DEFAULT_TIMEOUT, UNSET, Call, Requests, Rule, T, Unset, client_headers, statuses
from netprov_client.errors import ApiUnreachable, ProblemError, WaitTimeout, problem_from
from netprov_client.sse import STREAM_IDLE_TIMEOUT, TRUNCATED, SseParser
from netprov_client.waiting import check, concerns


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
        self._requests = Requests(tenant)
        self._http = http or httpx.AsyncClient(base_url=self.base_url, headers=client_headers(token), timeout=timeout, transport=transport)

    def with_tenant(self, tenant: str) -> AsyncClient:
        return AsyncClient(self.base_url, tenant=tenant, http=self._http)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _run(self, call: Call[T]) -> T:
        try:
            response = await self._http.request(call.method, call.path, json=call.json, params=call.params, headers=call.headers)
        except httpx.TransportError as error:
            raise ApiUnreachable(f"cannot reach the netprov API at {self.base_url}: {error}") from error
        if response.is_error:
            raise problem_from(response)
        return call.parse(response)

    async def create_network(self, name: str, *, plugin: str | None = None, wait: int | None = None,
                             idempotency_key: str | None = None, qos_policy_id: str | None | Unset = UNSET) -> NetworkBody:
        return await self._run(self._requests.create_network(name, plugin, wait, idempotency_key, qos_policy_id))

    async def list_networks(self, *, status: str | Iterable[str] | None = None) -> list[NetworkBody]:
        return await self._run(self._requests.list_networks(status))

    async def show_network(self, network_id: str) -> NetworkBody:
        return await self._run(self._requests.show_network(network_id))

    async def update_network(self, network_id: str, *, name: str | None = None,
                             qos_policy_id: str | None | Unset = UNSET) -> NetworkBody:
        await self._run(self._requests.update_network(network_id, name, qos_policy_id))
        return await self.show_network(network_id)

    async def set_network_qos_policy(self, network_id: str, policy_id: str | None) -> NetworkBody:
        return await self.update_network(network_id, qos_policy_id=policy_id)

    async def delete_network(self, network_id: str, *, wait: int | None = None) -> bool:
        return await self._run(self._requests.delete_network(network_id, wait))

    async def create_port(self, network_id: str, *, state: str | None = None, wait: int | None = None,
                          idempotency_key: str | None = None, qos_policy_id: str | None | Unset = UNSET) -> PortBody:
        return await self._run(self._requests.create_port(network_id, state, wait, idempotency_key, qos_policy_id))

    async def list_ports(self, network_id: str, *, status: str | Iterable[str] | None = None) -> list[PortBody]:
        return await self._run(self._requests.list_ports(network_id, status))

    async def show_port(self, network_id: str, port_id: str) -> PortBody:
        return await self._run(self._requests.show_port(network_id, port_id))

    async def update_port(self, network_id: str, port_id: str, *, state: str | None = None, wait: int | None = None,
                          qos_policy_id: str | None | Unset = UNSET) -> PortBody:
        port = await self._run(self._requests.update_port(network_id, port_id, state, wait, qos_policy_id))
        return port or await self.show_port(network_id, port_id)

    async def set_port_qos_policy(self, network_id: str, port_id: str, policy_id: str | None, *,
                                  wait: int | None = None) -> PortBody:
        return await self.update_port(network_id, port_id, qos_policy_id=policy_id, wait=wait)

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

    async def create_qos_policy(self, name: str, rules: Iterable[Rule] = ()) -> QosPolicyBody:
        return await self._run(self._requests.create_qos_policy(name, rules))

    async def list_qos_policies(self) -> list[QosPolicyBody]:
        return await self._run(self._requests.list_qos_policies())

    async def show_qos_policy(self, policy_id: str) -> QosPolicyBody:
        return await self._run(self._requests.show_qos_policy(policy_id))

    async def update_qos_policy(self, policy_id: str, *, name: str | None = None,
                                rules: Iterable[Rule] | None = None) -> QosPolicyBody:
        return await self._run(self._requests.update_qos_policy(policy_id, name, rules))

    async def delete_qos_policy(self, policy_id: str) -> None:
        await self._run(self._requests.delete_qos_policy(policy_id))

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
        qos_status: str | None = None,
    ) -> NetworkBody | PortBody:
        """As Client.wait_until: on the live event stream, falling back to GETs with backoff."""
        wanted = statuses(status)
        current: BaseModel = resource
        try:
            async with asyncio.timeout(timeout):
                stream = self._stream(None, idle_timeout=STREAM_IDLE_TIMEOUT)
                try:
                    try:
                        await anext(stream)  # open: no event after this point is missed
                    except (ProblemError, ApiUnreachable, httpx.TransportError):
                        return await self._poll_until(resource, wanted, link_status, attachment_status, qos_status)
                    while True:
                        current = await self._run(self._requests.show(resource))
                        if check(current, wanted, link_status, attachment_status, qos_status):
                            return current  # type: ignore[return-value]
                        while True:
                            try:
                                event = await anext(stream)
                            except (StopAsyncIteration, httpx.TransportError):
                                await stream.aclose()
                                stream = self._stream(None, idle_timeout=STREAM_IDLE_TIMEOUT)
                                await anext(stream)
                                break
                            if event is not None and concerns(event, resource):
                                break
                finally:
                    await stream.aclose()
        except TimeoutError:
            raise WaitTimeout(f"{resource.id} did not reach {status} within {timeout} s", current) from None

    async def _poll_until(self, resource, wanted, link_status, attachment_status, qos_status=None):
        delay = 0.1
        while True:
            current = await self._run(self._requests.show(resource))
            if check(current, wanted, link_status, attachment_status, qos_status):
                return current
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
