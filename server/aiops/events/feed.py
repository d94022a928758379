"""The bus across the serving processes of one server (`aiops serve --workers N`), without Redis:
the primary process, which writes every event, hands each one it delivers to the worker
processes over a unix socket, in the order it delivers them (sequence order: writers hold
`Bus.writing` until they have published), and each worker fans them out to its own streams as
the in-process bus does. With `redis_url` the workers read Redis instead, as replicas do.

A frame is a 4-byte big-endian length and an `Event`'s bytes: a stored event's as every stream
sends them (`Bus.serialized`), SCORES and SERVER_STATUS events as they are. The first frame on a
connection is an event with the primary's latest sequence and no payload. A worker that falls more
than `FEED_BUFFER_BYTES` behind is disconnected; like a worker whose primary went away for a
moment, it ends its streams with EVENT_BUS_LOST and where to resume, and connects again. A worker
sends nothing back (it tells its number of streams to the primary on its stdout: aiops.workers)."""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Iterable

from aiops.errors import EventBusLost
from aiops.events.bus import Bus
from aiops.retry import full_jitter
from aiops_api.v1 import event_pb2

log = logging.getLogger(__name__)

LENGTH = struct.Struct(">I")
# What one worker may have waiting in the primary before it is cut off (it resumes).
FEED_BUFFER_BYTES = 64 * 1024 * 1024
RETRY_FIRST_S = 0.05
RETRY_CAP_S = 2.0


def _frame(payload: bytes) -> bytes:
    return LENGTH.pack(len(payload)) + payload


class FeedingBus(Bus):
    """The primary's in-process bus: what it delivers also goes to every connected worker."""

    def __init__(self, capacity: int = 10_000) -> None:
        super().__init__(capacity)
        self._feeds: set[asyncio.StreamWriter] = set()
        self._server: asyncio.AbstractServer | None = None

    async def serve_feed(self, path: str) -> None:
        """Listens for workers on the unix socket `path`."""
        self._server = await asyncio.start_unix_server(self._feed, path)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._feeds):
            writer.close()
        self._feeds.clear()

    async def _feed(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Nothing is delivered between the hello and joining: the worker misses nothing.
        writer.write(_frame(event_pb2.Event(sequence=self.latest).SerializeToString()))
        self._feeds.add(writer)
        try:
            await reader.read()  # nothing comes: its end says the worker has gone
        except ConnectionError:
            pass
        finally:
            self._feeds.discard(writer)
            writer.close()

    def deliver(self, events: Iterable[event_pb2.Event]) -> None:
        events = list(events)
        super().deliver(events)
        if not self._feeds:
            return
        frames = b"".join(
            _frame(self.serialized(event) if event.sequence else event.SerializeToString())
            for event in events
        )
        for writer in list(self._feeds):
            if writer.transport.get_write_buffer_size() > FEED_BUFFER_BYTES:
                log.warning("event feed: a worker fell too far behind; it resumes")
                self._feeds.discard(writer)
                writer.close()
                continue
            writer.write(frames)


class FeedBus(Bus):
    """A worker's bus: the events the primary delivers, fanned out to this worker's streams.
    The worker writes no events (its API calls other than Subscribe go to the primary)."""

    def __init__(self, path: str, capacity: int = 10_000) -> None:
        super().__init__(capacity)
        self.path = path
        self._reading: asyncio.Task[None] | None = None
        self._writer: asyncio.StreamWriter | None = None  # kept: dropping it closes the socket

    async def start(self) -> None:
        """Connects; `OSError` when the primary cannot be reached."""
        reader = await self._connect()
        self._reading = asyncio.create_task(self._read(reader), name="event feed reader")

    async def stop(self) -> None:
        if self._reading is not None:
            self._reading.cancel()
            await asyncio.gather(self._reading, return_exceptions=True)
        if self._writer is not None:
            self._writer.close()

    async def _connect(self) -> asyncio.StreamReader:
        if self._writer is not None:
            self._writer.close()
        reader, self._writer = await asyncio.open_unix_connection(self.path)
        hello = event_pb2.Event.FromString(await self._next(reader))
        self.latest = max(self.latest, hello.sequence)
        return reader

    @staticmethod
    async def _next(reader: asyncio.StreamReader) -> bytes:
        (length,) = LENGTH.unpack(await reader.readexactly(LENGTH.size))
        return await reader.readexactly(length)

    async def _read(self, reader: asyncio.StreamReader | None) -> None:
        failures = 0
        while True:
            try:
                if reader is None:  # back after a loss
                    reader = await self._connect()
                    self.end_all(EventBusLost)  # those that subscribed meanwhile
                    failures = 0
                payload = await self._next(reader)
            except (OSError, asyncio.IncompleteReadError) as e:
                if reader is not None:
                    log.warning("event feed: lost the primary: %s", e)
                self.end_all(EventBusLost)
                reader = None
                await asyncio.sleep(full_jitter(failures, RETRY_FIRST_S, RETRY_CAP_S))
                failures += 1
                continue
            event = event_pb2.Event.FromString(payload)
            if event.sequence:  # a stored event: these bytes are what the streams send
                self.keep_serialized(event.sequence, payload)
            self.deliver([event])
