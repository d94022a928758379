"""The event log: each event is stored in the transaction of the change it describes, which
gives it its sequence; it is published only once that transaction has committed. Old events are
pruned by count and age; subscribers that come back after that get a reset."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiops.events.bus import Bus
from aiops.store.models import EventRow, utcnow
from aiops_api.v1 import event_pb2

TYPES = {
    "detector_status": event_pb2.EVENT_TYPE_DETECTOR_STATUS,
    "anomaly_change": event_pb2.EVENT_TYPE_ANOMALY,
    "data_source_health": event_pb2.EVENT_TYPE_DATA_SOURCE_HEALTH,
    "detector_change": event_pb2.EVENT_TYPE_DETECTOR_CHANGE,
    "data_source_change": event_pb2.EVENT_TYPE_DATA_SOURCE_CHANGE,
}


class Recorder:
    """Adds events to the log within one transaction: they are inserted together, in the order
    they were added, when the transaction is about to commit (one statement for all of them:
    a writer that records many events pays one round trip, not one per event)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.events: list[event_pb2.Event] = []
        self._detector_ids: list[str | None] = []

    def add(self, event: event_pb2.Event, detector_id: str | None = None) -> None:
        """Records `event`; its sequence and time are set when the transaction writes it."""
        self.events.append(event)
        self._detector_ids.append(detector_id)

    async def write(self) -> None:
        """Inserts the recorded events, setting each one's sequence and time."""
        if not self.events:
            return
        now = utcnow()
        rows = []
        for event, detector_id in zip(self.events, self._detector_ids, strict=True):
            event.time.FromDatetime(now)
            kind = event_pb2.EventType.Name(TYPES[str(event.WhichOneof("payload"))])
            # The stored payload leaves the sequence out (`stored_event` puts it back): the
            # insert is what gives it, and one statement is cheaper than an insert and an update.
            payload = event.SerializeToString()
            rows.append({"time": now, "type": kind, "detector_id": detector_id, "payload": payload})
        inserted = await self.session.execute(
            insert(EventRow).returning(EventRow.sequence, sort_by_parameter_order=True), rows
        )
        for event, sequence in zip(self.events, inserted.scalars(), strict=True):
            event.sequence = sequence


def stored_event(row: EventRow) -> event_pb2.Event:
    """The event as it was published."""
    event = event_pb2.Event.FromString(row.payload)
    event.sequence = row.sequence
    return event


@asynccontextmanager
async def recording(
    sessions: async_sessionmaker[AsyncSession], bus: Bus
) -> AsyncIterator[Recorder]:
    """A transaction whose events are published, in sequence order, once it has committed."""
    async with bus.writing():
        async with sessions.begin() as session:
            recorder = Recorder(session)
            yield recorder
            await recorder.write()
        await bus.publish(recorder.events)


async def bounds(session: AsyncSession) -> tuple[int, int]:
    """The oldest and the latest sequence kept; (0, 0) while the log is empty."""
    oldest, latest = (
        await session.execute(select(func.min(EventRow.sequence), func.max(EventRow.sequence)))
    ).one()
    return int(oldest or 0), int(latest or 0)


async def size(session: AsyncSession) -> int:
    """How many events the log holds."""
    return int(await session.scalar(select(func.count()).select_from(EventRow)) or 0)


async def read_after(session: AsyncSession, after: int, until: int, limit: int) -> list[EventRow]:
    """Up to `limit` events with after < sequence <= until, in order."""
    rows = await session.scalars(
        select(EventRow)
        .where(EventRow.sequence > after, EventRow.sequence <= until)
        .order_by(EventRow.sequence)
        .limit(limit)
    )
    return list(rows)


async def prune(session: AsyncSession, keep: int, max_age: timedelta) -> int:
    """Deletes events beyond the newest `keep` or older than `max_age`, but never the newest
    one: SQLite would hand its sequence out again. Returns how many went."""
    _, latest = await bounds(session)
    cutoff: datetime = utcnow() - max_age
    result = await session.execute(
        delete(EventRow).where(
            EventRow.sequence < latest,
            (EventRow.sequence <= latest - keep) | (EventRow.time < cutoff),
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
