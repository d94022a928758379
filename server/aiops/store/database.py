"""The database engine, sessions and schema migrations."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from prometheus_client import Histogram
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def create_engine(url: str) -> AsyncEngine:
    sqlite = make_url(url).get_backend_name() == "sqlite"
    # A pooled connection to a server may have been dropped; one to a local file has not.
    engine = create_async_engine(url, pool_pre_ping=not sqlite)
    if sqlite:
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        event.listen(engine.sync_engine, "begin", _begin)
    return engine


def time_transactions(engine: AsyncEngine, seconds: Histogram) -> None:
    """Observes in `seconds` how long each of `engine`'s transactions is open, BEGIN to
    COMMIT or ROLLBACK (on SQLite, how long it holds the write lock), by `outcome`."""

    def began(connection: Any) -> None:
        connection.info["began"] = time.perf_counter()

    def ended(outcome: str) -> Any:
        def end(connection: Any) -> None:
            start = connection.info.pop("began", None)
            if start is not None:
                seconds.labels(outcome).observe(time.perf_counter() - start)

        return end

    for outcome in ("commit", "rollback"):  # shown from zero
        seconds.labels(outcome)
    event.listen(engine.sync_engine, "begin", began)
    event.listen(engine.sync_engine, "commit", ended("commit"))
    event.listen(engine.sync_engine, "rollback", ended("rollback"))


def _begin(connection: Any) -> None:
    # A transaction that reads and then writes cannot take the write lock while another
    # writer holds it ("database is locked", at once, whatever the busy timeout): taking it at
    # BEGIN makes concurrent writers (detectors, requests) wait their turn instead. Readers
    # take it too, for now: with reads beginning no transaction (the WRITES option tells them
    # apart), tests/e2e/test_ui.py's stop test read a detector not yet STOPPED after the UI
    # showed it stopped, under load; not understood yet (see bench/README, unary API).
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # Transactions begin where _begin_immediate says, not where the driver guesses.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # SQLite ignores foreign keys unless asked, per connection.
    cursor.execute("PRAGMA foreign_keys=ON")
    # First: a busy database makes every later statement wait its turn, the PRAGMA below
    # included (it takes a lock, and without a busy timeout fails at once, "database is locked").
    cursor.execute("PRAGMA busy_timeout=30000")
    # WAL lets readers (streams, lists) go on while a detector writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


WRITES = "aiops_writes"  # the execution option of a writer's connections


class Sessions(async_sessionmaker[AsyncSession]):
    """`sessions()`: a session for reading; `sessions.begin()`: a writer's transaction,
    committed at the end of its block (on SQLite it takes the write lock at BEGIN; a reader's
    statements run each on its own, taking none)."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine, expire_on_commit=False)
        self._writers = async_sessionmaker(
            engine.execution_options(**{WRITES: True}), expire_on_commit=False
        )

    def begin(self) -> Any:
        return self._writers.begin()


def session_factory(engine: AsyncEngine) -> Sessions:
    return Sessions(engine)


def migrations_dir() -> Path:
    """The Alembic environment: inside the package when installed from a wheel, else the repo's."""
    packaged = Path(__file__).resolve().parent.parent / "migrations"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # % is interpolation
    return config


def migrate(url: str, revision: str = "head") -> None:
    """Brings the schema to `revision`. Synchronous: Alembic runs its own event loop."""
    command.upgrade(alembic_config(url), revision)
