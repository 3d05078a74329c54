"""Connecting to the workflow engine, the same way in every process."""

from temporalio.client import Client

from netprov.settings import Settings


async def connect(settings: Settings) -> Client:
    return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)
