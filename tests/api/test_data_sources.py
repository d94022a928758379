"""DataSourceService against a live server, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import base64

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.timestamp_pb2 import Timestamp

from aiops_api.v1 import data_source_pb2
from aiops_api.v1 import data_source_service_pb2 as pb
from tests.conftest import Api
from tests.rpc import detector, failure, prometheus

DataSource = data_source_pb2.DataSource


async def create(api: Api, data_source_id: str = "prom", **fields: object) -> DataSource:
    return await api.data_sources.CreateDataSource(
        pb.CreateDataSourceRequest(data_source=prometheus(**fields), data_source_id=data_source_id)
    )


async def test_create_assigns_name_times_etag_and_defaults(api: Api) -> None:
    created = await create(api, "prom", display_name="Production Prometheus")

    assert created.name == "dataSources/prom"
    assert created.display_name == "Production Prometheus"
    assert created.kind == DataSource.KIND_PROMETHEUS
    assert list(created.urls) == ["http://127.0.0.1:9090"]
    assert created.timeout.ToSeconds() == 30
    assert created.create_time.seconds > 0
    assert created.update_time == created.create_time
    assert created.etag
    assert await api.data_sources.GetDataSource(pb.GetDataSourceRequest(name=created.name)) == (
        created
    )


async def test_create_without_id_picks_one(api: Api) -> None:
    first = await api.data_sources.CreateDataSource(
        pb.CreateDataSourceRequest(data_source=prometheus())
    )
    second = await api.data_sources.CreateDataSource(
        pb.CreateDataSourceRequest(data_source=prometheus())
    )

    assert first.name.startswith("dataSources/")
    assert first.name != second.name
    got = await api.data_sources.GetDataSource(pb.GetDataSourceRequest(name=first.name))
    assert got.name == first.name


async def test_authorization_is_write_only(api: Api) -> None:
    created = await create(api, authorization="Bearer s3cret")

    assert created.authorization == ""
    assert created.has_authorization
    listed = await api.data_sources.ListDataSources(pb.ListDataSourcesRequest())
    assert "s3cret" not in str(listed)


async def test_duplicate_id_is_already_exists_and_keeps_the_first(api: Api) -> None:
    await create(api, "prom", display_name="first")

    error = await failure(create(api, "prom", display_name="second"))

    assert error.code == grpc.StatusCode.ALREADY_EXISTS
    assert error.reason == "RESOURCE_ALREADY_EXISTS"
    assert error.metadata["name"] == "dataSources/prom"
    got = await api.data_sources.GetDataSource(pb.GetDataSourceRequest(name="dataSources/prom"))
    assert got.display_name == "first"


async def test_concurrent_creates_of_one_id_make_one_resource(api: Api) -> None:
    results = await asyncio.gather(
        *(create(api, "racy", display_name=str(i)) for i in range(5)), return_exceptions=True
    )

    successes = [r for r in results if isinstance(r, DataSource)]
    errors = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(successes) == 1
    assert {e.code() for e in errors} == {grpc.StatusCode.ALREADY_EXISTS}


@pytest.mark.parametrize(
    ("data_source_id", "data_source", "field"),
    [
        ("Upper", prometheus(), "data_source_id"),
        ("1starts-with-digit", prometheus(), "data_source_id"),
        ("ends-with-hyphen-", prometheus(), "data_source_id"),
        ("has_underscore", prometheus(), "data_source_id"),
        ("x" * 64, prometheus(), "data_source_id"),
        ("ok", prometheus(kind=DataSource.KIND_UNSPECIFIED), "data_source.kind"),
        ("ok", prometheus(kind=7), "data_source.kind"),
        ("ok", prometheus(urls=[]), "data_source.urls"),
        ("ok", prometheus(urls=["ftp://example.com"]), "data_source.urls[0]"),
        ("ok", prometheus(urls=["http://ok:9090", "not a url"]), "data_source.urls[1]"),
        ("ok", prometheus(urls=["http://host:99999"]), "data_source.urls[0]"),
        ("ok", prometheus(urls=["http://host/?q=1"]), "data_source.urls[0]"),
        ("ok", prometheus(urls=["http://a:1", "http://a:1"]), "data_source.urls"),
        ("ok", prometheus(urls=[f"http://h{i}:1" for i in range(9)]), "data_source.urls"),
        ("ok", prometheus(urls=["http://h/" + "p" * 3000]), "data_source.urls[0]"),
        ("ok", prometheus(display_name="n" * 201), "data_source.display_name"),
        ("ok", prometheus(authorization="Bearer x\r\nX-Evil: 1"), "data_source.authorization"),
        ("ok", prometheus(authorization="a" * 9000), "data_source.authorization"),
        ("ok", prometheus(timeout=Duration(seconds=0)), "data_source.timeout"),
        ("ok", prometheus(timeout=Duration(seconds=3600)), "data_source.timeout"),
        ("ok", prometheus(timeout=Duration(seconds=-1)), "data_source.timeout"),
        ("ok", prometheus(create_time=Timestamp(seconds=5)), "data_source.create_time"),
        ("ok", prometheus(has_authorization=True), "data_source.has_authorization"),
    ],
)
async def test_create_rejects_bad_fields_and_writes_nothing(
    api: Api, data_source_id: str, data_source: DataSource, field: str
) -> None:
    error = await failure(
        api.data_sources.CreateDataSource(
            pb.CreateDataSourceRequest(data_source=data_source, data_source_id=data_source_id)
        )
    )

    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.reason == "INVALID_ARGUMENT"
    assert field in error.violations, error.violations
    listed = await api.data_sources.ListDataSources(pb.ListDataSourcesRequest())
    assert list(listed.data_sources) == []


async def test_create_names_every_bad_field_at_once(api: Api) -> None:
    error = await failure(
        api.data_sources.CreateDataSource(
            pb.CreateDataSourceRequest(
                data_source=DataSource(display_name="d" * 300), data_source_id="Bad"
            )
        )
    )

    assert set(error.violations) == {
        "data_source_id",
        "data_source.kind",
        "data_source.urls",
        "data_source.display_name",
    }


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("", grpc.StatusCode.INVALID_ARGUMENT),
        ("prom", grpc.StatusCode.INVALID_ARGUMENT),
        ("detectors/prom", grpc.StatusCode.INVALID_ARGUMENT),
        ("dataSources/", grpc.StatusCode.INVALID_ARGUMENT),
        ("dataSources/a/b", grpc.StatusCode.INVALID_ARGUMENT),
        ("dataSources/UPPER", grpc.StatusCode.INVALID_ARGUMENT),
        ("dataSources/" + "x" * 5000, grpc.StatusCode.INVALID_ARGUMENT),
        ("dataSources/missing", grpc.StatusCode.NOT_FOUND),
    ],
)
async def test_get_checks_the_name(api: Api, name: str, code: grpc.StatusCode) -> None:
    error = await failure(api.data_sources.GetDataSource(pb.GetDataSourceRequest(name=name)))

    assert error.code == code
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        assert "name" in error.violations
        assert len(error.message) < 500, "errors echo at most a little of the input"
    else:
        assert error.reason == "RESOURCE_NOT_FOUND"
        assert error.metadata["name"] == name


async def test_list_pages_through_everything_once(api: Api) -> None:
    for i in range(7):
        await create(api, f"prom-{i}")

    names: list[str] = []
    token = ""
    pages = 0
    while True:
        page = await api.data_sources.ListDataSources(
            pb.ListDataSourcesRequest(page_size=3, page_token=token)
        )
        names += [d.name for d in page.data_sources]
        pages += 1
        token = page.next_page_token
        if not token:
            break

    assert names == [f"dataSources/prom-{i}" for i in range(7)]
    assert pages == 3


async def test_list_filters(api: Api) -> None:
    await create(api, "prom", display_name="main")
    await create(api, "loki", kind=DataSource.KIND_LOKI, urls=["http://127.0.0.1:3100"])

    by_kind = await api.data_sources.ListDataSources(
        pb.ListDataSourcesRequest(filter="kind = KIND_LOKI")
    )
    by_short_kind = await api.data_sources.ListDataSources(
        pb.ListDataSourcesRequest(filter="kind=PROMETHEUS")
    )
    by_name = await api.data_sources.ListDataSources(
        pb.ListDataSourcesRequest(filter='display_name = "main" AND kind != KIND_LOKI')
    )

    assert [d.name for d in by_kind.data_sources] == ["dataSources/loki"]
    assert [d.name for d in by_short_kind.data_sources] == ["dataSources/prom"]
    assert [d.name for d in by_name.data_sources] == ["dataSources/prom"]


async def test_list_page_size_above_maximum_is_lowered(api: Api) -> None:
    await create(api, "prom")

    page = await api.data_sources.ListDataSources(pb.ListDataSourcesRequest(page_size=1_000_000))

    assert len(page.data_sources) == 1


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"page_size": -1}, "page_size"),
        ({"page_token": "garbage"}, "page_token"),
        ({"page_token": "eyJrIjogMX0"}, "page_token"),  # valid base64 JSON, wrong shape
        # JSON nested deep enough to exhaust a recursive decoder, and one too long to be ours
        ({"page_token": base64.urlsafe_b64encode(b"[" * 1100).decode()}, "page_token"),
        ({"page_token": "a" * 5000}, "page_token"),
        ({"filter": "kind = NOPE"}, "filter"),
        ({"filter": "colour = red"}, "filter"),
        ({"filter": "kind > KIND_LOKI"}, "filter"),
        ({"filter": "kind = KIND_LOKI OR kind = KIND_PROMETHEUS"}, "filter"),
        ({"filter": "kind ="}, "filter"),
        ({"filter": "x" * 2000}, "filter"),
    ],
)
async def test_list_rejects_bad_requests(
    api: Api, request_fields: dict[str, object], field: str
) -> None:
    error = await failure(
        api.data_sources.ListDataSources(pb.ListDataSourcesRequest(**request_fields))  # type: ignore[arg-type]
    )

    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in error.violations


async def test_page_token_is_bound_to_its_filter(api: Api) -> None:
    for i in range(3):
        await create(api, f"prom-{i}")
    page = await api.data_sources.ListDataSources(pb.ListDataSourcesRequest(page_size=1))

    error = await failure(
        api.data_sources.ListDataSources(
            pb.ListDataSourcesRequest(
                page_size=1, page_token=page.next_page_token, filter="kind = KIND_LOKI"
            )
        )
    )

    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "page_token" in error.violations


async def test_update_changes_only_the_masked_fields(api: Api) -> None:
    created = await create(api, "prom", display_name="old", authorization="Bearer a")

    updated = await api.data_sources.UpdateDataSource(
        pb.UpdateDataSourceRequest(
            data_source=DataSource(
                name=created.name,
                display_name="new",
                urls=["http://ignored:1"],
            ),
            update_mask=FieldMask(paths=["display_name"]),
        )
    )

    assert updated.display_name == "new"
    assert list(updated.urls) == list(created.urls)
    assert updated.has_authorization, "authorization is kept unless masked"
    assert updated.create_time == created.create_time
    assert updated.update_time.ToDatetime() > created.update_time.ToDatetime()
    assert updated.etag != created.etag


async def test_update_without_mask_changes_the_fields_set(api: Api) -> None:
    created = await create(api, "prom", display_name="keep")

    updated = await api.data_sources.UpdateDataSource(
        pb.UpdateDataSourceRequest(
            data_source=DataSource(
                name=created.name, urls=["http://a:9090", "http://b:9090"], authorization="x"
            )
        )
    )

    assert list(updated.urls) == ["http://a:9090", "http://b:9090"]
    assert updated.display_name == "keep"
    assert updated.has_authorization


async def test_update_can_clear_authorization(api: Api) -> None:
    created = await create(api, "prom", authorization="Bearer a")

    updated = await api.data_sources.UpdateDataSource(
        pb.UpdateDataSourceRequest(
            data_source=DataSource(name=created.name),
            update_mask=FieldMask(paths=["authorization"]),
        )
    )

    assert not updated.has_authorization


async def test_update_with_stale_etag_is_aborted_and_changes_nothing(api: Api) -> None:
    created = await create(api, "prom", display_name="v1")
    await api.data_sources.UpdateDataSource(
        pb.UpdateDataSourceRequest(
            data_source=DataSource(name=created.name, display_name="v2", etag=created.etag),
            update_mask=FieldMask(paths=["display_name"]),
        )
    )

    error = await failure(
        api.data_sources.UpdateDataSource(
            pb.UpdateDataSourceRequest(
                data_source=DataSource(name=created.name, display_name="v3", etag=created.etag),
                update_mask=FieldMask(paths=["display_name"]),
            )
        )
    )

    assert error.code == grpc.StatusCode.ABORTED
    assert error.reason == "ETAG_MISMATCH"
    got = await api.data_sources.GetDataSource(pb.GetDataSourceRequest(name=created.name))
    assert got.display_name == "v2"


@pytest.mark.parametrize(
    ("data_source", "paths", "field"),
    [
        (DataSource(display_name="x"), ["colour"], "update_mask"),
        (DataSource(kind=DataSource.KIND_LOKI), ["kind"], "update_mask"),
        (DataSource(), ["create_time"], "update_mask"),
        (DataSource(), ["urls"], "data_source.urls"),
        (DataSource(urls=["nope"]), ["urls"], "data_source.urls[0]"),
        (DataSource(display_name="x" * 201), ["*"], "data_source.display_name"),
        (DataSource(create_time=Timestamp(seconds=1)), [], "data_source.create_time"),
    ],
)
async def test_update_rejects_bad_masks_and_values(
    api: Api, data_source: DataSource, paths: list[str], field: str
) -> None:
    created = await create(api, "prom", display_name="before")
    data_source.name = created.name

    error = await failure(
        api.data_sources.UpdateDataSource(
            pb.UpdateDataSourceRequest(data_source=data_source, update_mask=FieldMask(paths=paths))
        )
    )

    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in error.violations, error.violations
    got = await api.data_sources.GetDataSource(pb.GetDataSourceRequest(name=created.name))
    assert got == created, "a rejected update writes nothing"


async def test_update_of_missing_data_source_is_not_found(api: Api) -> None:
    error = await failure(
        api.data_sources.UpdateDataSource(
            pb.UpdateDataSourceRequest(
                data_source=DataSource(name="dataSources/missing", display_name="x")
            )
        )
    )

    assert error.code == grpc.StatusCode.NOT_FOUND


async def test_delete_removes_the_data_source(api: Api) -> None:
    created = await create(api, "prom")

    await api.data_sources.DeleteDataSource(pb.DeleteDataSourceRequest(name=created.name))

    error = await failure(
        api.data_sources.GetDataSource(pb.GetDataSourceRequest(name=created.name))
    )
    assert error.code == grpc.StatusCode.NOT_FOUND
    again = await failure(
        api.data_sources.DeleteDataSource(pb.DeleteDataSourceRequest(name=created.name))
    )
    assert again.code == grpc.StatusCode.NOT_FOUND


async def test_delete_with_stale_etag_is_aborted(api: Api) -> None:
    created = await create(api, "prom")

    error = await failure(
        api.data_sources.DeleteDataSource(
            pb.DeleteDataSourceRequest(name=created.name, etag='"999"')
        )
    )

    assert error.code == grpc.StatusCode.ABORTED
    await api.data_sources.GetDataSource(pb.GetDataSourceRequest(name=created.name))


async def test_delete_of_a_data_source_in_use_fails_precondition(api: Api) -> None:
    from aiops_api.v1 import detector_service_pb2

    created = await create(api, "prom")
    await api.detectors.CreateDetector(
        detector_service_pb2.CreateDetectorRequest(
            detector=detector(created.name), detector_id="latency"
        )
    )

    error = await failure(
        api.data_sources.DeleteDataSource(pb.DeleteDataSourceRequest(name=created.name))
    )

    assert error.code == grpc.StatusCode.FAILED_PRECONDITION
    assert error.reason == "DATA_SOURCE_IN_USE"
    assert "detectors/latency" in error.message
    await api.data_sources.GetDataSource(pb.GetDataSourceRequest(name=created.name))
