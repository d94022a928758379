"""EventService.Subscribe: heartbeats, and precise errors for bad subscriptions (the events
themselves: test_event_stream.py)."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import grpc
import pytest

from aiops_api.v1 import detector_pb2, event_pb2
from aiops_api.v1 import event_service_pb2 as pb
from tests.conftest import HEARTBEAT_INTERVAL, Api
from tests.rpc import failure


async def test_stream_opens_with_a_heartbeat_and_repeats_it(api: Api) -> None:
    stream = api.events.Subscribe(pb.SubscribeRequest(), timeout=10)
    loop = asyncio.get_running_loop()
    arrivals = []
    async for event in stream:
        arrivals.append(loop.time())
        assert event.WhichOneof("payload") == "heartbeat"
        assert event.heartbeat.interval_ms == round(HEARTBEAT_INTERVAL * 1000)
        assert event.time.seconds > 0
        if len(arrivals) == 3:
            break
    stream.cancel()
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert all(gap >= HEARTBEAT_INTERVAL * 0.5 for gap in gaps), gaps


async def test_valid_filters_are_accepted(api: Api) -> None:
    request = pb.SubscribeRequest(
        types=[event_pb2.EVENT_TYPE_ANOMALY],
        detectors=["detectors/cpu", "detectors/disk-io"],
        min_severity=detector_pb2.SEVERITY_WARNING,
        after_sequence=42,
    )
    stream = api.events.Subscribe(request, timeout=10)
    event = await stream.read()
    assert event.WhichOneof("payload") == "heartbeat"
    stream.cancel()


async def subscribe_failure(api: Api, request: pb.SubscribeRequest) -> Any:
    async def first_event() -> None:
        await api.events.Subscribe(request, timeout=10).read()

    return await failure(first_event())


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"types": [0]}, "types[0]"),
        ({"types": [event_pb2.EVENT_TYPE_ANOMALY, 999]}, "types[1]"),
        ({"detectors": [""]}, "detectors[0]"),
        ({"detectors": ["detectors/cpu", "data-sources/prom"]}, "detectors[1]"),
        ({"detectors": ["detectors/Not_Valid"]}, "detectors[0]"),
        ({"detectors": [f"detectors/d{i}" for i in range(1001)]}, "detectors"),
        ({"min_severity": 77}, "min_severity"),
        ({"after_sequence": -1}, "after_sequence"),
        ({"data_sources": ["detectors/x"]}, "data_sources[0]"),
        ({"data_sources": [f"dataSources/s{i}" for i in range(1001)]}, "data_sources"),
    ],
)
async def test_bad_subscriptions_are_invalid_argument(
    api: Api, fields: dict[str, Any], field: str
) -> None:
    error = await subscribe_failure(api, pb.SubscribeRequest(**fields))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in error.violations, error.violations


async def test_every_bad_field_is_named_at_once(api: Api) -> None:
    unspecified = event_pb2.EVENT_TYPE_UNSPECIFIED
    request = pb.SubscribeRequest(types=[unspecified], detectors=["x"], after_sequence=-5)
    error = await subscribe_failure(api, request)
    assert set(error.violations) == {"types[0]", "detectors[0]", "after_sequence"}
