"""Data sources as they answer in the wild (issue 18): servers that align their answers to the
step (VictoriaMetrics, query frontends, Loki), series that share a label set, native histograms,
query-level errors and rate limits that are not the server being down, a deadline on the whole
request, and the warnings and infos a server adds. Each server is a handler over
httpx.MockTransport, or a raw socket server where the fault is in the bytes' timing."""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import math
import time
from collections.abc import AsyncIterator
from typing import TypeAlias

import httpx
import numpy as np
import pytest

from aiops import queries
from aiops.errors import InvalidArgument
from aiops.sources.clients import SourceClients, SourceConfig
from aiops.sources.http import QueryTimeoutError, retry_after_seconds
from aiops.sources.loki import LokiClient
from aiops.sources.prometheus import Limits, PrometheusClient, QueryError, UnavailableError
from aiops_api.v1 import data_source_service_pb2
from tests.sources import mock_servers
from tests.sources.fake_servers import http_server
from tests.sources.mock_servers import FAST, form, success

pb = data_source_service_pb2
A, B = "http://prom-a:9090", "http://prom-b:9090"
T0 = 1_700_000_040  # a multiple of 60 s: 10:00:00 in the terms
Servers: TypeAlias = mock_servers.Servers[PrometheusClient]


@pytest.fixture
async def servers() -> AsyncIterator[Servers]:
    async with Servers(PrometheusClient, A, B) as servers:
        yield servers


def matrix_answer(result: list[dict[str, object]], **envelope: object) -> httpx.Response:
    body = {"status": "success", "data": {"resultType": "matrix", "result": result}}
    return httpx.Response(200, json=body | envelope)


def step_aligned(request: httpx.Request) -> httpx.Response:
    """VictoriaMetrics with its cache, a frontend with align_queries_with_step: answers on the
    multiples of the step, whatever start it was asked."""
    if request.url.path.endswith("/buildinfo"):
        return success({"version": "1.106.0"})
    asked = form(request)
    start, end, step = (int(float(asked[key])) for key in ("start", "end", "step"))
    times = range(start - start % step, end - end % step + 1, step)
    return matrix_answer([{"metric": {"job": "api"}, "values": [[t, "1"] for t in times]}])


def prometheus_error(status: int, error_type: str, error: str) -> mock_servers.Handler:
    document = {"status": "error", "errorType": error_type, "error": error}
    return lambda request: httpx.Response(status, json=document)


# 1. Step-aligned answers.


async def test_a_range_is_asked_on_the_step_grid_as_grafana_asks(servers: Servers) -> None:
    client = servers.client(step_aligned)
    found = await client.query_range("up", T0 + 17, T0 + 17 + 3600, 60)  # 10:00:17 to 11:00:17
    assert form(servers.requests[0]) | {"query": "up"} == {
        "query": "up",
        "start": str(T0),
        "end": str(T0 + 3600),
        "step": "60",
    }
    assert (found.start_ms, found.values.shape) == (T0 * 1000, (1, 61))
    assert np.all(found.values == 1) and found.warnings == []


async def test_samples_on_the_server_s_own_grid_are_taken_with_a_warning(
    servers: Servers,
) -> None:
    # A server whose grid is 30 s off aiops' and runs one step past the end.
    samples = [[T0 + 30 + 60 * k, str(k)] for k in range(6)]
    client = servers.client(lambda request: matrix_answer([{"metric": {}, "values": samples}]))
    found = await client.query_range("up", T0, T0 + 240, 60)
    np.testing.assert_array_equal(found.values, [[0, 1, 2, 3, 4]])
    assert found.warnings == [
        "1 samples outside the range asked for were left out: the server aligns its answers "
        "its own way",
        "5 samples off the 60s step grid were put on the step before them: the server aligns "
        "its answers its own way",
    ]


async def test_answers_aiops_cannot_use_never_count_as_the_url_being_down(
    servers: Servers,
) -> None:
    useless = True

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>maintenance</html>") if useless else up(request)

    client = servers.client(answer, limits=dataclasses.replace(FAST, breaker_failures=2))
    for _ in range(5):
        with pytest.raises(UnavailableError, match="the answer is not Prometheus JSON: malformed"):
            await client.query_range("up", T0, T0, 60)
    useless = False
    assert (await client.query_range("up", T0, T0, 60)).values.tolist() == [[1.0]]
    assert client.http.breakers[A].failures == 0


async def test_query_metrics_from_an_odd_second_answers_on_the_grid_and_keeps_the_source_up() -> (
    None
):
    clients = SourceClients(transport=httpx.MockTransport(step_aligned))
    source = SourceConfig("vm", 1, "KIND_PROMETHEUS", ["http://vm:8428"], 5.0)
    request = pb.QueryMetricsRequest(query="up")
    request.start_time.seconds, request.end_time.seconds = T0 + 17, T0 + 17 + 3600
    for _ in range(5):  # five of these once opened the breaker
        response = await queries.query_metrics(clients, source, request, 60)
        [series] = response.series
        assert series.start_time.seconds == T0 and len(series.values) == 61
    check = await queries.check_data_source(clients, source)
    assert check.reachable and check.version == "1.106.0", check.error
    await clients.aclose()


def up(request: httpx.Request) -> httpx.Response:
    return matrix_answer([{"metric": {"job": "up"}, "values": [[T0, "1"]]}])


# 2. Series that share one label set.


async def test_two_series_with_one_label_set_are_merged(servers: Servers) -> None:
    first = [[T0 + 60 * k, "5"] for k in range(5)]
    second = [[T0 + 60 * k, "7"] for k in range(5, 11)]
    answer = matrix_answer([{"metric": {}, "values": first}, {"metric": {}, "values": second}])
    client = servers.client(lambda request: answer)
    found = await client.query_range("up", T0, T0 + 600, 60)
    assert found.labels == [{}]
    assert found.values.tolist() == [[5.0] * 5 + [7.0] * 6]
    assert found.warnings == []  # nothing was lost


async def test_where_series_with_one_label_set_disagree_the_first_is_kept_with_a_warning(
    servers: Servers,
) -> None:
    a, b = {"job": "a"}, {"job": "b"}
    answer = matrix_answer(
        [
            {"metric": a, "values": [[T0, "1"], [T0 + 60, "2"]]},
            {"metric": b, "values": [[T0, "9"]]},
            {"metric": a, "values": [[T0 + 60, "3"], [T0 + 120, "4"]]},  # disagrees at T0+60
            {"metric": b, "values": [[T0, "9"]]},  # agrees: no loss
        ]
    )
    client = servers.client(lambda request: answer)
    found = await client.query_range("up", T0, T0 + 120, 60)
    assert found.labels == [a, b]
    np.testing.assert_array_equal(found.values, [[1, 2, 4], [9, np.nan, np.nan]])
    assert found.warnings == [
        "series with one label set disagree at 1 points; the value of the one the server "
        "listed first is kept"
    ]


async def test_an_instant_answer_merges_series_with_one_label_set(servers: Servers) -> None:
    result = [
        {"metric": {"a": "1"}, "value": [T0, "2"]},
        {"metric": {"a": "1"}, "value": [T0, "3"]},
    ]
    client = servers.client(lambda request: success({"resultType": "vector", "result": result}))
    found = await client.query("up", T0)
    assert found.labels == [{"a": "1"}] and found.values.tolist() == [[2.0]]
    assert "disagree at 1 points" in found.warnings[0]


# 3. Native histograms.

HISTOGRAM = {"count": "10", "sum": "3.5", "buckets": [[0, "0.5", "1", "10"]]}
HINT = "histogram_quantile(0.99, ...), histogram_count(...) or histogram_sum(...)"


async def test_native_histograms_are_named_with_what_to_ask_instead(servers: Servers) -> None:
    answer = matrix_answer(
        [
            {"metric": {"le": "h"}, "histograms": [[T0, HISTOGRAM], [T0 + 60, HISTOGRAM]]},
            # One that switches from floats to histograms: its floats are kept.
            {
                "metric": {"le": "s"},
                "values": [[T0, "4"]],
                "histograms": [[T0 + 60, HISTOGRAM]],
            },
        ]
    )
    client = servers.client(lambda request: answer)
    found = await client.query_range("rpc_seconds", T0, T0 + 60, 60)
    np.testing.assert_array_equal(found.values, [[np.nan, np.nan], [4, np.nan]])
    [warning] = found.warnings
    assert warning.startswith("2 series hold native histograms, which have no single value to")
    assert '(first {"le":"h"})' in warning and warning.endswith(HINT)


async def test_an_instant_native_histogram_is_named_too(servers: Servers) -> None:
    result = [
        {"metric": {}, "histogram": [T0, HISTOGRAM]},
        {"metric": {"x": "1"}, "value": [T0, "2"]},
    ]
    client = servers.client(lambda request: success({"resultType": "vector", "result": result}))
    found = await client.query("rpc_seconds", T0)
    assert math.isnan(found.values[0, 0]) and found.values[1, 0] == 2
    assert found.warnings[0].endswith(HINT)


# 4. A query's error is the query's, not the server being down.


@pytest.mark.parametrize(
    ("status", "error_type", "raised"),
    [
        (503, "timeout", QueryTimeoutError),
        (422, "canceled", QueryTimeoutError),
        (422, "execution", QueryError),
        (503, "execution", QueryError),  # whatever the status: the server answered
        (400, "bad_data", QueryError),
    ],
)
async def test_query_level_errors_never_open_the_breaker_nor_are_retried(
    servers: Servers, status: int, error_type: str, raised: type[Exception]
) -> None:
    document = {"status": "error", "errorType": error_type, "error": "query timed out in eval"}

    def answer(request: httpx.Request) -> httpx.Response:
        if form(request)["query"] == "expensive":
            return httpx.Response(status, json=document)
        return up(request)

    client = servers.client(answer, limits=dataclasses.replace(FAST, breaker_failures=2))
    for _ in range(5):
        with pytest.raises(raised, match="query timed out in eval"):
            await client.query_range("expensive", T0, T0, 60)
    assert len(servers.requests) == 5  # each asked once
    assert client.http.breakers[A].failures == 0
    assert (await client.query_range("up", T0, T0, 60)).values.tolist() == [[1.0]]


async def test_a_server_timeout_is_invalid_argument_on_the_query_saying_what_to_do() -> None:
    answer = prometheus_error(503, "timeout", "query timed out in query execution")
    clients = SourceClients(transport=httpx.MockTransport(answer))
    source = SourceConfig("prom", 1, "KIND_PROMETHEUS", ["http://prom"], 5.0)
    request = pb.QueryMetricsRequest(query="expensive")
    request.start_time.seconds, request.end_time.seconds = T0, T0 + 3600
    for _ in range(2):
        with pytest.raises(InvalidArgument) as error:
            await queries.query_metrics(clients, source, request, 60)
        [violation] = error.value.violations
        assert violation.field == "query"
        assert "gave up on the query (timeout: query timed out" in violation.description
        assert "narrow it, shorten the range or raise the step" in violation.description
    client = await clients.get(source)
    assert all(breaker.failures == 0 for breaker in client.http.breakers.values())
    await clients.aclose()


async def test_server_level_errors_still_count_against_the_url(servers: Servers) -> None:
    client = servers.client(
        prometheus_error(500, "internal", "storage failed"),
        limits=dataclasses.replace(FAST, retries=0, breaker_failures=2),
    )
    for _ in range(2):
        with pytest.raises(UnavailableError, match="HTTP 500 storage failed"):
            await client.query_range("up", T0, T0, 60)
    assert client.http.breakers[A].is_open


async def test_429_is_retried_after_the_servers_retry_after_and_never_counts(
    servers: Servers,
) -> None:
    refusals = [1]

    def limited(request: httpx.Request) -> httpx.Response:
        if refusals:
            refusals.pop()
            return httpx.Response(429, text="slow down", headers={"Retry-After": "1"})
        return up(request)

    client = servers.client(limited, limits=dataclasses.replace(FAST, breaker_failures=1))
    started = time.monotonic()
    assert (await client.query_range("up", T0, T0, 60)).values.tolist() == [[1.0]]
    assert 1.0 <= time.monotonic() - started < 3
    assert len(servers.requests) == 2 and client.http.breakers[A].failures == 0


async def test_a_retry_after_past_the_deadline_fails_at_once(servers: Servers) -> None:
    def limited(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, text="slow down", headers={"Retry-After": "120"})

    client = servers.client(limited, limits=dataclasses.replace(FAST, timeout=5))
    started = time.monotonic()
    with pytest.raises(UnavailableError, match="HTTP 429 too many requests slow down"):
        await client.query_range("up", T0, T0, 60)
    assert time.monotonic() - started < 1 and len(servers.requests) == 1


def test_retry_after_is_seconds_or_an_http_date() -> None:
    assert retry_after_seconds("120") == 120
    in_30s = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= retry_after_seconds(in_30s) <= 30
    assert retry_after_seconds("soon") == retry_after_seconds("") == 0


# 6. The timeout is a deadline.


async def one_byte_a_tenth_of_a_second(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    )
    for _ in range(100):
        writer.write(b" ")
        await writer.drain()
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("kind", [PrometheusClient, LokiClient])
async def test_the_timeout_bounds_the_whole_request_of_a_trickling_server(
    kind: type[PrometheusClient] | type[LokiClient],
) -> None:
    async with http_server(one_byte_a_tenth_of_a_second) as url:
        client = kind([url], Limits(timeout=1.0, backoff=0, backoff_cap=0))
        started = time.monotonic()
        with pytest.raises(UnavailableError, match=r"no answer within 1s"):
            await client.query_range("up", T0, T0 + 60, 60)
        assert time.monotonic() - started < 1.5  # not retried past its deadline
        await client.aclose()


# 10. What a server says besides its data.


async def test_warnings_infos_and_a_partial_answer_all_reach_the_warnings(
    servers: Servers,
) -> None:
    answer = matrix_answer(
        [{"metric": {}, "values": [[T0, "1"]]}],
        warnings=["PromQL warning: encountered a mix of histograms and floats"],
        infos=['PromQL info: metric might not be a counter, name does not end in "_total"'],
        isPartial=True,
    )
    client = servers.client(lambda request: answer)
    found = await client.query_range("rate(up[5m])", T0, T0, 60)
    assert found.warnings == [
        "PromQL warning: encountered a mix of histograms and floats",
        'PromQL info: metric might not be a counter, name does not end in "_total"',
        "the answer is partial: some of the server's storage did not answer",
    ]


async def test_loki_metric_answers_merge_and_align_as_prometheus_ones_do() -> None:
    async with mock_servers.Servers(LokiClient, "http://loki:3100") as servers:
        client = servers.client(
            lambda request: matrix_answer(
                [
                    {"metric": {"app": "a"}, "values": [[T0, "1"]]},
                    {"metric": {"app": "a"}, "values": [[T0 + 10, "2"]]},
                ]
            )
        )
        found = await client.query_range(
            'sum(count_over_time({app="a"}[10s]))', T0 + 3, T0 + 13, 10
        )
    assert form(servers.requests[0])["start"] == str(T0 * 1_000_000_000)
    assert found.labels == [{"app": "a"}] and found.values.tolist() == [[1.0, 2.0]]
