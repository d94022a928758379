"""DetectorService's detector methods against a live server, on SQLite and PostgreSQL."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.timestamp_pb2 import Timestamp

from aiops_api.v1 import data_source_service_pb2, detector_pb2
from aiops_api.v1 import detector_service_pb2 as pb
from tests.conftest import Api
from tests.rpc import detector, failure, prometheus

Detector = detector_pb2.Detector
SOURCE = "dataSources/prom"


@pytest.fixture
async def source(api: Api) -> str:
    created = await api.data_sources.CreateDataSource(
        data_source_service_pb2.CreateDataSourceRequest(
            data_source=prometheus(), data_source_id="prom"
        )
    )
    return created.name


async def create(api: Api, detector_id: str = "latency", **fields: object) -> Detector:
    return await api.detectors.CreateDetector(
        pb.CreateDetectorRequest(detector=detector(SOURCE, **fields), detector_id=detector_id)
    )


async def test_create_fills_defaults_and_starts_stopped(api: Api, source: str) -> None:
    created = await create(api, "latency", display_name="API latency")

    assert created.name == "detectors/latency"
    assert created.data_source == source
    assert created.state == Detector.STATE_STOPPED
    assert created.step.ToSeconds() == 60
    # The ensemble, with its parameters filled: what is stored says what runs.
    assert created.WhichOneof("algorithm") == "ensemble"
    assert created.ensemble.window == 200
    assert created.ensemble.period.ToSeconds() == 86_400
    assert created.ensemble.half_life == 2000
    assert created.direction == detector_pb2.DIRECTION_BOTH
    assert created.min_deviation == 0
    assert not created.export_scores
    assert created.thresholds.warning == pytest.approx(0.95)
    assert created.thresholds.critical == pytest.approx(0.99)
    assert created.etag and created.create_time.seconds > 0
    got = await api.detectors.GetDetector(pb.GetDetectorRequest(name=created.name))
    assert got == created


async def test_create_keeps_given_settings(api: Api, source: str) -> None:
    created = await create(
        api,
        step=Duration(seconds=15),
        robust_z_score=detector_pb2.RobustZScore(window=1440),
        thresholds=detector_pb2.SeverityThresholds(warning=0.8, critical=0.9),
        description="p99 latency of the API",
    )

    assert created.step.ToSeconds() == 15
    assert created.robust_z_score.window == 1440
    assert created.thresholds.warning == pytest.approx(0.8)
    assert created.description == "p99 latency of the API"


async def test_duplicate_id_is_already_exists(api: Api, source: str) -> None:
    await create(api, "latency")

    error = await failure(create(api, "latency"))

    assert error.code == grpc.StatusCode.ALREADY_EXISTS
    assert error.metadata["name"] == "detectors/latency"


@pytest.mark.parametrize(
    ("detector_id", "fields", "field"),
    [
        ("Bad", {}, "detector_id"),
        ("ok", {"query": ""}, "detector.query"),
        ("ok", {"query": "   "}, "detector.query"),
        ("ok", {"query": "x" * 100_000}, "detector.query"),
        ("ok", {"data_source": ""}, "detector.data_source"),
        ("ok", {"data_source": "prom"}, "detector.data_source"),
        ("ok", {"data_source": "dataSources/missing"}, "detector.data_source"),
        ("ok", {"step": Duration(seconds=0, nanos=500)}, "detector.step"),
        ("ok", {"step": Duration(seconds=90_000)}, "detector.step"),
        ("ok", {"step": Duration(seconds=-5)}, "detector.step"),
        (
            "ok",
            {"robust_z_score": detector_pb2.RobustZScore(window=-1)},
            "detector.robust_z_score.window",
        ),
        (
            "ok",
            {"robust_z_score": detector_pb2.RobustZScore(window=100_001)},
            "detector.robust_z_score.window",
        ),
        (
            "ok",
            {"thresholds": detector_pb2.SeverityThresholds(warning=-0.5)},
            "detector.thresholds.warning",
        ),
        (
            "ok",
            {"thresholds": detector_pb2.SeverityThresholds(warning=1.5)},
            "detector.thresholds.warning",
        ),
        (
            "ok",
            {"thresholds": detector_pb2.SeverityThresholds(warning=float("nan"))},
            "detector.thresholds.warning",
        ),
        (
            "ok",
            {"thresholds": detector_pb2.SeverityThresholds(warning=0.9, critical=0.5)},
            "detector.thresholds.critical",
        ),
        ("ok", {"display_name": "d" * 201}, "detector.display_name"),
        ("ok", {"description": "d" * 2001}, "detector.description"),
        ("ok", {"state": Detector.STATE_RUNNING}, "detector.state"),
        ("ok", {"state_reason": "because"}, "detector.state_reason"),
        ("ok", {"update_time": Timestamp(seconds=1)}, "detector.update_time"),
    ],
)
async def test_create_rejects_bad_fields_and_writes_nothing(
    api: Api, source: str, detector_id: str, fields: dict[str, object], field: str
) -> None:
    fields = dict(fields)  # the parameters are shared by both backends' runs
    request_detector = detector(str(fields.pop("data_source", SOURCE)), **fields)

    error = await failure(
        api.detectors.CreateDetector(
            pb.CreateDetectorRequest(detector=request_detector, detector_id=detector_id)
        )
    )

    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in error.violations, error.violations
    listed = await api.detectors.ListDetectors(pb.ListDetectorsRequest())
    assert list(listed.detectors) == []


async def test_start_and_stop_set_the_stored_state(api: Api, source: str) -> None:
    created = await create(api)

    started = await api.detectors.StartDetector(pb.StartDetectorRequest(name=created.name))
    started_again = await api.detectors.StartDetector(pb.StartDetectorRequest(name=created.name))
    stored = await api.detectors.GetDetector(pb.GetDetectorRequest(name=created.name))
    stopped = await api.detectors.StopDetector(pb.StopDetectorRequest(name=created.name))
    stopped_again = await api.detectors.StopDetector(pb.StopDetectorRequest(name=created.name))

    # The pipeline backfills, and finds no Prometheus at the data source's URL: degraded.
    assert started.state == Detector.STATE_BACKFILLING
    assert started_again.state in (Detector.STATE_BACKFILLING, Detector.STATE_DEGRADED)
    assert stored.state in (Detector.STATE_BACKFILLING, Detector.STATE_DEGRADED)
    assert stopped.state == Detector.STATE_STOPPED
    assert stopped_again == stopped


@pytest.mark.parametrize("method", ["StartDetector", "StopDetector", "GetDetector"])
@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("", grpc.StatusCode.INVALID_ARGUMENT),
        ("dataSources/prom", grpc.StatusCode.INVALID_ARGUMENT),
        ("detectors/", grpc.StatusCode.INVALID_ARGUMENT),
        ("detectors/x/anomalies/y", grpc.StatusCode.INVALID_ARGUMENT),
        ("detectors/missing", grpc.StatusCode.NOT_FOUND),
    ],
)
async def test_methods_by_name_check_the_name(
    api: Api, method: str, name: str, code: grpc.StatusCode
) -> None:
    request_type = getattr(pb, f"{method}Request")

    error = await failure(getattr(api.detectors, method)(request_type(name=name)))

    assert error.code == code
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        assert "name" in error.violations


async def test_list_filters_by_state_and_data_source(api: Api, source: str) -> None:
    await api.data_sources.CreateDataSource(
        data_source_service_pb2.CreateDataSourceRequest(
            data_source=prometheus(), data_source_id="other"
        )
    )
    await create(api, "a")
    await create(api, "b")
    await api.detectors.CreateDetector(
        pb.CreateDetectorRequest(detector=detector("dataSources/other"), detector_id="c")
    )
    await api.detectors.StartDetector(pb.StartDetectorRequest(name="detectors/b"))

    stopped = await api.detectors.ListDetectors(
        pb.ListDetectorsRequest(filter="state = STATE_STOPPED")
    )
    on_prom = await api.detectors.ListDetectors(
        pb.ListDetectorsRequest(filter=f'data_source = "{source}"')
    )
    stopped_on_prom = await api.detectors.ListDetectors(
        pb.ListDetectorsRequest(filter=f'state = STOPPED AND data_source = "{source}"')
    )

    assert [d.name for d in stopped.detectors] == ["detectors/a", "detectors/c"]
    assert [d.name for d in on_prom.detectors] == ["detectors/a", "detectors/b"]
    assert [d.name for d in stopped_on_prom.detectors] == ["detectors/a"]


async def test_list_pages(api: Api, source: str) -> None:
    for i in range(5):
        await create(api, f"d{i}")

    first = await api.detectors.ListDetectors(pb.ListDetectorsRequest(page_size=2))
    second = await api.detectors.ListDetectors(
        pb.ListDetectorsRequest(page_size=2, page_token=first.next_page_token)
    )
    third = await api.detectors.ListDetectors(
        pb.ListDetectorsRequest(page_size=2, page_token=second.next_page_token)
    )

    assert [d.name for d in first.detectors] == ["detectors/d0", "detectors/d1"]
    assert [d.name for d in second.detectors] == ["detectors/d2", "detectors/d3"]
    assert [d.name for d in third.detectors] == ["detectors/d4"]
    assert third.next_page_token == ""


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"page_size": -5}, "page_size"),
        ({"page_token": "!!!"}, "page_token"),
        ({"filter": "state = SLEEPING"}, "filter"),
        ({"filter": 'data_source = "prom"'}, "filter"),
        ({"filter": "query = up"}, "filter"),
    ],
)
async def test_list_rejects_bad_requests(
    api: Api, request_fields: dict[str, object], field: str
) -> None:
    error = await failure(api.detectors.ListDetectors(pb.ListDetectorsRequest(**request_fields)))  # type: ignore[arg-type]

    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in error.violations


async def test_update_honours_the_mask(api: Api, source: str) -> None:
    created = await create(api, query="up", display_name="old")

    updated = await api.detectors.UpdateDetector(
        pb.UpdateDetectorRequest(
            detector=Detector(
                name=created.name,
                query="sum(rate(errors_total[5m]))",
                display_name="ignored",
                robust_z_score=detector_pb2.RobustZScore(window=10),
            ),
            update_mask=FieldMask(paths=["query", "robust_z_score"]),
        )
    )

    assert updated.query == "sum(rate(errors_total[5m]))"
    assert updated.robust_z_score.window == 10
    assert updated.display_name == "old"
    assert updated.state == created.state
    assert updated.etag != created.etag


async def test_the_scores_export_is_switched_on_and_off_by_update(api: Api, source: str) -> None:
    created = await create(api, export_scores=True)
    assert created.export_scores

    switched = await api.detectors.UpdateDetector(
        pb.UpdateDetectorRequest(
            detector=Detector(name=created.name), update_mask=FieldMask(paths=["export_scores"])
        )
    )

    assert not switched.export_scores
    got = await api.detectors.GetDetector(pb.GetDetectorRequest(name=created.name))
    assert not got.export_scores


async def test_update_star_resets_unset_fields_to_defaults(api: Api, source: str) -> None:
    created = await create(api, step=Duration(seconds=15), display_name="x")

    updated = await api.detectors.UpdateDetector(
        pb.UpdateDetectorRequest(
            detector=Detector(name=created.name, data_source=SOURCE, query="up"),
            update_mask=FieldMask(paths=["*"]),
        )
    )

    assert updated.display_name == ""
    assert updated.step.ToSeconds() == 60
    assert updated.query == "up"


async def test_update_keeps_the_state_of_a_running_detector(api: Api, source: str) -> None:
    created = await create(api)
    await api.detectors.StartDetector(pb.StartDetectorRequest(name=created.name))

    updated = await api.detectors.UpdateDetector(
        pb.UpdateDetectorRequest(detector=Detector(name=created.name, display_name="renamed"))
    )

    assert updated.display_name == "renamed"
    assert updated.state in (Detector.STATE_BACKFILLING, Detector.STATE_DEGRADED)


@pytest.mark.parametrize(
    ("fields", "paths", "field"),
    [
        ({"query": ""}, ["query"], "detector.query"),
        ({"query": "q" * 20_000}, ["query"], "detector.query"),
        ({"data_source": "dataSources/missing"}, ["data_source"], "detector.data_source"),
        ({"data_source": "nope"}, ["data_source"], "detector.data_source"),
        ({}, ["state"], "update_mask"),
        ({}, ["etag"], "update_mask"),
        ({}, ["robust_z_score.window"], "update_mask"),
        ({"state": Detector.STATE_RUNNING}, [], "detector.state"),
        (
            {"thresholds": detector_pb2.SeverityThresholds(warning=2)},
            ["thresholds"],
            "detector.thresholds.warning",
        ),
    ],
)
async def test_update_rejects_bad_values_and_writes_nothing(
    api: Api, source: str, fields: dict[str, object], paths: list[str], field: str
) -> None:
    created = await create(api)

    error = await failure(
        api.detectors.UpdateDetector(
            pb.UpdateDetectorRequest(
                detector=Detector(name=created.name, **fields),  # type: ignore[arg-type]
                update_mask=FieldMask(paths=paths),
            )
        )
    )

    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in error.violations, error.violations
    assert await api.detectors.GetDetector(pb.GetDetectorRequest(name=created.name)) == created


async def test_update_with_stale_etag_is_aborted(api: Api, source: str) -> None:
    created = await create(api)
    await api.detectors.UpdateDetector(
        pb.UpdateDetectorRequest(detector=Detector(name=created.name, display_name="one"))
    )

    error = await failure(
        api.detectors.UpdateDetector(
            pb.UpdateDetectorRequest(
                detector=Detector(name=created.name, display_name="two", etag=created.etag)
            )
        )
    )

    assert error.code == grpc.StatusCode.ABORTED
    got = await api.detectors.GetDetector(pb.GetDetectorRequest(name=created.name))
    assert got.display_name == "one"


async def test_delete_frees_the_data_source(api: Api, source: str) -> None:
    created = await create(api)

    await api.detectors.DeleteDetector(pb.DeleteDetectorRequest(name=created.name))

    error = await failure(api.detectors.GetDetector(pb.GetDetectorRequest(name=created.name)))
    assert error.code == grpc.StatusCode.NOT_FOUND
    await api.data_sources.DeleteDataSource(
        data_source_service_pb2.DeleteDataSourceRequest(name=source)
    )


async def test_delete_with_stale_etag_is_aborted(api: Api, source: str) -> None:
    created = await create(api)

    error = await failure(
        api.detectors.DeleteDetector(pb.DeleteDetectorRequest(name=created.name, etag='"0"'))
    )

    assert error.code == grpc.StatusCode.ABORTED
    await api.detectors.GetDetector(pb.GetDetectorRequest(name=created.name))
