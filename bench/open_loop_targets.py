"""Issue 17's targets, judged on a `--open-loop` document: ratios to bare Temporal measured in the same run, and
absolute bounds where the issue sets them."""

from __future__ import annotations

import operator

from bench.report import Target, get

SCENARIO = "open_loop"


def _ol(*path):
    return lambda doc: get(doc, "scenarios", SCENARIO, *path)


def _settle_ratio(doc: dict) -> float | None:
    ours = get(doc, "scenarios", SCENARIO, "open_loop", "netprov", "post_to_settled", "p99_ms")
    bare = get(doc, "scenarios", SCENARIO, "open_loop", "bare_temporal", "start_to_close", "p99_ms")
    return round(ours / bare, 2) if ours and bare else None


def _overload_clean(doc: dict) -> float | None:
    """1 when the overload answered only 2xx/429/503, every 429/503 with Retry-After, and lost nothing; else 0."""
    overload = get(doc, "scenarios", SCENARIO, "overload")
    if not overload:
        return None
    clean = overload["only_2xx_429_503"] and not overload["429_503_without_retry_after"] and not overload["lost"]
    return 1.0 if clean else 0.0


def _max_rss(kind: str):
    def value(doc: dict) -> float | None:
        memory = get(doc, "scenarios", SCENARIO, "memory") or {}
        peaks = [m["peak_rss_mb"] for name, m in memory.items() if name.startswith(kind) and m.get("peak_rss_mb")]
        return max(peaks) if peaks else None

    return value


TARGETS = [
    Target("ol_capacity", "capacity", "ports settled/s ÷ bare Temporal workflows/s", _ol("capacity", "ratio"),
           operator.ge, 0.95, "×", "≥ 0.95"),
    Target("ol_ack_p99", "open loop 80%", "POST port -> 202 p99", _ol("open_loop", "netprov", "ack", "p99_ms"),
           operator.lt, 50, "ms", "< 50 ms"),
    Target("ol_settle_ratio", "open loop 80%", "POST -> settled p99 ÷ bare start -> close p99", _settle_ratio,
           operator.le, 1.5, "×", "≤ 1.5"),
    Target("ol_get_p99", "open loop 80%", "GET port p99 during the load",
           _ol("open_loop", "netprov", "reads", "get_port", "p99_ms"), operator.lt, 20, "ms", "< 20 ms"),
    Target("ol_list_p99", "open loop 80%", "list 10,000 ports p99 during the load",
           _ol("open_loop", "netprov", "reads", "list_10000_ports", "p99_ms"), operator.lt, 300, "ms", "< 300 ms",
           applies=lambda doc: (get(doc, "scenarios", SCENARIO, "sizes", "seeded_ports") or 0) >= 10_000),
    Target("ol_lag_p99", "open loop 80%", "API event-loop lag p99 during the load",
           _ol("open_loop", "netprov", "event_loop_lag", "p99_ms"), operator.lt, 10, "ms", "< 10 ms"),
    Target("ol_overload_clean", "overload 150%", "only 2xx/429/503 + Retry-After, nothing accepted lost (1 = yes)",
           _overload_clean, operator.ge, 1, "", "= 1"),
    Target("ol_overload_ack", "overload 150%", "answer p99 (every answer)", _ol("overload", "ack_all_answers", "p99_ms"),
           operator.lt, 1000, "ms", "< 1 s"),
    Target("ol_batch", "batch", "10,000 ports on 10 networks, attached: POST to COMPLETED", _ol("batch", "completed_s"),
           operator.lt, 30, "s", "< 30 s", applies=lambda doc: (get(doc, "scenarios", SCENARIO, "sizes", "batch_ports") or 0) >= 10_000,
           succeeded=lambda doc: get(doc, "scenarios", SCENARIO, "batch", "status") == "COMPLETED"),
    Target("ol_api_rss", "memory", "API peak RSS (largest API)", _max_rss("api"), operator.lt, 500, "MB", "< 500 MB"),
    Target("ol_worker_rss", "memory", "worker peak RSS (largest worker)", _max_rss("worker"), operator.lt, 500, "MB",
           "< 500 MB"),
]


def judge(doc: dict) -> list[dict]:
    return [target.judge(doc) for target in TARGETS]
