"""The pipeline over a real Prometheus holding a known history: a runner advanced through that
history raises exactly the anomalies planted in it, resumes after a restart without raising any
twice, and rides out Prometheus going away.

The runners here are driven by hand with the time they are told (the server runs no detectors
of its own), so hours of history pass in a second; test_live.py runs the scheduler in real time.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace

import grpc
import numpy as np
import pytest
from sqlalchemy import select

from aiops.detectors.recent import RecentScoresRegistry
from aiops.events import log as event_log
from aiops.events.bus import Bus
from aiops.pipeline.runner import DetectorRunner, DetectorStopped, PipelineSettings
from aiops.sources.clients import SourceClients
from aiops.store.models import EventRow
from aiops_api.v1 import (
    anomaly_pb2,
    data_source_service_pb2,
    detector_pb2,
    detector_service_pb2,
)
from tests.conftest import Api, connected, serving
from tests.prometheus import PrometheusServer
from tests.rpc import detector, failure, prometheus

Detector = detector_pb2.Detector
STEP = 60
# Ten hours of minutes, ending two hours ago: all of it in blocks, all of it kept.
START = (int(time.time()) // 3600 - 12) * 3600
POINTS = 600
# Minutes at which each series spikes; "c" never does.
SPIKES = {"a": (400, 401, 402), "b": (500,)}
BACKFILL_END = 200
LATE_FROM = 250
SETTINGS = PipelineSettings(evaluation_delay=0, backfill_points=100, checkpoint_interval=3600)


def minute(k: int) -> int:
    return START + STEP * k


def history() -> str:
    """load{instance=a|b|c}: 100 plus noise within ±1, and +40 at the SPIKES."""
    rng = np.random.default_rng(7)
    lines = ["# TYPE load gauge"]
    for instance in "abc":
        noise = rng.uniform(-1, 1, POINTS)
        for k in range(POINTS):
            value = 100 + noise[k] + (40 if k in SPIKES.get(instance, ()) else 0)
            lines.append(f'load{{instance="{instance}"}} {value:.4f} {minute(k)}')
    # late{instance="d"}: from minute LATE_FROM on, with a spike at minute 400.
    lines.append("# TYPE late gauge")
    noise = rng.uniform(-1, 1, POINTS)
    for k in range(LATE_FROM, POINTS):
        value = 50 + noise[k] + (40 if k == 400 else 0)
        lines.append(f'late{{instance="d"}} {value:.4f} {minute(k)}')
    return "\n".join([*lines, "# EOF", ""])


@pytest.fixture(scope="module")
def prometheus_history() -> Iterator[PrometheusServer]:
    server = PrometheusServer(history())
    yield server
    server.stop()


@dataclass
class Setup:
    api: Api
    detector: str
    clients: SourceClients
    runner: DetectorRunner | None = None
    recent: RecentScoresRegistry = field(default_factory=RecentScoresRegistry)

    async def new_runner(self, settings: PipelineSettings = SETTINGS) -> DetectorRunner:
        """A runner as the scheduler makes one (at start, and after a restart), with the
        process's registry of what runners scored and opened."""
        runner = DetectorRunner(
            "load", self.api.sessions, self.clients, Bus(), settings, self.recent
        )
        await runner.load()
        return runner


@pytest.fixture
async def setup(database_url: str, prometheus_history: PrometheusServer) -> AsyncIterator[Setup]:
    async with serving(database_url, run_detectors=False) as server, connected(server) as api:
        await api.data_sources.CreateDataSource(
            data_source_service_pb2.CreateDataSourceRequest(
                data_source=prometheus(urls=[prometheus_history.url]), data_source_id="prom"
            )
        )
        spec = detector(
            "dataSources/prom",
            query="load",
            step={"seconds": STEP},
            robust_z_score=detector_pb2.RobustZScore(window=30),
        )
        created = await api.detectors.CreateDetector(
            detector_service_pb2.CreateDetectorRequest(detector=spec, detector_id="load")
        )
        await api.detectors.StartDetector(
            detector_service_pb2.StartDetectorRequest(name=created.name)
        )
        setup = Setup(api, created.name, server.clients)
        setup.runner = await setup.new_runner()
        yield setup


def runner(setup: Setup) -> DetectorRunner:
    assert setup.runner is not None
    return setup.runner


async def run_through(runner: DetectorRunner, first: int, last: int, every: int = 7) -> None:
    """Advances `runner` as a scheduler would, `every` minutes at a time, up to minute `last`."""
    for k in [*range(first, last, every), last]:
        await runner.advance(minute(k))


async def anomalies(api: Api, name: str) -> list[anomaly_pb2.Anomaly]:
    response = await api.detectors.ListAnomalies(
        detector_service_pb2.ListAnomaliesRequest(parent=name, page_size=100)
    )
    return sorted(response.anomalies, key=lambda anomaly: anomaly.start_time.seconds)


def spans(found: list[anomaly_pb2.Anomaly]) -> list[tuple[str, int, int, bool]]:
    return [
        (
            anomaly.series_labels["instance"],
            (anomaly.start_time.seconds - START) // STEP,
            (anomaly.end_time.seconds - START) // STEP,
            anomaly.active,
        )
        for anomaly in found
    ]


EXPECTED = [("a", 400, 402, False), ("b", 500, 500, False)]


async def state_of(api: Api, name: str) -> Detector:
    return await api.detectors.GetDetector(detector_service_pb2.GetDetectorRequest(name=name))


async def test_backfill_then_exactly_the_planted_anomalies(setup: Setup) -> None:
    await runner(setup).advance(minute(BACKFILL_END))
    assert (await state_of(setup.api, setup.detector)).state == Detector.STATE_RUNNING
    assert await anomalies(setup.api, setup.detector) == [], "backfilled history raises nothing"

    await run_through(runner(setup), BACKFILL_END, POINTS - 1)

    found = await anomalies(setup.api, setup.detector)
    assert spans(found) == EXPECTED
    assert all(
        a.series_labels == {"__name__": "load", "instance": a.series_labels["instance"]}
        for a in found
    )
    assert found[0].peak_value == pytest.approx(140, abs=1)
    assert found[0].severity == detector_pb2.SEVERITY_CRITICAL
    # For /metrics: each counted once, by its severity when it opened (before it grew).
    assert setup.recent.anomalies_opened == Counter({"SEVERITY_CRITICAL": 2})


async def test_an_anomaly_is_one_record_updated_while_it_lasts(setup: Setup) -> None:
    await runner(setup).advance(minute(BACKFILL_END))
    await run_through(runner(setup), BACKFILL_END, 401)

    during = await anomalies(setup.api, setup.detector)
    assert spans(during) == [("a", 400, 401, True)]

    await runner(setup).advance(minute(410))
    after = await anomalies(setup.api, setup.detector)
    assert spans(after) == [("a", 400, 402, False)]
    assert after[0].name == during[0].name

    async with setup.api.sessions() as session:
        events = [
            event_log.stored_event(row)
            for row in await session.scalars(select(EventRow).order_by(EventRow.sequence))
        ]
    changes = [e.anomaly_change.anomaly for e in events if e.HasField("anomaly_change")]
    assert [(c.name, c.active) for c in changes] == [(during[0].name, True)] * len(changes[:-1]) + [
        (during[0].name, False)
    ]
    statuses = [e.detector_status.state for e in events if e.HasField("detector_status")]
    assert statuses == [Detector.STATE_BACKFILLING, Detector.STATE_RUNNING]  # Start, backfill
    assert [e.sequence for e in events] == sorted({e.sequence for e in events})


async def test_a_restart_resumes_without_raising_anything_twice(setup: Setup) -> None:
    await runner(setup).advance(minute(BACKFILL_END))  # the last checkpoint: an hour apart
    await run_through(runner(setup), BACKFILL_END, 401)
    raised = await anomalies(setup.api, setup.detector)

    # A new runner, as after a restart: from the checkpoint at minute 200, it scores 201..401
    # again, then goes on.
    resumed = await setup.new_runner()
    assert resumed.last_time == minute(BACKFILL_END)
    await run_through(resumed, 401, POINTS - 1)

    found = await anomalies(setup.api, setup.detector)
    assert spans(found) == EXPECTED
    assert found[0].name == raised[0].name
    assert found[0].create_time == raised[0].create_time
    assert sum(setup.recent.anomalies_opened.values()) == 2, "the replay opened none again"


async def test_prometheus_going_away_degrades_the_detector_and_the_gap_is_caught_up(
    setup: Setup, prometheus_history: PrometheusServer
) -> None:
    await runner(setup).advance(minute(BACKFILL_END))
    await run_through(runner(setup), BACKFILL_END, 350)

    prometheus_history.kill()
    try:
        await runner(setup).advance(minute(450))
        degraded = await state_of(setup.api, setup.detector)
    finally:
        prometheus_history.start()
    assert degraded.state == Detector.STATE_DEGRADED
    assert "dataSources/prom failed" in degraded.state_reason
    assert prometheus_history.url in degraded.state_reason

    await runner(setup).advance(minute(POINTS - 1))
    recovered = await state_of(setup.api, setup.detector)
    assert recovered.state == Detector.STATE_RUNNING and recovered.state_reason == ""
    assert spans(await anomalies(setup.api, setup.detector)) == EXPECTED


async def test_a_query_prometheus_refuses_fails_the_detector(setup: Setup) -> None:
    await setup.api.detectors.UpdateDetector(
        detector_service_pb2.UpdateDetectorRequest(
            detector=Detector(name=setup.detector, query="load{"),
            update_mask={"paths": ["query"]},
        )
    )
    runner = await setup.new_runner()
    with pytest.raises(DetectorStopped):
        await runner.advance(minute(BACKFILL_END))
    failed = await state_of(setup.api, setup.detector)
    assert failed.state == Detector.STATE_FAILED
    assert "the query cannot run" in failed.state_reason


async def test_a_series_that_appears_later_learns_its_history_first(setup: Setup) -> None:
    await setup.api.detectors.UpdateDetector(
        detector_service_pb2.UpdateDetectorRequest(
            detector=Detector(name=setup.detector, query="late"), update_mask={"paths": ["query"]}
        )
    )
    # Back after a long outage: only the last five points are caught up, two before the spike.
    runner = await setup.new_runner(replace(SETTINGS, max_catch_up_points=5))
    await runner.advance(minute(BACKFILL_END))  # "late" has no series yet
    assert runner.series == []

    await runner.advance(minute(402))

    # Two points are not enough to judge a spike by: the baseline came from minutes 298..397.
    assert runner.series == [{"__name__": "late", "instance": "d"}]
    found = await anomalies(setup.api, setup.detector)
    assert [
        (a.series_labels["instance"], (a.start_time.seconds - START) // STEP) for a in found
    ] == [("d", 400)]


def backtest_request(**fields: object) -> detector_service_pb2.BacktestDetectorRequest:
    spec = detector(
        "dataSources/prom",
        query="load",
        step={"seconds": STEP},
        robust_z_score=detector_pb2.RobustZScore(window=30),
    )
    fields.setdefault(
        "range",
        detector_service_pb2.TimeRange(
            start_time={"seconds": minute(BACKFILL_END) - 30},  # rounded up to minute 200
            end_time={"seconds": minute(POINTS - 1)},
        ),
    )
    return detector_service_pb2.BacktestDetectorRequest(detector=spec, **fields)  # type: ignore[arg-type]


async def test_a_backtest_over_the_data_source_finds_what_the_pipeline_finds(setup: Setup) -> None:
    response = await setup.api.detectors.BacktestDetector(backtest_request())

    assert sorted(s.labels["instance"] for s in response.series) == ["a", "b", "c"]
    assert {s.start_time.seconds for s in response.series} == {minute(BACKFILL_END)}
    assert {len(s.scores) for s in response.series} == {POINTS - BACKFILL_END}
    assert spans(list(response.anomalies)) == [
        (instance, start, end, False) for instance, start, end, _ in EXPECTED
    ]


async def test_a_backtest_over_a_query_with_no_series_says_so(setup: Setup) -> None:
    request = backtest_request()
    request.detector.query = 'load{instance="nowhere"}'
    response = await setup.api.detectors.BacktestDetector(request)
    assert list(response.series) == [] and list(response.anomalies) == []
    assert list(response.warnings) == [
        "the query returned no series over the range from dataSources/prom: check its metric "
        "names and label matchers, and that the data source holds data that old"
    ]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        (
            {"series": [detector_service_pb2.BacktestSeries(values=[1.0])]},
            "series",
        ),
        (
            {
                "range": detector_service_pb2.TimeRange(
                    start_time={"seconds": minute(10)}, end_time={"seconds": minute(5)}
                )
            },
            "range.end_time",
        ),
        (
            {
                "range": detector_service_pb2.TimeRange(
                    start_time={"seconds": 0}, end_time={"seconds": minute(5)}
                )
            },
            "range",
        ),
        ({"range": detector_service_pb2.TimeRange(start_time={"seconds": 0})}, "range.end_time"),
    ],
)
async def test_a_bad_backtest_range_names_the_field(
    setup: Setup, fields: dict[str, object], field: str
) -> None:
    error = await failure(setup.api.detectors.BacktestDetector(backtest_request(**fields)))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in error.violations, error.violations


async def test_a_backtest_of_a_query_prometheus_refuses_passes_its_message_back(
    setup: Setup,
) -> None:
    request = backtest_request()
    request.detector.query = "load{"
    error = await failure(setup.api.detectors.BacktestDetector(request))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "parse error" in error.violations["detector.query"]


async def test_a_backtest_over_a_missing_data_source_names_it(setup: Setup) -> None:
    request = backtest_request()
    request.detector.data_source = "dataSources/nope"
    error = await failure(setup.api.detectors.BacktestDetector(request))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "detector.data_source" in error.violations


async def test_each_step_hands_out_its_points_scores_and_bands(setup: Setup) -> None:
    await runner(setup).advance(minute(BACKFILL_END))
    await run_through(runner(setup), BACKFILL_END, 395)
    with runner(setup).bus.subscribe() as subscription:
        await runner(setup).advance(minute(401))  # 396..401: the spike of "a" starts at 400
        published = list(subscription.events)
    kinds = [event.WhichOneof("payload") for event in published]
    assert kinds == ["anomaly_change", "scores"], "the step's changes, then its scores"
    scores = published[1].scores
    assert scores.detector == setup.detector
    assert scores.omitted_series == 0
    by_instance = {series.labels["instance"]: series for series in scores.series}
    assert sorted(by_instance) == ["a", "b", "c"]
    a = by_instance["a"]
    assert a.start_time.seconds == minute(396)
    assert len(a.values) == len(a.scores) == len(a.lower) == len(a.upper) == 6
    assert a.values[4] == pytest.approx(140, abs=1)  # minute 400
    assert a.scores[4] > 0.99 > max(a.scores[:4])
    assert all(lo < 100 < up for lo, up in zip(a.lower[:4], a.upper[:4], strict=True))
    assert not a.lower[4] < a.values[4] < a.upper[4]
