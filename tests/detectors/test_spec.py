"""The detector's spec without a server: defaults, checks and what a spec builds."""

from __future__ import annotations

import pytest
from google.protobuf.duration_pb2 import Duration

from aiops.detect import registry
from aiops.detect.ensemble import Ensemble
from aiops.detect.scoring import UP
from aiops.detect.seasonal import SeasonalBaseline
from aiops.detectors import spec
from aiops.validation import Violations
from aiops_api.v1 import detector_pb2

Detector = detector_pb2.Detector


def prepared(detector: Detector, *, reads: bool = False) -> tuple[Detector, dict[str, str]]:
    violations = Violations()
    result = spec.prepare(detector, violations, reads=reads)
    return result, {v.field: v.description for v in violations.items}


def test_an_empty_detector_gets_the_default_algorithm_and_settings_without_changing_the_input() -> (
    None
):
    sent = Detector()
    detector, problems = prepared(sent)
    assert problems == {}
    assert sent == Detector()  # a copy is prepared
    assert detector.WhichOneof("algorithm") == registry.DEFAULT
    assert detector.step.seconds == 60
    assert detector.direction == detector_pb2.DIRECTION_BOTH
    assert (detector.thresholds.warning, detector.thresholds.critical) == (0.95, 0.99)
    assert (detector.ensemble.window, detector.ensemble.half_life) == (200, 2000)
    assert detector.ensemble.period.seconds == 86_400


@pytest.mark.parametrize("registered", registry.ALGORITHMS, ids=lambda r: r.name)
def test_every_algorithm_prepares_and_builds_with_its_class_defaults(
    registered: registry.Registered,
) -> None:
    sent = Detector(step=Duration(seconds=60))
    getattr(sent, registered.name).SetInParent()
    detector, problems = prepared(sent)
    assert problems == {}
    algorithm, _ = spec.build(detector)
    # A day at one-minute steps is the classes' own default period, so all defaults agree.
    assert algorithm == registered.default()


def test_a_period_is_given_in_seconds_and_built_in_steps() -> None:
    sent = Detector(
        step=Duration(seconds=300),
        seasonal_baseline=detector_pb2.SeasonalBaseline(period=Duration(seconds=3600)),
        direction=detector_pb2.DIRECTION_UP,
        thresholds=detector_pb2.SeverityThresholds(warning=0.9),
    )
    algorithm, scoring = spec.build(prepared(sent)[0])
    assert algorithm == SeasonalBaseline(period=12, seasons=4)
    assert scoring.direction == UP


def test_the_optional_season_is_off_where_a_day_is_no_whole_number_of_steps() -> None:
    detector, problems = prepared(Detector(step=Duration(seconds=7)))
    assert problems == {}
    assert detector.ensemble.period.seconds == 0
    assert spec.build(detector)[0] == Ensemble(window=200, period=0, half_life=2000)


def test_every_problem_is_named_at_once_under_the_prefix() -> None:
    sent = Detector(
        step=Duration(seconds=0),
        change_point=detector_pb2.ChangePoint(span=-1, drift=11.0),
        thresholds=detector_pb2.SeverityThresholds(warning=0.99, critical=0.9),
        query="x" * (16 * 1024 + 1),
    )
    violations = Violations()
    spec.prepare(sent, violations, prefix="spec")
    assert {v.field for v in violations.items} == {
        "spec.data_source",
        "spec.query",
        "spec.step",
        "spec.change_point.span",
        "spec.change_point.drift",
        "spec.thresholds.critical",
    }


def test_a_backtest_spec_needs_no_data_source_nor_query() -> None:
    assert prepared(Detector(), reads=False)[1] == {}
    assert set(prepared(Detector(), reads=True)[1]) == {"detector.data_source", "detector.query"}
