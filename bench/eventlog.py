"""Writing events to the event log: one statement for a transaction's events, against one per event.

    .venv/bin/python bench/eventlog.py [--database-url URL] [--transactions N] [--json PATH]

A writer that publishes many events at once (a detector's step with several anomalies, the
health probe's round, an API call) records them in one transaction. Two ways to insert them:
- aiops: `events.log.recording`, which inserts a transaction's events in one INSERT ... RETURNING
  as it commits;
- per event: the same rows inserted one statement each, as `Recorder.add` did before (an INSERT
  ... RETURNING awaited per event).
Each runs `--transactions` transactions of 1, 10 and 100 DATA_SOURCE_HEALTH events, in turn, on a
SQLite file in a temporary directory (or on `--database-url`, migrated first; its events table is
emptied after), and reports CPU and wall time per transaction and per event (CPU: this process,
which holds the event loop and aiosqlite's thread).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiops.events import log as event_log
from aiops.events.bus import Bus
from aiops.store.database import create_engine, migrate, session_factory
from aiops.store.models import EventRow, utcnow
from aiops_api.v1 import event_pb2

SIZES = (1, 10, 100)


def health(i: int) -> event_pb2.Event:
    change = event_pb2.DataSourceHealth(
        data_source="dataSources/bench", reachable=i % 2 == 0, url="http://127.0.0.1:9090"
    )
    return event_pb2.Event(data_source_health=change)


async def aiops(sessions: async_sessionmaker[AsyncSession], bus: Bus, size: int) -> None:
    async with event_log.recording(sessions, bus) as recorder:
        for i in range(size):
            recorder.add(health(i))


async def per_event(sessions: async_sessionmaker[AsyncSession], bus: Bus, size: int) -> None:
    """The former Recorder: each event inserted, and its sequence read back, on its own."""
    events = []
    async with bus.writing():
        async with sessions.begin() as session:
            for i in range(size):
                event = health(i)
                now = utcnow()
                event.time.FromDatetime(now)
                inserted = await session.execute(
                    insert(EventRow)
                    .values(
                        time=now,
                        type="EVENT_TYPE_DATA_SOURCE_HEALTH",
                        payload=event.SerializeToString(),
                    )
                    .returning(EventRow.sequence)
                )
                event.sequence = inserted.scalar_one()
                events.append(event)
        await bus.publish(events)


async def measure(url: str, transactions: int) -> list[dict[str, Any]]:
    engine = create_engine(url)
    sessions, bus = session_factory(engine), Bus()
    rows = []
    try:
        for size in SIZES:
            for name, write in (("aiops", aiops), ("per event", per_event)):
                await write(sessions, bus, size)  # warm: statements compiled, connection open
                wall, cpu = time.perf_counter(), time.process_time()
                for _ in range(transactions):
                    await write(sessions, bus, size)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                rows.append(
                    {
                        "events_per_transaction": size,
                        "writer": name,
                        "cpu_ms_per_transaction": round(1000 * cpu / transactions, 3),
                        "wall_ms_per_transaction": round(1000 * wall / transactions, 3),
                        "cpu_us_per_event": round(1e6 * cpu / transactions / size, 1),
                    }
                )
        async with sessions.begin() as session:
            await session.execute(delete(EventRow))
    finally:
        await engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: SQLite in a temporary directory")
    parser.add_argument("--transactions", type=int, default=200, help="of each size and writer")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url = args.database_url or f"sqlite+aiosqlite:///{scratch}/aiops.db"
        migrate(url)  # Alembic runs its own event loop: before ours
        rows = asyncio.run(measure(url, args.transactions))
    for row in rows:
        print(
            f"{row['events_per_transaction']:>3} events, {row['writer']:>9}: "
            f"{row['cpu_ms_per_transaction']:7.2f} ms CPU, "
            f"{row['wall_ms_per_transaction']:7.2f} ms wall per transaction; "
            f"{row['cpu_us_per_event']:7.1f} us CPU per event"
        )
    ours = {r["events_per_transaction"]: r for r in rows if r["writer"] == "aiops"}
    theirs = {r["events_per_transaction"]: r for r in rows if r["writer"] == "per event"}
    for size in SIZES:
        ratio = theirs[size]["cpu_us_per_event"] / max(ours[size]["cpu_us_per_event"], 1e-9)
        print(f"{size:>3} events a transaction: per event / aiops = {ratio:.2f}x the CPU")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
