"""EventService: the server-streaming replacement of the WebSocket gateway."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from aiops.api import validation
from aiops.api.validation import Violations
from aiops.errors import InvalidArgument
from aiops_api.v1 import detector_pb2, event_pb2, event_service_pb2, event_service_pb2_grpc

MAX_DETECTORS = 1000


class EventServicer(event_service_pb2_grpc.EventServiceServicer):
    def __init__(self, heartbeat_interval: float) -> None:
        self.heartbeat_interval = heartbeat_interval

    async def Subscribe(
        self,
        request: event_service_pb2.SubscribeRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> AsyncIterator[event_pb2.Event]:
        _check_subscribe(request)
        # The event log and bus come with live events; until then a stream carries heartbeats,
        # the first one at once so that a client knows the stream is up.
        interval_ms = round(self.heartbeat_interval * 1000)
        while True:
            now = Timestamp()
            now.GetCurrentTime()
            yield event_pb2.Event(
                sequence=0, time=now, heartbeat=event_pb2.Heartbeat(interval_ms=interval_ms)
            )
            await asyncio.sleep(self.heartbeat_interval)


def _check_subscribe(request: event_service_pb2.SubscribeRequest) -> None:
    violations = Violations()
    for i, event_type in enumerate(request.types):
        validation.check_enum(event_type, event_pb2.EventType, f"types[{i}]", violations)
    if len(request.detectors) > MAX_DETECTORS:
        violations.add("detectors", f"at most {MAX_DETECTORS}, got {len(request.detectors)}")
    else:
        for i, name in enumerate(request.detectors):
            try:
                validation.parse_name(name, "detectors", f"detectors[{i}]")
            except InvalidArgument as e:
                violations.items.extend(e.violations)
    if request.min_severity:
        validation.check_enum(
            request.min_severity, detector_pb2.Severity, "min_severity", violations
        )
    if request.after_sequence < 0:
        violations.add("after_sequence", f"must not be negative, got {request.after_sequence}")
    violations.raise_if_any()
