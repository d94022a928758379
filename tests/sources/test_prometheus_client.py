"""The Prometheus client over httpx.MockTransport: each server is a handler written in the test,
so every answer, failure and request is in plain sight and no socket is opened."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeAlias

import httpx
import numpy as np
import pytest

from aiops.sources import http
from aiops.sources.prometheus import (
    Limits,
    PrometheusClient,
    QueryError,
    TooLargeError,
    UnavailableError,
)
from tests.sources import mock_servers
from tests.sources.mock_servers import FAST, Handler, form, refuse, success

A, B = "http://prom-a:9090", "http://prom-b:9090"
T0 = 1_700_000_040  # a multiple of every step the tests ask for: the range is on the grid
NGINX = "<html><body>Welcome to nginx!</body></html>"

# Prometheus servers played by handlers, the first at A, the second at B.
Servers: TypeAlias = mock_servers.Servers[PrometheusClient]


@pytest.fixture
async def servers() -> AsyncIterator[Servers]:
    async with Servers(PrometheusClient, A, B) as servers:
        yield servers


def matrix(
    *series: tuple[dict[str, str], dict[int, str]], warnings: list[str] | None = None
) -> httpx.Response:
    result = [{"metric": m, "values": [[t, v] for t, v in s.items()]} for m, s in series]
    return success({"resultType": "matrix", "result": result}, warnings)


def vector(*series: tuple[dict[str, str], str], time: int = T0) -> httpx.Response:
    result = [{"metric": m, "value": [time, v]} for m, v in series]
    return success({"resultType": "vector", "result": result})


def hang(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


def status(code: int, error: str) -> Handler:
    return lambda request: httpx.Response(code, json={"status": "error", "error": error})


def nginx(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, text=NGINX, headers={"Content-Type": "text/html"})


def up(request: httpx.Request) -> httpx.Response:
    return matrix(({"job": "up"}, {T0: "1"}))


async def test_a_range_query_parses_into_the_step_grid_with_nan_for_missing_samples(
    servers: Servers,
) -> None:
    a = {"__name__": "up", "instance": "a"}
    b = {"__name__": "up", "instance": "b"}
    answer = matrix(
        (a, {T0: "1", T0 + 60: "2.5", T0 + 120: "+Inf", T0 + 240: "-3"}),
        (b, {T0 + 180: "1e3"}),
        warnings=["results truncated"],
    )
    client = servers.client(lambda request: answer)
    found = await client.query_range("up", T0, T0 + 240, 60)
    [request] = servers.requests
    assert (request.method, request.url.path) == ("POST", "/api/v1/query_range")
    assert form(request) == {"query": "up", "start": str(T0), "end": str(T0 + 240), "step": "60"}
    assert found.labels == [a, b]
    assert (found.start_ms, found.step_ms) == (T0 * 1000, 60_000)
    nan, inf = np.nan, np.inf
    expected = [[1, 2.5, inf, nan, -3], [nan, nan, nan, 1000, nan]]
    np.testing.assert_array_equal(found.values, expected)
    assert found.warnings == ["results truncated"]
    assert client.answered_by == A


async def test_a_range_past_max_points_per_request_is_fetched_in_chunks_and_stitched(
    servers: Servers,
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        start, end, step = (int(form(request)[key]) for key in ("start", "end", "step"))
        times = range(start, end + 1, step)
        series = [({"i": "a"}, {t: str((t - T0) // 60) for t in times})]
        if start == T0 + 240:  # b only has samples in the second chunk
            series.append(({"i": "b"}, {t: str(100 + (t - T0) // 60) for t in times}))
        return matrix(*series, warnings=["partial"])

    client = servers.client(answer, limits=dataclasses.replace(FAST, max_points_per_request=4))
    found = await client.query_range("up", T0, T0 + 9 * 60, 60)  # 10 points: 4 + 4 + 2
    assert [(f["start"], f["end"], f["step"]) for f in servers.forms()] == [
        (str(T0), str(T0 + 180), "60"),
        (str(T0 + 240), str(T0 + 420), "60"),
        (str(T0 + 480), str(T0 + 540), "60"),
    ]
    assert found.labels == [{"i": "a"}, {"i": "b"}]
    assert (found.start_ms, found.step_ms) == (T0 * 1000, 60_000)
    np.testing.assert_array_equal(found.values[0], np.arange(10))
    np.testing.assert_array_equal(
        found.values[1], [np.nan] * 4 + [104, 105, 106, 107] + [np.nan] * 2
    )
    assert found.warnings == ["partial"]  # once, not once a chunk


async def test_an_instant_query_returns_one_column(servers: Servers) -> None:
    answer = vector(({"job": "api"}, "3"), ({"job": "db"}, "NaN"))
    client = servers.client(lambda request: answer)
    found = await client.query("sum by (job) (up)", T0)
    [request] = servers.requests
    assert (request.method, request.url.path) == ("POST", "/api/v1/query")
    assert form(request) == {"query": "sum by (job) (up)", "time": str(T0)}
    assert found.labels == [{"job": "api"}, {"job": "db"}]
    assert (found.start_ms, found.step_ms) == (T0 * 1000, 0)
    np.testing.assert_array_equal(found.values, [[3.0], [np.nan]])


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        (refuse, "connection refused"),
        (status(500, "boom"), "HTTP 500 boom"),
        (nginx, "the answer is not Prometheus JSON: malformed JSON at byte 0: b'<html><body>"),
        (
            lambda request: httpx.Response(200, json={"hello": "world"}),
            "the answer is not Prometheus JSON: query failed: no status",
        ),
    ],
    ids=["refused", "5xx", "html", "other-json"],
)
async def test_a_url_that_fails_makes_way_for_the_next(
    servers: Servers, bad: Handler, why: str
) -> None:
    client = servers.client(bad, up)
    found = await client.query_range("up", T0, T0, 60)
    assert found.labels == [{"job": "up"}] and found.values.tolist() == [[1.0]]
    assert client.answered_by == B
    assert servers.hosts() == ["prom-a", "prom-b"]
    alone = servers.client(bad, limits=dataclasses.replace(FAST, retries=0))
    with pytest.raises(UnavailableError) as failed:
        await alone.query_range("up", T0, T0, 60)
    assert str(failed.value).startswith(f"{A}: {why}")


async def test_transient_failures_are_retried_after_a_backoff_until_a_url_answers(
    servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[int] = []

    def backoff_delay(retry: int, limits: Limits) -> float:
        waits.append(retry)
        return 0.0

    monkeypatch.setattr(http, "backoff_delay", backoff_delay)
    statuses = iter([503, 502, 200])

    def recovering(request: httpx.Request) -> httpx.Response:
        code = next(statuses)
        return up(request) if code == 200 else httpx.Response(code, text="overloaded")

    client = servers.client(refuse, recovering)
    found = await client.query_range("up", T0, T0, 60)
    assert found.values.tolist() == [[1.0]] and client.answered_by == B
    assert servers.hosts() == ["prom-a", "prom-b"] * 3
    assert waits == [0, 1]  # a backoff before each round after the first


@pytest.mark.parametrize(
    ("bad_a", "bad_b", "rounds", "message"),
    [
        (
            hang,
            status(504, "overloaded"),
            3,
            f"{A}: no answer within 30s; {B}: HTTP 504 overloaded (tried 3 times)",
        ),
        # One transient failure is enough for another round.
        (
            refuse,
            status(500, "boom"),
            3,
            f"{A}: connection refused; {B}: HTTP 500 boom (tried 3 times)",
        ),
        (
            status(500, "boom"),
            nginx,
            1,
            f"{A}: HTTP 500 boom; {B}: the answer is not Prometheus JSON: "
            "malformed JSON at byte 0: b'<html><body>Welcome '",
        ),
    ],
    ids=["all-transient", "some-transient", "none-transient"],
)
async def test_when_every_url_fails_the_error_lists_each(
    servers: Servers, bad_a: Handler, bad_b: Handler, rounds: int, message: str
) -> None:
    client = servers.client(bad_a, bad_b)
    with pytest.raises(UnavailableError) as failed:
        await client.query_range("up", T0, T0, 60)
    assert str(failed.value) == message
    assert servers.hosts() == ["prom-a", "prom-b"] * rounds


@pytest.mark.parametrize(
    ("code", "body", "message"),
    [
        (
            400,
            b'{"status":"error","errorType":"bad_data","error":"1:5: parse error: bad input"}',
            "1:5: parse error: bad input",
        ),
        (
            422,
            b'{"status":"error","errorType":"execution","error":"query timed out"}',
            "query timed out",
        ),
        (400, b"", "HTTP 400"),
    ],
)
async def test_a_rejected_query_is_a_query_error_not_asked_of_the_next_url(
    servers: Servers, code: int, body: bytes, message: str
) -> None:
    client = servers.client(lambda request: httpx.Response(code, content=body), up)
    with pytest.raises(QueryError) as failed:
        await client.query_range("up[", T0, T0, 60)
    assert str(failed.value) == message
    assert servers.hosts() == ["prom-a"]
    assert client.http.breakers[A].failures == 0  # the server is fine


def three_series(request: httpx.Request) -> httpx.Response:
    labels = [{"i": str(i)} for i in range(3)]
    if request.url.path == "/api/v1/series":
        return success(labels)
    if request.url.path == "/api/v1/query":
        return vector(*[(m, "1") for m in labels])
    return matrix(*[(m, {T0: "1"}) for m in labels])


SERIES_OVER_2 = (
    "the query returns more than 2 series; narrow it with label matchers or aggregate it"
)


@pytest.mark.parametrize(
    ("ask", "message"),
    [
        (lambda client: client.query_range("up", T0, T0 + 60, 60), SERIES_OVER_2),
        (lambda client: client.query("up", T0), SERIES_OVER_2),
        (lambda client: client.series("up", T0, T0 + 60), "more than 2 series match 'up'"),
    ],
    ids=["query_range", "query", "series"],
)
async def test_too_many_series_is_too_large(
    servers: Servers, ask: Callable[[PrometheusClient], Awaitable[object]], message: str
) -> None:
    client = servers.client(three_series, up, limits=dataclasses.replace(FAST, max_series=2))
    with pytest.raises(TooLargeError) as failed:
        await ask(client)
    assert str(failed.value) == message
    assert servers.hosts() == ["prom-a"]


async def test_too_many_bytes_is_too_large(servers: Servers) -> None:
    huge = httpx.Response(200, content=b" " * (2 * 2**20))
    limits = dataclasses.replace(FAST, max_response_bytes=2**20)
    client = servers.client(lambda request: huge, up, limits=limits)
    with pytest.raises(TooLargeError) as failed:
        await client.query_range("up", T0, T0, 60)
    assert str(failed.value) == (
        "the answer is over 1 MiB; shorten the range, raise the step or narrow the query"
    )
    assert servers.hosts() == ["prom-a"]


async def test_labels_series_and_build_info(servers: Servers) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return {
            "/api/v1/labels": success(["__name__", "job"]),
            "/api/v1/series": success([{"__name__": "up", "job": "api"}]),
            "/api/v1/status/buildinfo": success({"version": "2.53.0", "revision": "1f4e"}),
        }[request.url.path]

    client = servers.client(answer)
    assert await client.labels() == ["__name__", "job"]
    assert await client.series("up", T0, T0 + 60) == [{"__name__": "up", "job": "api"}]
    assert await client.build_info() == {"version": "2.53.0", "revision": "1f4e"}
    assert [(r.method, r.url.path) for r in servers.requests] == [
        ("POST", "/api/v1/labels"),
        ("POST", "/api/v1/series"),
        ("GET", "/api/v1/status/buildinfo"),
    ]
    assert servers.forms()[1] == {"match[]": "up", "start": str(T0), "end": str(T0 + 60)}


async def test_the_authorization_header_goes_with_every_request(servers: Servers) -> None:
    client = servers.client(up, authorization="Bearer s3cret")
    await client.query_range("up", T0, T0, 60)
    await client.query_range("up", T0, T0 + 60, 60)
    anonymous = servers.client(up)
    await anonymous.query_range("up", T0, T0, 60)
    assert [r.headers.get("Authorization") for r in servers.requests] == [
        "Bearer s3cret",
        "Bearer s3cret",
        None,
    ]
