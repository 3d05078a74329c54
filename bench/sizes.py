"""How much each mode measures. `full` is what the README's table comes from; `quick` is the CI-style run
(under 2 minutes); `smoke` is the reduced form the test suite runs to prove the harness works (not the figures)."""

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Size:
    name: str
    # Baseline (a) and scenario 2: workflows started / ports created one POST each, and the submit concurrency.
    throughput_count: int
    submit_concurrency: int
    # Scenario 2 splits its ports into this many rounds, each paired with as many bare workflows run right beside
    # it (alternately before and after), so that the ratio compares like with like on a machine whose load drifts.
    throughput_rounds: int
    # One resource at a time (baseline latency and scenario 2): samples per resource kind.
    one_at_a_time: int
    # Scenario 1: requests per resource kind, per number of concurrent clients.
    write_levels: tuple[tuple[int, int], ...]
    # Scenario 4: seeded ports listed, GET samples, list samples (summary and ?detail=true).
    seeded_ports: int
    get_samples: int
    list_samples: int
    detail_list_samples: int
    # Baseline (b): plugin calls per action.
    sync_calls: int
    # Scenario 5: clients waiting (Prefer: wait) and, then, clients polling; seconds each phase lasts.
    wait_clients: int
    wait_seconds: float
    # Scenario 3: the batch's topology and how many of its ports are also made one POST at a time.
    batch_networks: int
    batch_ports: int
    batch_baseline_ports: int
    # Scenario qos: PUT qos_policy_id samples (one port at a time), and the ports a policy update fans out to.
    qos_samples: int
    qos_fanout_ports: int
    # Longest a drain (every accepted write applied) may take before the run gives up on it.
    drain_timeout: float

    def as_dict(self) -> dict:
        return asdict(self)


SMOKE = Size(
    name="smoke",
    throughput_count=20,
    submit_concurrency=10,
    throughput_rounds=1,
    one_at_a_time=3,
    write_levels=((1, 5), (10, 20)),
    seeded_ports=1_000,
    get_samples=30,
    list_samples=3,
    detail_list_samples=1,
    sync_calls=50,
    wait_clients=10,
    wait_seconds=2.0,
    batch_networks=2,
    batch_ports=20,
    batch_baseline_ports=10,
    qos_samples=5,
    qos_fanout_ports=20,
    drain_timeout=60,
)
QUICK = Size(
    name="quick",
    throughput_count=100,
    submit_concurrency=10,
    throughput_rounds=2,
    one_at_a_time=10,
    write_levels=((1, 20), (10, 40), (50, 60)),
    seeded_ports=10_000,
    get_samples=200,
    list_samples=10,
    detail_list_samples=3,
    sync_calls=300,
    wait_clients=50,
    wait_seconds=3.0,
    batch_networks=10,
    batch_ports=200,
    batch_baseline_ports=50,
    qos_samples=20,
    qos_fanout_ports=200,
    drain_timeout=120,
)
FULL = Size(
    name="full",
    throughput_count=1_000,
    submit_concurrency=10,
    throughput_rounds=2,
    one_at_a_time=50,
    write_levels=((1, 100), (10, 200), (50, 400)),
    seeded_ports=10_000,
    get_samples=1_000,
    list_samples=30,
    detail_list_samples=10,
    sync_calls=2_000,
    wait_clients=200,
    wait_seconds=10.0,
    batch_networks=10,
    batch_ports=1_000,
    batch_baseline_ports=200,
    qos_samples=50,
    qos_fanout_ports=1_000,
    drain_timeout=300,
)
SIZES = {size.name: size for size in (SMOKE, QUICK, FULL)}
