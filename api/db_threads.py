"""Where the API's database writes run: off the event loop, on threads of their own.

    await in_writer(engine, fn, *args) -> fn(*args), run on the engine's writer threads

The store's functions stay synchronous (they take a `Session`); a handler hands the part of a
write that takes database locks (claim + commit, undo, delivered marks) to `in_writer`, so the
event loop never waits on a lock another process holds: a worker's projection commit used to
stall every request of the API for as long as SQLite made the API's commit wait.

SQLite takes one writer at a time whatever the number of connections, so its engine gets ONE
writer thread: the API's writes queue here, in order, instead of on the file lock (where each
waiting thread would hold a pooled connection and retry on a busy timer). PostgreSQL takes
writers in parallel: a small bounded pool (WRITER_THREADS_POSTGRES), each thread one connection
at most. Short reads (a token, a row by key) stay on the loop: they take no lock (WAL readers
never wait for the writer) and cost less than the hop to a thread (bench/: GET p50).
"""

import asyncio
import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy.engine import Engine

T = TypeVar("T")

WRITER_THREADS_POSTGRES = 8

_executors: dict[int, ThreadPoolExecutor] = {}
_lock = threading.Lock()


def writer_threads(engine: Engine) -> ThreadPoolExecutor:
    """The engine's writer threads (created on first use, one set per engine of the process)."""
    key = id(engine)
    executor = _executors.get(key)
    if executor is None:
        with _lock:
            executor = _executors.get(key)
            if executor is None:
                count = 1 if engine.dialect.name == "sqlite" else WRITER_THREADS_POSTGRES
                executor = ThreadPoolExecutor(count, thread_name_prefix=f"netprov-db-writer-{engine.dialect.name}")
                _executors[key] = executor
    return executor


async def in_writer(engine: Engine, fn: Callable[..., T], *args) -> T:
    """`fn(*args)` on the engine's writer threads, with the caller's context (log fields)."""
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(writer_threads(engine), context.run, fn, *args)
