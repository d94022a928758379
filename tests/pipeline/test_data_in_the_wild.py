"""A detector over data as servers give it in the wild, played by a Prometheus-like handler
(httpx.MockTransport) whose series, limits and outages each test sets: a backfill longer than
the server takes at once is split or shortened, a detector's own evaluation delay reads late
data once it has landed, missing points mean what the detector's absence policy says, and the
stretch Prometheus papers over after its own outage is neither learnt nor scored.

Runners are driven by hand with the time they are told, as in test_runner.py."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
import numpy as np
import pytest

from aiops.events.bus import Bus
from aiops.pipeline.runner import DetectorRunner, DetectorStopped, PipelineSettings
from aiops.sources.clients import SourceClients
from aiops_api.v1 import anomaly_pb2, data_source_service_pb2, detector_pb2, detector_service_pb2
from tests.conftest import Api, connected, serving
from tests.rpc import detector, prometheus

Detector = detector_pb2.Detector
Absence = detector_pb2.Absence
Anomaly = anomaly_pb2.Anomaly
STEP = 60
START = (int(time.time()) // 3600 - 30) * 3600
SETTINGS = PipelineSettings(evaluation_delay=0, backfill_points=100, checkpoint_interval=3600)
# Per step time (epoch seconds), each instance's value; None: no sample.
Series = Callable[[int], dict[str, float | None]]


def minute(k: int) -> int:
    return START + STEP * k


def wobble(k: int) -> float:
    """Everyday noise within ±0.5, the same on every run."""
    return ((k * 37) % 11) / 10 - 0.5


def steady(k_time: int) -> dict[str, float | None]:
    k = (k_time - START) // STEP
    return {"a": 100 + wobble(k), "b": 50 + wobble(k + 3)}


def error(status: int, error_type: str, message: str) -> httpx.Response:
    body = {"status": "error", "errorType": error_type, "error": message}
    return httpx.Response(status, json=body)


@dataclass
class FakePrometheus:
    """query_range over `series`; a range of more than `max_points` points is refused as a
    query frontend refuses too many samples (422), one longer than `max_seconds` as Loki
    refuses a range over its max_query_length (400), a start before `oldest` as a server that
    keeps no older data refuses it, one of more than `timeout_points` points times out in the
    server (503, errorType timeout); `down` answers 503 from a proxy. The query `rpc_seconds`
    is a native histogram."""

    series: Series = steady
    max_points: int | None = None
    max_seconds: int | None = None
    oldest: int | None = None
    timeout_points: int | None = None
    down: bool = False
    asked: list[tuple[int, int]] = field(default_factory=list)  # (start, end) of each query

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            return httpx.Response(503, text="<html>503 Service Unavailable</html>")
        form = dict(parse_qsl(request.content.decode()))
        start, end, step = int(form["start"]), int(form["end"]), int(form["step"])
        self.asked.append((start, end))
        if form["query"] == "load{":
            return error(400, "bad_data", "parse error: unexpected end of input inside braces")
        if self.max_points is not None and (end - start) // step + 1 > self.max_points:
            return error(
                422,
                "execution",
                "query processing would load too many samples into memory in query execution",
            )
        if self.max_seconds is not None and end - start > self.max_seconds:
            return error(
                400,
                "bad_data",
                f"the query time range exceeds the limit (query length: {end - start}s, "
                f"limit: {self.max_seconds}s)",
            )
        if self.oldest is not None and start < self.oldest:
            return error(400, "bad_data", "this data is no longer kept (max_query_lookback)")
        if self.timeout_points is not None and (end - start) // step + 1 > self.timeout_points:
            return error(503, "timeout", "query timed out in expression evaluation")
        if form["query"] == "rpc_seconds":
            histogram = {"count": "3", "sum": "0.7", "buckets": [[0, "0.1", "1", "3"]]}
            samples = [[t, histogram] for t in range(start, end + 1, step)]
            histograms = {"status": "success", "data": {"resultType": "matrix", "result": [
                {"metric": {"instance": "a"}, "histograms": samples}
            ]}}  # fmt: skip
            return httpx.Response(200, json=histograms)
        values: dict[str, list[list[Any]]] = {}
        for t in range(start, end + 1, step):
            for instance, value in self.series(t).items():
                if value is not None:
                    values.setdefault(instance, []).append([t, repr(float(value))])
        result = [{"metric": {"instance": i}, "values": v} for i, v in sorted(values.items())]
        body = {"status": "success", "data": {"resultType": "matrix", "result": result}}
        return httpx.Response(200, content=json.dumps(body))


@dataclass
class Setup:
    api: Api
    fake: FakePrometheus
    clients: SourceClients
    server: Any

    async def runner(self, detector_id: str = "load") -> DetectorRunner:
        runner = DetectorRunner(
            detector_id,
            self.api.sessions,
            self.clients,
            Bus(),
            SETTINGS,
            self.server.scheduler.recent,
        )
        await runner.load()
        return runner

    async def detector(self, detector_id: str = "load", **fields: Any) -> Detector:
        fields.setdefault("query", "load")
        fields.setdefault("robust_z_score", detector_pb2.RobustZScore(window=30))
        spec = detector("dataSources/prom", step={"seconds": STEP}, **fields)
        created = await self.api.detectors.CreateDetector(
            detector_service_pb2.CreateDetectorRequest(detector=spec, detector_id=detector_id)
        )
        await self.api.detectors.StartDetector(
            detector_service_pb2.StartDetectorRequest(name=created.name)
        )
        return created

    async def get(self, detector_id: str = "load") -> Detector:
        return await self.api.detectors.GetDetector(
            detector_service_pb2.GetDetectorRequest(name=f"detectors/{detector_id}")
        )

    async def anomalies(self, detector_id: str = "load") -> list[Anomaly]:
        response = await self.api.detectors.ListAnomalies(
            detector_service_pb2.ListAnomaliesRequest(
                parent=f"detectors/{detector_id}", page_size=100
            )
        )
        return sorted(response.anomalies, key=lambda a: (a.start_time.seconds, a.name))


@pytest.fixture
async def setup(database_url: str) -> AsyncIterator[Setup]:
    fake = FakePrometheus()
    clients = SourceClients(transport=httpx.MockTransport(fake.handle))
    async with serving(database_url, run_detectors=False) as server, connected(server) as api:
        # Nothing listens at the URL: every request goes to the handler.
        await api.data_sources.CreateDataSource(
            data_source_service_pb2.CreateDataSourceRequest(
                data_source=prometheus(urls=["http://127.0.0.1:9"]), data_source_id="prom"
            )
        )
        try:
            yield Setup(api, fake, clients, server)
        finally:
            await clients.aclose()


def spans(found: list[Anomaly]) -> list[tuple[str, str, int, int, bool]]:
    """(instance, kind, first minute, last minute, active) of each anomaly."""
    return [
        (
            anomaly.series_labels["instance"],
            Anomaly.Kind.Name(anomaly.kind),
            (anomaly.start_time.seconds - START) // STEP,
            (anomaly.end_time.seconds - START) // STEP,
            anomaly.active,
        )
        for anomaly in found
    ]


async def minute_by_minute(runner: DetectorRunner, first: int, last: int) -> None:
    for k in range(first, last + 1):
        await runner.advance(minute(k))


# Case 5: a backfill bigger than the server allows.


async def test_a_backfill_of_more_samples_than_the_server_takes_is_fetched_in_pieces(
    setup: Setup,
) -> None:
    setup.fake.max_points = 60
    await setup.detector(backfill_points=200)
    runner = await setup.runner()
    await runner.advance(minute(300))

    got = await setup.get()
    assert got.state == Detector.STATE_RUNNING
    assert got.backfill_points == 200
    assert got.state_reason == (
        "backfill fetched in pieces of 50 points: dataSources/prom refused 200 at once "
        "(query processing would load too many samples into memory in query execution)"
    )
    # Every point of the 200 was asked for once the pieces fitted.
    pieces = [(start, end) for start, end in setup.fake.asked if (end - start) // STEP == 49]
    assert pieces == [(minute(k), minute(k + 49)) for k in (101, 151, 201, 251)]
    assert runner.recent is not None
    window = runner.recent.window(0, None, None)
    assert window is not None and window.start == minute(101)
    assert not np.isnan(window.points[0]).any()


async def test_a_backfill_longer_than_the_server_s_longest_range_is_split(setup: Setup) -> None:
    setup.fake.max_seconds = 30 * STEP  # as Loki's max_query_length
    await setup.detector(backfill_points=200)
    runner = await setup.runner()
    await runner.advance(minute(300))
    got = await setup.get()
    assert got.state == Detector.STATE_RUNNING
    assert got.state_reason.startswith("backfill fetched in pieces of 25 points")
    assert "the query time range exceeds the limit" in got.state_reason

    # The live steps ask for one point each and run as usual; the note stays.
    await minute_by_minute(runner, 301, 303)
    assert setup.fake.asked[-1] == (minute(303), minute(303))
    assert (await setup.get()).state_reason == got.state_reason


async def test_a_backfill_older_than_the_server_keeps_is_shortened(setup: Setup) -> None:
    setup.fake.oldest = minute(300 - 70)
    await setup.detector(backfill_points=200)
    runner = await setup.runner()
    await runner.advance(minute(300))
    got = await setup.get()
    assert got.state == Detector.STATE_RUNNING
    assert got.state_reason == (
        "backfill shortened to its last 50 of 200 points: dataSources/prom refused more "
        "(this data is no longer kept (max_query_lookback))"
    )
    await runner.advance(minute(301))
    assert (await setup.get()).state == Detector.STATE_RUNNING


async def test_a_query_the_server_refuses_even_for_one_point_fails_at_once(setup: Setup) -> None:
    await setup.detector(query="load{")
    runner = await setup.runner()
    with pytest.raises(DetectorStopped):
        await runner.advance(minute(300))
    got = await setup.get()
    assert got.state == Detector.STATE_FAILED
    assert got.state_reason == (
        "the query cannot run: parse error: unexpected end of input inside braces"
    )
    assert len(setup.fake.asked) == 2, "the whole window, then its latest point: no pieces"


async def test_a_backfill_the_server_times_out_is_split_and_a_live_timeout_only_degrades(
    setup: Setup,
) -> None:
    setup.fake.timeout_points = 40
    await setup.detector(backfill_points=100)
    runner = await setup.runner()
    await runner.advance(minute(300))
    got = await setup.get()
    assert got.state == Detector.STATE_RUNNING
    assert got.state_reason.startswith(
        "backfill fetched in pieces of 25 points: dataSources/prom refused 100 at once (the "
        "server gave up on the query (timeout: query timed out in expression evaluation)"
    )
    # A live step the server times out: the query is not wrong, the next step may run.
    setup.fake.timeout_points = 0
    await runner.advance(minute(301))
    got = await setup.get()
    assert got.state == Detector.STATE_DEGRADED
    assert "gave up on the query (timeout" in got.state_reason
    setup.fake.timeout_points = None
    await runner.advance(minute(303))
    assert (await setup.get()).state == Detector.STATE_RUNNING


# Case 3: native histograms.


async def test_a_detector_over_native_histograms_says_what_to_ask_instead(setup: Setup) -> None:
    await setup.detector(query="rpc_seconds")
    runner = await setup.runner()
    await minute_by_minute(runner, 300, 302)
    got = await setup.get()
    assert got.state == Detector.STATE_RUNNING
    assert got.state_reason.startswith(
        "dataSources/prom warns: 1 series hold native histograms, which have no single value"
    )
    assert got.state_reason.endswith(
        "histogram_quantile(0.99, ...), histogram_count(...) or histogram_sum(...)"
    )


# Case 7: late data.


async def test_each_detector_reads_its_points_after_its_own_evaluation_delay(
    setup: Setup,
) -> None:
    """Lines land late: a point read within 30 s of its time counts 17 of its 100."""
    now = {"t": 0}

    def late(t: int) -> dict[str, float | None]:
        return {"a": 100.0 if now["t"] - t >= 30 else 17.0}

    setup.fake.series = late
    await setup.detector("patient", evaluation_delay={"seconds": 45})
    await setup.detector("eager")
    assert (await setup.get("patient")).evaluation_delay.seconds == 45
    assert not (await setup.get("eager")).HasField("evaluation_delay"), "the server's"
    patient, eager = await setup.runner("patient"), await setup.runner("eager")
    assert patient.next_due() == STEP + 45

    for k in range(200, 211):
        now["t"] = minute(k) + 10
        await patient.advance(now["t"])
        await eager.advance(now["t"])
    assert patient.last_time == minute(209), "minute 210 is due at 210:45"
    assert eager.last_time == minute(210)
    assert patient.recent is not None and eager.recent is not None
    assert patient.recent.latest_points()[1][0].tolist() == [100.0]
    assert eager.recent.latest_points()[1][0].tolist() == [17.0]


# Case 8: a series that goes away.


def dies_between(first: int, last: int) -> Series:
    """`steady`, with instance "a" missing from minute `first` to `last`."""

    def series(t: int) -> dict[str, float | None]:
        values = steady(t)
        if minute(first) <= t <= minute(last):
            values["a"] = None
        return values

    return series


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (Absence.POLICY_SKIP, []),
        # Missing from 150; the third missing step (152) opens it, 160 ends it at 159.
        (Absence.POLICY_NO_DATA, [("a", "KIND_NO_DATA", 150, 159, False)]),
        # Zeros where ~100 was: a deviation from the first.
        (Absence.POLICY_ZERO, [("a", "KIND_DEVIATION", 150, 159, False)]),
    ],
)
async def test_what_missing_points_mean_is_the_detector_s_absence_policy(
    setup: Setup,
    policy: detector_pb2.Absence.Policy,
    expected: list[tuple[str, str, int, int, bool]],
) -> None:
    setup.fake.series = dies_between(150, 159)
    await setup.detector(absence=Absence(policy=policy, steps=3))
    runner = await setup.runner()
    await runner.advance(minute(120))
    await minute_by_minute(runner, 121, 170)
    found = await setup.anomalies()
    assert spans(found) == expected
    if policy == Absence.POLICY_NO_DATA:
        [no_data] = found
        assert no_data.severity == detector_pb2.SEVERITY_CRITICAL
        assert no_data.peak_score == 1.0
        assert no_data.peak_value == pytest.approx(100 + wobble(149)), "its last value"


async def test_a_no_data_anomaly_is_open_and_growing_while_the_series_stays_away(
    setup: Setup,
) -> None:
    setup.fake.series = dies_between(150, 10_000)
    await setup.detector(absence=Absence(policy=Absence.POLICY_NO_DATA, steps=5))
    runner = await setup.runner()
    await runner.advance(minute(120))
    await minute_by_minute(runner, 121, 153)
    assert spans(await setup.anomalies()) == [], "four missing steps: not yet"
    await runner.advance(minute(154))
    assert spans(await setup.anomalies()) == [("a", "KIND_NO_DATA", 150, 154, True)]

    # A restart resumes the open anomaly from the checkpoint and grows it.
    await runner.save()
    restarted = await setup.runner()
    await minute_by_minute(restarted, 155, 160)
    assert spans(await setup.anomalies()) == [("a", "KIND_NO_DATA", 150, 160, True)]


async def test_a_series_that_was_never_regular_raises_no_no_data_anomaly(setup: Setup) -> None:
    def sparse(t: int) -> dict[str, float | None]:
        k = (t - START) // STEP
        return {"a": 100.0 + wobble(k) if k % 4 == 0 else None}

    setup.fake.series = sparse
    await setup.detector(absence=Absence(policy=Absence.POLICY_NO_DATA, steps=3))
    runner = await setup.runner()
    await runner.advance(minute(120))
    await minute_by_minute(runner, 121, 160)
    assert spans(await setup.anomalies()) == []


# Case 9: an outage that Prometheus papers over.


async def test_the_stretch_prometheus_papers_over_after_its_outage_is_not_learnt(
    setup: Setup,
) -> None:
    """Prometheus is down from minute 131 to 150; once back, its answers for those minutes
    repeat each series' last sample (minute 130's); a real spike comes at minute 155."""

    def papered(t: int) -> dict[str, float | None]:
        k = (t - START) // STEP
        values = steady(minute(min(k, 130)) if 131 <= k <= 150 else t)
        if k == 155:
            values["a"] = 140.0
        return values

    setup.fake.series = papered
    await setup.detector(robust_z_score=detector_pb2.RobustZScore(window=15))
    runner = await setup.runner()
    await runner.advance(minute(120))
    await minute_by_minute(runner, 121, 131)
    setup.fake.down = True
    await runner.advance(minute(140))
    assert (await setup.get()).state == Detector.STATE_DEGRADED
    setup.fake.down = False
    await minute_by_minute(runner, 160, 165)  # the first catches up 132 to 160

    assert (await setup.get()).state == Detector.STATE_RUNNING
    assert spans(await setup.anomalies()) == [("a", "KIND_DEVIATION", 155, 155, False)]
    assert runner.recent is not None
    window = runner.recent.window(0, minute(131), minute(151))
    assert window is not None
    learnt = window.points[0]
    # The answer's first point (132) is kept; 133 to 150 repeat it and were not learnt.
    assert window.start == minute(131)
    assert not np.isnan(learnt[:2]).any() and np.isnan(learnt[2:20]).all()
    assert not np.isnan(learnt[20])
