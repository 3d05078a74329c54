"""What every scenario gets: the stack under test, the run's size, and the ways to observe it."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.projection_watch import ProjectionWatch
from bench.sizes import Size
from bench.stack import BenchStack


@dataclass
class BenchContext:
    stack: BenchStack
    size: Size
    watch: ProjectionWatch
    # Figures of earlier parts of the run that later ones compare against (e.g. scenario 2's throughput).
    results: dict = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return self.stack.api_url

    @property
    def admin_token(self) -> str:
        return self.stack.admin_token

    @property
    def temporal_address(self) -> str:
        return self.stack.temporal_address

    @property
    def quick(self) -> bool:
        return self.size.name != "full"

    def log(self, message: str) -> None:
        from bench.report import progress

        progress(message)
