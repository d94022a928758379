"""Events written as the pipeline writes them, for the tests of the streams that carry them."""

from __future__ import annotations

from aiops.app import App
from aiops.events import log as event_log
from aiops.store.database import session_factory
from aiops_api.v1 import event_pb2


async def publish(server: App, count: int, source: str = "dataSources/a") -> list[int]:
    """`count` health events in one transaction, as the probe writes them; their sequences."""
    async with event_log.recording(session_factory(server.engine), server.bus) as recorder:
        for i in range(count):
            health = event_pb2.DataSourceHealth(data_source=source, reachable=i % 2 == 0)
            recorder.add(event_pb2.Event(data_source_health=health))
    return [event.sequence for event in recorder.events]
