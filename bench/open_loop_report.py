"""`python -m bench.open_loop_report [FILE]`: the `--open-loop` runs of a results document (default
bench/results/latest.json) as one Markdown table per run, netprov's figure beside bare Temporal's."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.report import get

RESULTS = Path(__file__).parent / "results" / "latest.json"


def _ms(value) -> str:
    return "—" if value is None else f"{value:,.1f} ms"


def _rate(value) -> str:
    return "—" if value is None else f"{value:,.1f} /s"


def _cpu(per: dict | None) -> str:
    if not per:
        return "—"
    return ", ".join(f"{name} {value:.1f}" for name, value in per.items()) + " ms"


def rows(doc: dict) -> list[tuple[str, str, str, str]]:
    """(figure, netprov, bare Temporal, target: result) of one run."""
    s = get(doc, "scenarios", "open_loop") or {}
    verdict = {t["key"]: f"{t['target']}: {t['result']}" for t in doc.get("targets", [])}
    cap, ol, over, batch = s.get("capacity", {}), s.get("open_loop", {}), s.get("overload", {}), s.get("batch", {})
    ours, bare = ol.get("netprov", {}), ol.get("bare_temporal", {})
    ratio = cap.get("ratio")
    settle_ratio = next((t["value"] for t in doc.get("targets", []) if t["key"] == "ol_settle_ratio"), None)
    memory = s.get("memory", {})
    return [
        ("capacity: ports settled/s (one POST each) vs workflows/s", _rate(get(cap, "netprov", "settled_per_s")),
         _rate(get(cap, "bare_temporal", "completed_per_s")), f"ratio {ratio} × — {verdict.get('ol_capacity', '')}"),
        ("capacity: CPU per port / per workflow", _cpu(get(cap, "netprov", "cpu_ms_per_port")),
         _cpu(get(cap, "bare_temporal", "before", "cpu_ms_per_workflow")), ""),
        (f"open loop at {ol.get('offered_per_s')} /s: ack (202 / start) p50 / p99",
         f"{_ms(get(ours, 'ack', 'p50_ms'))} / {_ms(get(ours, 'ack', 'p99_ms'))}",
         f"{_ms(get(bare, 'start_ack', 'p50_ms'))} / {_ms(get(bare, 'start_ack', 'p99_ms'))}", verdict.get("ol_ack_p99", "")),
        ("open loop: POST -> settled / start -> close, p50 / p99",
         f"{_ms(get(ours, 'post_to_settled', 'p50_ms'))} / {_ms(get(ours, 'post_to_settled', 'p99_ms'))}",
         f"{_ms(get(bare, 'start_to_close', 'p50_ms'))} / {_ms(get(bare, 'start_to_close', 'p99_ms'))}",
         f"ratio {settle_ratio} × — {verdict.get('ol_settle_ratio', '')}"),
        ("open loop: GET port p99 during the load", _ms(get(ours, "reads", "get_port", "p99_ms")), "", verdict.get("ol_get_p99", "")),
        ("open loop: list 10,000 ports p99 during the load", _ms(get(ours, "reads", "list_10000_ports", "p99_ms")), "",
         verdict.get("ol_list_p99", "")),
        ("open loop: event-loop lag p99 (API; an idle process beside it)", _ms(get(ours, "event_loop_lag", "p99_ms")),
         _ms(get(ours, "machine_lag_idle_process", "p99_ms")) + " (idle process)", verdict.get("ol_lag_p99", "")),
        ("open loop: CPU per port", _cpu(ours.get("cpu_ms_per_port")), "", ""),
        (f"overload at {over.get('offered_per_s')} /s: answers", json.dumps(over.get("statuses", {})), "",
         f"lost {over.get('lost')}, without Retry-After {over.get('429_503_without_retry_after')} — {verdict.get('ol_overload_clean', '')}"),
        ("overload: answer p99 (all / 2xx)",
         f"{_ms(get(over, 'ack_all_answers', 'p99_ms'))} / {_ms(get(over, 'ack_2xx', 'p99_ms'))}", "", verdict.get("ol_overload_ack", "")),
        (f"batch: {s.get('sizes', {}).get('batch_ports')} ports attached, {batch.get('items')} items: POST to {batch.get('status')}",
         f"{batch.get('completed_s')} s", "", verdict.get("ol_batch", "")),
        ("peak RSS", ", ".join(f"{n} {m.get('peak_rss_mb')} MB" for n, m in memory.items()), "",
         f"{verdict.get('ol_api_rss', '')}; {verdict.get('ol_worker_rss', '')}"),
    ]


def markdown(doc: dict, name: str) -> str:
    noise = doc.get("noise", {})
    head = (f"**{name}** ({doc.get('size')} run of {doc.get('started_at')}, {doc.get('duration_s')} s; load average "
            f"{doc.get('uptime_load_average')}; other processes took {noise.get('other_processes_share_of_machine')} "
            f"of the machine)\n\n| figure | netprov | bare Temporal | target |\n|---|---|---|---|\n")
    return head + "\n".join(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows(doc)) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.open_loop_report", description=__doc__)
    parser.add_argument("file", nargs="?", type=Path, default=RESULTS)
    doc = json.loads(parser.parse_args(argv).file.read_text())
    for name, run in doc.get("open_loop", {}).items():
        print(markdown(run, name))


if __name__ == "__main__":
    main()
