"""The SQLite writers' queue (store/sqlite_writers.py) on real database files: writers of several
threads and processes take turns on it, so SQLite's own lock is never waited for; readers take
nothing; the lock is given back however a transaction ends."""

import fcntl
import multiprocessing
import os
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError

from store.connection import make_engine
from store.sqlite_writers import WriterLock

WRITES_PER_THREAD = 150


def no_retry_engine(path: Path):
    """make_engine's engine with SQLite's busy timeout at 0: a writer that found SQLite's lock taken
    would fail at once ("database is locked") instead of retrying: only the queue can keep them apart."""
    engine = make_engine(f"sqlite:///{path}")
    event.listen(engine, "connect", lambda dbapi, _record: dbapi.execute("PRAGMA busy_timeout=0"))
    return engine


def write_rows(path: str, who: str, threads: int) -> None:
    engine = no_retry_engine(Path(path))
    errors: list[BaseException] = []

    def one(thread: int) -> None:
        try:
            for i in range(WRITES_PER_THREAD):
                with engine.begin() as connection:
                    connection.execute(text("INSERT INTO t (who, n) VALUES (:who, :n)"), {"who": f"{who}-{thread}", "n": i})
                    connection.execute(text("UPDATE counter SET n = n + 1"))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    workers = [threading.Thread(target=one, args=(k,)) for k in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if errors:
        raise errors[0]


def holds_lock_elsewhere(path: Path) -> bool:
    """Whether the writers' lock of `path` is taken (tried from a file description of our own)."""
    fd = os.open(f"{path}-writers.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "w.db"
    with make_engine(f"sqlite:///{path}").begin() as connection:
        connection.execute(text("CREATE TABLE t (who TEXT, n INTEGER, UNIQUE (who, n))"))
        connection.execute(text("CREATE TABLE counter (n INTEGER)"))
        connection.execute(text("INSERT INTO counter VALUES (0)"))
    return path


def test_writers_of_two_processes_and_many_threads_never_meet_on_sqlites_lock(database: Path):
    context = multiprocessing.get_context("spawn")
    other = context.Process(target=write_rows, args=(str(database), "other", 4))
    other.start()
    write_rows(str(database), "here", 4)
    other.join(120)
    assert other.exitcode == 0
    with make_engine(f"sqlite:///{database}").connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 8 * WRITES_PER_THREAD
        assert connection.execute(text("SELECT n FROM counter")).scalar() == 8 * WRITES_PER_THREAD


def test_the_lock_is_held_from_the_first_write_to_commit_rollback_or_close(database: Path):
    engine = make_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        connection.execute(text("SELECT count(*) FROM t")).scalar()
        assert not holds_lock_elsewhere(database)  # reads take nothing
        connection.execute(text("INSERT INTO t VALUES ('a', 1)"))
        assert holds_lock_elsewhere(database)
        connection.commit()
        assert not holds_lock_elsewhere(database)

        connection.execute(text("UPDATE counter SET n = 5"))
        assert holds_lock_elsewhere(database)
        connection.rollback()
        assert not holds_lock_elsewhere(database)

        with pytest.raises(IntegrityError):  # a failed write still opened the transaction
            connection.execute(text("INSERT INTO t VALUES ('a', 1)"))
        connection.rollback()
        assert not holds_lock_elsewhere(database)

    raw = engine.raw_connection()
    raw.cursor().execute("DELETE FROM t")
    assert holds_lock_elsewhere(database)
    raw.invalidate()  # closed without commit: the lock goes with it
    assert not holds_lock_elsewhere(database)


def test_a_writer_waits_for_another_process_and_readers_do_not(database: Path):
    engine = make_engine(f"sqlite:///{database}")
    fd = os.open(f"{database}-writers.lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another process's writer, as far as this one can tell
    done: list[float] = []

    def write() -> None:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES ('late', 1)"))
        done.append(time.monotonic())

    writer = threading.Thread(target=write)
    writer.start()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 0
    writer.join(0.5)
    assert writer.is_alive() and not done
    released = time.monotonic()
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)
    writer.join(10)
    assert done and done[0] >= released


def test_a_thread_already_writing_is_let_through_and_a_long_wait_gives_up(tmp_path: Path, monkeypatch):
    lock = WriterLock(tmp_path / "x.db")
    assert lock.acquire() is True
    assert lock.acquire() is False  # the same thread on a second connection: SQLite decides, as before
    monkeypatch.setattr("store.sqlite_writers.WAIT_LIMIT_SECONDS", 0.2)
    results: list[bool] = []
    other = threading.Thread(target=lambda: results.append(lock.acquire()))
    other.start()
    other.join(5)
    assert results == [False]
    lock.release()
    assert lock.acquire() is True
    lock.release()
