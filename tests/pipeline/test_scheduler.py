"""The scheduler inside the server: each started detector runs on its own, so a dead data source
or a broken query degrades or fails its detector and nothing else; Stop stops."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import parse_qsl

import httpx

from aiops.detectors.recent import RecentScoresRegistry
from aiops.events.bus import Bus
from aiops.pipeline.runner import PipelineSettings
from aiops.pipeline.scheduler import Scheduler
from aiops.sources.clients import SourceClients
from aiops_api.v1 import data_source_service_pb2, detector_pb2, detector_service_pb2
from tests.conftest import Api, connected, serving
from tests.postgres import free_port
from tests.prometheus import PrometheusServer
from tests.rpc import detector, prometheus

Detector = detector_pb2.Detector


async def start(api: Api, detector_id: str, source: str, query: str) -> str:
    spec = detector(source, query=query, step={"seconds": 5}, ewma=detector_pb2.Ewma(span=10))
    created = await api.detectors.CreateDetector(
        detector_service_pb2.CreateDetectorRequest(detector=spec, detector_id=detector_id)
    )
    await api.detectors.StartDetector(detector_service_pb2.StartDetectorRequest(name=created.name))
    return created.name


async def states(api: Api, names: list[str]) -> dict[str, tuple[int, str]]:
    found = {}
    for name in names:
        got = await api.detectors.GetDetector(detector_service_pb2.GetDetectorRequest(name=name))
        found[name] = (got.state, got.state_reason)
    return found


async def test_one_detector_failing_does_not_stop_the_others(
    database_url: str, prometheus_server: PrometheusServer
) -> None:
    async with (
        serving(database_url, evaluation_delay=0.0, backfill_points=10) as server,
        connected(server) as api,
    ):
        for source_id, url in (
            ("prom", prometheus_server.url),
            ("gone", f"http://127.0.0.1:{free_port()}"),
        ):
            await api.data_sources.CreateDataSource(
                data_source_service_pb2.CreateDataSourceRequest(
                    data_source=prometheus(urls=[url]), data_source_id=source_id
                )
            )
        healthy = await start(api, "healthy", "dataSources/prom", "vector(1)")
        degraded = await start(api, "degraded", "dataSources/gone", "vector(1)")
        failed = await start(api, "failed", "dataSources/prom", "vector(")
        names = [healthy, degraded, failed]

        expected = {
            healthy: Detector.STATE_RUNNING,
            degraded: Detector.STATE_DEGRADED,
            failed: Detector.STATE_FAILED,
        }
        deadline = time.monotonic() + 30
        while True:
            found = await states(api, names)
            if {name: state for name, (state, _) in found.items()} == expected:
                break
            assert time.monotonic() < deadline, found
            await asyncio.sleep(0.2)
        assert "dataSources/gone failed" in found[degraded][1]
        assert "parse error" in found[failed][1]
        recent = server.scheduler.recent
        running = recent.get("healthy")
        assert running is not None and running.running and running.latest is not None
        # A failed detector's task has ended: it is no longer at work.
        failed_ring = recent.get("failed")
        assert failed_ring is None or not failed_ring.running

        stopped = await api.detectors.StopDetector(
            detector_service_pb2.StopDetectorRequest(name=healthy)
        )
        await asyncio.sleep(1.5)  # the scheduler looks every 0.5 s
        assert (await states(api, [healthy]))[healthy][0] == Detector.STATE_STOPPED
        assert stopped.state == Detector.STATE_STOPPED
        # What it scored stays for its page; the dashboard no longer lists it.
        assert not running.running and recent.get("healthy") is running
        await api.detectors.DeleteDetector(detector_service_pb2.DeleteDetectorRequest(name=healthy))
        await asyncio.sleep(1.5)
        assert recent.get("healthy") is None, "a deleted detector's points go with it"


async def test_a_fetch_that_hangs_holds_up_no_other_detector(database_url: str) -> None:
    """Ten detectors at a 1 s step on one data source, one of whose queries the server never
    answers: the nine keep their steps on time, Stop cancels the hung request at once, and a
    detector started meanwhile runs as soon as it is started."""
    cancelled: list[str] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        form = dict(parse_qsl(request.content.decode()))
        if form["query"] == "hang":
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                cancelled.append(form["query"])
                raise
        start, end, step = int(form["start"]), int(form["end"]), int(form["step"])
        values = [[t, "1"] for t in range(start, end + 1, step)]
        data = {"resultType": "matrix", "result": [{"metric": {}, "values": values}]}
        return httpx.Response(200, json={"status": "success", "data": data})

    clients = SourceClients(transport=httpx.MockTransport(answer))
    settings = PipelineSettings(evaluation_delay=0, backfill_points=10)
    async with serving(database_url, run_detectors=False) as server, connected(server) as api:
        await api.data_sources.CreateDataSource(
            data_source_service_pb2.CreateDataSourceRequest(
                # The data source's timeout is far longer than the test: the hang is a hang.
                data_source=prometheus(urls=["http://127.0.0.1:9"], timeout={"seconds": 300}),
                data_source_id="prom",
            )
        )

        async def start_one(detector_id: str, query: str) -> str:
            spec = detector("dataSources/prom", query=query, step={"seconds": 1})
            created = await api.detectors.CreateDetector(
                detector_service_pb2.CreateDetectorRequest(detector=spec, detector_id=detector_id)
            )
            await api.detectors.StartDetector(
                detector_service_pb2.StartDetectorRequest(name=created.name)
            )
            return created.name

        async def until_running(names: list[str], within: float) -> None:
            deadline = time.monotonic() + within
            while {state for state, _ in (await states(api, names)).values()} != {
                Detector.STATE_RUNNING
            }:
                assert time.monotonic() < deadline, await states(api, names)
                await asyncio.sleep(0.1)

        recent = RecentScoresRegistry()
        scheduler = Scheduler(api.sessions, clients, Bus(), settings, recent)
        healthy = [await start_one(f"d{i}", f"up{i}") for i in range(9)]
        hung = await start_one("hung", "hang")
        scheduler.start()
        try:
            await until_running(healthy, within=10)
            for _ in range(6):  # three seconds of steps: each one's latest point is fresh
                await asyncio.sleep(0.5)
                rings = {f"d{i}": recent.get(f"d{i}") for i in range(9)}
                lags = {key: ring.lag(time.time()) for key, ring in rings.items() if ring}
                assert len(lags) == 9, rings
                assert max(lags.values()) < 2.5, lags
            assert (await states(api, [hung]))[hung][0] == Detector.STATE_BACKFILLING

            await api.detectors.StopDetector(detector_service_pb2.StopDetectorRequest(name=hung))
            late = await start_one("late", "up-late")
            await until_running([late], within=3)
            assert cancelled == ["hang"], "Stop cancelled the request in flight"
            assert (await states(api, [hung]))[hung][0] == Detector.STATE_STOPPED
        finally:
            await scheduler.stop()
            await clients.aclose()
