"""The bus across replicas: events go through one Redis stream, so a subscriber on any replica
sees every replica's events, in sequence order.

Sequences come from the shared event log (PostgreSQL). For the stream to carry them in that
order, writers on all replicas take one Redis lock from the start of their transaction until
they have added its events to the stream (XADD). Each replica reads the stream with one XREAD
loop and fans the events out to its own subscribers, as the in-process bus does. Resuming uses
the event sequence and the log, never stream ids, so the stream only needs to hold what is in
flight: it is trimmed to about `STREAM_LENGTH` entries."""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import cast

import redis.asyncio as redis
from redis.exceptions import RedisError

from aiops.errors import EventBusLost, EventBusUnavailable
from aiops.events.bus import Bus
from aiops.retry import full_jitter
from aiops_api.v1 import event_pb2

log = logging.getLogger(__name__)

STREAM = "aiops:events"
WRITER_LOCK = "aiops:events:writer"
STREAM_LENGTH = 100_000
# A writer holds the lock for one transaction; one that dies holding it frees it after this.
LOCK_TTL_MS = 30_000
LOCK_WAIT_S = 30.0
READ_BLOCK_MS = 1_000
RETRY_FIRST_S = 0.1
RETRY_CAP_S = 5.0
PUBLISH_ATTEMPTS = 5

# A stream entry: its id and fields; XREAD answers a list of them per stream.
Entry = tuple[bytes, dict[bytes, bytes]]
Entries = list[tuple[bytes, list[Entry]]]

# Deletes the lock only if this writer still holds it.
RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class RedisBus(Bus):
    def __init__(self, url: str, capacity: int = 10_000) -> None:
        super().__init__(capacity)
        self.url = url
        self._redis = redis.from_url(url, socket_connect_timeout=5)
        self._release = self._redis.register_script(RELEASE)
        self._reading: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connects and starts reading after the stream's current end; raises `OSError` when
        Redis is unreachable, so that a replica without its bus does not start."""
        try:
            position = await self._end_of_stream()
        except RedisError as e:
            raise OSError(f"cannot reach the event bus at {self.url}: {e}") from e
        self._reading = asyncio.create_task(self._read(position), name="event bus reader")

    async def stop(self) -> None:
        if self._reading is not None:
            self._reading.cancel()
            await asyncio.gather(self._reading, return_exceptions=True)
        await self._redis.aclose()

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[None]:
        async with super().writing():  # one writer of this replica contends for Redis
            token = secrets.token_hex(16)
            await self._lock(token)
            try:
                yield
            finally:
                try:
                    await self._release(keys=[WRITER_LOCK], args=[token])
                except RedisError as e:  # it expires by itself
                    log.warning("could not release the event writer lock: %s", e)

    async def publish(self, events: Iterable[event_pb2.Event]) -> None:
        """Adds the committed `events` to the stream. They are in the log already, so after the
        retries a failure ends this replica's streams (to resume from the log) instead of
        failing the change."""
        payloads = [event.SerializeToString() for event in events]
        if not payloads:
            return
        for attempt in range(PUBLISH_ATTEMPTS):
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for payload in payloads:
                        pipe.xadd(STREAM, {"e": payload}, maxlen=STREAM_LENGTH, approximate=True)
                    await pipe.execute()
                return
            except RedisError as e:
                log.warning("event bus: adding %d events failed: %s", len(payloads), e)
                await asyncio.sleep(full_jitter(attempt, RETRY_FIRST_S, RETRY_CAP_S))
        log.error("event bus: %d committed events were not published", len(payloads))
        self.end_all(EventBusLost)

    async def broadcast(self, event: event_pb2.Event) -> None:
        try:
            await self._redis.xadd(
                STREAM, {"e": event.SerializeToString()}, maxlen=STREAM_LENGTH, approximate=True
            )
        except RedisError as e:  # the next step's will do
            log.warning("event bus: a %s event was dropped: %s", event.WhichOneof("payload"), e)

    async def _lock(self, token: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LOCK_WAIT_S
        while True:
            try:
                if await self._redis.set(WRITER_LOCK, token, nx=True, px=LOCK_TTL_MS):
                    return
            except RedisError as e:
                raise EventBusUnavailable(str(e)) from e
            if loop.time() > deadline:
                raise EventBusUnavailable(f"no turn to write events within {LOCK_WAIT_S:g} s")
            await asyncio.sleep(random.uniform(0.001, 0.005))

    async def _read(self, position: bytes | None) -> None:
        """Delivers the stream's entries after `position` to this replica's subscribers, for as
        long as the server runs."""
        failures = 0
        while True:
            try:
                if position is None:  # back after a failure
                    position = await self._end_of_stream()
                    self.end_all(EventBusLost)  # those that subscribed while it was down
                read = await self._redis.xread({STREAM: position}, block=READ_BLOCK_MS)
                failures = 0
            except RedisError as e:
                # Entries may have gone by (a restarted Redis starts an empty stream): every
                # stream resumes from the log, and reading goes on from the end of the stream.
                log.warning("event bus: reading failed: %s", e)
                self.end_all(EventBusLost)
                position = None
                await asyncio.sleep(full_jitter(failures, RETRY_FIRST_S, RETRY_CAP_S))
                failures += 1
                continue
            for _, entries in cast(Entries, read):
                for entry_id, fields in entries:
                    event = event_pb2.Event.FromString(fields[b"e"])
                    if event.sequence:  # the bytes the streams send
                        self.keep_serialized(event.sequence, fields[b"e"])
                    self.deliver([event])
                    position = entry_id

    async def _end_of_stream(self) -> bytes:
        last = cast(list[Entry], await self._redis.xrevrange(STREAM, count=1))
        return last[0][0] if last else b"0-0"
