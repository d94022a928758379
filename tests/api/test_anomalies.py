"""Anomaly methods of DetectorService. The pipeline stores anomalies; here the test does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from aiops.store.models import AnomalyRow
from aiops_api.v1 import anomaly_pb2, data_source_service_pb2, detector_pb2
from aiops_api.v1 import detector_service_pb2 as pb
from tests.conftest import Api
from tests.rpc import detector, failure, prometheus

Anomaly = anomaly_pb2.Anomaly
T0 = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
async def detectors(api: Api) -> list[str]:
    await api.data_sources.CreateDataSource(
        data_source_service_pb2.CreateDataSourceRequest(
            data_source=prometheus(), data_source_id="prom"
        )
    )
    names = []
    for detector_id in ("cpu", "latency"):
        created = await api.detectors.CreateDetector(
            pb.CreateDetectorRequest(detector=detector("dataSources/prom"), detector_id=detector_id)
        )
        names.append(created.name)
    return names


async def store_anomaly(
    api: Api, detector_id: str, anomaly_id: str, minutes: int, severity: str = "SEVERITY_WARNING"
) -> str:
    async with api.sessions.begin() as session:
        session.add(
            AnomalyRow(
                id=anomaly_id,
                detector_id=detector_id,
                series_labels={"instance": "web-1", "job": "api"},
                start_time=T0 + timedelta(minutes=minutes),
                end_time=T0 + timedelta(minutes=minutes + 3),
                peak_score=0.97,
                peak_value=1234.5,
                severity=severity,
                state="STATE_OPEN",
            )
        )
    return f"detectors/{detector_id}/anomalies/{anomaly_id}"


async def test_get_returns_the_stored_anomaly(api: Api, detectors: list[str]) -> None:
    name = await store_anomaly(api, "cpu", "a1", minutes=5, severity="SEVERITY_CRITICAL")

    anomaly = await api.detectors.GetAnomaly(pb.GetAnomalyRequest(name=name))

    assert anomaly.name == name
    assert dict(anomaly.series_labels) == {"instance": "web-1", "job": "api"}
    assert anomaly.start_time.ToDatetime(UTC) == T0 + timedelta(minutes=5)
    assert anomaly.end_time.ToDatetime(UTC) == T0 + timedelta(minutes=8)
    assert anomaly.peak_score == pytest.approx(0.97)
    assert anomaly.severity == detector_pb2.SEVERITY_CRITICAL
    assert anomaly.state == Anomaly.STATE_OPEN


async def test_get_under_the_wrong_detector_is_not_found(api: Api, detectors: list[str]) -> None:
    await store_anomaly(api, "cpu", "a1", minutes=5)

    error = await failure(
        api.detectors.GetAnomaly(pb.GetAnomalyRequest(name="detectors/latency/anomalies/a1"))
    )

    assert error.code == grpc.StatusCode.NOT_FOUND


async def test_list_is_newest_first_per_detector_and_across_all(
    api: Api, detectors: list[str]
) -> None:
    for i in range(5):
        await store_anomaly(api, "cpu", f"c{i}", minutes=i)
    await store_anomaly(api, "latency", "l0", minutes=10)

    cpu = await api.detectors.ListAnomalies(pb.ListAnomaliesRequest(parent="detectors/cpu"))
    everything = await api.detectors.ListAnomalies(pb.ListAnomaliesRequest(parent="detectors/-"))

    assert [a.name.rsplit("/", 1)[1] for a in cpu.anomalies] == ["c4", "c3", "c2", "c1", "c0"]
    assert [a.name.rsplit("/", 1)[1] for a in everything.anomalies][:2] == ["l0", "c4"]
    assert len(everything.anomalies) == 6


async def test_list_pages_without_gaps_or_repeats(api: Api, detectors: list[str]) -> None:
    for i in range(7):  # two anomalies share each start time, so the id breaks ties
        await store_anomaly(api, "cpu", f"a{i}", minutes=i // 2)

    seen: list[str] = []
    token = ""
    while True:
        page = await api.detectors.ListAnomalies(
            pb.ListAnomaliesRequest(parent="detectors/cpu", page_size=2, page_token=token)
        )
        seen += [a.name for a in page.anomalies]
        token = page.next_page_token
        if not token:
            break

    assert len(seen) == 7
    assert len(set(seen)) == 7


async def test_list_filters(api: Api, detectors: list[str]) -> None:
    await store_anomaly(api, "cpu", "early", minutes=0, severity="SEVERITY_CRITICAL")
    await store_anomaly(api, "cpu", "late", minutes=60, severity="SEVERITY_CRITICAL")
    await store_anomaly(api, "cpu", "mild", minutes=61)

    critical_late = await api.detectors.ListAnomalies(
        pb.ListAnomaliesRequest(
            parent="detectors/cpu",
            filter='severity = CRITICAL AND start_time >= "2026-11-01T00:30:00Z"',
        )
    )
    open_ones = await api.detectors.ListAnomalies(
        pb.ListAnomaliesRequest(parent="detectors/-", filter="state = STATE_OPEN")
    )

    assert [a.name for a in critical_late.anomalies] == ["detectors/cpu/anomalies/late"]
    assert len(open_ones.anomalies) == 3


@pytest.mark.parametrize(
    ("parent", "request_fields", "field", "code"),
    [
        ("", {}, "parent", grpc.StatusCode.INVALID_ARGUMENT),
        ("detectors", {}, "parent", grpc.StatusCode.INVALID_ARGUMENT),
        ("dataSources/prom", {}, "parent", grpc.StatusCode.INVALID_ARGUMENT),
        ("detectors/missing", {}, "", grpc.StatusCode.NOT_FOUND),
        ("detectors/cpu", {"page_size": -1}, "page_size", grpc.StatusCode.INVALID_ARGUMENT),
        ("detectors/cpu", {"page_token": "x"}, "page_token", grpc.StatusCode.INVALID_ARGUMENT),
        ("detectors/cpu", {"filter": "start_time = x"}, "filter", grpc.StatusCode.INVALID_ARGUMENT),
        (
            "detectors/cpu",
            {"filter": 'start_time >= "yesterday"'},
            "filter",
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            "detectors/cpu",
            {"filter": 'start_time >= "2026-01-01T00:00:00"'},
            "filter",
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            "detectors/cpu",
            {"filter": "severity = LOUD"},
            "filter",
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
    ],
)
async def test_list_rejects_bad_requests(
    api: Api,
    detectors: list[str],
    parent: str,
    request_fields: dict[str, object],
    field: str,
    code: grpc.StatusCode,
) -> None:
    error = await failure(
        api.detectors.ListAnomalies(pb.ListAnomaliesRequest(parent=parent, **request_fields))  # type: ignore[arg-type]
    )

    assert error.code == code
    if field:
        assert field in error.violations, error.violations


async def test_page_token_of_another_parent_is_rejected(api: Api, detectors: list[str]) -> None:
    for i in range(3):
        await store_anomaly(api, "cpu", f"a{i}", minutes=i)
    page = await api.detectors.ListAnomalies(
        pb.ListAnomaliesRequest(parent="detectors/cpu", page_size=1)
    )

    error = await failure(
        api.detectors.ListAnomalies(
            pb.ListAnomaliesRequest(parent="detectors/-", page_token=page.next_page_token)
        )
    )

    assert error.code == grpc.StatusCode.INVALID_ARGUMENT


async def test_update_acknowledges_and_marks_false_positives(
    api: Api, detectors: list[str]
) -> None:
    name = await store_anomaly(api, "cpu", "a1", minutes=0)

    acknowledged = await api.detectors.UpdateAnomaly(
        pb.UpdateAnomalyRequest(
            anomaly=Anomaly(name=name, state=Anomaly.STATE_ACKNOWLEDGED),
            update_mask=FieldMask(paths=["state"]),
        )
    )
    false_positive = await api.detectors.UpdateAnomaly(
        pb.UpdateAnomalyRequest(
            anomaly=Anomaly(name=name, state=Anomaly.STATE_FALSE_POSITIVE, etag=acknowledged.etag)
        )
    )

    assert acknowledged.state == Anomaly.STATE_ACKNOWLEDGED
    assert false_positive.state == Anomaly.STATE_FALSE_POSITIVE
    assert false_positive.peak_score == pytest.approx(0.97), "only the state changes"
    stored = await api.detectors.GetAnomaly(pb.GetAnomalyRequest(name=name))
    assert stored == false_positive


@pytest.mark.parametrize(
    ("anomaly_fields", "paths", "field", "code"),
    [
        ({"state": Anomaly.STATE_UNSPECIFIED}, ["state"], "anomaly.state", "INVALID_ARGUMENT"),
        ({"state": 42}, ["state"], "anomaly.state", "INVALID_ARGUMENT"),
        ({"peak_score": 0.1}, ["peak_score"], "update_mask", "INVALID_ARGUMENT"),
        ({"severity": 1}, [], "anomaly.severity", "INVALID_ARGUMENT"),
        ({"state": Anomaly.STATE_ACKNOWLEDGED, "etag": '"9"'}, ["state"], "", "ABORTED"),
    ],
)
async def test_update_rejects_bad_requests(
    api: Api,
    detectors: list[str],
    anomaly_fields: dict[str, object],
    paths: list[str],
    field: str,
    code: str,
) -> None:
    name = await store_anomaly(api, "cpu", "a1", minutes=0)

    error = await failure(
        api.detectors.UpdateAnomaly(
            pb.UpdateAnomalyRequest(
                anomaly=Anomaly(name=name, **anomaly_fields),  # type: ignore[arg-type]
                update_mask=FieldMask(paths=paths),
            )
        )
    )

    assert error.code == getattr(grpc.StatusCode, code)
    if field:
        assert field in error.violations, error.violations
    stored = await api.detectors.GetAnomaly(pb.GetAnomalyRequest(name=name))
    assert stored.state == Anomaly.STATE_OPEN


async def test_deleting_a_detector_deletes_its_anomalies(api: Api, detectors: list[str]) -> None:
    name = await store_anomaly(api, "cpu", "a1", minutes=0)

    await api.detectors.DeleteDetector(pb.DeleteDetectorRequest(name="detectors/cpu"))

    everything = await api.detectors.ListAnomalies(pb.ListAnomaliesRequest(parent="detectors/-"))
    assert list(everything.anomalies) == []
    error = await failure(api.detectors.GetAnomaly(pb.GetAnomalyRequest(name=name)))
    assert error.code == grpc.StatusCode.NOT_FOUND
