"""The synchronous client."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator

import httpx
from pydantic import BaseModel

from netprov.qos_resources import QosPolicyBody
from netprov.resources import AttachmentBody, Health, HistoryBody, NetworkBody, PortBody, StatusEvent, TokenBody
from netprov_client.calls import DEFAULT_TIMEOUT, UNSET, Call, Requests, Rule, T, Unset, client_headers, statuses
from netprov_client.errors import ApiUnreachable, ProblemError, WaitTimeout, problem_from
from netprov_client.sse import STREAM_IDLE_TIMEOUT, TRUNCATED, SseParser
from netprov_client.waiting import check, concerns


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
        self._requests = Requests(tenant)
        self._http = http or httpx.Client(base_url=self.base_url, headers=client_headers(token), timeout=timeout, transport=transport)

    def with_tenant(self, tenant: str) -> Client:
        """The same connection, on another tenant's paths (for admin tokens)."""
        return Client(self.base_url, tenant=tenant, http=self._http)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _run(self, call: Call[T]) -> T:
        try:
            response = self._http.request(call.method, call.path, json=call.json, params=call.params, headers=call.headers)
        except httpx.TransportError as error:
            raise ApiUnreachable(f"cannot reach the netprov API at {self.base_url}: {error}") from error
        if response.is_error:
            raise problem_from(response)
        return call.parse(response)

    # networks
    def create_network(self, name: str, *, plugin: str | None = None, wait: int | None = None,
                       idempotency_key: str | None = None, qos_policy_id: str | None | Unset = UNSET) -> NetworkBody:
        """`qos_policy_id`: the QoS policy of the network's ports that have none of their own."""
        return self._run(self._requests.create_network(name, plugin, wait, idempotency_key, qos_policy_id))

    def list_networks(self, *, status: str | Iterable[str] | None = None) -> list[NetworkBody]:
        return self._run(self._requests.list_networks(status))

    def show_network(self, network_id: str) -> NetworkBody:
        return self._run(self._requests.show_network(network_id))

    def update_network(self, network_id: str, *, name: str | None = None,
                       qos_policy_id: str | None | Unset = UNSET) -> NetworkBody:
        """Rename (applied at once, no device is touched) and/or set the network's QoS policy (None
        clears it; re-applied to its ports without a policy of their own); returns the network."""
        self._run(self._requests.update_network(network_id, name, qos_policy_id))
        return self.show_network(network_id)

    def set_network_qos_policy(self, network_id: str, policy_id: str | None) -> NetworkBody:
        """The network's QoS policy (None clears it)."""
        return self.update_network(network_id, qos_policy_id=policy_id)

    def delete_network(self, network_id: str, *, wait: int | None = None) -> bool:
        """True when the network is gone, False while it is being deprovisioned."""
        return self._run(self._requests.delete_network(network_id, wait))

    # ports
    def create_port(self, network_id: str, *, state: str | None = None, wait: int | None = None,
                    idempotency_key: str | None = None, qos_policy_id: str | None | Unset = UNSET) -> PortBody:
        return self._run(self._requests.create_port(network_id, state, wait, idempotency_key, qos_policy_id))

    def list_ports(self, network_id: str, *, status: str | Iterable[str] | None = None) -> list[PortBody]:
        return self._run(self._requests.list_ports(network_id, status))

    def show_port(self, network_id: str, port_id: str) -> PortBody:
        return self._run(self._requests.show_port(network_id, port_id))

    def update_port(self, network_id: str, port_id: str, *, state: str | None = None, wait: int | None = None,
                    qos_policy_id: str | None | Unset = UNSET) -> PortBody:
        """Set the admin state and/or the port's own QoS policy (None clears it: its network's
        applies); returns the port (as the wait left it, with `wait`)."""
        port = self._run(self._requests.update_port(network_id, port_id, state, wait, qos_policy_id))
        return port or self.show_port(network_id, port_id)

    def set_port_qos_policy(self, network_id: str, port_id: str, policy_id: str | None, *,
                            wait: int | None = None) -> PortBody:
        """The port's own QoS policy (None clears it); its `qos_status` says how far it is enforced."""
        return self.update_port(network_id, port_id, qos_policy_id=policy_id, wait=wait)

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

    # QoS policies
    def create_qos_policy(self, name: str, rules: Iterable[Rule] = ()) -> QosPolicyBody:
        """A policy (AVAILABLE at once: a definition the service holds). Rules: BandwidthLimitRule,
        DscpMarkingRule or their JSON dicts; an invalid one is BadRequest with the API's sentence."""
        return self._run(self._requests.create_qos_policy(name, rules))

    def list_qos_policies(self) -> list[QosPolicyBody]:
        return self._run(self._requests.list_qos_policies())

    def show_qos_policy(self, policy_id: str) -> QosPolicyBody:
        return self._run(self._requests.show_qos_policy(policy_id))

    def update_qos_policy(self, policy_id: str, *, name: str | None = None,
                          rules: Iterable[Rule] | None = None) -> QosPolicyBody:
        """Replace the name and/or the whole rule list; new rules are re-applied to every port using it."""
        return self._run(self._requests.update_qos_policy(policy_id, name, rules))

    def delete_qos_policy(self, policy_id: str) -> None:
        """QosPolicyInUse while a port or network names it."""
        self._run(self._requests.delete_qos_policy(policy_id))

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
        qos_status: str | None = None,
    ) -> NetworkBody | PortBody:
        """Block until `resource` (a network or port from this client) has `status` (one or any
        of several) and, when given, the port's `link_status` / attachment status; return it as
        it then is.

        How: it subscribes to the tenant's live event stream (GET .../events, Server-Sent
        Events), reads the resource once, and re-reads it only when an event names it: no
        polling and no sleeps. Where the stream cannot be opened (an API without it), it falls
        back to short GETs with backoff (0.1 s doubling to 2 s).

        `qos_status` (a port's, e.g. "AVAILABLE"): how far its QoS policy is enforced (events
        `port.qos_status`).

        Raises WaitTimeout after `timeout` seconds, ResourceFailed when it (or its attachment, or
        its QoS when a qos_status is asked) reaches ERROR and ERROR was not asked for,
        NetworkNotFound/PortNotFound when deleted."""
        wanted = statuses(status)
        deadline = time.monotonic() + timeout
        current: BaseModel = resource
        try:
            stream = self._stream(None, idle_timeout=max(0.1, min(STREAM_IDLE_TIMEOUT, timeout)))
            first = next(stream)  # the stream is open: no event after this point is missed
            del first
        except (ProblemError, ApiUnreachable, httpx.TransportError):
            return self._poll_until(resource, wanted, deadline, link_status, attachment_status, qos_status)
        try:
            while True:
                current = self._run(self._requests.show(resource))
                if check(current, wanted, link_status, attachment_status, qos_status):
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
                    if event is not None and concerns(event, resource):
                        break
        finally:
            stream.close()

    def _poll_until(self, resource, wanted, deadline, link_status, attachment_status, qos_status=None):
        delay = 0.1
        while True:
            current = self._run(self._requests.show(resource))
            if check(current, wanted, link_status, attachment_status, qos_status):
                return current
            if time.monotonic() >= deadline:
                raise WaitTimeout(f"{resource.id} did not reach {sorted(wanted)} in time", current)
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 2.0)
