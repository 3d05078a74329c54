"""Child processes that must not outlive whoever started them (Linux: the parent-death signal)."""

import ctypes
import os
import signal
import sys
from collections.abc import Callable


def die_with_parent_preexec() -> Callable[[], None] | None:
    """A `preexec_fn` asking Linux to SIGTERM the child when the spawning thread exits; None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved here: the child should do as little as possible
    pr_set_pdeathsig = 1
    parent = os.getpid()

    def preexec() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec
