"""SERVER_STATUS: what the server is doing, for the system dashboard, pushed to the streams that
ask for it: open streams, events delivered, CPU and memory, each detector's lag and step, each
data source's requests and latest check."""

from __future__ import annotations

import asyncio
import math
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import grpc
import httpx
import numpy as np
import pytest

from aiops.app import App
from aiops.detectors.recent import RecentScoresRegistry
from aiops.events.bus import Bus
from aiops.health import HealthCheck, HealthHistory
from aiops.pipeline.status import StatusReporter
from aiops.sources.clients import SourceClients, SourceConfig
from aiops_api.v1 import event_pb2, event_service_pb2
from tests.conftest import connected, serving


@pytest.fixture
async def server(database_url: str) -> AsyncIterator[App]:
    async with serving(database_url, run_detectors=False, status_interval=0.1) as running:
        yield running


async def next_status(stream: grpc.aio.UnaryStreamCall[Any, Any]) -> event_pb2.ServerStatus:
    async for event in stream:
        if event.HasField("server_status"):
            return event.server_status
    raise AssertionError("the stream ended")


async def test_a_stream_that_asks_gets_the_status_and_counts_open_streams(server: App) -> None:
    wanted = event_service_pb2.SubscribeRequest(types=[event_pb2.EVENT_TYPE_SERVER_STATUS])
    async with connected(server) as api:
        dashboard = api.events.Subscribe(wanted)
        first = await asyncio.wait_for(next_status(dashboard), 5)
        assert first.open_streams == 1
        assert first.server.endswith(f":{os.getpid()}")
        assert first.memory_bytes > 10_000_000 and first.cpu_cores >= 0
        assert first.interval.ToNanoseconds() > 0 and first.start_time.seconds > 0

        second_tab = api.events.Subscribe(event_service_pb2.SubscribeRequest())
        await second_tab.read()  # its first heartbeat: it is open
        while (await asyncio.wait_for(next_status(dashboard), 5)).open_streams != 2:
            pass
        second_tab.cancel()
        while (await asyncio.wait_for(next_status(dashboard), 5)).open_streams != 1:
            pass
        dashboard.cancel()


async def test_streams_that_do_not_ask_get_no_status(server: App) -> None:
    async with connected(server) as api:
        stream = api.events.Subscribe(event_service_pb2.SubscribeRequest())
        kinds = set()
        for _ in range(4):  # heartbeats every 0.2 s; statuses would come every 0.1 s
            kinds.add((await asyncio.wait_for(stream.read(), 5)).WhichOneof("payload"))
        stream.cancel()
    assert kinds == {"heartbeat"}


async def test_the_status_measures_detectors_and_data_sources() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if "fail" in str(request.url):
            return httpx.Response(400, json={"status": "error", "error": "bad query"})
        return httpx.Response(200, json={"status": "success", "data": {"version": "3.0"}})

    clients = SourceClients(transport=httpx.MockTransport(answer))
    source = SourceConfig("prom", 1, "KIND_PROMETHEUS", ["http://prom"], 5.0)
    recent, history, bus = RecentScoresRegistry(10), HealthHistory(), Bus()
    reporter = StatusReporter(bus, recent, history, clients, interval=1.0)

    client = await clients.get(source)
    await client.build_info()
    with pytest.raises(Exception, match="bad query"):
        await client.http.get("/fail", lambda body: body, {})
    ring = recent.fresh("cpu", 60)
    ring.record([{"a": "1"}], 600, *([np.zeros((1, 1))] * 5))
    ring.stepped(0.25)
    for running in (ring, recent.fresh("idle", 60)):
        running.running = True
    recent.fresh("stopped", 60)  # kept for its charts, but not at work: not listed
    check = HealthCheck(reachable=True, url="http://prom")
    history.add("prom", datetime.now(UTC), check)

    status = reporter.measure().server_status
    [activity] = status.data_sources
    assert (activity.data_source, activity.requests, activity.errors) == ("dataSources/prom", 2, 1)
    assert activity.mean_latency_seconds > 0
    assert activity.last_check == check
    cpu, idle = status.detectors
    assert (cpu.detector, cpu.series, cpu.step_seconds) == ("detectors/cpu", 1, 0.25)
    assert cpu.lag_seconds > 0
    assert idle.detector == "detectors/idle" and math.isnan(idle.lag_seconds)

    again = reporter.measure().server_status  # counts since the previous status
    assert again.data_sources[0].requests == 0
    assert math.isnan(again.data_sources[0].mean_latency_seconds)
    await clients.aclose()


async def test_the_status_adds_up_the_cpu_memory_and_streams_of_every_process() -> None:
    """With workers (`aiops serve --workers`), CPU, memory and open streams are those of every
    serving process: here a worker that spins for a second."""
    spinning = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import time\nend = time.time() + 1.5\nwhile time.time() < end: pass"
    )

    @dataclass
    class Workers:
        pids: list[int]
        open_streams: int
        cut_offs: tuple[int, int] = (0, 0)

    recent, history, bus = RecentScoresRegistry(10), HealthHistory(), Bus()
    workers = Workers([spinning.pid], 7)
    reporter = StatusReporter(bus, recent, history, SourceClients(), 1.0, workers)
    alone = StatusReporter(bus, recent, history, SourceClients(), 1.0)
    try:
        await asyncio.sleep(1.0)
        status, own = reporter.measure().server_status, alone.measure().server_status
    finally:
        await spinning.wait()
    assert status.open_streams == 7 + own.open_streams
    assert status.cpu_cores > own.cpu_cores + 0.2  # at least a fifth of a core: a shared machine
    assert status.memory_bytes > own.memory_bytes
