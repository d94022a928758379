"""A log-pattern detector over a real Loki holding bad input: binary junk, invalid UTF-8,
empty lines and lines of a megabyte among ordinary ones. It runs on, and what it lists and
raises is text any client can read, example lines cut to 4 KiB."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from aiops.events.bus import Bus
from aiops.pipeline.log_patterns import LogPatternRunner
from aiops.pipeline.runner import PipelineSettings
from aiops_api.v1 import (
    data_source_pb2,
    data_source_service_pb2,
    detector_pb2,
    detector_service_pb2,
)
from tests.conftest import Api, connected, serving
from tests.loki import NS, LokiServer
from tests.rpc import detector, prometheus

Detector = detector_pb2.Detector
STEP = 60
MINUTES = 30
START = (int(time.time()) // STEP - MINUTES - 1) * STEP
JUNK_FROM = 20  # the bad lines come from this minute on, after the baseline
MEGABYTE = 1 << 20
# Minutes with a line of a megabyte: three, within Loki's default burst of ingestion.
HUGE_MINUTES = (JUNK_FROM, JUNK_FROM + 4, JUNK_FROM + 8)
SETTINGS = PipelineSettings(evaluation_delay=0, checkpoint_interval=3600)


def minute(k: int) -> int:
    return START + STEP * k


def push_body() -> bytes:
    """{app="junk"}: a line every 10 s, and from minute JUNK_FROM each minute: control bytes,
    bytes that are not UTF-8 (raw in the body) and an empty line; a line of a megabyte in
    three of those minutes."""
    values: list[bytes] = []
    for k in range(MINUTES):
        for second in range(0, 60, 10):
            line = f"worker {k % 4} processed batch {k * 6 + second} in {second + 3} ms"
            values.append(json.dumps([str((minute(k) + second) * NS), line]).encode())
        if k >= JUNK_FROM:
            at = (minute(k) + 30) * NS
            values += [
                b'["%d","\\u0000\\u0001\\u0007 \\u001b[31m binary \\u00ff\\u00fe junk"]' % at,
                b'["%d","not utf-8: \xff\xfe\xc3\x28 \xed\xa0\x80 end"]' % (at + 1),
                b'["%d",""]' % (at + 2),
            ]
        if k in HUGE_MINUTES:
            values.append(b'["%d","%s"]' % (at + 3, b"megabyte " + b"x" * MEGABYTE))
    return b'{"streams":[{"stream":{"app":"junk"},"values":[' + b",".join(values) + b"]}]}"


@pytest.fixture(scope="module")
def loki_junk() -> Iterator[LokiServer]:
    server = LokiServer([{"stream": {"app": "other"}, "values": [[str(START * NS), "hello"]]}])
    try:
        server.push_body(push_body())
        yield server
    finally:
        server.stop()


@pytest.fixture
async def api_and_runner(
    database_url: str, loki_junk: LokiServer
) -> AsyncIterator[tuple[Api, LogPatternRunner]]:
    async with serving(database_url, run_detectors=False) as server, connected(server) as api:
        await api.data_sources.CreateDataSource(
            data_source_service_pb2.CreateDataSourceRequest(
                data_source=prometheus(
                    kind=data_source_pb2.DataSource.KIND_LOKI, urls=[loki_junk.url]
                ),
                data_source_id="logs",
            )
        )
        spec = detector(
            "dataSources/logs",
            query='{app="junk"}',
            step={"seconds": STEP},
            log_pattern=detector_pb2.LogPatternRates(
                source=detector_pb2.LogPatternRates.SOURCE_MINED,
                baseline_steps=JUNK_FROM,
                robust_z_score=detector_pb2.RobustZScore(window=10),
            ),
        )
        await api.detectors.CreateDetector(
            detector_service_pb2.CreateDetectorRequest(detector=spec, detector_id="junk")
        )
        await api.detectors.StartDetector(
            detector_service_pb2.StartDetectorRequest(name="detectors/junk")
        )
        runner = LogPatternRunner(
            "junk",
            api.sessions,
            server.clients,
            Bus(),
            SETTINGS,
            server.scheduler.recent,
            server.scheduler.patterns,
        )
        await runner.load()
        yield api, runner


async def test_junk_empty_and_huge_lines_are_mined_into_readable_templates(
    api_and_runner: tuple[Api, LogPatternRunner],
) -> None:
    api, runner = api_and_runner
    await runner.advance(minute(JUNK_FROM))
    for k in range(JUNK_FROM + 1, MINUTES + 1, 3):
        await runner.advance(minute(k))

    name = "detectors/junk"
    running = await api.detectors.GetDetector(detector_service_pb2.GetDetectorRequest(name=name))
    assert running.state == Detector.STATE_RUNNING, running.state_reason
    listed = await api.detectors.ListLogPatterns(
        detector_service_pb2.ListLogPatternsRequest(parent=name, page_size=100)
    )
    examples = {p.example_line[:12]: p for p in listed.log_patterns}
    assert {"worker 0 pro", "not utf-8: \ufffd", "megabyte xxx", ""} <= set(examples)
    assert all(len(p.example_line) <= 4096 and len(p.template) <= 4096 for p in listed.log_patterns)
    huge = examples["megabyte xxx"]
    assert huge.count == len(HUGE_MINUTES) and not huge.in_baseline
    assert any("binary" in p.template for p in listed.log_patterns)
    # The new templates' anomalies carry their (cut) example lines too.
    anomalies = await api.detectors.ListAnomalies(
        detector_service_pb2.ListAnomaliesRequest(parent=name, page_size=100)
    )
    new = [a for a in anomalies.anomalies if a.log_pattern.kind == a.log_pattern.KIND_NEW]
    assert len(new) >= 3
    assert all(len(a.log_pattern.example_line) <= 4096 for a in new)
