"""A LogQL metric-query detector over a real Loki: a burst of log lines in a steady stream is
raised as one anomaly, at the minute it lands in."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import pytest

from aiops.events.bus import Bus
from aiops.pipeline.runner import DetectorRunner, PipelineSettings
from aiops_api.v1 import (
    data_source_pb2,
    data_source_service_pb2,
    detector_pb2,
    detector_service_pb2,
)
from tests.conftest import Api, connected, serving
from tests.loki import NS, LokiServer
from tests.rpc import detector, prometheus

STEP = 60
# Four hours of minutes, ending an hour ago.
START = (int(time.time()) // 3600 - 5) * 3600
MINUTES = 240
BURST_MINUTE = 200  # 60 more lines, half a minute in: counted at the next minute's point
BACKFILL_END = 100
SETTINGS = PipelineSettings(evaluation_delay=0, backfill_points=100, checkpoint_interval=3600)


def minute(k: int) -> int:
    return START + STEP * k


def shop_streams() -> list[dict[str, object]]:
    """{app="shop"}: a line every 12 s, and the burst."""
    values = []
    for k in range(MINUTES):
        for second in range(0, 60, 12):
            values.append([str((minute(k) + second) * NS), f"GET /cart {k}"])
        if k == BURST_MINUTE:
            values += [
                [str((minute(k) + 30) * NS + i), f"POST /checkout 502 retry {i}"] for i in range(60)
            ]
    values.sort(key=lambda entry: int(entry[0]))
    return [{"stream": {"app": "shop"}, "values": values}]


@pytest.fixture(scope="module")
def loki_shop() -> Iterator[LokiServer]:
    server = LokiServer(shop_streams())
    yield server
    server.stop()


@pytest.fixture
async def api_and_runner(
    database_url: str, loki_shop: LokiServer
) -> AsyncIterator[tuple[Api, DetectorRunner]]:
    async with serving(database_url, run_detectors=False) as server, connected(server) as api:
        await api.data_sources.CreateDataSource(
            data_source_service_pb2.CreateDataSourceRequest(
                data_source=prometheus(
                    kind=data_source_pb2.DataSource.KIND_LOKI, urls=[loki_shop.url]
                ),
                data_source_id="logs",
            )
        )
        spec = detector(
            "dataSources/logs",
            query='sum(count_over_time({app="shop"}[1m]))',
            step={"seconds": STEP},
            robust_z_score=detector_pb2.RobustZScore(window=30),
        )
        await api.detectors.CreateDetector(
            detector_service_pb2.CreateDetectorRequest(detector=spec, detector_id="shop")
        )
        await api.detectors.StartDetector(
            detector_service_pb2.StartDetectorRequest(name="detectors/shop")
        )
        runner = DetectorRunner("shop", api.sessions, server.clients, Bus(), SETTINGS)
        await runner.load()
        yield api, runner


async def test_a_burst_of_log_lines_is_one_anomaly_at_its_minute(
    api_and_runner: tuple[Api, DetectorRunner],
) -> None:
    api, runner = api_and_runner
    await runner.advance(minute(BACKFILL_END))
    for k in [*range(BACKFILL_END, MINUTES - 1, 9), MINUTES - 1]:
        await runner.advance(minute(k))

    running = await api.detectors.GetDetector(
        detector_service_pb2.GetDetectorRequest(name="detectors/shop")
    )
    assert running.state == detector_pb2.Detector.STATE_RUNNING, running.state_reason
    listed = await api.detectors.ListAnomalies(
        detector_service_pb2.ListAnomaliesRequest(parent="detectors/shop")
    )
    assert [
        ((a.start_time.seconds - START) // STEP, (a.end_time.seconds - START) // STEP)
        for a in listed.anomalies
    ] == [(BURST_MINUTE + 1, BURST_MINUTE + 1)]
    (anomaly,) = listed.anomalies
    assert dict(anomaly.series_labels) == {}
    assert anomaly.peak_value == 65  # five lines a minute, and the sixty of the burst
