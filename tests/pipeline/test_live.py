"""The whole pipeline in real time: Prometheus scrapes a test exporter, the server's scheduler
runs a detector over it, and a spike in the exporter becomes a stored anomaly within two steps;
Prometheus scrapes the detector's scores back from the server's /metrics, and every query of
the Grafana dashboard (deploy/grafana) answers from them."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from aiops_api.v1 import anomaly_pb2, data_source_service_pb2, detector_pb2, detector_service_pb2
from tests.conftest import Api, connected, serving
from tests.pipeline.conftest import Scraped
from tests.prometheus import PrometheusServer
from tests.rpc import detector, prometheus

Detector = detector_pb2.Detector
STEP = 2  # seconds
ROOT = Path(__file__).resolve().parents[2]


async def wait_for(
    condition: Callable[[], Awaitable[bool]], seconds: float, what: str = "it"
) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():
        assert time.monotonic() < deadline, f"{what}: not within {seconds}s"
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_spike_scraped_by_prometheus_is_stored_within_two_steps(
    database_url: str, scraped: Scraped
) -> None:
    exporter, prometheus_server = scraped.exporter, scraped.prometheus
    await asyncio.sleep(12)  # history for the backfill: six steps of a constant 100
    async with (
        serving(
            database_url,
            evaluation_delay=1.0,
            backfill_points=30,
            metrics_address=scraped.metrics_address,
        ) as server,
        connected(server) as api,
    ):
        name = await start_detector(api, prometheus_server.url)
        await until_running(api, name)
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

        # Its scores, scraped back by Prometheus with the series' labels: the peak among them.
        score = 'max_over_time(aiops_anomaly_score{detector="detectors/live",job="exporter"}[1m])'
        severity = detector_pb2.Severity.Name(anomaly.severity).removeprefix("SEVERITY_").lower()
        opened = f'aiops_anomalies_opened_total{{job="aiops",severity="{severity}"}}'

        async def scraped_back() -> bool:
            scores, counts = (
                await instant(prometheus_server, score),
                await instant(prometheus_server, opened),
            )
            return (
                len(scores) == 1
                and float(scores[0]["value"][1]) >= anomaly.peak_score
                and [float(count["value"][1]) for count in counts] == [1]
            )

        await wait_for(scraped_back, seconds=5)
        (found,) = await instant(prometheus_server, score)
        assert found["metric"]["exported_name"] == "live"
        lag = 'aiops_detector_lag_seconds{job="aiops",detector="detectors/live"}'
        (lagging,) = await instant(prometheus_server, lag)
        assert float(lagging["value"][1]) < 3 * STEP  # a step, the delay, and a scrape

        # The Grafana dashboard: every query over metrics the server exports, and answered.
        assert server.metrics is not None
        async with httpx.AsyncClient(trust_env=False) as client:
            exposed = (await client.get(server.metrics.url)).text
        for query in dashboard_queries():
            named = set(re.findall(r"\b(?:aiops|grpc_server|process)_[a-z_]+\b", query))
            assert named and all(f"\n{name}" in exposed for name in named), query
            assert await instant(prometheus_server, query), f"no answer: {query}"


async def start_detector(api: Api, url: str, step: int = STEP) -> str:
    """A robust z-score detector over `live` (window 5, scores exported), one step a `step`."""
    await api.data_sources.CreateDataSource(
        data_source_service_pb2.CreateDataSourceRequest(
            data_source=prometheus(urls=[url]), data_source_id="live"
        )
    )
    spec = detector(
        "dataSources/live",
        query="live",
        step={"seconds": step},
        robust_z_score=detector_pb2.RobustZScore(window=5),
        export_scores=True,
    )
    created = await api.detectors.CreateDetector(
        detector_service_pb2.CreateDetectorRequest(detector=spec, detector_id="live")
    )
    await api.detectors.StartDetector(detector_service_pb2.StartDetectorRequest(name=created.name))
    return created.name


async def until_running(api: Api, name: str) -> None:
    async def running() -> bool:
        got = await api.detectors.GetDetector(detector_service_pb2.GetDetectorRequest(name=name))
        return got.state == Detector.STATE_RUNNING

    await wait_for(running, 10, "running")


async def listed(api: Api, name: str) -> list[anomaly_pb2.Anomaly]:
    response = await api.detectors.ListAnomalies(
        detector_service_pb2.ListAnomaliesRequest(parent=name)
    )
    return list(response.anomalies)


def dashboard_queries() -> list[str]:
    """The PromQL of every panel of deploy/grafana/aiops.json, its variables filled in as
    Grafana would for this test's Prometheus."""
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "aiops.json").read_text())
    return [
        target["expr"].replace("$job", "aiops").replace("$__rate_interval", "10s")
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


async def instant(prometheus_server: PrometheusServer, query: str) -> list[dict[str, Any]]:
    """The result of an instant query."""
    async with httpx.AsyncClient(trust_env=False) as client:
        response = await client.get(
            f"{prometheus_server.url}/api/v1/query", params={"query": query}
        )
    result: list[dict[str, Any]] = response.raise_for_status().json()["data"]["result"]
    return result
