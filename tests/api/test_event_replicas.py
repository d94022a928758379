"""Several replicas on one PostgreSQL database and one Redis: a subscriber on any replica sees
every replica's events, once and in sequence order, replays them from the shared log, and is
told where to resume when the bus fails."""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import grpc
import pytest

from aiops.app import App, start_app
from aiops.config import Settings
from aiops_api.v1 import data_source_service_pb2, detector_pb2, detector_service_pb2
from aiops_api.v1 import event_service_pb2 as pb
from tests.conftest import Api, connected, serving
from tests.events import publish
from tests.postgres import free_port
from tests.redis import RedisServer
from tests.rpc import detector, failure, prometheus

pytestmark = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


@pytest.fixture(params=[1, 2], ids=["1-worker", "2-workers"])
async def replicas(
    database_url: str, redis: RedisServer, request: pytest.FixtureRequest
) -> AsyncIterator[list[App]]:
    """Two replicas, each one serving process or two (the primary and a worker)."""
    async with AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(
                serving(
                    database_url, run_detectors=False, redis_url=redis.url, workers=request.param
                )
            )
            for _ in range(2)
        ]


async def sequences_until(api: Api, request: pb.SubscribeRequest, until: int) -> list[int]:
    """The sequences of a stream's non-heartbeat events, until one reaches `until`."""
    got = []
    async for event in api.events.Subscribe(request, timeout=20):
        if event.WhichOneof("payload") != "heartbeat":
            got.append(event.sequence)
            if event.sequence >= until:
                break
    return got


async def test_subscribers_on_each_replica_see_every_replicas_events_in_order(
    replicas: list[App],
) -> None:
    async with connected(replicas[0]) as first, connected(replicas[1]) as second:
        request = pb.SubscribeRequest()
        streams = [api.events.Subscribe(request, timeout=20) for api in (first, second)]
        for stream in streams:
            await stream.read()  # the first heartbeat: subscribed
        published: list[int] = []

        async def write(server: App) -> None:
            for _ in range(30):
                published.extend(await publish(server, random.randint(1, 3)))
                await asyncio.sleep(random.uniform(0, 0.005))

        # Both replicas write at once: the stream must still carry sequence order.
        await asyncio.gather(*(write(server) for server in replicas))
        for stream in streams:
            got: list[int] = []
            while not got or got[-1] < max(published):
                event = await stream.read()
                if event.WhichOneof("payload") != "heartbeat":
                    got.append(event.sequence)
            stream.cancel()
            assert got == sorted(published)


async def test_a_replica_replays_what_another_wrote_then_goes_on_live(
    replicas: list[App],
) -> None:
    written = await publish(replicas[0], 5)
    async with connected(replicas[1]) as api:
        request = pb.SubscribeRequest(after_sequence=written[1])
        following = asyncio.create_task(sequences_until(api, request, written[-1] + 3))
        await asyncio.sleep(0.3)
        later = await publish(replicas[0], 3)
        assert await following == written[2:] + later


@pytest.mark.parametrize("workers", [1, 2], ids=["1-worker", "2-workers"])
async def test_when_redis_fails_streams_end_with_where_to_resume_and_writes_are_refused(
    database_url: str, redis: RedisServer, workers: int
) -> None:
    async with (
        serving(database_url, run_detectors=False, redis_url=redis.url, workers=workers) as server,
        connected(server) as api,
    ):
        written = await publish(server, 2)
        stream = api.events.Subscribe(pb.SubscribeRequest(), timeout=20)
        await stream.read()
        await api.data_sources.CreateDataSource(
            data_source_service_pb2.CreateDataSourceRequest(
                data_source=prometheus(), data_source_id="prom"
            )
        )
        await api.detectors.CreateDetector(
            detector_service_pb2.CreateDetectorRequest(
                detector=detector("dataSources/prom"), detector_id="cpu"
            )
        )
        redis.kill()

        async def drain() -> None:
            while True:
                await stream.read()

        ended = await failure(drain())
        assert ended.code == grpc.StatusCode.UNAVAILABLE
        assert ended.reason == "EVENT_BUS_LOST"
        # The published events, then the data source's and the detector's creation.
        assert int(ended.metadata["last_sequence"]) == written[-1] + 2

        # A change that writes events is refused whole: the detector stays as it was.
        start = detector_service_pb2.StartDetectorRequest(name="detectors/cpu")
        refused = await failure(api.detectors.StartDetector(start))
        assert refused.code == grpc.StatusCode.UNAVAILABLE
        assert refused.reason == "EVENT_BUS_UNAVAILABLE"
        got = await api.detectors.GetDetector(
            detector_service_pb2.GetDetectorRequest(name="detectors/cpu")
        )
        assert got.state == detector_pb2.Detector.State.STATE_STOPPED

        # Back again (empty, as a restarted Redis is): streams resume and miss nothing.
        redis.start()
        started = None
        for _ in range(100):
            try:
                started = await api.detectors.StartDetector(start)
                break
            except grpc.aio.AioRpcError as e:
                assert e.code() == grpc.StatusCode.UNAVAILABLE
                await asyncio.sleep(0.1)
        assert started is not None
        resumed = pb.SubscribeRequest(after_sequence=int(ended.metadata["last_sequence"]))
        async for event in api.events.Subscribe(resumed, timeout=20):
            if event.WhichOneof("payload") != "heartbeat":
                break
        assert event.detector_status.detector == "detectors/cpu"
        assert event.detector_status.state == started.state


async def test_a_replica_does_not_start_without_its_redis_and_frees_its_port(
    database_url: str,
) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    port = free_port()
    settings = Settings(
        database_url=database_url, grpc_address=f"127.0.0.1:{port}", redis_url=url, envoy=False
    )
    with pytest.raises(OSError, match="cannot reach the event bus"):
        await start_app(settings)
    with socket.socket() as s:  # nothing half-started holds the gRPC port
        s.bind(("127.0.0.1", port))
