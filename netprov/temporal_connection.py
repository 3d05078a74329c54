"""Connecting to the workflow engine, the same way in every process."""

from typing import Any

from temporalio.client import Client

from netprov.settings import Settings
from netprov.tracing import temporal_interceptor


async def connect(settings: Settings, **options: Any) -> Client:
    """`options` go to Client.connect as they are (e.g. a metrics `runtime`, `interceptors`). The
    client (and every worker made with it) also carries the tracing interceptor (netprov.tracing)."""
    interceptors = [*options.pop("interceptors", ()), temporal_interceptor()]
    return await Client.connect(
        settings.temporal_address, namespace=settings.temporal_namespace, interceptors=interceptors, **options
    )
