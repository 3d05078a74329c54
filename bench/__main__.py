"""`python -m bench [--quick] [--scenarios NAME ...]`: netprov measured against its targets, in one run.

Starts its own stack on free ports, measures the baselines and the scenarios, prints one JSON document on stdout
and a human table on stderr, and writes the document to bench/results/latest.json (or --output). Every process it
started is stopped at the end, also when a scenario fails or the run is interrupted. The exit code is 0 when every
selected scenario ran (whether or not each target was reached), 1 when one failed, 2 when the stack did not start.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import json
import os
import signal
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench import baselines, memory, open_loop, open_loop_targets, reads, settle, writes
from bench.context import BenchContext
from bench.probes import cpu_seconds, machine, machine_busy_seconds
from bench.projection_watch import ProjectionWatch
from bench.report import batch_seconds, judge, print_table, progress
from bench.sizes import FULL, QUICK, SMOKE, Size
from bench.stack import BenchStack

RESULTS = Path(__file__).parent / "results" / "latest.json"
SCENARIOS = ("baselines", "writes", "settle", "batch", "reads", "wait_vs_poll", "memory", "qos", "open_loop")
# The wave-1 run (issue 8) and qos (issue 14) by default; --open-loop runs issue 17's instead.
DEFAULT_SCENARIOS = SCENARIOS[:-1]


class Interrupted(BaseException):
    """SIGTERM: unwind like Ctrl-C so every process is stopped."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_const", const=QUICK, dest="size", help="CI-style run, under 2 minutes")
    mode.add_argument("--smoke", action="store_const", const=SMOKE, dest="size", help="tiny run proving the harness works (tests)")
    parser.add_argument(
        "--scenarios", nargs="+", metavar="NAME", default=list(DEFAULT_SCENARIOS),
        help=f"what to run, in this order whatever the order given: {', '.join(SCENARIOS)} (commas also separate)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"where to write the JSON document (default {RESULTS})")
    parser.add_argument("--keep", action="store_true", help="keep the run's data directory and logs")
    steps = parser.add_mutually_exclusive_group()
    steps.add_argument("--local-steps", action="store_const", const=True, dest="local_steps",
                       help="run the stack with NETPROV_LOCAL_STEPS=true (the default since issue 17)")
    steps.add_argument("--no-local-steps", action="store_const", const=False, dest="local_steps",
                       help="run the stack with NETPROV_LOCAL_STEPS=false")
    parser.add_argument("--open-loop", action="store_true",
                        help="issue 17's run (bench/open_loop.py): capacity, open loop, overload, 10,000-port batch; "
                        "its document goes under open_loop.<db> in the output, beside the wave-1 run's")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite",
                        help="the netprov database (postgresql: a scratch database on 127.0.0.1:5432)")
    parser.add_argument("--scale-out", action="store_true", help="two APIs and two workers on one database")
    parser.add_argument("--data-dir", type=Path, help="data directory of the run (default: a fresh temporary one)")
    args = parser.parse_args(argv)
    args.size = args.size or FULL
    names = [n for item in args.scenarios for n in item.split(",") if n]
    unknown = sorted(set(names) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    args.scenarios = ["open_loop"] if args.open_loop else [n for n in SCENARIOS if n in names]
    return args


def scenario_module(name: str):
    """Scenarios 3, 5 and qos live in modules of their own (bench/batch.py, bench/wait_vs_poll.py, bench/qos.py), None when absent."""
    if name in ("batch", "wait_vs_poll", "qos"):
        return _optional(f"bench.{name}")
    return {"writes": writes, "settle": settle, "reads": reads, "memory": memory, "open_loop": open_loop}[name]


def _optional(module: str):
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name != module:
            raise
        return None


# What a scenario's `run` may ask for, by parameter name.
OFFERED = frozenset({
    "ctx", "context", "stack", "size", "quick", "watch", "api_url", "base_url", "admin_token", "token",
    "temporal_address", "data_dir", "database_path", "pids", "results", "log", "one_post_per_resource_per_s",
    "networks", "ports", "baseline_ports", "clients", "seconds",
})


def _offered(ctx: BenchContext) -> dict:
    offered = {
        "ctx": ctx, "context": ctx, "stack": ctx.stack, "size": ctx.size, "quick": ctx.quick, "watch": ctx.watch,
        "api_url": ctx.api_url, "base_url": ctx.api_url, "admin_token": ctx.admin_token, "token": ctx.admin_token,
        "temporal_address": ctx.temporal_address, "data_dir": ctx.stack.data_dir,
        "database_path": ctx.stack.database_path, "pids": ctx.stack.pids(), "results": ctx.results,
        "log": ctx.log, "one_post_per_resource_per_s": ctx.results.get("settled_per_s"),
        # Scenario 3's and 5's sizes, by the names bench/batch.py and bench/wait_vs_poll.py take.
        "networks": ctx.size.batch_networks, "ports": ctx.size.batch_ports,
        "baseline_ports": ctx.size.batch_baseline_ports, "clients": ctx.size.wait_clients,
        "seconds": ctx.size.wait_seconds,
    }
    assert offered.keys() == OFFERED
    return offered


async def call_run(module, ctx: BenchContext) -> dict:
    """Call `module.run`, passing what its parameters ask for by name (a module written apart from this harness
    may take the context or just the parts it needs); a synchronous `run` goes to a thread."""
    run = module.run
    offered = _offered(ctx)
    parameters = inspect.signature(run).parameters
    kwargs = {name: offered[name] for name in parameters if name in offered}
    missing = [
        name for name, p in parameters.items()
        if name not in offered and p.default is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    if missing:
        raise TypeError(f"{module.__name__}.run needs {missing}, which the harness does not offer")
    if inspect.iscoroutinefunction(run):
        return await run(**kwargs)
    return await asyncio.to_thread(run, **kwargs)


def own_cpu_seconds(ctx: BenchContext) -> float:
    """CPU time used so far by the stack's processes and by this one (the load generator)."""
    return sum(filter(None, (cpu_seconds(pid) for pid in ctx.stack.all_pids()))) + time.process_time()


async def run_scenarios(ctx: BenchContext, names: list[str], doc: dict) -> None:
    other_cpu = measured = 0.0
    for name in names:
        started = time.perf_counter()
        busy_before, own_before = machine_busy_seconds(), own_cpu_seconds(ctx)
        try:
            ctx.stack.check_alive()
            await ctx.watch.drain(ctx.size.drain_timeout)
            if name == "baselines":
                progress("baseline (b): direct plugin calls")
                doc["baselines"]["sync_plugin"] = await asyncio.to_thread(baselines.sync_plugin, ctx)
                progress("baseline (a): bare Temporal")
                doc["baselines"]["bare_temporal"] = ctx.results["bare_temporal"] = await baselines.bare_temporal(ctx)
                continue
            module = scenario_module(name)
            if module is None:
                doc["scenarios"][name] = {"skipped": f"bench/{name}.py is not there yet"}
                progress(f"{name}: skipped, bench/{name}.py is not there yet")
                continue
            progress(f"scenario {name}")
            result = await call_run(module, ctx)
            doc["scenarios"][name] = result
            if name == "settle":
                ctx.results["settled_per_s"] = (result.get("throughput") or {}).get("settled_per_s")
            if name == "batch":
                _compare_batch(result, ctx.results.get("settled_per_s"))
        except Exception:  # noqa: BLE001 - one failed scenario must not cost the others their figures
            doc["errors"][name] = traceback.format_exc()
            progress(f"[red]{name} failed[/red]: {traceback.format_exc(limit=3)}")
        finally:
            doc["timings_s"][name] = round(time.perf_counter() - started, 1)
            # Scenario 5 runs a stack of its own, which cannot be told apart from other processes: left out.
            if name != "wait_vs_poll" and busy_before is not None:
                own = own_cpu_seconds(ctx) - own_before
                other_cpu += max(0.0, machine_busy_seconds() - busy_before - own)
                measured += time.perf_counter() - started
    doc["noise"] = noise(other_cpu, measured)


def noise(other_cpu: float, seconds: float) -> dict:
    """How much of the machine other processes took while the scenarios ran (busy CPU time from /proc/stat minus
    the run's own processes): the figures of a run on a busy machine are worth less, and this says how busy."""
    capacity = (os.cpu_count() or 1) * seconds
    return {
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        "measured_s": round(seconds, 1),
        "other_processes_cpu_s": round(other_cpu, 1),
        "other_processes_share_of_machine": round(other_cpu / capacity, 3) if capacity else None,
    }


def _compare_batch(result: dict, settled_per_s: float | None) -> None:
    """Scenario 3 against scenario 2: the batch's resources/s over one-POST-per-port settled/s."""
    seconds, items = batch_seconds({"scenarios": {"batch": result}}), result.get("batch", {}).get("items")
    if seconds and items and settled_per_s:
        result["ratio_to_one_post_per_resource"] = round(items / seconds / settled_per_s, 1)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    size: Size = args.size
    started_wall = datetime.now(UTC)
    started = time.perf_counter()
    doc: dict = {
        "bench": "netprov",
        "size": size.name,
        "started_at": started_wall.isoformat(timespec="seconds"),
        "duration_s": None,
        "machine": machine(),
        "setup": {
            "plugin": "fake, NETPROV_FAKE_LATENCY_MS=0, no injected failures",
            "local_steps": args.local_steps,
            "temporal": "temporal server start-dev, SQLite file, journal_mode=wal, synchronous=normal",
            "database": "PostgreSQL (scratch database, 127.0.0.1:5432)" if args.db == "postgresql" else "SQLite file (WAL)",
            "apis_and_workers": 2 if args.scale_out else 1,
            "processes": "python -m api, python -m worker, each its own process; the bench client is a third",
            "clocks": "time.perf_counter (monotonic); percentiles by linear interpolation",
        },
        "sizes": size.as_dict(),
        "scenarios_run": args.scenarios,
        "baselines": {},
        "scenarios": {},
        "targets": [],
        "timings_s": {},
        "errors": {},
    }
    previous_int = signal.getsignal(signal.SIGINT)
    previous_term = signal.signal(signal.SIGTERM, _interrupt)
    stack = BenchStack(args.data_dir, keep=args.keep, local_steps=args.local_steps, database=args.db, scale_out=args.scale_out)
    code = 0
    try:
        progress(f"starting the stack in {stack.data_dir} ({size.name} run)")
        try:
            stack.start()
        except Exception as error:  # noqa: BLE001 - reported, then everything started is stopped
            doc["errors"]["stack"] = f"{type(error).__name__}: {error}"
            progress(f"[red]the stack did not start[/red]: {error}")
            code = 2
        else:
            doc["pids"] = stack.pids()
            watch = ProjectionWatch(stack.database_url if stack.postgres else stack.database_path)
            ctx = BenchContext(stack=stack, size=size, watch=watch)
            try:
                asyncio.run(run_scenarios(ctx, args.scenarios, doc))
            finally:
                watch.close()
            if doc["errors"]:
                doc["logs_tail"] = stack.logs_tail()
                code = 1
    except (KeyboardInterrupt, Interrupted):
        doc["errors"]["interrupted"] = "the run was interrupted"
        code = 130
    finally:
        # Stopping is not interruptible: a signal now would leave processes half-stopped.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        keep = bool(set(doc["errors"]) - {"interrupted"}) and not stack.keep
        progress("stopping the stack" + (f"; keeping {stack.data_dir} for its logs" if keep else ""))
        stack.stop(keep=keep)
        signal.signal(signal.SIGTERM, previous_term)
        signal.signal(signal.SIGINT, previous_int)
    doc["duration_s"] = round(time.perf_counter() - started, 1)
    doc["targets"] = open_loop_targets.judge(doc) if args.open_loop else judge(doc)
    doc["uptime_load_average"] = [round(x, 2) for x in os.getloadavg()]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(_merged(args, doc), indent=2) + "\n")
    print(json.dumps(doc, indent=2), flush=True)
    print_table(doc)
    progress(f"written to {args.output}")
    return code


def _merged(args: argparse.Namespace, doc: dict) -> dict:
    """What the output file holds: an --open-loop document goes under open_loop.<db>[-scale-out] of the file as it
    was (the wave-1 run's document and the other databases' runs are kept); any other run replaces the file, its
    open-loop runs kept."""
    try:
        existing = json.loads(args.output.read_text())
    except (FileNotFoundError, ValueError):
        existing = {}
    runs = existing.get("open_loop", {}) if isinstance(existing, dict) else {}
    if not args.open_loop:
        return {**doc, "open_loop": runs} if runs else doc
    key = args.db + ("-scale-out" if args.scale_out else "")
    return {**existing, "open_loop": {**runs, key: doc}}


def _interrupt(signum, frame) -> None:
    # Once stopping began, a second signal must not abandon processes half-stopped.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise Interrupted()


if __name__ == "__main__":
    sys.exit(main())
