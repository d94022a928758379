"""EventService: the server-streaming replacement of the WebSocket gateway.

Subscribe writes each event serialized: a stored event is serialized once and every stream
sends the same bytes (`Bus.serialized`), which the method's handler passes through
(`add_event_service`) instead of serializing the event again for each stream. It writes them
with `context.write` rather than yielding them: a generator (and the error interceptor's around
it) would cost each delivery a few more steps."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import grpc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiops import validation
from aiops.errors import InvalidArgument, ShuttingDown
from aiops.events import log as event_log
from aiops.events.bus import Bus
from aiops.events.filters import EventFilter
from aiops.events.heartbeats import HeartbeatTicker
from aiops.events.scores import ScoresPacer
from aiops.validation import Violations
from aiops_api.v1 import detector_pb2, event_pb2, event_service_pb2, event_service_pb2_grpc

MAX_DETECTORS = 1000
MAX_DATA_SOURCES = 1000
REPLAY_PAGE = 1000  # events read from the log at a time


class EventServicer(event_service_pb2_grpc.EventServiceServicer):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        bus: Bus,
        heartbeat_interval: float,
        scores_interval: float,
    ) -> None:
        self.sessions = sessions
        self.bus = bus
        self.heartbeat_interval = heartbeat_interval
        self.scores_interval = scores_interval
        self.heartbeats = HeartbeatTicker(bus, heartbeat_interval)
        self.closed = False

    def start(self) -> None:
        self.heartbeats.start()

    async def close(self) -> None:
        """At shutdown: every stream ends with UNAVAILABLE and where to resume."""
        self.closed = True
        self.bus.end_all(ShuttingDown)
        await self.heartbeats.stop()

    async def Subscribe(
        self,
        request: event_service_pb2.SubscribeRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> None:
        _check_subscribe(request)
        write = context.write
        wanted = EventFilter.of(request)
        # Subscribed before the log is read: what is published meanwhile waits in the queue,
        # and what the replay already gave is skipped by its sequence. No gap, no duplicate.
        with self.bus.subscribe() as subscription:
            if request.after_sequence:
                async with self.sessions() as session:
                    oldest, latest = await event_log.bounds(session)
            else:  # live only: the bus knows where that starts (opening streams is cheaper)
                latest = self.bus.latest
            # The first heartbeat at once, so that a client knows the stream is up.
            await write(self._heartbeat(latest).SerializeToString())
            last = latest
            if request.after_sequence:
                replay = self._replay(request.after_sequence, oldest, latest, wanted)
                async for payload in replay:
                    await write(payload)
            self.heartbeats.join(subscription)
            subscription.task = asyncio.current_task()
            if self.closed:
                subscription.end(ShuttingDown)
            scores = ScoresPacer(self.scores_interval)
            loop = asyncio.get_running_loop()
            while True:
                if subscription.ended is not None:
                    raise subscription.ended(last)
                if subscription.heartbeat_due:  # however busy the stream is
                    subscription.heartbeat_due = False
                    await write(self._heartbeat(last).SerializeToString())
                if scores.waiting:
                    for event in scores.due(loop.time()):
                        await write(_at_sequence(event, last).SerializeToString())
                if not subscription.events:
                    longest = max(0.0, scores.next_due() - loop.time()) if scores.waiting else None
                    await subscription.wait(longest)
                    continue
                published = subscription.events.popleft()
                kind = published.WhichOneof("payload")
                if kind == "scores":  # not in the log
                    if wanted.matches(published):
                        scores.offer(published)
                    continue
                if kind == "server_status":  # not in the log either
                    if wanted.matches(published):
                        await write(_at_sequence(published, last).SerializeToString())
                    continue
                if published.sequence <= last:
                    continue
                last = published.sequence
                if wanted.matches(published):
                    await write(self.bus.serialized(published))

    async def _replay(
        self, after: int, oldest: int, latest: int, wanted: EventFilter
    ) -> AsyncIterator[bytes]:
        """The kept events after `after`, up to `latest`; a reset where some are gone."""
        if after > latest or after < oldest - 1:
            yield _reset(after, oldest, latest).SerializeToString()
            return
        position = after
        while position < latest:
            # A session per page, closed before the page is written: a slow client must not
            # hold a transaction (on SQLite, the write lock) while it reads.
            async with self.sessions() as session:
                rows = await event_log.read_after(session, position, latest, REPLAY_PAGE)
                page = [event_log.stored_event(row) for row in rows]
            if not page or page[0].sequence != position + 1:  # pruned while we read
                yield _reset(after, oldest, latest).SerializeToString()
                return
            for event in page:
                if wanted.matches(event):
                    yield self.bus.serialized(event)
                position = event.sequence

    def _heartbeat(self, sequence: int) -> event_pb2.Event:
        interval_ms = round(self.heartbeat_interval * 1000)
        event = event_pb2.Event(
            sequence=sequence, heartbeat=event_pb2.Heartbeat(interval_ms=interval_ms)
        )
        event.time.GetCurrentTime()
        return event


def add_event_service(servicer: EventServicer, server: grpc.aio.Server) -> None:
    """Adds the EventService as `add_EventServiceServicer_to_server` does, but with no response
    serializer: Subscribe yields the bytes of each event, and they go out as they are."""
    methods = {
        "Subscribe": grpc.unary_stream_rpc_method_handler(
            servicer.Subscribe,
            request_deserializer=event_service_pb2.SubscribeRequest.FromString,
            response_serializer=None,
        )
    }
    name = event_service_pb2.DESCRIPTOR.services_by_name["EventService"].full_name
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(name, methods),))
    server.add_registered_method_handlers(name, methods)


def _at_sequence(event: event_pb2.Event, sequence: int) -> event_pb2.Event:
    """A copy of an event that is not in the log, carrying the stream's latest sequence."""
    copy = event_pb2.Event()
    copy.CopyFrom(event)
    copy.sequence = sequence
    return copy


def _reset(after: int, oldest: int, latest: int) -> event_pb2.Event:
    reason = (
        f"events after {after} are no longer all kept (the log holds {oldest}..{latest}): "
        "reload what you show, then carry on"
    )
    event = event_pb2.Event(
        sequence=latest, reset=event_pb2.Reset(reason=reason, oldest_sequence=oldest)
    )
    event.time.GetCurrentTime()
    return event


def _check_subscribe(request: event_service_pb2.SubscribeRequest) -> None:
    violations = Violations()
    for i, event_type in enumerate(request.types):
        validation.check_enum(event_type, event_pb2.EventType, f"types[{i}]", violations)
    _check_names(request.detectors, "detectors", "detectors", MAX_DETECTORS, violations)
    if request.min_severity:
        validation.check_enum(
            request.min_severity, detector_pb2.Severity, "min_severity", violations
        )
    if request.after_sequence < 0:
        violations.add("after_sequence", f"must not be negative, got {request.after_sequence}")
    _check_names(request.data_sources, "dataSources", "data_sources", MAX_DATA_SOURCES, violations)
    violations.raise_if_any()


def _check_names(
    names: Sequence[str], collection: str, field: str, limit: int, violations: Violations
) -> None:
    if len(names) > limit:
        violations.add(field, f"at most {limit}, got {len(names)}")
        return
    for i, name in enumerate(names):
        try:
            validation.parse_name(name, collection, f"{field}[{i}]")
        except InvalidArgument as e:
            violations.items.extend(e.violations)
