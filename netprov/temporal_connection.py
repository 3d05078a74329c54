"""Connecting to the workflow engine, and preparing its namespace, the same way in every process
(the API at start, `netprov admin setup` from the command line)."""

import logging
from datetime import timedelta
from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.service import RPCError

from netprov.naming import SEARCH_ATTRIBUTES
from netprov.settings import Settings
from netprov.tracing import temporal_interceptor

log = logging.getLogger("netprov.temporal")
RPC_TIMEOUT = timedelta(seconds=5)


async def connect(settings: Settings, **options: Any) -> Client:
    """`options` go to Client.connect as they are (e.g. a metrics `runtime`, `interceptors`). The
    client (and every worker made with it) also carries the tracing interceptor (netprov.tracing)."""
    interceptors = [*options.pop("interceptors", ()), temporal_interceptor()]
    return await Client.connect(
        settings.temporal_address, namespace=settings.temporal_namespace, interceptors=interceptors, **options
    )


async def ensure_search_attributes(client: Client, namespace: str) -> bool:
    """Register netprov's search attributes when missing; False when the server has none to offer
    (the time-skipping test server), in which case workflows do not set them."""
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace), timeout=RPC_TIMEOUT
        )
    except RPCError:
        return False
    missing = [name for name in SEARCH_ATTRIBUTES if name not in listed.custom_attributes]
    if missing:
        try:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(
                    namespace=namespace,
                    search_attributes={name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for name in missing},
                ),
                timeout=RPC_TIMEOUT,
            )
        except RPCError as error:
            log.warning("could not register search attributes %s: %s", missing, error)
            return False
    return True
