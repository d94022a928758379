"""The event log: each event is stored in the transaction of the change it describes, which
gives it its sequence; it is published only once that transaction has committed."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from aiops.store.models import EventRow
from aiops_api.v1 import event_pb2

TYPES = {
    "detector_status": event_pb2.EVENT_TYPE_DETECTOR_STATUS,
    "anomaly_change": event_pb2.EVENT_TYPE_ANOMALY,
    "data_source_health": event_pb2.EVENT_TYPE_DATA_SOURCE_HEALTH,
}


async def append(
    session: AsyncSession, event: event_pb2.Event, detector_id: str | None = None
) -> event_pb2.Event:
    """Adds `event` to the log within `session`'s transaction and sets its sequence and time."""
    kind = event_pb2.EventType.Name(TYPES[str(event.WhichOneof("payload"))])
    row = EventRow(type=kind, detector_id=detector_id, payload=b"")
    session.add(row)
    await session.flush()  # assigns the sequence and the time
    event.sequence = row.sequence
    event.time.FromDatetime(row.time)
    row.payload = event.SerializeToString()
    return event
