"""CheckDataSource, QueryMetrics and QueryLogs through the API, against a real Prometheus and a
real Loki."""

from __future__ import annotations

import math

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from aiops_api.v1 import data_source_pb2, data_source_service_pb2
from tests import loki
from tests.conftest import Api
from tests.postgres import free_port
from tests.prometheus import BASE, MINUTES, PrometheusServer
from tests.rpc import failure, prometheus

pb = data_source_service_pb2
LOKI = data_source_pb2.DataSource.KIND_LOKI
LogsRequest = pb.QueryLogsRequest


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


@pytest.mark.parametrize("start", [Timestamp(seconds=BASE, nanos=5), Timestamp(seconds=-60)])
async def test_a_bad_start_time_says_where_points_lie(api: Api, start: Timestamp) -> None:
    source = await create(api, "prom")
    error = await failure(api.data_sources.QueryMetrics(query(source, start_time=start)))
    assert error.violations["start_time"] == (
        "a whole number of seconds from 1970: points lie on the step grid, the multiples of "
        "step since the epoch"
    )


async def test_an_unknown_data_source_is_not_found(api: Api) -> None:
    error = await failure(api.data_sources.QueryMetrics(query("dataSources/nope")))
    assert error.code == grpc.StatusCode.NOT_FOUND


# Loki: LogQL metric queries through QueryMetrics, log lines through QueryLogs.


def logs_query(source: str, text: str = '{app="api"}', **fields: object) -> pb.QueryLogsRequest:
    fields.setdefault("start_time", Timestamp(seconds=loki.BASE))
    fields.setdefault("end_time", Timestamp(seconds=loki.BASE + 3600))
    return pb.QueryLogsRequest(data_source=source, query=text, **fields)  # type: ignore[arg-type]


async def test_check_of_loki_reports_its_version(api: Api, loki_server: loki.LokiServer) -> None:
    source = await create(api, "logs", kind=LOKI, urls=[loki_server.url])
    check = await api.data_sources.CheckDataSource(pb.CheckDataSourceRequest(name=source))
    assert check.reachable and check.url == loki_server.url
    assert check.version.startswith("3.")


async def test_query_metrics_runs_logql_metric_queries_on_loki(
    api: Api, loki_server: loki.LokiServer
) -> None:
    source = await create(api, "logs", kind=LOKI, urls=[loki_server.url])
    request = query(
        source,
        'sum by (level) (count_over_time({app="api"}[10m]))',
        start_time=Timestamp(seconds=loki.BASE + 600),
        end_time=Timestamp(seconds=loki.BASE + 3540),
        step=Duration(seconds=600),
    )
    response = await api.data_sources.QueryMetrics(request)
    series = {s.labels["level"]: list(s.values) for s in response.series}
    assert series == {"info": [10.0] * 5, "error": [1.0] * 5}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('sum(count_over_time({app="api"}[1m])', "Loki says: parse error"),
        ('{app="api"}', "Loki says: this is a log query"),
    ],
)
async def test_a_bad_logql_metric_query_is_invalid_argument_with_loki_message(
    api: Api, loki_server: loki.LokiServer, text: str, message: str
) -> None:
    source = await create(api, "logs", kind=LOKI, urls=[loki_server.url])
    error = await failure(api.data_sources.QueryMetrics(query(source, text)))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert message in error.violations["query"]


async def test_query_logs_returns_streams_newest_first(
    api: Api, loki_server: loki.LokiServer
) -> None:
    source = await create(api, "logs", kind=LOKI, urls=[loki_server.url])
    response = await api.data_sources.QueryLogs(logs_query(source))
    streams = {s.labels["level"]: s for s in response.streams}
    assert set(streams) == {"info", "error"} and not response.warnings
    info = streams["info"]
    assert dict(info.labels) == {"app": "api", "level": "info"}
    assert [e.line for e in info.entries[:2]] == ["GET /orders/59 200", "GET /orders/58 200"]
    assert info.entries[0].time.ToNanoseconds() == (loki.BASE + 60 * 59) * loki.NS


async def test_query_logs_keeps_nanoseconds_a_limit_and_a_direction(
    api: Api, loki_server: loki.LokiServer
) -> None:
    source = await create(api, "logs", kind=LOKI, urls=[loki_server.url])
    request = logs_query(source, '{app="batch"}', limit=3, direction=LogsRequest.DIRECTION_FORWARD)
    response = await api.data_sources.QueryLogs(request)
    times = sorted(e.time.ToNanoseconds() for s in response.streams for e in s.entries)
    assert times == [loki.TIED_NS, loki.TIED_NS + 1, loki.TIED_NS + 2]


async def test_query_logs_stops_at_the_byte_cap_with_a_warning(
    api: Api, loki_server: loki.LokiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("aiops.queries.MAX_LOG_BYTES", 500)
    source = await create(api, "logs", kind=LOKI, urls=[loki_server.url])
    response = await api.data_sources.QueryLogs(logs_query(source))
    assert 0 < sum(len(s.entries) for s in response.streams) < 20
    assert "stopped after" in response.warnings[-1]


async def test_bad_logql_is_invalid_argument_with_loki_message(
    api: Api, loki_server: loki.LokiServer
) -> None:
    source = await create(api, "logs", kind=LOKI, urls=[loki_server.url])
    error = await failure(api.data_sources.QueryLogs(logs_query(source, '{app="api"')))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.violations["query"].startswith("Loki says: parse error")
    metric = logs_query(source, 'rate({app="api"}[1m])')
    error = await failure(api.data_sources.QueryLogs(metric))
    assert "this is a metric query" in error.violations["query"]


async def test_query_logs_of_an_unreachable_loki_is_unavailable(api: Api) -> None:
    source = await create(api, "gone", kind=LOKI, urls=[f"http://127.0.0.1:{free_port()}"])
    error = await failure(api.data_sources.QueryLogs(logs_query(source)))
    assert error.code == grpc.StatusCode.UNAVAILABLE
    assert error.reason == "DATA_SOURCE_UNAVAILABLE"


async def test_prometheus_data_sources_cannot_run_log_queries(api: Api) -> None:
    source = await create(api, "prom")
    error = await failure(api.data_sources.QueryLogs(logs_query(source)))
    assert error.code == grpc.StatusCode.FAILED_PRECONDITION
    assert error.reason == "DATA_SOURCE_KIND_UNSUPPORTED"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"query": ""}, "query"),
        ({"query": "x" * 20_000}, "query"),
        ({"start_time": None}, "start_time"),
        ({"end_time": None}, "end_time"),
        ({"end_time": Timestamp(seconds=loki.BASE)}, "end_time"),
        ({"start_time": Timestamp(seconds=-1)}, "start_time"),
        ({"end_time": Timestamp(seconds=loki.BASE, nanos=-5)}, "end_time"),
        ({"end_time": Timestamp(seconds=10**11)}, "end_time"),
        ({"limit": -1}, "limit"),
        ({"limit": 5001}, "limit"),
        ({"direction": 7}, "direction"),
        ({"data_source": "sources/x"}, "data_source"),
        ({"data_source": ""}, "data_source"),
    ],
)
async def test_bad_log_queries_name_the_field(
    api: Api, fields: dict[str, object], field: str
) -> None:
    source = await create(api, "logs", kind=LOKI)
    request = logs_query(source)
    for name, value in fields.items():
        if value is None:
            request.ClearField(name)
        elif isinstance(value, Timestamp):
            getattr(request, name).CopyFrom(value)
        else:
            setattr(request, name, value)
    error = await failure(api.data_sources.QueryLogs(request))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in error.violations, error.violations


async def test_query_logs_of_an_unknown_data_source_is_not_found(api: Api) -> None:
    error = await failure(api.data_sources.QueryLogs(logs_query("dataSources/nope")))
    assert error.code == grpc.StatusCode.NOT_FOUND
