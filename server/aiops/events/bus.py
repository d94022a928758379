"""The in-process bus: committed events, fanned out to every subscriber's bounded queue.

Events are published in sequence order: whoever writes events holds `writing()` from the start
of its transaction until it has published them, so a subscriber that has seen sequence N has
seen every event before N (the log's order and the bus's agree). `RedisBus`
(aiops.events.redis_bus) carries the same contract across replicas."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager

from aiops.errors import StreamEnded, StreamTooSlow
from aiops_api.v1 import event_pb2

# Why a subscription was ended; the stream raises it with the last sequence it delivered.
EndReason = Callable[[int], StreamEnded]


class Subscription:
    """One subscriber's queue. A subscriber that lets it fill up is cut off (`StreamTooSlow`)
    rather than slowing the publishers or the other subscribers down."""

    def __init__(self, capacity: int) -> None:
        self.queue: asyncio.Queue[event_pb2.Event] = asyncio.Queue(capacity)
        self.ended = asyncio.Event()
        self.reason: EndReason = StreamTooSlow

    def offer(self, event: event_pb2.Event) -> None:
        if self.ended.is_set():
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.end(StreamTooSlow)

    def end(self, reason: EndReason) -> None:
        if not self.ended.is_set():
            self.reason = reason
            self.ended.set()


class Bus:
    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._writing = asyncio.Lock()
        self._subscriptions: set[Subscription] = set()
        # The latest sequence delivered (the server sets it from the log at start): a stream
        # that wants live events only starts from it without asking the database.
        self.latest = 0

    async def start(self) -> None:
        """Nothing to connect to in-process."""

    async def stop(self) -> None:
        """Nothing to disconnect in-process."""

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[None]:
        """Held by a writer from the start of its transaction until it has published."""
        async with self._writing:
            yield

    async def publish(self, events: Iterable[event_pb2.Event]) -> None:
        self.deliver(events)

    async def broadcast(self, event: event_pb2.Event) -> None:
        """Hands out an event that is not in the log (SCORES): no order, no resuming."""
        self.deliver([event])

    def deliver(self, events: Iterable[event_pb2.Event]) -> None:
        """Hands `events` to this process's subscribers."""
        for event in events:
            self.latest = max(self.latest, event.sequence)
            for subscription in self._subscriptions:
                subscription.offer(event)

    def end_all(self, reason: EndReason) -> None:
        """Ends every subscription: they may have missed events and must resume from the log."""
        for subscription in self._subscriptions:
            subscription.end(reason)

    @contextmanager
    def subscribe(self) -> Iterator[Subscription]:
        """A subscription that receives every event published while the block runs."""
        subscription = Subscription(self.capacity)
        self._subscriptions.add(subscription)
        try:
            yield subscription
        finally:
            self._subscriptions.discard(subscription)
