"""ListDetectorSeries and ReadDetectorScores over a real Prometheus: what a runner scored is
served exactly as its SCORES event carried it, ranked most anomalous first, filtered, paged,
kept after a stop, bounded; bad requests get INVALID_ARGUMENT naming the field."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import grpc
import numpy as np
import pytest

from aiops.api.pagination import encode_page_token, query_fingerprint
from aiops.app import App
from aiops.events.bus import Bus
from aiops.pipeline.runner import DetectorRunner, PipelineSettings
from aiops_api.v1 import (
    data_source_service_pb2,
    detector_pb2,
    detector_service_pb2,
    event_pb2,
)
from tests.conftest import Api, connected, serving
from tests.prometheus import PrometheusServer
from tests.rpc import detector, failure, prometheus

pb = detector_service_pb2
STEP = 60
START = (int(time.time()) // 3600 - 6) * 3600
POINTS = 240
SPIKE = 200  # the minute at which instance "b" jumps
RECENT_POINTS = 50
SETTINGS = PipelineSettings(evaluation_delay=0, backfill_points=100, checkpoint_interval=3600)


def minute(k: int) -> int:
    return START + STEP * k


def history() -> str:
    rng = np.random.default_rng(3)
    lines = ["# TYPE load gauge"]
    for instance, job in (("a", "api"), ("b", "api"), ("c", "db")):
        noise = rng.uniform(-1, 1, POINTS)
        for k in range(POINTS):
            value = 100 + noise[k] + (60 if instance == "b" and k >= SPIKE else 0)
            lines.append(f'load{{instance="{instance}",job="{job}"}} {value:.4f} {minute(k)}')
    return "\n".join([*lines, "# EOF", ""])


@pytest.fixture(scope="module")
def prometheus_history() -> Iterator[PrometheusServer]:
    server = PrometheusServer(history())
    yield server
    server.stop()


@dataclass
class Setup:
    server: App
    api: Api
    runner: DetectorRunner
    bus: Bus


@pytest.fixture
async def setup(database_url: str, prometheus_history: PrometheusServer) -> AsyncIterator[Setup]:
    async with (
        serving(database_url, run_detectors=False, recent_points=RECENT_POINTS) as server,
        connected(server) as api,
    ):
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
        await api.detectors.CreateDetector(
            pb.CreateDetectorRequest(detector=spec, detector_id="load")
        )
        await api.detectors.StartDetector(pb.StartDetectorRequest(name="detectors/load"))
        bus = Bus()  # the runner's SCORES events, apart from the server's streams
        runner = DetectorRunner(
            "load", api.sessions, server.clients, bus, SETTINGS, server.scheduler.recent
        )
        await runner.load()
        yield Setup(server, api, runner, bus)


async def test_the_scored_past_is_what_the_live_path_sent(setup: Setup) -> None:
    await setup.runner.advance(minute(150))  # the backfill: minutes 51..150
    with setup.bus.subscribe() as sent:
        for k in range(151, SPIKE + 1):
            await setup.runner.advance(minute(k))
    scores_events = [e.scores for e in sent.events if e.HasField("scores")]
    assert len(scores_events) == SPIKE - 150

    read = await setup.api.detectors.ReadDetectorScores(
        pb.ReadDetectorScoresRequest(detector="detectors/load", filter='{instance="b"}')
    )
    [series] = read.series
    assert dict(series.labels) == {"__name__": "load", "instance": "b", "job": "api"}
    assert read.step.seconds == STEP
    # The last RECENT_POINTS steps are kept: minutes 151..200 from the live path.
    assert series.start_time.seconds == minute(SPIKE - RECENT_POINTS + 1)
    assert read.oldest_time.seconds == minute(SPIKE - RECENT_POINTS + 1)
    assert len(series.values) == RECENT_POINTS
    live = {}
    for event in scores_events:
        [b] = [s for s in event.series if s.labels["instance"] == "b"]
        live[b.start_time.seconds] = (
            b.values[0],
            b.scores[0],
            b.expected[0],
            b.lower[0],
            b.upper[0],
        )
    kept = {
        series.start_time.seconds + i * STEP: (
            series.values[i],
            series.scores[i],
            series.expected[i],
            series.lower[i],
            series.upper[i],
        )
        for i in range(len(series.values))
    }
    assert kept == live  # bit for bit
    assert series.values[-1] == pytest.approx(160, abs=1.5)
    assert series.scores[-1] >= 0.99


async def test_the_backfill_fills_the_past_at_once(setup: Setup) -> None:
    await setup.runner.advance(minute(150))
    read = await setup.api.detectors.ReadDetectorScores(
        pb.ReadDetectorScoresRequest(detector="detectors/load", page_size=10)
    )
    assert len(read.series) == 3
    assert all(len(s.values) == RECENT_POINTS for s in read.series)
    assert all(s.start_time.seconds == minute(150 - RECENT_POINTS + 1) for s in read.series)


async def test_series_are_ranked_by_current_score_filtered_and_paged(setup: Setup) -> None:
    await setup.runner.advance(minute(150))
    for k in range(151, SPIKE + 1):
        await setup.runner.advance(minute(k))

    listed = await setup.api.detectors.ListDetectorSeries(
        pb.ListDetectorSeriesRequest(parent="detectors/load", page_size=2)
    )
    assert listed.total_size == 3
    first = listed.series[0]
    assert first.labels["instance"] == "b"
    assert first.severity == detector_pb2.SEVERITY_CRITICAL
    assert first.time.seconds == minute(SPIKE)
    assert first.value == pytest.approx(160, abs=1.5)
    assert listed.series[1].score <= first.score
    rest = await setup.api.detectors.ListDetectorSeries(
        pb.ListDetectorSeriesRequest(
            parent="detectors/load", page_size=2, page_token=listed.next_page_token
        )
    )
    assert len(rest.series) == 1 and rest.next_page_token == ""
    names = {s.labels["instance"] for s in [*listed.series, *rest.series]}
    assert names == {"a", "b", "c"}

    db = await setup.api.detectors.ListDetectorSeries(
        pb.ListDetectorSeriesRequest(parent="detectors/load", filter='{job="db"}')
    )
    assert [s.labels["instance"] for s in db.series] == ["c"] and db.total_size == 1

    # ReadDetectorScores pages in the same order; a range cuts every series.
    page = await setup.api.detectors.ReadDetectorScores(
        pb.ReadDetectorScoresRequest(
            detector="detectors/load",
            page_size=1,
            range=pb.TimeRange(
                start_time={"seconds": minute(SPIKE - 9)}, end_time={"seconds": minute(SPIKE)}
            ),
        )
    )
    assert [s.labels["instance"] for s in page.series] == ["b"]
    assert len(page.series[0].values) == 10 and page.next_page_token


async def test_a_stopped_detector_keeps_its_scored_past(setup: Setup) -> None:
    await setup.runner.advance(minute(150))
    await setup.runner.advance(minute(151))
    await setup.api.detectors.StopDetector(pb.StopDetectorRequest(name="detectors/load"))
    read = await setup.api.detectors.ReadDetectorScores(
        pb.ReadDetectorScoresRequest(detector="detectors/load")
    )
    assert len(read.series) == 3
    assert {s.start_time.seconds + (len(s.values) - 1) * STEP for s in read.series} == {minute(151)}


async def test_a_detector_made_again_under_its_id_starts_empty(setup: Setup) -> None:
    """Faster than the scheduler forgets deleted detectors: the points are the old one's."""
    await setup.runner.advance(minute(150))
    await setup.api.detectors.StopDetector(pb.StopDetectorRequest(name="detectors/load"))
    await setup.api.detectors.DeleteDetector(pb.DeleteDetectorRequest(name="detectors/load"))
    spec = detector("dataSources/prom", query='load{job="db"}', step={"seconds": 2 * STEP})
    await setup.api.detectors.CreateDetector(
        pb.CreateDetectorRequest(detector=spec, detector_id="load")
    )
    listed = await setup.api.detectors.ListDetectorSeries(
        pb.ListDetectorSeriesRequest(parent="detectors/load")
    )
    read = await setup.api.detectors.ReadDetectorScores(
        pb.ReadDetectorScoresRequest(detector="detectors/load")
    )
    assert (listed.total_size, list(read.series)) == (0, [])


async def test_a_detector_that_never_ran_has_no_series(setup: Setup) -> None:
    spec = detector("dataSources/prom", query="load", step={"seconds": STEP})
    await setup.api.detectors.CreateDetector(
        pb.CreateDetectorRequest(detector=spec, detector_id="idle")
    )
    listed = await setup.api.detectors.ListDetectorSeries(
        pb.ListDetectorSeriesRequest(parent="detectors/idle")
    )
    assert (list(listed.series), listed.total_size, listed.next_page_token) == ([], 0, "")
    read = await setup.api.detectors.ReadDetectorScores(
        pb.ReadDetectorScoresRequest(detector="detectors/idle")
    )
    assert list(read.series) == [] and not read.HasField("oldest_time")


@pytest.mark.parametrize(
    ("request_", "code", "field"),
    [
        (pb.ListDetectorSeriesRequest(parent="detectors/nope"), grpc.StatusCode.NOT_FOUND, ""),
        (pb.ListDetectorSeriesRequest(parent="load"), grpc.StatusCode.INVALID_ARGUMENT, "parent"),
        (
            pb.ListDetectorSeriesRequest(parent="detectors/load", filter="{instance=b}"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "filter",
        ),
        (
            pb.ListDetectorSeriesRequest(parent="detectors/load", filter='{a=~"("}'),
            grpc.StatusCode.INVALID_ARGUMENT,
            "filter",
        ),
        (
            pb.ListDetectorSeriesRequest(parent="detectors/load", page_size=-1),
            grpc.StatusCode.INVALID_ARGUMENT,
            "page_size",
        ),
        (
            pb.ListDetectorSeriesRequest(parent="detectors/load", page_token="garbage"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "page_token",
        ),
        (pb.ReadDetectorScoresRequest(detector=""), grpc.StatusCode.INVALID_ARGUMENT, "detector"),
        (
            pb.ReadDetectorScoresRequest(detector="detectors/nope"),
            grpc.StatusCode.NOT_FOUND,
            "",
        ),
        (
            pb.ReadDetectorScoresRequest(
                detector="detectors/load", range=pb.TimeRange(end_time={"seconds": 10})
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "range.start_time",
        ),
        (
            pb.ReadDetectorScoresRequest(
                detector="detectors/load",
                range=pb.TimeRange(start_time={"seconds": 20}, end_time={"seconds": 10}),
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "range.end_time",
        ),
        (
            pb.ReadDetectorScoresRequest(detector="detectors/load", filter='{job="x"'),
            grpc.StatusCode.INVALID_ARGUMENT,
            "filter",
        ),
    ],
)
async def test_bad_requests_name_the_field(
    setup: Setup, request_: object, code: grpc.StatusCode, field: str
) -> None:
    method = (
        setup.api.detectors.ListDetectorSeries
        if isinstance(request_, pb.ListDetectorSeriesRequest)
        else setup.api.detectors.ReadDetectorScores
    )
    failed = await failure(method(request_))
    assert failed.code == code
    if field:
        assert field in failed.violations


@pytest.mark.parametrize("offset", [True, -1, 1.5, "1", None])
async def test_a_page_token_with_another_offset_is_refused(setup: Setup, offset: object) -> None:
    fingerprint = query_fingerprint("series", "detectors/load", "")
    failed = await failure(
        setup.api.detectors.ListDetectorSeries(
            pb.ListDetectorSeriesRequest(
                parent="detectors/load", page_token=encode_page_token([offset], fingerprint)
            )
        )
    )
    assert failed.violations.keys() == {"page_token"}


async def test_a_page_token_belongs_to_its_filter(setup: Setup) -> None:
    await setup.runner.advance(minute(150))
    listed = await setup.api.detectors.ListDetectorSeries(
        pb.ListDetectorSeriesRequest(parent="detectors/load", page_size=1)
    )
    failed = await failure(
        setup.api.detectors.ListDetectorSeries(
            pb.ListDetectorSeriesRequest(
                parent="detectors/load",
                page_size=1,
                filter='{job="api"}',
                page_token=listed.next_page_token,
            )
        )
    )
    assert failed.violations.keys() == {"page_token"}


async def test_scores_events_and_the_kept_past_meet_without_a_gap(setup: Setup) -> None:
    """A chart that reads the past, then appends live SCORES, has every step once."""
    await setup.runner.advance(minute(150))
    read = await setup.api.detectors.ReadDetectorScores(
        pb.ReadDetectorScoresRequest(detector="detectors/load", filter='{instance="a"}')
    )
    last = read.series[0].start_time.seconds + (len(read.series[0].values) - 1) * STEP
    with setup.bus.subscribe() as sent:
        await setup.runner.advance(minute(151))
    [event] = [e for e in sent.events if e.HasField("scores")]
    assert isinstance(event, event_pb2.Event)
    [a] = [s for s in event.scores.series if s.labels["instance"] == "a"]
    assert a.start_time.seconds == last + STEP
