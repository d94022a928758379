"""The whole pipeline in real time: Prometheus scrapes a test exporter, the server's scheduler
runs a detector over it, and a spike in the exporter becomes a stored anomaly within two steps."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from aiops_api.v1 import anomaly_pb2, data_source_service_pb2, detector_pb2, detector_service_pb2
from tests.conftest import Api, connected, serving
from tests.prometheus import PrometheusServer
from tests.rpc import detector, prometheus

Detector = detector_pb2.Detector
STEP = 2  # seconds
SCRAPE = "500ms"


class Exporter:
    """A /metrics endpoint serving one gauge, `live`, whose value the test sets."""

    def __init__(self) -> None:
        self.value = 100.0

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        body = f"# TYPE live gauge\nlive {self.value}\n".encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()

    async def stop(self) -> None:
        self.server.close()
        await self.server.wait_closed()


@pytest.fixture
async def scraped() -> AsyncIterator[tuple[Exporter, PrometheusServer]]:
    exporter = Exporter()
    port = await exporter.start()
    config = (
        f"global:\n  scrape_interval: {SCRAPE}\n  scrape_timeout: 400ms\n"
        "scrape_configs:\n  - job_name: exporter\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
    )
    server = await asyncio.to_thread(PrometheusServer, None, config)
    yield exporter, server
    server.stop()
    await exporter.stop()


async def wait_for(condition: Callable[[], Awaitable[bool]], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():
        assert time.monotonic() < deadline, f"not within {seconds}s"
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_spike_scraped_by_prometheus_is_stored_within_two_steps(
    database_url: str, scraped: tuple[Exporter, PrometheusServer]
) -> None:
    exporter, prometheus_server = scraped
    await asyncio.sleep(12)  # history for the backfill: six steps of a constant 100
    async with (
        serving(database_url, evaluation_delay=1.0, backfill_points=30) as server,
        connected(server) as api,
    ):
        name = await start_detector(api, prometheus_server.url)

        async def running() -> bool:
            got = await api.detectors.GetDetector(
                detector_service_pb2.GetDetectorRequest(name=name)
            )
            return got.state == Detector.STATE_RUNNING

        await wait_for(running, seconds=10)
        await asyncio.sleep(3 * STEP)
        assert await listed(api, name) == [], "a constant series raises nothing"

        exporter.value = 1000.0
        injected = time.time()

        async def stored() -> bool:
            return bool(await listed(api, name))

        # Two steps, and a second for a slow machine.
        await wait_for(stored, seconds=2 * STEP + 1)
        anomaly = (await listed(api, name))[0]
        labels = dict(anomaly.series_labels)
        assert labels.pop("instance").startswith("127.0.0.1:")
        assert labels == {"__name__": "live", "job": "exporter"}
        assert injected - STEP <= anomaly.start_time.seconds <= injected + 2 * STEP
        assert anomaly.peak_value == 1000.0 and anomaly.active


async def start_detector(api: Api, url: str) -> str:
    await api.data_sources.CreateDataSource(
        data_source_service_pb2.CreateDataSourceRequest(
            data_source=prometheus(urls=[url]), data_source_id="live"
        )
    )
    spec = detector(
        "dataSources/live",
        query="live",
        step={"seconds": STEP},
        robust_z_score=detector_pb2.RobustZScore(window=5),
    )
    created = await api.detectors.CreateDetector(
        detector_service_pb2.CreateDetectorRequest(detector=spec, detector_id="live")
    )
    await api.detectors.StartDetector(detector_service_pb2.StartDetectorRequest(name=created.name))
    return created.name


async def listed(api: Api, name: str) -> list[anomaly_pb2.Anomaly]:
    response = await api.detectors.ListAnomalies(
        detector_service_pb2.ListAnomaliesRequest(parent=name)
    )
    return list(response.anomalies)
