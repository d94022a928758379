"""Prometheus itself down for a while, then back (issue 18, case 9), in real time: for the time
it was down, its range queries repeat the series' last sample at every step (its 5-minute
lookback). A detector over a scraped series that stays normal throughout goes DEGRADED while
Prometheus is down, RUNNING again within a few steps of its return, does not learn the repeated
stretch, and opens no anomaly at the first real point after it."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator

import pytest

from aiops_api.v1 import anomaly_pb2, detector_pb2, detector_service_pb2
from tests.conftest import Api, connected, serving
from tests.pipeline.conftest import Scraped
from tests.pipeline.test_live import instant, listed, start_detector, until_running, wait_for
from tests.prometheus import PrometheusServer

Detector = detector_pb2.Detector
STEP = 1  # seconds
WINDOW = 5  # test_live's detector's, in steps: ten repeats of one sample would fill it
OUTAGE = 10  # seconds Prometheus is down
RECOVERY = 8  # seconds after Prometheus is back by which the detector runs again
AFTER = 5  # seconds watched after it runs again
# Added to 100, one a second in turn: any five steps in a row hold them all, so the series is
# never flat and no value of it stands out (its median 100, its MAD 1).
NOISE = (-2.0, 1.0, 0.0, 2.0, -1.0)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_detector_neither_learns_nor_flags_the_stretch_of_a_prometheus_outage(
    database_url: str, noisy: Scraped
) -> None:
    prometheus_server = noisy.prometheus

    async with (
        serving(database_url, evaluation_delay=1.0, backfill_points=30) as server,
        connected(server) as api,
    ):
        await scraped_since(prometheus_server, 0)
        await asyncio.sleep(WINDOW + 1)  # history for the backfill: a full window
        name = await start_detector(api, prometheus_server.url, STEP)
        await until_running(api, name)
        backfilled = await latest_scored(api, name)

        async def scored_live() -> bool:
            return await latest_scored(api, name) >= backfilled + 3 * STEP

        await wait_for(scored_live, 3 * STEP + 2, "live points scored")
        assert deviations(await listed(api, name)) == [], "the noise is normal"

        prometheus_server.kill()
        killed = time.time()

        async def degraded() -> bool:
            return await state(api, name) == Detector.STATE_DEGRADED

        await wait_for(degraded, 5, "degraded while Prometheus is down")
        await asyncio.sleep(killed + OUTAGE - time.time())
        restarted = time.time()  # no sample of the series is newer than this until it is back
        await asyncio.to_thread(prometheus_server.start)

        async def running() -> bool:
            return await state(api, name) == Detector.STATE_RUNNING

        await wait_for(running, RECOVERY, "running again after Prometheus is back")
        await asyncio.sleep(AFTER)
        # Prometheus scrapes again only once it loads its targets, a few seconds after it
        # starts: until then it answers with the repeats. Its first real point is scored too.
        scraped_again = await scraped_since(prometheus_server, restarted)

        async def scored_real() -> bool:
            return await latest_scored(api, name) >= scraped_again + 2 * STEP

        await wait_for(scored_real, 5, "the first real points after the restart scored")

        # The first real point after the stretch was scored against what came before the
        # outage, not against ten copies of one sample (which have no spread at all).
        opened = [
            (anomaly.start_time.seconds, anomaly.peak_value)
            for anomaly in deviations(await listed(api, name))
        ]
        assert opened == [], f"(time, value) of a normal series; restarted at {restarted:.0f}"
        assert await state(api, name) == Detector.STATE_RUNNING
        # The repeats were not learnt: past the first step after the kill, up to the restart,
        # every point is missing; every other point is a normal value of the series.
        times, values = await scored_points(api, name)
        repeats = [
            value for at, value in zip(times, values, strict=True) if killed + 2 <= at <= restarted
        ]
        assert len(repeats) >= OUTAGE - 3 and all(math.isnan(value) for value in repeats)
        normal = [value for value in values if not math.isnan(value)]
        assert normal and all(98 <= value <= 102 for value in normal)


@pytest.fixture
async def noisy(scraped: Scraped) -> AsyncIterator[Scraped]:
    """The exporter's value set by the second of the wall clock, from NOISE in turn."""

    async def keep_changing() -> None:
        while True:
            scraped.exporter.value = 100.0 + NOISE[int(time.time()) % len(NOISE)]
            await asyncio.sleep(0.05)

    changing = asyncio.create_task(keep_changing())
    yield scraped
    changing.cancel()


async def scraped_since(prometheus_server: PrometheusServer, since: float) -> float:
    """The time of the series' latest sample, once one is newer than `since`."""
    latest = 0.0

    async def newer() -> bool:
        nonlocal latest
        found = await instant(prometheus_server, "timestamp(live)")
        latest = float(found[0]["value"][1]) if found else 0.0
        return latest > since

    await wait_for(newer, 10, "a scrape")
    return latest


async def state(api: Api, name: str) -> Detector.State:
    got = await api.detectors.GetDetector(detector_service_pb2.GetDetectorRequest(name=name))
    return got.state


def deviations(anomalies: list[anomaly_pb2.Anomaly]) -> list[anomaly_pb2.Anomaly]:
    return [anomaly for anomaly in anomalies if anomaly.kind == anomaly_pb2.Anomaly.KIND_DEVIATION]


async def latest_scored(api: Api, name: str) -> int:
    """The time of the detector's latest scored point (seconds), 0 before any."""
    response = await api.detectors.ListDetectorSeries(
        detector_service_pb2.ListDetectorSeriesRequest(parent=name)
    )
    return max((series.time.seconds for series in response.series), default=0)


async def scored_points(api: Api, name: str) -> tuple[list[int], list[float]]:
    """The times and values of the points the detector keeps for its one series."""
    response = await api.detectors.ReadDetectorScores(
        detector_service_pb2.ReadDetectorScoresRequest(detector=name)
    )
    (series,) = response.series
    start = series.start_time.seconds
    return [start + i * STEP for i in range(len(series.values))], list(series.values)
