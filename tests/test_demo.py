"""`aiops serve` on a fresh machine: with no Prometheus configured it starts the demo, and the
demo detector raises anomalies within a minute or so; with one configured it registers it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from aiops import demo_logs
from aiops_api.v1 import (
    anomaly_pb2,
    data_source_service_pb2,
    data_source_service_pb2_grpc,
    detector_pb2,
    detector_service_pb2,
    detector_service_pb2_grpc,
)
from tests.postgres import free_port

Detector = detector_pb2.Detector


def serve(tmp_path: Path, **env: str) -> Iterator[str]:
    address = f"127.0.0.1:{free_port()}"
    with (tmp_path / "aiops.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "aiops.cli", "serve", "--grpc-address", address],
            cwd=tmp_path,
            env={**os.environ, "AIOPS_ENVOY": "false", **env},  # Envoy: tests/test_envoy.py
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield address
        finally:
            process.terminate()
            assert process.wait(timeout=30) == 0, (tmp_path / "aiops.log").read_text()


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[str]:
    yield from serve(tmp_path, AIOPS_DEMO="true")


def wait_for_channel(address: str) -> grpc.Channel:
    channel = grpc.insecure_channel(address)
    grpc.channel_ready_future(channel).result(timeout=120)
    return channel


def test_the_demo_detector_raises_anomalies_within_a_minute_or_so(demo: str) -> None:
    with wait_for_channel(demo) as channel:
        detectors = detector_service_pb2_grpc.DetectorServiceStub(channel)
        deadline = time.monotonic() + 120
        anomalies: list[anomaly_pb2.Anomaly] = []
        while not anomalies and time.monotonic() < deadline:
            time.sleep(2)
            try:
                listed = detectors.ListAnomalies(
                    detector_service_pb2.ListAnomaliesRequest(parent="detectors/demo-requests"),
                    timeout=5,
                )
            except grpc.RpcError as error:  # not created yet
                assert error.code() == grpc.StatusCode.NOT_FOUND
                continue
            anomalies = list(listed.anomalies)
        detector = detectors.GetDetector(
            detector_service_pb2.GetDetectorRequest(name="detectors/demo-requests"), timeout=5
        )
    assert detector.state == Detector.STATE_RUNNING, detector.state_reason
    assert anomalies, "no anomaly within two minutes"
    first = anomalies[0]
    assert first.series_labels["job"] == "aiops-demo"
    assert first.severity == detector_pb2.SEVERITY_CRITICAL


@pytest.mark.skipif(demo_logs.loki_binary() is None, reason="no loki binary: no log demo")
def test_with_loki_the_demo_runs_a_log_pattern_detector_too(demo: str) -> None:
    name = f"detectors/{demo_logs.DETECTOR_ID}"
    with wait_for_channel(demo) as channel:
        detectors = detector_service_pb2_grpc.DetectorServiceStub(channel)
        deadline = time.monotonic() + 120
        listed = detector_service_pb2.ListLogPatternsResponse()
        while not listed.log_patterns and time.monotonic() < deadline:
            time.sleep(2)
            try:
                listed = detectors.ListLogPatterns(
                    detector_service_pb2.ListLogPatternsRequest(parent=name), timeout=5
                )
            except grpc.RpcError as error:  # not created yet
                assert error.code() == grpc.StatusCode.NOT_FOUND
        # Its templates are counted before the step that found them is stored: RUNNING follows.
        detector = detectors.GetDetector(detector_service_pb2.GetDetectorRequest(name=name))
        while detector.state != Detector.STATE_RUNNING and time.monotonic() < deadline + 30:
            time.sleep(0.5)
            detector = detectors.GetDetector(detector_service_pb2.GetDetectorRequest(name=name))
    assert detector.state == Detector.STATE_RUNNING, detector.state_reason
    assert detector.log_pattern.effective_source != detector.log_pattern.SOURCE_UNSPECIFIED
    seen = " ".join(p.template + p.example_line for p in listed.log_patterns)
    assert "order placed" in seen and "cart viewed" in seen, listed


def test_a_configured_prometheus_is_registered_and_no_demo_starts(tmp_path: Path) -> None:
    url = "http://127.0.0.1:9"
    for address in serve(tmp_path, AIOPS_PROMETHEUS_URL=url, AIOPS_DEMO="true"):
        with wait_for_channel(address) as channel:
            sources = data_source_service_pb2_grpc.DataSourceServiceStub(channel)
            deadline = time.monotonic() + 60
            while True:
                listed = sources.ListDataSources(
                    data_source_service_pb2.ListDataSourcesRequest(), timeout=5
                )
                if listed.data_sources or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
    assert [(s.name, list(s.urls)) for s in listed.data_sources] == [
        ("dataSources/prometheus", [url])
    ]
