"""Log-pattern detectors over a real Loki, on both sources: the lines mined by the detector, and
Loki's own patterns (its pattern ingester on). A regular template that stops, a surge of
another and a new error template are raised, each naming its template, the new one critical;
the rest is quiet; Loki going away degrades the detector until it is back.

Loki keeps patterns for three hours, so the history is the last two and a half hours; the
runners are driven by hand with the time they are told, as in test_runner.py.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest

from aiops.app import App
from aiops.events.bus import Bus
from aiops.pipeline.log_patterns import LogPatternRunner
from aiops.pipeline.runner import PipelineSettings
from aiops_api.v1 import (
    anomaly_pb2,
    data_source_pb2,
    data_source_service_pb2,
    detector_pb2,
    detector_service_pb2,
)
from tests.conftest import Api, connected, serving
from tests.loki import NS, LokiServer
from tests.postgres import free_port
from tests.rpc import detector, prometheus

Detector = detector_pb2.Detector
Source = detector_pb2.LogPatternRates.Source
Kind = anomaly_pb2.LogPatternAnomaly.Kind
STEP = 60
MINUTES = 150
START = (int(time.time()) // STEP - MINUTES - 1) * STEP
BASELINE = 60  # the backfill: minutes 0..59
STOPS = 100  # "cart viewed" has no line from this minute on
SURGE = 120  # "payment retried": 60 more lines in this minute
NEW = 130  # "database connection lost" first appears in this minute
SETTINGS = PipelineSettings(evaluation_delay=0, checkpoint_interval=3600)
SELECTOR = '{app="shop"}'


def minute(k: int) -> int:
    return START + STEP * k


def point(seconds: int) -> int:
    """The minute of a step's time: the step at minute k + 1 counts the lines of minute k."""
    return (seconds - START) // STEP


def shop_lines() -> list[tuple[int, str]]:
    """(nanoseconds, line) of {app="shop"}, in time order, as Loki's pattern ingester wants
    them (it skips lines older than the last one of their stream)."""
    lines = []
    for k in range(MINUTES):
        for second in range(0, 60, 10):
            n = k * 6 + second // 10
            lines.append(
                (
                    minute(k) + second,
                    f'level=info msg="order placed" order={1000 + n} total={n % 97}.{n % 10}0 '
                    "currency=EUR",
                )
            )
            if k < STOPS:
                lines.append(
                    (
                        minute(k) + second + 1,
                        f'level=info msg="cart viewed" user=u{n % 50} items={n % 7}',
                    )
                )
        for second in (5, 35):
            lines.append(
                (
                    minute(k) + second,
                    f'level=warn msg="payment retried" gateway=gw{k % 3} attempt={k % 4} '
                    f"delay={k % 9}00ms reason=timeout",
                )
            )
        if k == SURGE:
            lines += [
                (
                    minute(k) + 40 + i // 10,
                    f'level=warn msg="payment retried" gateway=gw{i % 3} attempt={i % 4} '
                    f"delay={i % 9}00ms reason=timeout",
                )
                for i in range(60)
            ]
        if k == NEW:
            lines += [
                (
                    minute(k) + 45 + i // 4,
                    f'level=error msg="database connection lost" host=db-{i % 3} retry={i} '
                    "pool=main timeout=5s error=ECONNRESET",
                )
                for i in range(40)
            ]
    lines.sort()
    return [(seconds * NS + i, line) for i, (seconds, line) in enumerate(lines)]


@pytest.fixture(scope="module")
def loki_shop() -> Iterator[LokiServer]:
    lines = shop_lines()
    server = LokiServer(
        [{"stream": {"app": "shop"}, "values": [[str(ns), line] for ns, line in lines]}]
    )
    try:
        server.wait_for_patterns(SELECTOR, minute(0), minute(MINUTES), 4)
        yield server
    finally:
        server.stop()


@dataclass
class Setup:
    api: Api
    server: App
    runner: LogPatternRunner
    name: str

    def new_runner(self) -> LogPatternRunner:
        """A runner as the scheduler makes one (at start, and after a restart)."""
        scheduler = self.server.scheduler
        return LogPatternRunner(
            "shop",
            self.api.sessions,
            self.server.clients,
            Bus(),
            SETTINGS,
            scheduler.recent,
            scheduler.patterns,
        )


async def start_detector(api: Api, loki: LokiServer, source: Any) -> detector_pb2.Detector:
    await api.data_sources.CreateDataSource(
        data_source_service_pb2.CreateDataSourceRequest(
            data_source=prometheus(kind=data_source_pb2.DataSource.KIND_LOKI, urls=[loki.url]),
            data_source_id="logs",
        )
    )
    spec = detector(
        "dataSources/logs",
        query=SELECTOR,
        step={"seconds": STEP},
        log_pattern=detector_pb2.LogPatternRates(
            source=source,
            baseline_steps=BASELINE,
            robust_z_score=detector_pb2.RobustZScore(window=30),
        ),
    )
    created = await api.detectors.CreateDetector(
        detector_service_pb2.CreateDetectorRequest(detector=spec, detector_id="shop")
    )
    return await api.detectors.StartDetector(
        detector_service_pb2.StartDetectorRequest(name=created.name)
    )


@pytest.fixture(params=[Source.SOURCE_MINED, Source.SOURCE_AUTO], ids=["mined", "loki"])
async def setup(
    request: pytest.FixtureRequest, database_url: str, loki_shop: LokiServer
) -> AsyncIterator[Setup]:
    """A started detector of {app="shop"} and its runner; AUTO picks Loki's patterns here."""
    async with serving(database_url, run_detectors=False) as server, connected(server) as api:
        started = await start_detector(api, loki_shop, request.param)
        setup = Setup(
            api,
            server,
            LogPatternRunner("", api.sessions, server.clients, Bus(), SETTINGS),
            started.name,
        )
        setup.runner = setup.new_runner()
        await setup.runner.load()
        yield setup


async def run_through(runner: LogPatternRunner, first: int, last: int, every: int = 7) -> None:
    for k in [*range(first, last, every), last]:
        await runner.advance(minute(k))


async def anomalies(api: Api, name: str) -> list[anomaly_pb2.Anomaly]:
    response = await api.detectors.ListAnomalies(
        detector_service_pb2.ListAnomaliesRequest(parent=name, page_size=100)
    )
    return sorted(response.anomalies, key=lambda anomaly: anomaly.start_time.seconds)


async def get(api: Api, name: str) -> detector_pb2.Detector:
    return await api.detectors.GetDetector(detector_service_pb2.GetDetectorRequest(name=name))


async def patterns(
    api: Api, name: str, **request: object
) -> detector_service_pb2.ListLogPatternsResponse:
    return await api.detectors.ListLogPatterns(
        detector_service_pb2.ListLogPatternsRequest(parent=name, **request)  # type: ignore[arg-type]
    )


async def test_a_stop_a_surge_and_a_new_error_template_are_raised_naming_their_templates(
    setup: Setup,
) -> None:
    api, runner, name = setup.api, setup.runner, setup.name
    await runner.advance(minute(BASELINE - 1))
    learnt = await get(api, name)
    assert learnt.state == Detector.STATE_RUNNING, learnt.state_reason
    baseline = await patterns(api, name)
    assert baseline.total_size == 3 and all(p.in_baseline for p in baseline.log_patterns)

    await run_through(runner, BASELINE, MINUTES)

    found = await anomalies(api, name)
    summary = {
        (anomaly.log_pattern.kind, point(anomaly.start_time.seconds)): anomaly for anomaly in found
    }
    assert set(summary) == {
        (Kind.KIND_DROP, STOPS + 1),
        (Kind.KIND_SURGE, SURGE + 1),
        (Kind.KIND_NEW, NEW + 1),
    }, [(a.log_pattern.kind, point(a.start_time.seconds), a.log_pattern.template) for a in found]
    stop = summary[Kind.KIND_DROP, STOPS + 1]
    assert "cart viewed" in stop.log_pattern.example_line
    assert stop.severity == detector_pb2.SEVERITY_CRITICAL  # 6 lines a minute to none
    surge = summary[Kind.KIND_SURGE, SURGE + 1]
    assert "payment retried" in surge.log_pattern.example_line
    assert surge.peak_value == pytest.approx(62 / STEP)  # lines per second
    assert (surge.end_time.seconds - surge.start_time.seconds) // STEP == 0
    new = summary[Kind.KIND_NEW, NEW + 1]
    assert new.severity == detector_pb2.SEVERITY_CRITICAL  # an error template: one higher
    assert new.log_pattern.error and not surge.log_pattern.error
    assert "database connection lost" in new.log_pattern.example_line
    assert "connection lost" in new.log_pattern.template
    assert new.series_labels["pattern"] == new.log_pattern.log_pattern.rpartition("/")[2]
    assert new.log_pattern.log_pattern.startswith(f"{name}/logPatterns/")

    listed = await patterns(api, name)
    assert listed.total_size == 4 and listed.evicted_count == 0
    by_example = {p.example_line.split('"')[1]: p for p in listed.log_patterns}
    assert set(by_example) == {
        "order placed",
        "cart viewed",
        "payment retried",
        "database connection lost",
    }
    lost = by_example["database connection lost"]
    assert (lost.error, lost.in_baseline, lost.count) == (True, False, 40)
    assert point(lost.first_seen_time.seconds) == NEW + 1
    assert lost.name == new.log_pattern.log_pattern
    orders = by_example["order placed"]
    assert orders.rate == pytest.approx(6 / STEP) and orders.score < 0.95
    assert orders.count == 6 * MINUTES  # the lines of minutes 0..149 (the step at 150 counts 149)
    assert by_example["cart viewed"].rate == 0

    errors = await patterns(api, name, filter="error = true")
    assert [p.name for p in errors.log_patterns] == [lost.name]
    first = await patterns(api, name, page_size=3, filter="count > 10")
    rest = await patterns(
        api, name, page_size=3, filter="count > 10", page_token=first.next_page_token
    )
    assert len(first.log_patterns) == 3 and len(rest.log_patterns) == 1 and not rest.next_page_token
    assert [
        p.template for p in (await patterns(api, name, filter='template:"connection"')).log_patterns
    ] == [lost.template]


async def test_the_source_that_ran_is_on_the_detector(setup: Setup) -> None:
    await setup.runner.advance(minute(BASELINE - 1))
    ran = await get(setup.api, setup.name)
    wanted = ran.log_pattern.source
    expected = Source.SOURCE_MINED if wanted == Source.SOURCE_MINED else Source.SOURCE_LOKI_PATTERNS
    assert ran.log_pattern.effective_source == expected
    listed = await patterns(setup.api, setup.name)
    assert listed.source == expected


async def test_loki_going_away_degrades_the_detector_and_the_gap_is_caught_up(
    setup: Setup,
) -> None:
    api, runner, name = setup.api, setup.runner, setup.name
    await runner.advance(minute(BASELINE - 1))
    await run_through(runner, BASELINE, 110)
    source = runner.source
    runner.source = replace(source, urls=(f"http://127.0.0.1:{free_port()}",))
    await runner.advance(minute(125))
    degraded = await get(api, name)
    assert degraded.state == Detector.STATE_DEGRADED
    assert "dataSources/logs failed" in degraded.state_reason

    runner.source = source
    runner.retry_at = 0
    await runner.advance(minute(MINUTES))
    recovered = await get(api, name)
    assert recovered.state == Detector.STATE_RUNNING and recovered.state_reason == ""
    kinds = {(a.log_pattern.kind, point(a.start_time.seconds)) for a in await anomalies(api, name)}
    assert (Kind.KIND_SURGE, SURGE + 1) in kinds and (Kind.KIND_NEW, NEW + 1) in kinds


async def test_a_restart_resumes_its_templates_without_raising_anything_twice(
    setup: Setup,
) -> None:
    api, runner, name = setup.api, setup.runner, setup.name
    await runner.advance(minute(BASELINE - 1))  # the checkpoint: an hour apart
    await run_through(runner, BASELINE, 125)
    before = await patterns(api, name)

    resumed = setup.new_runner()
    await resumed.load()
    assert resumed.last_time == minute(BASELINE - 1)
    assert resumed.catalogue is not None and len(resumed.catalogue.templates) == 3
    await run_through(resumed, 125, MINUTES)

    found = await anomalies(api, name)
    kinds = sorted((a.log_pattern.kind, point(a.start_time.seconds)) for a in found)
    assert kinds == sorted(
        [(Kind.KIND_DROP, STOPS + 1), (Kind.KIND_SURGE, SURGE + 1), (Kind.KIND_NEW, NEW + 1)]
    )
    after = {p.name for p in (await patterns(api, name)).log_patterns}
    assert {p.name for p in before.log_patterns} <= after
