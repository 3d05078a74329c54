"""TemporalDevServer: a real `temporal server start-dev` on free ports, killed and restarted on its database."""

import os
import uuid

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from devstack.temporal_server import TemporalDevServer, TemporalServerError, free_port
from netprov.naming import SA_TENANT, SEARCH_ATTRIBUTES

TENANT = SearchAttributeKey.for_keyword(SA_TENANT)


async def test_search_attributes_and_workflows_survive_kill_9(tmp_path):
    server = TemporalDevServer(tmp_path, port=free_port(), headless=True)
    await server.start_async()
    try:
        client = await Client.connect(server.target)
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace="default")
        )
        for name in SEARCH_ATTRIBUTES:
            assert listed.custom_attributes[name] == IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD

        # No worker polls this queue, so the workflow stays running across the crash.
        handle = await client.start_workflow(
            "NoSuchWorkflow",
            id=f"devstack-{uuid.uuid4()}",
            task_queue=f"devstack-no-worker-{uuid.uuid4()}",
            search_attributes=TypedSearchAttributes([SearchAttributePair(TENANT, "tenant-a")]),
        )
        pid = server.pid
        server.kill()
        assert not server.running
        assert not _alive(pid)

        await server.start_async()
        client = await Client.connect(server.target)
        description = await client.get_workflow_handle(handle.id).describe()
        assert description.status == WorkflowExecutionStatus.RUNNING
        assert description.run_id == handle.result_run_id
        assert description.typed_search_attributes[TENANT] == "tenant-a"
    finally:
        server.stop()
    assert (tmp_path / "temporal.db").is_file()
    assert (tmp_path / "temporal.log").is_file()


async def test_blocking_start_inside_event_loop_then_graceful_stop(tmp_path):
    server = TemporalDevServer(tmp_path, port=free_port(), headless=True)
    server.start()  # must not trip over the test's running loop
    try:
        pid = server.pid
        with pytest.raises(TemporalServerError, match="already in use"):
            TemporalDevServer(tmp_path / "other", port=server.port, headless=True).start()
    finally:
        server.stop()
    assert not server.running
    assert not _alive(pid)


def test_early_exit_reports_the_log(tmp_path):
    server = TemporalDevServer(tmp_path, port=free_port(), headless=True, search_attributes={"Bad": "NoSuchType"})
    with pytest.raises(TemporalServerError, match="NoSuchType"):
        server.start(timeout=15)
    assert not server.running


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
