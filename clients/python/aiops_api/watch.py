"""Follow EventService.Subscribe across disconnects: `watch` reconnects with capped exponential
backoff and full jitter, and resumes after the last sequence it delivered, so the caller sees
every event once, in order, whatever happens to the connection.

    async for event in watch(EventServiceStub(channel), SubscribeRequest(types=[...])):
        ...
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import grpc

from aiops_api.v1 import event_pb2, event_service_pb2

# The request's own fault: asking again gives the same answer.
FINAL_CODES = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.UNIMPLEMENTED,
    }
)
# Heartbeats missed before a silent stream counts as dead.
MISSED_HEARTBEATS = 3
FIRST_MESSAGE_TIMEOUT = 30.0  # seconds, before the first heartbeat says the interval


async def watch(
    stub: Any,
    request: event_service_pb2.SubscribeRequest,
    *,
    base_delay: float = 0.1,
    max_delay: float = 5.0,
    heartbeats: bool = False,
    rng: random.Random | None = None,
) -> AsyncIterator[event_pb2.Event]:
    """The events `request` asks for, from `request.after_sequence` on (0: from now), until the
    caller stops iterating. Heartbeats are passed on only when `heartbeats` is true. Errors the
    request itself causes (INVALID_ARGUMENT and the like) are raised; the rest reconnect."""
    rng = rng or random.Random()
    last = request.after_sequence
    failures = 0
    while True:
        resumed = event_service_pb2.SubscribeRequest()
        resumed.CopyFrom(request)
        resumed.after_sequence = last
        call = stub.Subscribe(resumed)
        timeout = FIRST_MESSAGE_TIMEOUT
        try:
            while True:
                try:
                    event = await asyncio.wait_for(call.read(), timeout)
                except TimeoutError:
                    break  # silent for too long: a dead connection, not a quiet stream
                if event is grpc.aio.EOF:
                    break
                failures = 0
                if event.WhichOneof("payload") == "heartbeat":
                    timeout = MISSED_HEARTBEATS * event.heartbeat.interval_ms / 1000
                    if last == 0:  # live from here: a reconnect replays what came since
                        last = event.sequence
                    if heartbeats:
                        yield event
                    continue
                last = max(last, event.sequence)
                yield event
        except grpc.aio.AioRpcError as error:
            if error.code() in FINAL_CODES:
                raise
        finally:
            call.cancel()
        await asyncio.sleep(rng.uniform(0, min(max_delay, base_delay * 2**failures)))
        failures += 1
