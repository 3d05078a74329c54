"""uvicorn serving an app on the test's own event loop."""

import contextlib

import uvicorn


class LiveServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self):
        # pytest keeps its own signal handling (Ctrl-C stops pytest, not this server).
        yield
