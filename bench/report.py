"""The targets every figure is judged against, and the human table (rich, on stderr; the JSON goes to stdout)."""

from __future__ import annotations

import math
import operator
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

_console = Console(stderr=True, highlight=False)
if not _console.is_terminal:
    # Piped or captured: rich would wrap at 80 columns.
    _console = Console(stderr=True, highlight=False, width=160)
_started = time.monotonic()


def progress(message: str) -> None:
    _console.print(f"[dim]bench {time.monotonic() - _started:6.1f}s[/dim] {message}")


def get(doc: dict, *path, default=None):
    for key in path:
        if not isinstance(doc, dict) or key not in doc:
            return default
        doc = doc[key]
    return doc


# Keys a batch scenario may report its POST-to-COMPLETED time and size under.
BATCH_SECONDS_KEYS = ("post_to_completed_s", "completed_s", "seconds", "wall_s", "duration_s", "elapsed_s")
BATCH_PORTS_KEYS = ("ports", "port_count", "n_ports")


def batch_seconds(doc: dict) -> float | None:
    """POST to COMPLETED, from bench/batch.py's document (under "batch", or at its top level)."""
    scenario = get(doc, "scenarios", "batch") or {}
    for batch in (scenario.get("batch"), scenario):
        if isinstance(batch, dict):
            for key in BATCH_SECONDS_KEYS:
                if isinstance(batch.get(key), (int, float)):
                    return batch[key]
    return None


def batch_ports(doc: dict) -> int | None:
    batch = get(doc, "scenarios", "batch") or {}
    return next((batch[k] for k in BATCH_PORTS_KEYS if isinstance(batch.get(k), int)), None)


def batch_completed(doc: dict) -> bool:
    status = get(doc, "scenarios", "batch", "batch", "status") or get(doc, "scenarios", "batch", "status")
    return status in (None, "COMPLETED")


@dataclass(frozen=True)
class Target:
    """One figure the issue sets a target for. `applies` says whether this run measured it at full scale."""

    key: str
    scenario: str
    label: str
    value: Callable[[dict], float | None]
    compare: Callable[[float, float], bool]
    threshold: float
    unit: str
    text: str
    applies: Callable[[dict], bool] = lambda doc: True
    # False when the run measured the figure but did not do the work (e.g. a batch that ended PARTIAL).
    succeeded: Callable[[dict], bool] = lambda doc: True

    def judge(self, doc: dict) -> dict:
        value = self.value(doc)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            verdict = "not measured"
        elif not self.applies(doc):
            verdict = "n/a (reduced size)"
        else:
            verdict = "pass" if self.compare(value, self.threshold) and self.succeeded(doc) else "FAIL"
        return {
            "key": self.key,
            "scenario": self.scenario,
            "figure": self.label,
            "value": value,
            "unit": self.unit,
            "target": self.text,
            "result": verdict,
        }


def _write_p99(kind: str) -> Callable[[dict], float | None]:
    return lambda doc: get(doc, "scenarios", "writes", "levels", "50", kind, "p99_ms")


TARGETS = [
    *[
        Target(f"write_p99_50_{kind}", "1 writes", f"{verb} p99 at 50 clients", _write_p99(kind), operator.lt, 50, "ms", "< 50 ms")
        for kind, verb in (("network", "POST network"), ("port", "POST port"), ("attachment", "PUT attachment"))
    ],
    Target(
        "settle_ratio", "2 settle", "one-POST-per-port settled/s ÷ bare Temporal",
        lambda doc: get(doc, "scenarios", "settle", "throughput", "ratio_to_bare_temporal"),
        operator.ge, 0.8, "×", "≥ 0.8 (median of paired rounds)",
    ),
    Target(
        "batch_1000", "3 batch", "batch of 1,000 ports, POST to COMPLETED", batch_seconds,
        operator.lt, 10, "s", "< 10 s", applies=lambda doc: (batch_ports(doc) or 0) >= 1000, succeeded=batch_completed,
    ),
    Target(
        "get_p99", "4 reads", "GET one port p99", lambda doc: get(doc, "scenarios", "reads", "get_port", "p99_ms"),
        operator.lt, 20, "ms", "< 20 ms",
    ),
    Target(
        "list_10000_p99", "4 reads", "list 10,000 ports p99",
        lambda doc: get(doc, "scenarios", "reads", "list_ports", "p99_ms"), operator.lt, 300, "ms", "< 300 ms",
        applies=lambda doc: (get(doc, "scenarios", "reads", "seeded_ports") or 0) >= 10_000,
    ),
    Target(
        "qos_fanout_1000", "7 qos", "policy update fanned out to 1,000 ports, all AVAILABLE",
        lambda doc: get(doc, "scenarios", "qos", "fan_out_s"), operator.lt, 10, "s", "< 10 s",
        applies=lambda doc: (get(doc, "scenarios", "qos", "fan_out_ports") or 0) >= 1000,
    ),
    Target(
        "api_rss", "6 memory", "API peak RSS", lambda doc: get(doc, "scenarios", "memory", "api", "peak_rss_mb"),
        operator.lt, 300, "MB", "< 300 MB",
    ),
    Target(
        "worker_rss", "6 memory", "worker peak RSS",
        lambda doc: get(doc, "scenarios", "memory", "worker", "peak_rss_mb"), operator.lt, 300, "MB", "< 300 MB",
    ),
]


def judge(doc: dict) -> list[dict]:
    return [target.judge(doc) for target in TARGETS]


def _fmt(value, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        value = f"{value:,.1f}" if abs(value) >= 10 else f"{value:,.2f}"
    elif isinstance(value, int):
        value = f"{value:,}"
    return f"{value} {unit}".strip()


def _pair(summary: dict | None) -> str:
    if not summary or not summary.get("n"):
        return "—"
    return f"{_fmt(summary['p50_ms'])} / {_fmt(summary['p99_ms'])} ms (n={summary['n']})"


def _cpu(per_process: dict | None) -> str:
    if not per_process:
        return "—"
    parts = ", ".join(f"{name} {_fmt(ms)}" for name, ms in per_process.items())
    return f"{parts} ms (total {_fmt(round(sum(per_process.values()), 2))} ms)"


def figure_rows(doc: dict) -> list[tuple[str, str, str]]:
    """(section, figure, value) for every figure worth a line, targets aside."""
    rows: list[tuple[str, str, str]] = []
    bare = get(doc, "baselines", "bare_temporal") or {}
    if bare:
        rows.append(("baseline a", f"bare Temporal: {bare.get('count')} workflows completed/s", _fmt(bare.get("completed_per_s"), "/s")))
        rows.append(("baseline a", "bare Temporal: one workflow, start to result p50/p99", _pair(bare.get("one_at_a_time"))))
        rows.append(("baseline a", "  CPU per workflow", _cpu(bare.get("cpu_ms_per_workflow"))))
    for action, figures in (get(doc, "baselines", "sync_plugin", "calls") or {}).items():
        rows.append(("baseline b", f"direct plugin call {action}", _fmt(figures.get("calls_per_s"), "calls/s")))
    for clients, level in (get(doc, "scenarios", "writes", "levels") or {}).items():
        for kind in ("network", "port", "attachment"):
            if kind in level:
                phase = level[kind]
                rows.append(
                    (
                        "1 writes",
                        f"{kind} at {clients} clients: p50/p99, req/s, API CPU/req",
                        f"{_pair(phase)}, {_fmt(phase.get('requests_per_s'), '/s')}, "
                        f"{_fmt(phase.get('api_cpu_ms_per_request'), 'ms')}",
                    )
                )
    single = get(doc, "scenarios", "settle", "one_at_a_time") or {}
    for name, summary in single.items():
        rows.append(("2 settle", f"one at a time: {name.replace('_', ' ')} p50/p99", _pair(summary)))
    throughput = get(doc, "scenarios", "settle", "throughput") or {}
    if throughput:
        rounds = throughput.get("rounds") or []
        rows.append(("2 settle", f"{throughput.get('count')} ports, one POST each ({len(rounds)} rounds): settled/s", _fmt(throughput.get("settled_per_s"), "/s")))
        rows.append(("2 settle", "  bare Temporal in the same rounds: completed/s", _fmt(throughput.get("bare_completed_per_s"), "/s")))
        rows.append(("2 settle", "  ratio of each round", ", ".join(_fmt(r.get("ratio"), "×") for r in rounds) or "—"))
        under_load = throughput.get("post_to_settled_under_load") or {}
        if "rounds_p50_ms" in under_load:
            value = f"p50 {', '.join(_fmt(v) for v in under_load['rounds_p50_ms'])} ms; p99 {', '.join(_fmt(v) for v in under_load['rounds_p99_ms'])} ms"
        else:
            value = _pair(under_load)
        rows.append(("2 settle", "  POST to settled under that load (per round)", value))
        rows.append(("2 settle", "  CPU per port", _cpu(throughput.get("cpu_ms_per_port"))))
        rows.append(("2 settle", "  CPU per bare workflow, same rounds", _cpu(throughput.get("bare_cpu_ms_per_workflow"))))
    batch = get(doc, "scenarios", "batch") or {}
    if isinstance(batch.get("batch"), dict):
        run = batch["batch"]
        rows.append(("3 batch", f"{batch.get('ports')} ports on {batch.get('networks')} networks, attached: POST to {run.get('status')}", _fmt(run.get("completed_s"), "s")))
        rows.append(("3 batch", "  resources/s in the batch", _fmt(run.get("items_per_s"), "/s")))
        one = batch.get("one_post_per_resource") or {}
        if one:
            rows.append(("3 batch", f"  same topology one POST each ({one.get('ports')} ports{', extrapolated' if one.get('extrapolated') else ''})", _fmt(one.get("extrapolated_to_batch_size_s"), "s")))
            rows.append(("3 batch", "  speedup over one POST each (its own run)", _fmt(batch.get("speedup"), "×")))
        rows.append(("3 batch", "  resources/s ÷ scenario 2 settled/s", _fmt(batch.get("ratio_to_one_post_per_resource"), "×")))
    elif batch.get("skipped"):
        rows.append(("3 batch", "skipped", batch["skipped"]))
    reads = get(doc, "scenarios", "reads") or {}
    for key in ("get_port", "get_network", "list_ports", "list_ports_detail"):
        if key in reads:
            rows.append(("4 reads", f"{key.replace('_', ' ')} p50/p99", _pair(reads[key])))
    waiting = get(doc, "scenarios", "wait_vs_poll") or {}
    if "wait" in waiting and "poll" in waiting:
        rows.append(("5 wait", f"{waiting.get('clients')} clients Prefer: wait: server CPU", _fmt(waiting["wait"].get("server_cpu_s"), "s")))
        rows.append(("5 wait", f"same clients polling every {waiting.get('poll_interval_s')} s: server CPU", _fmt(waiting["poll"].get("server_cpu_s"), "s")))
        rows.append(("5 wait", "wait ÷ poll server CPU", _fmt(waiting.get("wait_to_poll_cpu_ratio"), "×")))
        over_idle = waiting.get("temporal_cpu_s_over_idle") or {}
        if over_idle:
            rows.append(("5 wait", "  Temporal CPU above idle clients", ", ".join(f"{k} {_fmt(v)} s" for k, v in over_idle.items())))
    else:
        for key, value in waiting.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                rows.append(("5 wait", key.replace("_", " "), _fmt(value)))
    qos = get(doc, "scenarios", "qos") or {}
    if qos.get("put_to_available"):
        rows.append(("7 qos", "PUT qos_policy_id (attached port) to qos AVAILABLE p50/p99", _pair(qos["put_to_available"])))
        rows.append(("7 qos", "  the PUT's answer p50/p99", _pair(qos["put_to_available"].get("put_answer"))))
        fan = qos.get("fan_out") or {}
        rows.append(("7 qos", f"policy update to {fan.get('ports')} ports: answer / all AVAILABLE",
                     f"{_fmt(fan.get('update_answer_ms'), 'ms')} / {_fmt(fan.get('update_to_all_available_s'), 's')}"))
        rows.append(("7 qos", "  quarters of the ports AVAILABLE at", ", ".join(f"{k} {_fmt(v, 's')}" for k, v in (fan.get("update_progress") or {}).items())))
        rows.append(("7 qos", f"network policy set, {fan.get('ports')} ports inherit: answer / all AVAILABLE",
                     f"{_fmt(fan.get('network_policy_answer_ms'), 'ms')} / {_fmt(fan.get('network_policy_to_all_available_s'), 's')}"))
    memory = get(doc, "scenarios", "memory") or {}
    if memory:
        counts = memory.get("resources_in_database") or {}
        rows.append(("6 memory", "resources in the database / workflow runs", f"{_fmt(sum(counts.values()) - counts.get('attachments', 0))} / {_fmt(memory.get('workflow_runs_by_worker'))}"))
        rows.append(("6 memory", "Temporal dev server peak RSS", _fmt(get(memory, "temporal_server", "peak_rss_mb"), "MB")))
    return rows


def print_table(doc: dict) -> None:
    machine = doc.get("machine", {})
    title = (
        f"netprov bench ({doc.get('size')}) on {machine.get('cores')} cores, {_fmt(machine.get('memory_mb'), 'MB')}, "
        f"{machine.get('cpu_model')}; {doc.get('duration_s')} s"
    )
    targets = Table(title=title + " — targets", title_justify="left")
    for column in ("scenario", "figure", "value", "target", "result"):
        targets.add_column(column)
    for row in doc.get("targets", []):
        style = {"pass": "green", "FAIL": "red"}.get(row["result"], "yellow")
        targets.add_row(row["scenario"], row["figure"], _fmt(row["value"], row["unit"]), row["target"], f"[{style}]{row['result']}[/{style}]")
    figures = Table(title="figures", title_justify="left")
    for column in ("scenario", "figure", "value"):
        figures.add_column(column)
    for row in figure_rows(doc):
        figures.add_row(*row)
    _console.print(targets)
    _console.print(figures)
    noise = doc.get("noise") or {}
    if noise.get("other_processes_share_of_machine") is not None:
        _console.print(
            f"Other processes used {noise['other_processes_share_of_machine']:.0%} of the machine while the scenarios ran "
            "(scenario 5, which runs its own stack, aside) "
            f"(load average {machine.get('load_average_1m_at_start')} at start, {noise.get('load_average_1m_at_end')} at end)."
        )
    for name, error in (doc.get("errors") or {}).items():
        _console.print(f"[red]{name} failed:[/red] {error.splitlines()[0] if error else ''}")


def markdown_table(doc: dict) -> str:
    """The same two tables as Markdown, for docs/readme/performance.md."""
    lines = ["| scenario | figure | value | target | result |", "|---|---|---|---|---|"]
    for row in doc.get("targets", []):
        lines.append(f"| {row['scenario']} | {row['figure']} | {_fmt(row['value'], row['unit'])} | {row['target']} | {row['result']} |")
    lines += ["", "| scenario | figure | value |", "|---|---|---|"]
    for section, figure, value in figure_rows(doc):
        lines.append(f"| {section} | {figure} | {value} |")
    return "\n".join(lines)


def print_error(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    """`python -m bench.report [FILE]`: a results document (default bench/results/latest.json) as Markdown."""
    import argparse
    import json
    from pathlib import Path

    parser = argparse.ArgumentParser(prog="python -m bench.report", description=main.__doc__)
    parser.add_argument("file", nargs="?", type=Path, default=Path(__file__).parent / "results" / "latest.json")
    doc = json.loads(parser.parse_args(argv).file.read_text())
    machine = doc.get("machine", {})
    noise = doc.get("noise") or {}
    print(
        f"`{doc.get('size')}` run of {doc.get('started_at')}, {doc.get('duration_s')} s: {machine.get('cores')} cores "
        f"({machine.get('cpu_model')}), {machine.get('memory_mb'):,} MB, Python {machine.get('python')}, "
        f"temporalio {machine.get('temporalio')}, SQLite {machine.get('sqlite')}; other processes used "
        f"{(noise.get('other_processes_share_of_machine') or 0):.0%} of the machine while the scenarios ran.\n"
    )
    print(markdown_table(doc))


if __name__ == "__main__":
    main()
