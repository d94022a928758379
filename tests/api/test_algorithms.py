"""The Detector's algorithms through the API: each selectable, each parameter checked, and
BacktestDetector scoring inline series without saving anything."""

from __future__ import annotations

import math
from typing import Any

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.timestamp_pb2 import Timestamp

from aiops_api.v1 import data_source_service_pb2, detector_pb2
from aiops_api.v1 import detector_service_pb2 as pb
from tests.conftest import Api
from tests.rpc import detector, failure, prometheus

SOURCE = "dataSources/prom"
DAY = Duration(seconds=86_400)


@pytest.fixture
async def source(api: Api) -> str:
    created = await api.data_sources.CreateDataSource(
        data_source_service_pb2.CreateDataSourceRequest(
            data_source=prometheus(), data_source_id="prom"
        )
    )
    return created.name


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"robust_z_score": detector_pb2.RobustZScore()}, {"robust_z_score": {"window": 60}}),
        ({"ewma": detector_pb2.Ewma(span=30)}, {"ewma": {"span": 30}}),
        (
            {"seasonal_baseline": detector_pb2.SeasonalBaseline()},
            {"seasonal_baseline": {"period": "86400s", "seasons": 4}},
        ),
        (
            {"change_point": detector_pb2.ChangePoint(drift=1.0)},
            {"change_point": {"span": 120, "drift": 1.0, "threshold": 5.0}},
        ),
        (
            {"ensemble": detector_pb2.Ensemble(window=100)},
            {"ensemble": {"window": 100, "period": "86400s", "half_life": 2000}},
        ),
        (
            # A day is no whole number of 7s steps: the default runs without a season.
            {"ensemble": detector_pb2.Ensemble(), "step": Duration(seconds=7)},
            {"ensemble": {"window": 200, "period": "0s", "half_life": 2000}},
        ),
    ],
)
async def test_each_algorithm_is_selectable_with_its_defaults_filled(
    api: Api, source: str, fields: dict[str, Any], expected: dict[str, Any]
) -> None:
    created = await api.detectors.CreateDetector(
        pb.CreateDetectorRequest(detector=detector(source, **fields), detector_id="d")
    )
    (which,) = expected
    assert which in fields
    assert created.WhichOneof("algorithm") == which
    config = getattr(created, which)
    for field, value in expected[which].items():
        got = getattr(config, field)
        assert (got.ToJsonString() if isinstance(got, Duration) else got) == value


async def test_direction_and_min_deviation_are_kept(api: Api, source: str) -> None:
    created = await api.detectors.CreateDetector(
        pb.CreateDetectorRequest(
            detector=detector(source, direction=detector_pb2.DIRECTION_UP, min_deviation=0.25),
            detector_id="d",
        )
    )
    assert created.direction == detector_pb2.DIRECTION_UP
    assert created.min_deviation == 0.25
    got = await api.detectors.GetDetector(pb.GetDetectorRequest(name=created.name))
    assert got == created


async def test_update_switches_the_algorithm(api: Api, source: str) -> None:
    created = await api.detectors.CreateDetector(
        pb.CreateDetectorRequest(detector=detector(source), detector_id="d")
    )
    updated = await api.detectors.UpdateDetector(
        pb.UpdateDetectorRequest(
            detector=detector_pb2.Detector(
                name=created.name,
                ewma=detector_pb2.Ewma(span=15),
                direction=detector_pb2.DIRECTION_DOWN,
            ),
            update_mask=FieldMask(paths=["ewma", "direction"]),
        )
    )
    assert updated.WhichOneof("algorithm") == "ewma"
    assert updated.ewma.span == 15
    assert updated.direction == detector_pb2.DIRECTION_DOWN


BAD_SETTINGS = [
    ({"robust_z_score": detector_pb2.RobustZScore(window=-1)}, "detector.robust_z_score.window"),
    ({"ewma": detector_pb2.Ewma(span=-3)}, "detector.ewma.span"),
    ({"ewma": detector_pb2.Ewma(span=100_001)}, "detector.ewma.span"),
    (
        {"seasonal_baseline": detector_pb2.SeasonalBaseline(period=Duration(seconds=90))},
        "detector.seasonal_baseline.period",  # not a whole number of 60s steps
    ),
    (
        {"seasonal_baseline": detector_pb2.SeasonalBaseline(period=Duration(seconds=60))},
        "detector.seasonal_baseline.period",  # one step is no season
    ),
    (
        # Four weeks of minutes: more than the history a detector fetches.
        {"seasonal_baseline": detector_pb2.SeasonalBaseline(period=Duration(seconds=2_419_200))},
        "detector.seasonal_baseline.period",
    ),
    (
        {"seasonal_baseline": detector_pb2.SeasonalBaseline(period=Duration(seconds=-86_400))},
        "detector.seasonal_baseline.period",
    ),
    (
        {"seasonal_baseline": detector_pb2.SeasonalBaseline(seasons=5000)},
        "detector.seasonal_baseline.seasons",
    ),
    ({"change_point": detector_pb2.ChangePoint(drift=-1)}, "detector.change_point.drift"),
    ({"change_point": detector_pb2.ChangePoint(threshold=-2)}, "detector.change_point.threshold"),
    (
        {"change_point": detector_pb2.ChangePoint(threshold=math.inf)},
        "detector.change_point.threshold",
    ),
    ({"ensemble": detector_pb2.Ensemble(window=5)}, "detector.ensemble.window"),
    ({"ensemble": detector_pb2.Ensemble(half_life=-1)}, "detector.ensemble.half_life"),
    (
        {"ensemble": detector_pb2.Ensemble(period=Duration(seconds=90))},
        "detector.ensemble.period",
    ),
    (
        {"ensemble": detector_pb2.Ensemble(period=Duration(seconds=-60))},
        "detector.ensemble.period",
    ),
    ({"direction": 42}, "detector.direction"),
    ({"min_deviation": -1.0}, "detector.min_deviation"),
    ({"min_deviation": math.nan}, "detector.min_deviation"),
    ({"thresholds": detector_pb2.SeverityThresholds(warning=-1)}, "detector.thresholds.warning"),
    ({"evaluation_delay": Duration(seconds=-5)}, "detector.evaluation_delay"),
    ({"evaluation_delay": Duration(seconds=3601)}, "detector.evaluation_delay"),
    ({"evaluation_delay": Duration(seconds=1, nanos=500_000_000)}, "detector.evaluation_delay"),
    ({"backfill_points": -1}, "detector.backfill_points"),
    ({"backfill_points": 20_161}, "detector.backfill_points"),
    (
        {"absence": detector_pb2.Absence(policy=9)},  # type: ignore[arg-type]
        "detector.absence.policy",
    ),
    ({"absence": detector_pb2.Absence(steps=-2)}, "detector.absence.steps"),
    ({"absence": detector_pb2.Absence(steps=10_001)}, "detector.absence.steps"),
]


async def test_how_a_detector_reads_its_data_is_kept_and_updated(api: Api, source: str) -> None:
    created = await api.detectors.CreateDetector(
        pb.CreateDetectorRequest(detector=detector(source), detector_id="d")
    )
    assert not created.HasField("evaluation_delay"), "unset: the server's"
    assert created.backfill_points == 0, "0: the server's"
    assert created.absence == detector_pb2.Absence(policy=detector_pb2.Absence.POLICY_SKIP, steps=5)
    changed = detector_pb2.Detector(
        name=created.name,
        evaluation_delay=Duration(seconds=0),
        backfill_points=500,
        absence=detector_pb2.Absence(policy=detector_pb2.Absence.POLICY_NO_DATA, steps=3),
    )
    updated = await api.detectors.UpdateDetector(
        pb.UpdateDetectorRequest(
            detector=changed,
            update_mask=FieldMask(paths=["evaluation_delay", "backfill_points", "absence"]),
        )
    )
    assert updated.HasField("evaluation_delay") and updated.evaluation_delay.seconds == 0
    assert (updated.backfill_points, updated.absence) == (500, changed.absence)
    assert await api.detectors.GetDetector(pb.GetDetectorRequest(name=created.name)) == updated
    cleared = await api.detectors.UpdateDetector(
        pb.UpdateDetectorRequest(
            detector=detector_pb2.Detector(name=created.name),
            update_mask=FieldMask(paths=["evaluation_delay"]),
        )
    )
    assert not cleared.HasField("evaluation_delay"), "back to the server's"


@pytest.mark.parametrize(("fields", "field"), BAD_SETTINGS)
async def test_bad_settings_are_invalid_argument_at_create(
    api: Api, source: str, fields: dict[str, Any], field: str
) -> None:
    error = await failure(
        api.detectors.CreateDetector(
            pb.CreateDetectorRequest(detector=detector(source, **fields), detector_id="d")
        )
    )
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in error.violations, error.violations
    listed = await api.detectors.ListDetectors(pb.ListDetectorsRequest())
    assert list(listed.detectors) == []


@pytest.mark.parametrize(("fields", "field"), BAD_SETTINGS[:4])
async def test_bad_settings_are_invalid_argument_at_update(
    api: Api, source: str, fields: dict[str, Any], field: str
) -> None:
    created = await api.detectors.CreateDetector(
        pb.CreateDetectorRequest(detector=detector(source), detector_id="d")
    )
    error = await failure(
        api.detectors.UpdateDetector(
            pb.UpdateDetectorRequest(
                detector=detector_pb2.Detector(name=created.name, **fields),
                update_mask=FieldMask(paths=list(fields)),
            )
        )
    )
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in error.violations, error.violations
    unchanged = await api.detectors.GetDetector(pb.GetDetectorRequest(name=created.name))
    assert unchanged == created


async def test_an_algorithm_this_server_lacks_is_invalid_argument(api: Api, source: str) -> None:
    spec = detector(source)
    # An empty message in a field number the contract does not have (yet).
    number = max(field.number for field in detector_pb2.Detector.DESCRIPTOR.fields) + 100
    spec.MergeFromString(_varint(number << 3 | 2) + b"\x00")
    error = await failure(
        api.detectors.CreateDetector(pb.CreateDetectorRequest(detector=spec, detector_id="d"))
    )
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert f"unknown field number {number}" in error.violations["detector"]


# BacktestDetector


def spike_series(n: int = 300, at: int = 250, start: int = 1_800_000_000) -> pb.BacktestSeries:
    values = [10.0 + math.sin(i / 5.0) * 0.5 for i in range(n)]
    values[at] = 40.0
    values[100] = math.nan  # a gap
    return pb.BacktestSeries(
        labels={"instance": "a"}, start_time=Timestamp(seconds=start), values=values
    )


@pytest.mark.parametrize("algorithm", ["robust_z_score", "ewma", "ensemble"])
async def test_backtest_scores_every_point_and_finds_the_spike(api: Api, algorithm: str) -> None:
    spec = detector_pb2.Detector()
    getattr(spec, algorithm).SetInParent()
    series = spike_series()
    response = await api.detectors.BacktestDetector(
        pb.BacktestDetectorRequest(detector=spec, series=[series])
    )

    (scored,) = response.series
    assert dict(scored.labels) == {"instance": "a"}
    assert scored.start_time == series.start_time
    assert len(scored.scores) == len(scored.expected) == len(scored.upper) == 300
    assert all(0.0 <= score <= 1.0 for score in scored.scores)
    assert math.isnan(scored.expected[0])  # warming up: no estimate yet
    assert scored.scores[250] == max(scored.scores)
    assert scored.lower[249] < series.values[249] < scored.upper[249]
    # Each point's severity is what its score reaches under the default thresholds.
    assert scored.severities[250] == detector_pb2.SEVERITY_CRITICAL
    for score, severity in zip(scored.scores, scored.severities, strict=True):
        if score >= 0.99:
            assert severity == detector_pb2.SEVERITY_CRITICAL
        elif score >= 0.95:
            assert severity == detector_pb2.SEVERITY_WARNING
        else:
            assert severity == detector_pb2.SEVERITY_UNSPECIFIED
    spike = [a for a in response.anomalies if a.start_time.seconds <= 1_800_000_000 + 250 * 60]
    assert spike, response.anomalies
    peak = max(spike, key=lambda anomaly: anomaly.peak_score)
    assert peak.start_time.seconds == 1_800_000_000 + 250 * 60
    assert peak.peak_value == 40.0
    assert peak.severity == detector_pb2.SEVERITY_CRITICAL
    assert peak.name == ""  # not saved


async def test_backtest_saves_nothing(api: Api, source: str) -> None:
    await api.detectors.BacktestDetector(
        pb.BacktestDetectorRequest(detector=detector(source), series=[spike_series()])
    )
    listed = await api.detectors.ListAnomalies(pb.ListAnomaliesRequest(parent="detectors/-"))
    assert list(listed.anomalies) == []
    assert list((await api.detectors.ListDetectors(pb.ListDetectorsRequest())).detectors) == []


async def test_backtest_of_a_seasonal_detector_uses_absolute_slots(api: Api) -> None:
    """Two series starting in different phases of the day see the same daily pattern."""
    spec = detector_pb2.Detector(
        step=Duration(seconds=3600),
        seasonal_baseline=detector_pb2.SeasonalBaseline(period=DAY),
    )
    day = [float(hour) for hour in range(24)]
    aligned = pb.BacktestSeries(start_time=Timestamp(seconds=0), values=day * 5)
    shifted = pb.BacktestSeries(start_time=Timestamp(seconds=6 * 3600), values=(day * 6)[6:126])
    response = await api.detectors.BacktestDetector(
        pb.BacktestDetectorRequest(detector=spec, series=[aligned, shifted])
    )
    for scored in response.series:
        assert max(scored.scores) == 0.0
        assert scored.expected[-1] == scored.expected[-1]  # learnt by then
    assert list(response.anomalies) == []


def points(n: int, start: int = 0) -> pb.BacktestSeries:
    return pb.BacktestSeries(start_time=Timestamp(seconds=start), values=[1.0] * n)


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"series": [points(10)]}, "detector"),
        ({"detector": detector_pb2.Detector()}, "series"),
        ({"detector": detector_pb2.Detector(), "series": [points(1)] * 1001}, "series"),
        ({"detector": detector_pb2.Detector(), "series": [points(60_000)] * 2}, "series"),
        ({"detector": detector_pb2.Detector(), "series": [points(0)]}, "series[0].values"),
        (
            {
                "detector": detector_pb2.Detector(),
                "series": [points(5), pb.BacktestSeries(values=[1])],
            },
            "series[1].start_time",
        ),
        (
            {"detector": detector_pb2.Detector(), "series": [points(5, start=61)]},
            "series[0].start_time",
        ),
        (
            {
                "detector": detector_pb2.Detector(),
                "series": [
                    pb.BacktestSeries(
                        start_time=Timestamp(), values=[1], labels={f"l{i}": "v" for i in range(65)}
                    )
                ],
            },
            "series[0].labels",
        ),
        (
            {
                "detector": detector_pb2.Detector(ewma=detector_pb2.Ewma(span=0), min_deviation=-1),
                "series": [points(5)],
            },
            "detector.min_deviation",
        ),
        (
            {
                "detector": detector_pb2.Detector(step=Duration(seconds=0, nanos=1)),
                "series": [points(5)],
            },
            "detector.step",
        ),
    ],
)
async def test_bad_backtests_are_invalid_argument(
    api: Api, request_fields: dict[str, Any], field: str
) -> None:
    error = await failure(
        api.detectors.BacktestDetector(pb.BacktestDetectorRequest(**request_fields))
    )
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in error.violations, error.violations


async def test_backtest_takes_adversarial_values(api: Api) -> None:
    values = [math.nan] * 20 + [math.inf, -math.inf] + [5.0] * 150 + [6.0, 1e300, -1e300, 5.0]
    response = await api.detectors.BacktestDetector(
        pb.BacktestDetectorRequest(
            detector=detector_pb2.Detector(),
            series=[pb.BacktestSeries(start_time=Timestamp(), values=values)],
        )
    )
    scores = list(response.series[0].scores)
    assert all(0.0 <= score <= 1.0 for score in scores)
    assert scores[-4] > 0.5  # a change on a constant series is anomalous


def _varint(value: int) -> bytes:
    """Protobuf's base-128 varint: seven bits a byte, lowest first."""
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes([*out, value])
