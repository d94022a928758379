"""The in-process bus: committed events, fanned out to every subscriber's bounded queue.

Events are published in sequence order: whoever writes events holds `writing()` from the start
of its transaction until it has published them, so a subscriber that has seen sequence N has
seen every event before N (the log's order and the bus's agree). `RedisBus`
(aiops.events.redis_bus) carries the same contract across replicas."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from aiops.errors import StreamEnded, StreamTooSlow
from aiops_api.v1 import event_pb2

# Why a subscription was ended; the stream raises it with the last sequence it delivered.
EndReason = Callable[[int], StreamEnded]
# The latest stored events kept serialized, at most so many and so many bytes: a stream further
# behind than that serializes its own copy.
SERIALIZED_KEPT = 1024
SERIALIZED_KEPT_BYTES = 8 * 1024 * 1024


class CutOffs:
    """Streams cut off for falling behind, and the events they had waiting or were offered as
    they were cut (their clients resume from the log and miss none of them)."""

    def __init__(self) -> None:
        self.streams = 0
        self.events = 0


class Subscription:
    """One subscriber's events, waiting to be sent. A subscriber that lets more than `capacity`
    pile up is cut off (`StreamTooSlow`) rather than slowing the publishers or the other
    subscribers down. Its stream sleeps in `wait` until there is something to do: an event, its
    end, or its heartbeat (`tick`, from `aiops.events.heartbeats`)."""

    def __init__(self, capacity: int, cut_offs: CutOffs | None = None) -> None:
        self.capacity = capacity
        self.cut_offs = cut_offs if cut_offs is not None else CutOffs()
        self.events: deque[event_pb2.Event] = deque()
        self.ended: EndReason | None = None
        self.heartbeat_due = False
        # None until the stream joins the ticker, after its opening heartbeat: a tick before
        # that would send a second heartbeat right after the first.
        self.heartbeat_slot = -1
        self._wakeup: asyncio.Future[None] | None = None
        # The stream's task, and when it was ended: one that is still here long after cannot
        # have got round to ending (aiops.events.heartbeats cancels it).
        self.task: asyncio.Task[Any] | None = None
        self.ended_at = 0.0

    def offer(self, event: event_pb2.Event) -> None:
        if self.ended is not None:
            return
        if len(self.events) >= self.capacity:
            self.cut_offs.streams += 1
            self.cut_offs.events += len(self.events) + 1
            self.end(StreamTooSlow)
            return
        self.events.append(event)
        self._wake()

    def end(self, reason: EndReason) -> None:
        if self.ended is None:
            self.ended = reason
            self.ended_at = time.monotonic()
            self._wake()

    def tick(self) -> None:
        self.heartbeat_due = True
        self._wake()

    async def wait(self, longest: float | None = None) -> None:
        """Until there is an event, an end or a heartbeat to send, or `longest` seconds."""
        if self.events or self.ended is not None or self.heartbeat_due:
            return
        # One future per idle spell, not per event: a busy stream never waits here.
        self._wakeup = asyncio.get_running_loop().create_future()
        try:
            if longest is None:
                await self._wakeup
            else:
                await asyncio.wait([self._wakeup], timeout=longest)
        finally:
            self._wakeup = None

    def _wake(self) -> None:
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)


class Bus:
    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._writing = asyncio.Lock()
        self._subscriptions: set[Subscription] = set()
        # The latest sequence delivered (the server sets it from the log at start): a stream
        # that wants live events only starts from it without asking the database.
        self.latest = 0
        # Stored events delivered since start (the status's events per second).
        self.events_delivered = 0
        self.cut_offs = CutOffs()
        self._serialized: dict[int, bytes] = {}  # by sequence, oldest first
        self._serialized_bytes = 0

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
            if event.sequence:
                self.events_delivered += 1
            self.latest = max(self.latest, event.sequence)
            for subscription in self._subscriptions:
                subscription.offer(event)

    def serialized(self, event: event_pb2.Event) -> bytes:
        """A stored event's bytes, made once for every stream that sends it: a sequence names
        one event for good, so the streams send the same bytes (and the serializing of one
        event is paid once, not once per stream)."""
        payload = self._serialized.get(event.sequence)
        if payload is None:
            payload = event.SerializeToString()
            self.keep_serialized(event.sequence, payload)
        return payload

    def keep_serialized(self, sequence: int, payload: bytes) -> None:
        """Remembers the bytes of the stored event `sequence`, for `serialized`."""
        self._serialized_bytes += len(payload) - len(self._serialized.get(sequence, b""))
        self._serialized[sequence] = payload
        while (
            len(self._serialized) > SERIALIZED_KEPT
            or self._serialized_bytes > SERIALIZED_KEPT_BYTES
        ):
            self._serialized_bytes -= len(self._serialized.pop(next(iter(self._serialized))))

    @property
    def open_streams(self) -> int:
        """The streams open on this server (SERVER_STATUS's count)."""
        return len(self._subscriptions)

    @property
    def subscriptions(self) -> set[Subscription]:
        return self._subscriptions

    def end_all(self, reason: EndReason) -> None:
        """Ends every subscription: they may have missed events and must resume from the log."""
        for subscription in self._subscriptions:
            subscription.end(reason)

    @contextmanager
    def subscribe(self) -> Iterator[Subscription]:
        """A subscription that receives every event published while the block runs."""
        subscription = Subscription(self.capacity, self.cut_offs)
        self._subscriptions.add(subscription)
        try:
            yield subscription
        finally:
            self._subscriptions.discard(subscription)
