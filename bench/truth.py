"""`python -m bench.truth`: does link status tell the truth under faults? A randomized fault harness on
the real Open vSwitch dev stack (`make run` with NETPROV_PLUGIN=ovs and two hosts).

Several VMs (all in one IP subnet, so only the switch keeps networks apart) on several networks
across two hosts, every port ACTIVE and attached. Each round injects one random fault
(bench/truth_faults.py), then samples about once a second until the stack has converged: every
port's `link_status` from the API, and a ping between every pair of VMs. Each sample judges every
port against the matrix the API describes:

- a port UP must reach every other UP port of its network, and no VM of another network: a port UP
  that does not is a *false UP* (the worst lie);
- a port DOWN (or UNKNOWN) whose VM reaches every VM of its network and none of another is a
  *false DOWN* (a cautious lie: e.g. a dead agent's switch still forwards);
- anything else agrees. The links are read before and after the pings; a port whose status (or its
  LinkUp condition's last_transition_time) changed
  in between is *in transition* (the pings saw both states), judged neither way, and not counted
  as agreeing.

Some ports also have a QoS policy (an egress limit): their `qos_status` is judged against the
meters and flows the switch really holds, read between the two link reads (bench/truth_qos.py):
AVAILABLE while the switch does not enforce the limit is a *false AVAILABLE*.

Each fault is watched for at least `--observe` seconds (its effect may show late) and until a few
samples in a row have every port UP and agreeing (and every limited port's QoS AVAILABLE and
agreeing); it converged at the first sample of that final streak. Targets: every fault converged within 30 s, no false UP (nor false AVAILABLE) in any sample
taken later than 30 s after a fault. Not converged within `--limit` seconds means the fault needed a human. Writes bench/results/truth-<time>.json and prints
a Markdown table on stderr. Exit code 0 when every target was met, 1 when not, 2 when the stack or
the fabric could not be set up.

Needs root and Open vSwitch; uses hosts named by --hosts (default t1,t2), which must be free.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path

from bench.devstack_run import DevStack
from bench.truth_faults import FAULTS, Fabric, VmPort
from bench.truth_qos import AVAILABLE, POLICY_KBPS, TRANSITION, create_policy, device_limits, give_policy, judge_qos
from bench.truth_qos import wants_policy
from plugins.ovs import vms
from plugins.ovs.hosts import stop_hosts

RESULTS = Path(__file__).parent / "results"
TARGET_S = 30.0
STABLE_SAMPLES = 3


@dataclass
class Sample:
    at: float  # seconds since the fault
    links: dict[str, str]
    verdicts: dict[str, str]  # iface -> agree / false_up / false_down
    reasons: dict[str, str | None] = field(default_factory=dict)  # iface -> link_status_string
    why: dict[str, str] = field(default_factory=dict)  # iface -> the pings that contradict its status
    qos: dict[str, str] = field(default_factory=dict)  # limited iface -> qos_status (or transition)
    qos_verdicts: dict[str, str] = field(default_factory=dict)  # limited iface -> agree / false_available / ...
    qos_reasons: dict[str, str | None] = field(default_factory=dict)  # limited iface -> qos_status_reason

    @property
    def converged(self) -> bool:
        links = all(s == "UP" for s in self.links.values()) and all(v == "agree" for v in self.verdicts.values())
        return links and all(self.qos[i] == AVAILABLE and v == "agree" for i, v in self.qos_verdicts.items())


@dataclass
class Round:
    index: int
    kind: str
    what: str
    samples: list[Sample] = field(default_factory=list)
    converged_s: float | None = None
    false_up_late: int = 0  # false UP in samples taken more than TARGET_S after the fault
    false_available_late: int = 0  # false QoS AVAILABLE in samples taken more than TARGET_S after the fault

    def count(self, verdict: str) -> int:
        return sum(1 for s in self.samples for v in [*s.verdicts.values(), *s.qos_verdicts.values()] if v == verdict)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.truth", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--rounds", type=int, default=21, help="faults to inject (default 21)")
    parser.add_argument("--each", action="store_true", help="every fault kind once per cycle, in random order")
    parser.add_argument("--faults", default=",".join(FAULTS), help=f"kinds to draw from (default all: {','.join(FAULTS)})")
    parser.add_argument("--vms", type=int, default=8)
    parser.add_argument("--networks", type=int, default=3)
    parser.add_argument("--no-qos", action="store_true",
                        help=f"give no port a QoS policy (default: some get {POLICY_KBPS} kbps egress)")  # fmt: skip
    parser.add_argument("--hosts", default="t1,t2")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--limit", type=float, default=60.0, help="seconds a fault may take to converge (default 60)")
    parser.add_argument("--observe", type=float, default=15.0, help="seconds each fault is watched at least (default 15)")
    parser.add_argument("--monitor-interval", type=float, default=2.0, help="NETPROV_LINK_MONITOR_INTERVAL_S (default 2)")
    parser.add_argument("--keep", action="store_true", help="keep the run's data dir and logs")
    parser.add_argument("--output", type=Path, default=None, help="JSON path (default bench/results/truth-<time>.json)")
    args = parser.parse_args(argv)
    args.faults = [f for f in args.faults.split(",") if f]
    unknown = sorted(set(args.faults) - set(FAULTS))
    if unknown:
        parser.error(f"unknown fault(s) {', '.join(unknown)}; choose from {', '.join(FAULTS)}")
    args.hosts = [h for h in args.hosts.split(",") if h]
    if args.seed is None:
        args.seed = random.randrange(1 << 30)
    return args


def build_fabric(stack: DevStack, hosts: list[str], vm_count: int, networks: int, qos: bool = True) -> Fabric:
    tenant = f"/v1.1/tenants/truth-{uuid.uuid4().hex[:6]}"
    wait = {"Prefer": "wait=30"}
    policy = create_policy(stack.http, tenant) if qos else None
    nets = []
    for n in range(networks):
        response = stack.http.post(f"{tenant}/networks", json={"network": {"name": f"net{n}", "plugin": "ovs"}}, headers=wait)
        response.raise_for_status()
        nets.append(response.json()["network"]["id"])
    placed = []
    for i in range(vm_count):
        network, host = i % networks, hosts[(i // 2) % len(hosts)]
        iface, ip = f"truth-{i}", f"10.62.0.{i + 1}"
        vms.create_vm(host, iface, f"{ip}/24", stack.data_dir)
        port = stack.http.post(f"{tenant}/networks/{nets[network]}/ports", json={"port": {"state": "ACTIVE"}}, headers=wait)
        port.raise_for_status()
        path = f"{tenant}/networks/{nets[network]}/ports/{port.json()['port']['id']}"
        stack.http.put(f"{path}/attachment", json={"attachment": {"id": iface, "host": host}}, headers=wait).raise_for_status()
        limited = policy is not None and wants_policy(i)
        if limited:
            give_policy(stack.http, path, policy)
        placed.append(VmPort(iface=iface, host=host, ip=ip, network=f"net{network}", port_path=path,
                             qos_kbps=POLICY_KBPS if limited else None))  # fmt: skip
    return Fabric(stack=stack, hosts=hosts, vms=placed)


def _reach(a: VmPort, b: VmPort) -> bool:
    # One retry: a single lost echo is not the switch's verdict.
    return any(vms.run_in_vm(a.iface, ["ping", "-c1", "-W1", "-q", b.ip], timeout=5).returncode == 0 for _ in range(2))


def sample(fabric: Fabric, pool: ThreadPoolExecutor, since: float) -> Sample:
    before, _, qos_before, _ = _links(fabric)
    pairs = list(combinations(fabric.vms, 2))
    reached = dict(zip(((a.iface, b.iface) for a, b in pairs), pool.map(lambda p: _reach(*p), pairs)))
    device = device_limits(fabric) if qos_before else {}
    after, reasons, qos_after, qos_reasons = _links(fabric)
    # A status that changed while the pings ran is judged neither way: the pings saw both.
    links = {iface: status.partition("@")[0] if after[iface] == status else TRANSITION for iface, status in before.items()}
    qos = {iface: status if qos_after[iface] == status else TRANSITION for iface, status in qos_before.items()}
    verdicts, why = judge(fabric.vms, links, reached)
    return Sample(round(time.monotonic() - since, 2), links, verdicts, reasons, why,
                  qos, judge_qos(fabric.vms, qos, device), qos_reasons)  # fmt: skip


def _links(fabric: Fabric) -> tuple[dict[str, str], dict[str, str | None], dict[str, str], dict[str, str | None]]:
    """Every port's link status (with when it last changed) and link_status_string; every limited
    port's qos_status and qos_status_reason."""
    links, reasons, qos, qos_reasons = {}, {}, {}, {}
    for vm in fabric.vms:
        try:
            port = fabric.stack.http.get(vm.port_path, timeout=10).json()["port"]
            link_up = next((c for c in port.get("conditions") or [] if c.get("type") == "LinkUp"), {})
            # The status and when it last changed: a DOWN and back between two reads still shows.
            links[vm.iface] = f"{port['link_status']}@{link_up.get('last_transition_time')}"
            reasons[vm.iface] = port["link_status_string"]
            if vm.qos_kbps:
                qos[vm.iface], qos_reasons[vm.iface] = str(port["qos_status"]), port["qos_status_reason"]
        except Exception:  # noqa: BLE001 - an API that does not answer says nothing true
            links[vm.iface], reasons[vm.iface] = "NO ANSWER", None
            if vm.qos_kbps:
                qos[vm.iface], qos_reasons[vm.iface] = "NO ANSWER", None
    return links, reasons, qos, qos_reasons


def judge(vms_: list[VmPort], links: dict[str, str], reached: dict[tuple[str, str], bool]) -> tuple[dict, dict]:
    """Each VM's verdict (see the module docstring) from the API's links and the pings, and for each
    lie the pings that contradict it."""

    def reach(a: VmPort, b: VmPort) -> bool:
        return reached.get((a.iface, b.iface), reached.get((b.iface, a.iface), False))

    verdicts, why = {}, {}
    for vm in vms_:
        if links[vm.iface] == TRANSITION:
            verdicts[vm.iface] = TRANSITION
            continue
        others = [o for o in vms_ if o is not vm]
        leaks = [f"reaches {o.iface} of {o.network}" for o in others if o.network != vm.network and reach(vm, o)]
        if links[vm.iface] == "UP":
            missing = [f"cannot reach {o.iface}" for o in others
                       if o.network == vm.network and links[o.iface] == "UP" and not reach(vm, o)]  # fmt: skip
            verdicts[vm.iface] = "false_up" if missing or leaks else "agree"
            if missing or leaks:
                why[vm.iface] = ", ".join(missing + leaks)
        else:
            whole = all(reach(vm, o) for o in others if o.network == vm.network)
            verdicts[vm.iface] = "false_down" if whole and not leaks else "agree"
    return verdicts, why


def observe(fabric: Fabric, pool: ThreadPoolExecutor, record: Round, since: float, args: argparse.Namespace) -> None:
    """Sample for at least `args.observe` seconds (a fault's effect may show late: a death is noticed
    by the next check), then until STABLE_SAMPLES samples in a row have converged, at most
    `args.limit` seconds. The round converged at the first sample of that final streak."""
    streak_from: float | None = None
    streak = 0
    while True:
        s = sample(fabric, pool, since)
        record.samples.append(s)
        if s.at > TARGET_S:
            record.false_up_late += sum(1 for v in s.verdicts.values() if v == "false_up")
            record.false_available_late += sum(1 for v in s.qos_verdicts.values() if v == "false_available")
        if s.converged:
            streak_from = s.at if streak == 0 else streak_from
            streak += 1
        else:
            streak, streak_from = 0, None
        if streak >= STABLE_SAMPLES and s.at >= args.observe:
            record.converged_s = streak_from
            return
        if s.at > args.limit:
            return
        time.sleep(0.3)


def summarize(rounds: list[Round], limit: float) -> dict:
    verdicts = [v for r in rounds for s in r.samples for v in s.verdicts.values()]
    qos_verdicts = [v for r in rounds for s in r.samples for v in s.qos_verdicts.values()]
    by_kind: dict[str, dict] = {}
    for kind in sorted({r.kind for r in rounds}):
        mine = [r for r in rounds if r.kind == kind]
        times = [r.converged_s for r in mine if r.converged_s is not None]
        by_kind[kind] = {
            "faults": len(mine),
            "converged": len(times),
            "p50_s": round(statistics.median(times), 2) if times else None,
            "max_s": max(times) if times else None,
            "false_up": sum(r.count("false_up") for r in mine),
            "false_up_after_30s": sum(r.false_up_late for r in mine),
            "false_down": sum(r.count("false_down") for r in mine),
            "qos_false_available": sum(r.count("false_available") for r in mine),
            "qos_false_available_after_30s": sum(r.false_available_late for r in mine),
            "qos_false_not_available": sum(r.count("false_not_available") for r in mine),
        }
    not_converged = [r.index for r in rounds if r.converged_s is None]
    slow = [r.index for r in rounds if r.converged_s is not None and r.converged_s > TARGET_S]
    false_up_late = sum(r.false_up_late for r in rounds)
    false_available_late = sum(r.false_available_late for r in rounds)
    return {
        "agreement_pct": round(100.0 * verdicts.count("agree") / len(verdicts), 2) if verdicts else None,
        "port_samples": len(verdicts),
        "false_up": verdicts.count("false_up"),
        "false_up_after_30s": false_up_late,
        "false_down": verdicts.count("false_down"),
        "in_transition": verdicts.count(TRANSITION),
        "qos_agreement_pct": round(100.0 * qos_verdicts.count("agree") / len(qos_verdicts), 2) if qos_verdicts else None,
        "qos_port_samples": len(qos_verdicts),
        "qos_false_available": qos_verdicts.count("false_available"),
        "qos_false_available_after_30s": false_available_late,
        "qos_false_not_available": qos_verdicts.count("false_not_available"),
        "qos_in_transition": qos_verdicts.count(TRANSITION),
        "rounds_not_converged": not_converged,
        "rounds_over_30s": slow,
        "targets_met": not not_converged and not slow and false_up_late == 0 and false_available_late == 0,
        "by_kind": by_kind,
        "limit_s": limit,
    }


def table(summary: dict) -> str:
    lines = [
        "| fault | n | converged | p50 s | max s | false UP | false UP after 30 s | false DOWN | QoS false AVAILABLE |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, k in summary["by_kind"].items():
        lines.append(f"| {kind} | {k['faults']} | {k['converged']} | {k['p50_s']} | {k['max_s']} | {k['false_up']} |"
                     f" {k['false_up_after_30s']} | {k['false_down']} | {k['qos_false_available']} |")  # fmt: skip
    lines.append(f"\nagreement {summary['agreement_pct']} % of {summary['port_samples']} port-samples,"
                 f" QoS {summary['qos_agreement_pct']} % of {summary['qos_port_samples']};"
                 f" targets met: {summary['targets_met']}")  # fmt: skip
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    rnd = random.Random(args.seed)
    data_dir = Path(tempfile.mkdtemp(prefix="nptruth-"))  # short: unix socket paths hold 108 bytes
    stack = DevStack(data_dir, {
        "NETPROV_PLUGIN": "ovs", "NETPROV_HOSTS": ",".join(args.hosts), "NETPROV_DEFAULT_HOST": args.hosts[0],
        "NETPROV_LINK_MONITOR_INTERVAL_S": str(args.monitor_interval),
    })  # fmt: skip
    rounds: list[Round] = []
    started = datetime.now(UTC)
    try:
        try:
            stack.start()
            fabric = build_fabric(stack, args.hosts, args.vms, args.networks, qos=not args.no_qos)
        except Exception as error:  # noqa: BLE001 - reported, then everything is stopped
            print(f"bench.truth: setup failed: {error!r}\n{stack.output()}", file=sys.stderr)
            return 2
        with ThreadPoolExecutor(max_workers=len(fabric.vms) * (len(fabric.vms) - 1) // 2) as pool:
            baseline = Round(index=0, kind="baseline", what="fabric built, no fault")
            observe(fabric, pool, baseline, time.monotonic(), args)
            kinds: list[str] = []
            for index in range(1, args.rounds + 1):
                if args.each:
                    kinds = kinds or rnd.sample(args.faults, len(args.faults))
                    kind = kinds.pop()
                else:
                    kind = rnd.choice(args.faults)
                since = time.monotonic()
                record = Round(index=index, kind=kind, what=FAULTS[kind](fabric, rnd))
                print(f"bench.truth: round {index}: {record.what}", file=sys.stderr, flush=True)
                observe(fabric, pool, record, since, args)
                print(f"bench.truth:   converged after {record.converged_s} s", file=sys.stderr, flush=True)
                rounds.append(record)
        summary = summarize(rounds, args.limit)
        document = {
            "run": {"started_at": started.isoformat(), "seed": args.seed, "rounds": args.rounds, "vms": args.vms,
                    "networks": args.networks, "hosts": args.hosts, "monitor_interval_s": args.monitor_interval,
                    "baseline_converged_s": baseline.converged_s},  # fmt: skip
            "summary": summary,
            "rounds": [
                {"index": r.index, "kind": r.kind, "what": r.what, "converged_s": r.converged_s,
                 "false_up": r.count("false_up"), "false_up_after_30s": r.false_up_late,
                 "false_down": r.count("false_down"), "qos_false_available": r.count("false_available"),
                 "qos_false_available_after_30s": r.false_available_late,
                 "lies": [{"at": s.at, "verdicts": {k: v for k, v in s.verdicts.items() if v != "agree"},
                           "reasons": {k: s.reasons.get(k) for k, v in s.verdicts.items() if v != "agree"},
                           "why": s.why,
                           "qos": {k: {"verdict": v, "qos_status": s.qos[k], "reason": s.qos_reasons.get(k)}
                                   for k, v in s.qos_verdicts.items() if v != "agree"}}
                          for s in r.samples
                          if any(v != "agree" for v in [*s.verdicts.values(), *s.qos_verdicts.values()])]}  # fmt: skip
                for r in rounds
            ],
        }
        output = args.output or RESULTS / f"truth-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(document, indent=2) + "\n")
        print(json.dumps({"output": str(output), **summary}))
        print(table(summary), file=sys.stderr)
        return 0 if summary["targets_met"] else 1
    finally:
        stack.stop()
        for vm in vms.list_vms(data_dir):
            vms.delete_vm(vm.iface_id, data_dir)
        stop_hosts(args.hosts, data_dir)
        if args.keep:
            print(f"bench.truth: data dir and logs kept in {data_dir}", file=sys.stderr)
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def interrupted(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")  # unwinds through run()'s finally: the stack stops

    signal.signal(signal.SIGTERM, interrupted)
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
