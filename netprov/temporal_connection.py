"""Connecting to the workflow engine, the same way in every process."""

from typing import Any

from temporalio.client import Client

from netprov.settings import Settings


async def connect(settings: Settings, **options: Any) -> Client:
    """`options` go to Client.connect as they are (e.g. a metrics `runtime`, `interceptors`)."""
    return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace, **options)
