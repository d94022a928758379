"""Log-pattern detectors through the API: their settings filled and checked like any
algorithm's, their query asked of Loki when they are created or changed (a query Loki refuses
is INVALID_ARGUMENT on `detector.query`, in Loki's words), and ListLogPatterns' requests
checked. What they find is in tests/pipeline/test_log_pattern_detector.py."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf import json_format
from google.protobuf.field_mask_pb2 import FieldMask

from aiops_api.v1 import data_source_pb2, data_source_service_pb2, detector_pb2
from aiops_api.v1 import detector_service_pb2 as pb
from tests.conftest import Api
from tests.loki import LokiServer
from tests.postgres import free_port
from tests.rpc import detector, failure, prometheus

LogPatternRates = detector_pb2.LogPatternRates


@pytest.fixture
async def loki(api: Api, loki_server: LokiServer) -> str:
    created = await api.data_sources.CreateDataSource(
        data_source_service_pb2.CreateDataSourceRequest(
            data_source=prometheus(
                kind=data_source_pb2.DataSource.KIND_LOKI, urls=[loki_server.url]
            ),
            data_source_id="loki",
        )
    )
    return created.name


def log_detector(
    data_source: str, query: str = '{app="api"}', **config: Any
) -> detector_pb2.Detector:
    return detector(data_source, query=query, log_pattern=LogPatternRates(**config))


async def create(api: Api, spec: detector_pb2.Detector, key: str = "logs") -> detector_pb2.Detector:
    return await api.detectors.CreateDetector(
        pb.CreateDetectorRequest(detector=spec, detector_id=key)
    )


async def test_a_log_pattern_detector_gets_its_defaults_and_ignores_the_source_that_ran(
    api: Api, loki: str
) -> None:
    sent = log_detector(loki, effective_source=LogPatternRates.SOURCE_MINED)
    created = await create(api, sent)
    assert json_format.MessageToDict(created.log_pattern, preserving_proto_field_name=True) == {
        "source": "SOURCE_AUTO",
        "max_lines_per_step": 10000,
        "max_templates": 1000,
        "baseline_steps": 120,
        "ensemble": {"window": 200, "period": "86400s", "half_life": 2000},
    }
    fetched = await api.detectors.GetDetector(pb.GetDetectorRequest(name=created.name))
    assert fetched.log_pattern == created.log_pattern  # unset until it runs


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"source": 7}, "detector.log_pattern.source"),
        ({"max_lines_per_step": -1}, "detector.log_pattern.max_lines_per_step"),
        ({"max_lines_per_step": 1_000_001}, "detector.log_pattern.max_lines_per_step"),
        ({"max_templates": 9}, "detector.log_pattern.max_templates"),
        ({"baseline_steps": 20_161}, "detector.log_pattern.baseline_steps"),
        (
            {"robust_z_score": detector_pb2.RobustZScore(window=-1)},
            "detector.log_pattern.robust_z_score.window",
        ),
        (
            {"change_point": detector_pb2.ChangePoint(drift=11)},
            "detector.log_pattern.change_point.drift",
        ),
    ],
)
async def test_bad_settings_name_their_field(
    api: Api, loki: str, config: dict[str, Any], field: str
) -> None:
    found = await failure(create(api, log_detector(loki, **config)))
    assert found.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(found.violations) == {field}


@pytest.mark.parametrize(
    ("query", "config", "field", "words"),
    [
        ('sum(count_over_time({app="api"}[1m]))', {}, "detector.query", "LogQL log query"),
        ('{app="api"', {}, "detector.query", "LogQL log query"),
        (
            '{app="api"} |= "timeout"',
            {"source": LogPatternRates.SOURCE_LOKI_PATTERNS},
            "detector.log_pattern.source",
            "line filters",
        ),
        # Loki's own refusals: no matcher that selects, and a regular expression it cannot read.
        ('{app=~".*"}', {}, "detector.query", "Loki says"),
        ('{app=~"("}', {}, "detector.query", "Loki says"),
        ('{app="api"} |~ "(" ', {}, "detector.query", "Loki says"),
    ],
)
async def test_a_query_that_cannot_be_mined_is_refused_naming_it(
    api: Api, loki: str, query: str, config: dict[str, Any], field: str, words: str
) -> None:
    found = await failure(create(api, log_detector(loki, query, **config)))
    assert found.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(found.violations) == {field}
    assert words in found.violations[field]


async def test_a_query_loki_refuses_is_refused_on_update_too(api: Api, loki: str) -> None:
    created = await create(api, log_detector(loki, '{app="api"} != "healthcheck"'))
    found = await failure(
        api.detectors.UpdateDetector(
            pb.UpdateDetectorRequest(
                detector=detector_pb2.Detector(name=created.name, query='{app=~".*"}'),
                update_mask=FieldMask(paths=["query"]),
            )
        )
    )
    assert found.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "Loki says" in found.violations["detector.query"]


async def test_a_detector_becomes_a_log_pattern_one_by_its_mask(api: Api, loki: str) -> None:
    created = await create(api, detector(loki, query='{app="api"}'))
    assert created.WhichOneof("algorithm") == "ensemble"
    changed = await api.detectors.UpdateDetector(
        pb.UpdateDetectorRequest(
            detector=detector_pb2.Detector(
                name=created.name,
                log_pattern=LogPatternRates(
                    source=LogPatternRates.SOURCE_MINED,
                    effective_source=LogPatternRates.SOURCE_LOKI_PATTERNS,
                ),
            ),
            update_mask=FieldMask(paths=["log_pattern"]),
        )
    )
    assert changed.WhichOneof("algorithm") == "log_pattern"
    assert changed.log_pattern.source == LogPatternRates.SOURCE_MINED
    assert changed.log_pattern.effective_source == LogPatternRates.SOURCE_UNSPECIFIED


async def test_only_loki_data_sources_take_log_pattern_detectors(api: Api) -> None:
    await api.data_sources.CreateDataSource(
        data_source_service_pb2.CreateDataSourceRequest(
            data_source=prometheus(), data_source_id="prom"
        )
    )
    found = await failure(create(api, log_detector("dataSources/prom")))
    assert found.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "not Loki" in found.violations["detector.data_source"]


async def test_a_loki_that_does_not_answer_leaves_it_to_the_detector(api: Api) -> None:
    await api.data_sources.CreateDataSource(
        data_source_service_pb2.CreateDataSourceRequest(
            data_source=prometheus(
                kind=data_source_pb2.DataSource.KIND_LOKI,
                urls=[f"http://127.0.0.1:{free_port()}"],
            ),
            data_source_id="away",
        )
    )
    created = await create(api, log_detector("dataSources/away"))
    assert created.WhichOneof("algorithm") == "log_pattern"


async def test_a_backtest_scores_rates_sent_inline_but_mines_no_range(api: Api, loki: str) -> None:
    spec = log_detector(loki, robust_z_score=detector_pb2.RobustZScore(window=5))
    spec.step.seconds = 60
    rates = [0.1, 0.1, 0.12, 0.1, 0.11, 0.1, 0.1, 2.5, 0.1]
    scored = await api.detectors.BacktestDetector(
        pb.BacktestDetectorRequest(
            detector=spec,
            series=[
                pb.BacktestSeries(labels={"pattern": "1"}, start_time={"seconds": 0}, values=rates)
            ],
        )
    )
    assert [round(a.peak_value, 2) for a in scored.anomalies] == [2.5]
    found = await failure(
        api.detectors.BacktestDetector(
            pb.BacktestDetectorRequest(
                detector=spec,
                range=pb.TimeRange(start_time={"seconds": 0}, end_time={"seconds": 3600}),
            )
        )
    )
    assert found.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(found.violations) == {"range"}


async def test_list_log_patterns_checks_its_request(api: Api, loki: str) -> None:
    metrics = await create(api, detector(loki, query='sum(rate({app="api"}[1m]))'), "metrics")
    empty = await api.detectors.ListLogPatterns(pb.ListLogPatternsRequest(parent=metrics.name))
    assert (list(empty.log_patterns), empty.total_size, empty.next_page_token) == ([], 0, "")

    missing = await failure(
        api.detectors.ListLogPatterns(pb.ListLogPatternsRequest(parent="detectors/nope"))
    )
    assert missing.code == grpc.StatusCode.NOT_FOUND
    for request, field in [
        (pb.ListLogPatternsRequest(parent="nope"), "parent"),
        (pb.ListLogPatternsRequest(parent=metrics.name, page_size=-1), "page_size"),
        (pb.ListLogPatternsRequest(parent=metrics.name, page_token="x"), "page_token"),
        (pb.ListLogPatternsRequest(parent=metrics.name, filter="colour = red"), "filter"),
        (pb.ListLogPatternsRequest(parent=metrics.name, filter="count > many"), "filter"),
        (pb.ListLogPatternsRequest(parent=metrics.name, filter="error = maybe"), "filter"),
        (pb.ListLogPatternsRequest(parent=metrics.name, filter="template > 3"), "filter"),
        (pb.ListLogPatternsRequest(parent=metrics.name, filter="count > 1 OR x"), "filter"),
    ]:
        found = await failure(api.detectors.ListLogPatterns(request))
        assert found.code == grpc.StatusCode.INVALID_ARGUMENT, request
        assert set(found.violations) == {field}, request
