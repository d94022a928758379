"""A log-pattern detector's bounds, over a Loki played by a handler (httpx.MockTransport) that
makes up each step's lines: a million distinct lines keep its memory within `max_templates`
and its evictions are counted where ListLogPatterns shows them; a step with more lines than
`max_lines_per_step` is mined from its first ones, its counts scaled to the step's total, and
`state_reason` says so until such steps stop."""

from __future__ import annotations

import json
import random
import string
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from aiops.app import App
from aiops.events.bus import Bus
from aiops.pipeline.log_patterns import NOTE_STEPS, LogPatternRunner
from aiops.pipeline.runner import PipelineSettings
from aiops.sources.clients import SourceClients
from aiops_api.v1 import (
    data_source_pb2,
    data_source_service_pb2,
    detector_pb2,
    detector_service_pb2,
)
from tests.conftest import Api, connected, serving
from tests.loki import NS
from tests.rpc import detector, prometheus

Detector = detector_pb2.Detector
STEP = 60
START = (int(time.time()) // STEP - 200) * STEP
SETTINGS = PipelineSettings(evaluation_delay=0, checkpoint_interval=3600)
# Lines of the step whose lines are those of [time - STEP, time).
Lines = Callable[[int], list[str]]


def minute(k: int) -> int:
    return START + STEP * k


class FakeLoki:
    """Answers log queries with `lines(step time)` of each step in range, one nanosecond apart
    from the step's start, paged as Loki pages; metric queries (count_over_time) with their
    count; and no patterns (HTTP 404, as a Loki without its pattern ingester)."""

    def __init__(self, lines: Lines) -> None:
        self.lines = lines
        self.cache: dict[int, list[str]] = {}

    def step_lines(self, time_: int) -> list[str]:
        if time_ not in self.cache:
            self.cache = {time_: self.lines(time_)}  # one step at a time: a million lines pass
        return self.cache[time_]

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/patterns"):
            return httpx.Response(404)
        form = dict(parse_qsl(request.content.decode()))
        start, end = int(form["start"]), int(form["end"])
        if form["query"].startswith("sum("):  # a step's total: at `end` seconds
            seconds = end // NS
            count = len(self.step_lines(seconds))
            result = [{"metric": {}, "values": [[seconds, str(count)]]}]
            body = {"status": "success", "data": {"resultType": "matrix", "result": result}}
            return httpx.Response(200, content=json.dumps(body))
        limit = int(form["limit"])
        values: list[list[str]] = []
        # Each step whose lines [time - STEP, time) meet [start, end).
        for time_ in range(start // NS // STEP * STEP + STEP, end // NS + STEP, STEP):
            first = (time_ - STEP) * NS
            for i, line in enumerate(self.step_lines(time_)):
                if start <= first + i < end and len(values) < limit:
                    values.append([str(first + i), line])
        streams = [{"stream": {"app": "busy"}, "values": values}]
        body = {"status": "success", "data": {"resultType": "streams", "result": streams}}
        return httpx.Response(200, content=json.dumps(body))


@dataclass
class Setup:
    api: Api
    server: App
    runner: LogPatternRunner


async def setup_with(database_url: str, lines: Lines, **config: Any) -> AsyncIterator[Setup]:
    async with serving(database_url, run_detectors=False) as server, connected(server) as api:
        # Nothing listens at the URL: creating the detector cannot ask Loki, and lets it be.
        await api.data_sources.CreateDataSource(
            data_source_service_pb2.CreateDataSourceRequest(
                data_source=prometheus(
                    kind=data_source_pb2.DataSource.KIND_LOKI, urls=["http://127.0.0.1:9"]
                ),
                data_source_id="logs",
            )
        )
        spec = detector(
            "dataSources/logs",
            query='{app="busy"}',
            step={"seconds": STEP},
            log_pattern=detector_pb2.LogPatternRates(
                robust_z_score=detector_pb2.RobustZScore(window=5), **config
            ),
        )
        await api.detectors.CreateDetector(
            detector_service_pb2.CreateDetectorRequest(detector=spec, detector_id="busy")
        )
        await api.detectors.StartDetector(
            detector_service_pb2.StartDetectorRequest(name="detectors/busy")
        )
        fake = FakeLoki(lines)
        clients = SourceClients(transport=httpx.MockTransport(fake.handle))
        runner = LogPatternRunner(
            "busy",
            api.sessions,
            clients,
            Bus(),
            SETTINGS,
            server.scheduler.recent,
            server.scheduler.patterns,
        )
        await runner.load()
        try:
            yield Setup(api, server, runner)
        finally:
            await clients.aclose()


def distinct_lines(time_: int) -> list[str]:
    """10,000 lines no two alike: 9,970 that differ in their values, and 30 of shapes never
    seen (made-up words of made-up lengths), which become templates of their own."""
    k = (time_ - START) // STEP
    rng = random.Random(k)
    lines = [
        f"GET /items/{k * 10_000 + i} 200 {i % 997}ms user=u{i * 31 % 100_000} req={k}x{i}"
        for i in range(9_970)
    ]
    for j in range(30):
        words = (
            "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 9)))
            for _ in range(3 + j % 6)
        )
        lines.append(" ".join(words))
    return lines


@pytest.fixture
async def distinct(database_url: str) -> AsyncIterator[Setup]:
    async for setup in setup_with(
        database_url, distinct_lines, max_templates=100, baseline_steps=10
    ):
        yield setup


# The bound is the runner's, whatever the database: SQLite alone keeps the suite lean.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_million_distinct_lines_keep_the_memory_bound_and_count_evictions(
    distinct: Setup,
) -> None:
    runner = distinct.runner
    await runner.advance(minute(10))  # the baseline: 10 steps
    for k in (40, 70, 100):  # 30 steps a call: 100 steps of 10,000 lines, a million
        await runner.advance(minute(k))
        assert runner.catalogue is not None
        assert len(runner.catalogue.templates) <= 100
        # The rows of forgotten templates go once they are a quarter of the bound.
        assert len(runner.series) <= 100 + 100 // 4 + 10 + len(runner.active)
        assert runner.recent is not None and len(runner.recent.labels) <= len(runner.series) + 35

    name = "detectors/busy"
    found = await distinct.api.detectors.GetDetector(
        detector_service_pb2.GetDetectorRequest(name=name)
    )
    assert found.state == Detector.STATE_RUNNING
    assert "more than 10 new templates in a step" in found.state_reason
    listed = await distinct.api.detectors.ListLogPatterns(
        detector_service_pb2.ListLogPatternsRequest(parent=name, page_size=1000)
    )
    assert listed.total_size == len(listed.log_patterns) <= 100
    assert listed.evicted_count >= 2_000  # most of the 3,000 made-up shapes
    assert listed.source == detector_pb2.LogPatternRates.SOURCE_MINED
    items = [p for p in listed.log_patterns if p.template.startswith("GET ")]
    assert len(items) == 1 and items[0].count == 997_000  # every step's 9,970 lines


def busy_lines(time_: int) -> list[str]:
    """300 lines a step for the first 20 steps, 50 after."""
    k = (time_ - START) // STEP
    return [f"job {k * 1000 + i} finished in {i % 50} ms" for i in range(300 if k <= 20 else 50)]


@pytest.fixture
async def busy(database_url: str) -> AsyncIterator[Setup]:
    async for setup in setup_with(
        database_url, busy_lines, max_lines_per_step=100, baseline_steps=5
    ):
        yield setup


async def test_a_step_over_the_line_bound_is_scaled_and_said_until_such_steps_stop(
    busy: Setup,
) -> None:
    runner, name = busy.runner, "detectors/busy"
    await runner.advance(minute(5))
    await runner.advance(minute(15))
    cut = await busy.api.detectors.GetDetector(detector_service_pb2.GetDetectorRequest(name=name))
    assert cut.state == Detector.STATE_RUNNING
    assert "more than 100 lines" in cut.state_reason
    listed = await busy.api.detectors.ListLogPatterns(
        detector_service_pb2.ListLogPatternsRequest(parent=name)
    )
    (job,) = listed.log_patterns
    assert job.rate == pytest.approx(300 / STEP)  # 100 lines read, each standing for 3
    assert job.count == 100 * 15  # lines mined

    await runner.advance(minute(19 + NOTE_STEPS))
    still = await busy.api.detectors.GetDetector(detector_service_pb2.GetDetectorRequest(name=name))
    assert "more than 100 lines" in still.state_reason  # the last cut step is 20
    await runner.advance(minute(20 + NOTE_STEPS))
    clear = await busy.api.detectors.GetDetector(detector_service_pb2.GetDetectorRequest(name=name))
    assert clear.state == Detector.STATE_RUNNING and clear.state_reason == ""
