"""Benchmarks: netprov measured against its limits, in one run (`python -m bench`, `make bench`).

The run starts its own stack on free ports (Temporal dev server, `python -m worker`, `python -m api`, fake plugin
at zero latency), measures two baselines and the scenarios in that same stack, and reports every figure against
its target. Layout:

- `stack`: the processes under test; `sizes`: how many samples each mode takes; `context`: what a scenario gets;
- `stats`, `probes`: percentiles, machine description, per-process CPU time and peak RSS;
- `load`: HTTP clients (closed-loop load) and `projection_watch`: when rows settle, read from the API's database;
- `baselines` (+ `bare_workflow`, `bare_worker`): bare Temporal and direct plugin calls;
- `writes`, `settle`, `reads`, `memory`: scenarios 1, 2, 4 and 6; `batch` and `wait_vs_poll`: scenarios 3 and 5
  (the latter on a stack of its own, whose network never settles);
- `report`: targets, the rich table, and `python -m bench.report` (a results document as Markdown).
"""
