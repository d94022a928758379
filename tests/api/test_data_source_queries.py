"""CheckDataSource and QueryMetrics through the API, against a real Prometheus."""

from __future__ import annotations

import math

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from aiops_api.v1 import data_source_pb2, data_source_service_pb2
from tests.conftest import Api
from tests.postgres import free_port
from tests.prometheus import BASE, MINUTES, PrometheusServer
from tests.rpc import failure, prometheus

pb = data_source_service_pb2


async def create(api: Api, source_id: str, **fields: object) -> str:
    created = await api.data_sources.CreateDataSource(
        pb.CreateDataSourceRequest(data_source=prometheus(**fields), data_source_id=source_id)
    )
    return created.name


def query(source: str, text: str = "demo", **fields: object) -> pb.QueryMetricsRequest:
    fields.setdefault("start_time", Timestamp(seconds=BASE))
    fields.setdefault("end_time", Timestamp(seconds=BASE + 60 * (MINUTES - 1)))
    fields.setdefault("step", Duration(seconds=60))
    return pb.QueryMetricsRequest(data_source=source, query=text, **fields)  # type: ignore[arg-type]


async def test_check_reports_the_url_that_answered_its_latency_and_version(
    api: Api, prometheus_server: PrometheusServer
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    source = await create(api, "prom", urls=[dead, prometheus_server.url])
    check = await api.data_sources.CheckDataSource(pb.CheckDataSourceRequest(name=source))
    assert check.reachable and check.url == prometheus_server.url
    assert check.version.startswith("2.")
    assert 0 < check.latency.ToNanoseconds() < 5e9
    assert check.error == ""


async def test_check_of_an_unreachable_data_source_says_why(api: Api) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    source = await create(api, "gone", urls=[dead])
    check = await api.data_sources.CheckDataSource(pb.CheckDataSourceRequest(name=source))
    assert not check.reachable
    assert dead in check.error


async def test_query_metrics_returns_series_on_the_step_grid(
    api: Api, prometheus_server: PrometheusServer
) -> None:
    source = await create(api, "prom", urls=[prometheus_server.url])
    response = await api.data_sources.QueryMetrics(query(source))
    series = {s.labels["instance"]: s for s in response.series}
    assert set(series) == {"a", "b"}
    a = series["a"]
    assert dict(a.labels) == {"__name__": "demo", "instance": "a"}
    assert a.start_time.seconds == BASE and a.step.seconds == 60
    assert list(a.values) == [k * 1.5 for k in range(MINUTES)]
    assert math.isnan(series["b"].values[-1])  # b stopped half way


async def test_bad_promql_is_invalid_argument_with_prometheus_message(
    api: Api, prometheus_server: PrometheusServer
) -> None:
    source = await create(api, "prom", urls=[prometheus_server.url])
    error = await failure(api.data_sources.QueryMetrics(query(source, "sum(demo")))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "parse error" in error.violations["query"]


async def test_100k_series_are_invalid_argument_naming_the_limit(
    api: Api, prometheus_server: PrometheusServer
) -> None:
    source = await create(api, "prom", urls=[prometheus_server.url])
    request = query(source, "many", end_time=Timestamp(seconds=BASE + 60))
    error = await failure(api.data_sources.QueryMetrics(request))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "more than 10000 series" in error.violations["query"]


async def test_an_unreachable_data_source_is_unavailable(api: Api) -> None:
    source = await create(api, "gone", urls=[f"http://127.0.0.1:{free_port()}"])
    error = await failure(api.data_sources.QueryMetrics(query(source)))
    assert error.code == grpc.StatusCode.UNAVAILABLE
    assert error.reason == "DATA_SOURCE_UNAVAILABLE"


async def test_loki_data_sources_cannot_run_promql_yet(api: Api) -> None:
    source = await create(api, "logs", kind=data_source_pb2.DataSource.KIND_LOKI)
    error = await failure(api.data_sources.QueryMetrics(query(source)))
    assert error.code == grpc.StatusCode.FAILED_PRECONDITION
    assert error.reason == "DATA_SOURCE_KIND_UNSUPPORTED"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"query": ""}, "query"),
        ({"query": "x" * 20_000}, "query"),
        ({"step": Duration(seconds=0)}, "step"),
        # A week at one-second steps: over 400,000 values.
        ({"step": Duration(seconds=1), "end_time": Timestamp(seconds=BASE + 7 * 86_400)}, "step"),
        ({"end_time": Timestamp(seconds=BASE - 60)}, "end_time"),
        ({"start_time": Timestamp(seconds=BASE, nanos=5)}, "start_time"),
        ({"data_source": "sources/x"}, "data_source"),
    ],
)
async def test_bad_queries_name_the_field(api: Api, fields: dict[str, object], field: str) -> None:
    source = await create(api, "prom")
    request = query(source)
    for name, value in fields.items():
        if isinstance(value, str):
            setattr(request, name, value)
        else:
            getattr(request, name).CopyFrom(value)
    error = await failure(api.data_sources.QueryMetrics(request))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in error.violations, error.violations


async def test_an_unknown_data_source_is_not_found(api: Api) -> None:
    error = await failure(api.data_sources.QueryMetrics(query("dataSources/nope")))
    assert error.code == grpc.StatusCode.NOT_FOUND
