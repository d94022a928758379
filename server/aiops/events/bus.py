"""The in-process bus: committed events, fanned out to every subscriber's bounded queue.

Events are published in sequence order: whoever writes events holds `writing` from the start of
its transaction until it has published them, so a subscriber that has seen sequence N has seen
every event before N (the log's order and the bus's agree)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from aiops_api.v1 import event_pb2


class Subscription:
    """One subscriber's queue. A subscriber that lets it fill up is cut off (`overflowed`)
    rather than slowing the publishers or the other subscribers down."""

    def __init__(self, capacity: int) -> None:
        self.queue: asyncio.Queue[event_pb2.Event] = asyncio.Queue(capacity)
        self.overflowed = asyncio.Event()

    def offer(self, event: event_pb2.Event) -> None:
        if self.overflowed.is_set():
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed.set()


class Bus:
    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self.writing = asyncio.Lock()
        self._subscriptions: set[Subscription] = set()

    def publish(self, events: Iterable[event_pb2.Event]) -> None:
        for event in events:
            for subscription in self._subscriptions:
                subscription.offer(event)

    @contextmanager
    def subscribe(self) -> Iterator[Subscription]:
        """A subscription that receives every event published while the block runs."""
        subscription = Subscription(self.capacity)
        self._subscriptions.add(subscription)
        try:
            yield subscription
        finally:
            self._subscriptions.discard(subscription)
