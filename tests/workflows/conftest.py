"""Workflow tests on the time-skipping test server: the real workflows and the real activities
(a worker from worker.build) on a SQLite file and the fake plugin under the test's tmp dir.
Workflows are started directly, as the API would (signal-with-start of `enqueue`), with
`search_attributes=False` since the test server has no netprov search attributes.

Time skips whenever a test awaits a workflow result, so retry backoffs of minutes take no time.
"""

import sys
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment
from workflow_rig import Rig

from netprov.settings import Settings
from store.engine import engine_for
from worker.build import MAX_CONCURRENT_ACTIVITIES, central_worker

TEST_SERVER = Path(sys.executable).parent / "temporal-test-server"


@pytest.fixture(scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=str(TEST_SERVER))
    yield env
    await env.shutdown()


@pytest.fixture(params=[False, True], ids=["steps", "local-steps"])
def rig_settings(request, tmp_path: Path) -> Settings:
    """Every workflow test runs with plugin steps as ordinary activities and as local activities
    (NETPROV_LOCAL_STEPS). Override in a test module for other retry budgets."""
    return Settings(data_dir=tmp_path, plugin_initial_backoff_ms=5_000, plugin_max_attempts=6, local_steps=request.param)


@pytest.fixture
async def rig(time_env: WorkflowEnvironment, rig_settings: Settings) -> AsyncIterator[Rig]:
    task_queue = f"wf-test-{uuid.uuid4().hex[:8]}"
    executor = ThreadPoolExecutor(max_workers=MAX_CONCURRENT_ACTIVITIES)
    async with central_worker(time_env.client, rig_settings, executor, task_queue=task_queue):
        yield Rig(time_env, rig_settings, engine_for(rig_settings.resolved_database_url), task_queue)
    executor.shutdown(wait=False, cancel_futures=True)
