"""Several serving processes on one port (`workers`): subscribers spread over them see every
event once and in sequence order, whoever wrote it (the primary's pipeline, or an API call that
reached a worker and was forwarded); calls on a worker answer as on the primary; a worker that
dies is replaced and its streams resume from the log. On each bus and database."""

from __future__ import annotations

import asyncio
import os
import random
import signal
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import grpc
import psutil
import pytest

from aiops.app import App
from aiops.events import log as event_log
from aiops.store.database import session_factory
from aiops_api.v1 import (
    data_source_service_pb2,
    data_source_service_pb2_grpc,
    detector_service_pb2,
    detector_service_pb2_grpc,
    event_service_pb2_grpc,
)
from aiops_api.v1 import event_service_pb2 as pb
from tests.conftest import serving
from tests.events import publish
from tests.rpc import failure, prometheus

WORKERS = 3
CONNECTIONS = 16  # over 3 processes: all on one by chance once in 10^7


@pytest.fixture
async def server(database_url: str, bus_settings: dict[str, Any]) -> AsyncIterator[App]:
    async with serving(
        database_url, run_detectors=False, workers=WORKERS, stream_buffer=50, **bus_settings
    ) as running:
        yield running


@pytest.fixture
async def channels(server: App) -> AsyncIterator[list[grpc.aio.Channel]]:
    """Channels that are each a connection of their own, so the kernel spreads them."""
    async with AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(
                grpc.aio.insecure_channel(
                    server.address, options=[("grpc.use_local_subchannel_pool", 1)]
                )
            )
            for _ in range(CONNECTIONS)
        ]


async def all_sequences(server: App) -> list[int]:
    async with session_factory(server.engine)() as session:
        _, latest = await event_log.bounds(session)
        rows = await event_log.read_after(session, 0, latest, 100_000)
    return [row.sequence for row in rows]


async def test_subscribers_spread_over_the_workers_see_every_event_once_in_order(
    server: App, channels: list[grpc.aio.Channel]
) -> None:
    """Subscribers on every process drop their stream at random points and resume after the
    last sequence they saw, while the primary publishes and API calls (forwarded to the primary
    from whichever process they reach) write events: each sees exactly the log, in order."""
    stubs = [event_service_pb2_grpc.EventServiceStub(c) for c in channels]
    opened = [stub.Subscribe(pb.SubscribeRequest(), timeout=30) for stub in stubs]
    for stream in opened:
        await stream.read()
    on_primary = len(server.bus.subscriptions)
    assert 0 < on_primary < CONNECTIONS, "the streams are spread over the processes"
    for stream in opened:
        stream.cancel()

    done = asyncio.Event()
    final: list[int] = []

    async def writer() -> None:
        data_sources = [data_source_service_pb2_grpc.DataSourceServiceStub(c) for c in channels]
        for i in range(30):
            if i % 3 == 0:  # through the API, on any process
                create = data_source_service_pb2.CreateDataSourceRequest(
                    data_source=prometheus(), data_source_id=f"s{i}"
                )
                await random.choice(data_sources).CreateDataSource(create)
            else:
                await publish(server, random.randint(1, 3))
            await asyncio.sleep(random.uniform(0, 0.02))

    async def subscriber(seed: int, ready: asyncio.Event) -> list[int]:
        rng = random.Random(seed)
        seen: list[int] = []
        while not (done.is_set() and seen and seen[-1] == final[0]):
            after = seen[-1] if seen else 0
            stub = stubs[rng.randrange(len(stubs))]
            stream = stub.Subscribe(pb.SubscribeRequest(after_sequence=after), timeout=30)
            budget = rng.randint(1, 8)
            try:
                async for event in stream:
                    if event.WhichOneof("payload") == "heartbeat":
                        ready.set()
                        if done.is_set() and seen and seen[-1] == event.sequence == final[0]:
                            break
                        continue
                    seen.append(event.sequence)
                    budget -= 1
                    if budget == 0:
                        break
            except grpc.aio.AioRpcError as error:  # a loaded machine: resume, as clients do
                assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            stream.cancel()
        return seen

    ready = [asyncio.Event() for _ in range(10)]
    subscribers = [asyncio.create_task(subscriber(seed, r)) for seed, r in enumerate(ready)]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in ready)), timeout=30)
    await writer()
    expected = await all_sequences(server)
    final.append(expected[-1])
    done.set()
    results = await asyncio.wait_for(asyncio.gather(*subscribers), timeout=90)
    for seen in results:
        assert seen == expected


async def test_calls_on_any_process_answer_as_on_the_primary(
    server: App, channels: list[grpc.aio.Channel]
) -> None:
    for i, channel in enumerate(channels):
        data_sources = data_source_service_pb2_grpc.DataSourceServiceStub(channel)
        detectors = detector_service_pb2_grpc.DetectorServiceStub(channel)
        created = await data_sources.CreateDataSource(
            data_source_service_pb2.CreateDataSourceRequest(
                data_source=prometheus(), data_source_id=f"p{i}"
            ),
            timeout=10,
        )
        assert created.name == f"dataSources/p{i}"
        missing = await failure(
            detectors.GetDetector(detector_service_pb2.GetDetectorRequest(name="detectors/nope"))
        )
        assert (missing.code, missing.reason) == (grpc.StatusCode.NOT_FOUND, "RESOURCE_NOT_FOUND")
        invalid = await failure(
            data_sources.CreateDataSource(
                data_source_service_pb2.CreateDataSourceRequest(
                    data_source=prometheus(urls=["ftp://x"]), data_source_id=f"p{i}"
                )
            )
        )
        assert invalid.code == grpc.StatusCode.INVALID_ARGUMENT
        assert invalid.violations, "the details come through whole"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_worker_that_dies_is_replaced_and_its_streams_resume(
    server: App, channels: list[grpc.aio.Channel]
) -> None:
    assert server.workers is not None
    stubs = [event_service_pb2_grpc.EventServiceStub(c) for c in channels]
    streams = [stub.Subscribe(pb.SubscribeRequest(), timeout=30) for stub in stubs]
    for stream in streams:
        await stream.read()
    before = await publish(server, 2)
    victim = server.workers.pids[0]
    os.kill(victim, signal.SIGKILL)
    for stream in streams:
        try:
            while True:
                event = await stream.read()
                if event.sequence == before[-1] and event.WhichOneof("payload") != "heartbeat":
                    break
        except grpc.aio.AioRpcError as error:  # it was on the worker that died
            assert error.code() == grpc.StatusCode.UNAVAILABLE
        stream.cancel()
    for _ in range(300):
        if len(server.workers.pids) == WORKERS - 1 and victim not in server.workers.pids:
            break
        await asyncio.sleep(0.1)
    assert victim not in server.workers.pids
    assert len(server.workers.pids) == WORKERS - 1, "a new worker took its place"
    after = await publish(server, 3)
    for stub in stubs:  # wherever they land now, resuming misses nothing
        resumed = stub.Subscribe(pb.SubscribeRequest(after_sequence=before[0]), timeout=30)
        got: list[int] = []
        async for event in resumed:
            if event.WhichOneof("payload") != "heartbeat":
                got.append(event.sequence)
                if event.sequence == after[-1]:
                    break
        resumed.cancel()
        assert got == before[1:] + after


async def test_the_server_status_counts_the_streams_cpu_and_memory_of_every_process(
    database_url: str, bus_settings: dict[str, Any]
) -> None:
    """SERVER_STATUS's open streams (the dashboard's connection count), CPU and memory are those
    of the primary and of each worker (which each tell the primary their streams), not the
    primary's alone; on either bus."""
    async with (
        serving(database_url, run_detectors=False, workers=WORKERS, **bus_settings) as server,
        AsyncExitStack() as stack,
    ):
        # The primary is this test's process; each worker holds its own interpreter.
        alone = psutil.Process().memory_info().rss
        assert server.status.measure().server_status.memory_bytes > alone + 2 * 30 * 2**20
        channels = [
            await stack.enter_async_context(
                grpc.aio.insecure_channel(
                    server.address, options=[("grpc.use_local_subchannel_pool", 1)]
                )
            )
            for _ in range(CONNECTIONS)
        ]
        opened = [
            event_service_pb2_grpc.EventServiceStub(c).Subscribe(pb.SubscribeRequest(), timeout=30)
            for c in channels
        ]
        for stream in opened:
            await stream.read()
        assert len(server.bus.subscriptions) < CONNECTIONS, "the streams are spread"

        async def counted(expected: int) -> None:
            while server.status.measure().server_status.open_streams != expected:  # noqa: ASYNC110 (polled: no event says it changed)
                await asyncio.sleep(0.05)

        await asyncio.wait_for(counted(CONNECTIONS), 5)
        for stream in opened[: CONNECTIONS // 2]:
            stream.cancel()
        await asyncio.wait_for(counted(CONNECTIONS - CONNECTIONS // 2), 5)
        for stream in opened:
            stream.cancel()
