"""The typed client installs alone: `pip install clients/python` into a fresh venv (local wheels only,
as pip is configured here) brings httpx and pydantic but none of the server's dependencies, and the
installed client talks to a running API."""

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SERVER_ONLY = ("fastapi", "temporalio", "sqlalchemy", "sqlmodel", "uvicorn", "alembic")

# Run by the venv's interpreter, outside the repository, so only what pip installed can be imported.
PROBE = """
import importlib.util, json, sys, uuid
import netprov_client
from netprov.status import NetworkStatus
server_only = [name for name in sys.argv[4].split(",") if importlib.util.find_spec(name) is not None]
with netprov_client.Client(sys.argv[1], sys.argv[2], sys.argv[3]) as api:
    network = api.create_network("from-a-lone-client")
    shown = api.show_network(network.id)
    try:
        api.show_network(str(uuid.uuid4()))
        missing = None
    except netprov_client.NetworkNotFound as error:
        missing = [error.status, error.code, isinstance(error, netprov_client.NotFound)]
print(json.dumps({
    "client_file": netprov_client.__file__,
    "server_only_importable": server_only,
    "loaded": sorted(name for name in sys.modules if name.split(".")[0] in sys.argv[4].split(",")),
    "id": shown.id,
    "status_is_enum": isinstance(shown.status, NetworkStatus),
    "missing": missing,
}))
"""


async def _run(*args: str, cwd: Path, timeout: float = 300) -> str:
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    process = await asyncio.create_subprocess_exec(
        *args, cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode == 0, output.decode()[-3000:]
    return output.decode()


@pytest.fixture(scope="module")
async def lone_client_venv(tmp_path_factory) -> Path:
    venv = tmp_path_factory.mktemp("lone-client") / "venv"
    # setuptools builds in place: a build/ left by an earlier run would put stale modules in the wheel.
    shutil.rmtree(REPO / "clients" / "python" / "build", ignore_errors=True)
    await _run(sys.executable, "-m", "venv", str(venv), cwd=venv.parent)
    await _run(str(venv / "bin" / "pip"), "install", "-q", str(REPO / "clients" / "python"), cwd=venv.parent)
    return venv


async def test_client_installs_without_the_server_dependencies_and_talks_to_the_api(lone_client_venv, live_url, api):
    python = lone_client_venv / "bin" / "python"
    output = await _run(
        str(python), "-c", PROBE, live_url, api.headers["X-Auth-Token"], api.tenant, ",".join(SERVER_ONLY),
        cwd=lone_client_venv.parent,
    )
    result = json.loads(output.strip().splitlines()[-1])
    assert result["client_file"].startswith(str(lone_client_venv)), result  # the installed copy, not the repo's
    assert result["server_only_importable"] == [] and result["loaded"] == [], result
    assert result["status_is_enum"], result
    assert result["missing"] == [404, "NetworkNotFound", True], result
    # What the lone client created is an ordinary resource of the server.
    assert (await api.get(f"networks/{result['id']}"))["network"]["name"] == "from-a-lone-client"


async def test_the_lone_client_ships_only_the_vocabulary_it_speaks(lone_client_venv):
    site = next((lone_client_venv / "lib").glob("python3*/site-packages"))
    shipped = sorted(path.name for path in (site / "netprov").glob("*.py"))
    assert shipped == ["__init__.py", "identifiers.py", "problems.py", "resources.py", "status.py"]
    pip_list = await _run(str(lone_client_venv / "bin" / "pip"), "list", "--format=json", cwd=lone_client_venv.parent)
    installed = {entry["name"].lower() for entry in json.loads(pip_list.strip().splitlines()[-1])}
    assert {"netprov-client", "httpx", "pydantic"} <= installed
    assert not installed & {"fastapi", "temporalio", "sqlalchemy", "sqlmodel", "netprov"}
