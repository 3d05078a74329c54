"""The plugins' SQLite files under concurrent calls: threads of one worker and two worker processes."""

import subprocess
import sys
import textwrap
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from netprov.operations import PluginAction, PluginRequest


def network_requests(plugin: str, count: int) -> list[PluginRequest]:
    return [
        PluginRequest(plugin=plugin, request_id=f"req-{i}", tenant_id="t1", network_id=str(uuid.uuid4()))
        for i in range(count)
    ]


@pytest.mark.parametrize("name", ["fake", "ovs-sim", "qbh-sim"])
def test_eight_threads_create_200_networks(load, name):
    plugin = load(name)
    requests = network_requests(name, 200)
    # Every request is sent twice, by different threads, as a retry racing its first attempt would be.
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(plugin.create_network, requests + requests))

    per_request = len(plugin.steps(PluginAction.CREATE_NETWORK))  # qbh-sim records each of its 3 steps
    ledger = plugin.ledger()
    assert len(ledger) == 200 * per_request
    assert len({(e.request_id, e.action) for e in ledger}) == 200 * per_request
    assert plugin.residue()["networks"] == 200 * per_request
    if name == "ovs-sim":
        vlans = [result["vlan"] for result in results[:200]]
        assert len(set(vlans)) == 200
        assert results[200:] == results[:200]


_WORKER = textwrap.dedent(
    """
    import sys
    from netprov.operations import PluginAction, PluginRequest
    from netprov.settings import Settings
    from plugins.registry import plugin_class

    data_dir, name, first, last = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    plugin = plugin_class(name)(Settings(data_dir=data_dir, plugin_settings={"qbh-sim": {"latency_ms": 0}}))
    for i in range(first, last):
        plugin.create_network(
            PluginRequest(plugin=name, request_id=f"req-{i}", tenant_id="t1", network_id=f"net-{i}")
        )
    """
)


@pytest.mark.parametrize("name", ["fake", "ovs-sim"])
def test_two_worker_processes_share_the_file(tmp_path, load, name):
    # Overlapping halves: requests 50..99 are applied by both processes, and must count once.
    workers = [
        subprocess.Popen([sys.executable, "-c", _WORKER, str(tmp_path), name, str(first), str(last)])
        for first, last in ((0, 100), (50, 150))
    ]
    assert [worker.wait(timeout=120) for worker in workers] == [0, 0]

    plugin = load(name)
    ledger = plugin.ledger()
    assert sorted(e.request_id for e in ledger) == sorted(f"req-{i}" for i in range(150))
    if name == "ovs-sim":
        vlans = [plugin.vlan_of(f"net-{i}") for i in range(150)]
        assert len(set(vlans)) == 150
