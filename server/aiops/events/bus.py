"""The in-process bus: committed events, fanned out to every subscriber's queue."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from aiops_api.v1 import event_pb2


class Bus:
    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[event_pb2.Event]] = set()

    def publish(self, events: Iterable[event_pb2.Event]) -> None:
        for event in events:
            for queue in self._queues:
                queue.put_nowait(event)

    @contextmanager
    def subscribe(self) -> Iterator[asyncio.Queue[event_pb2.Event]]:
        """A queue that receives every event published while the block runs."""
        queue: asyncio.Queue[event_pb2.Event] = asyncio.Queue()
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)
