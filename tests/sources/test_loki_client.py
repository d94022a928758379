"""The Loki client over httpx.MockTransport: each server is a handler written in the test, so
every page, answer and failure is in plain sight and no socket is opened."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeAlias

import httpx
import numpy as np
import pytest

from aiops.sources.http import QueryError, UnavailableError
from aiops.sources.loki import NS, Direction, LokiClient
from tests.sources import mock_servers
from tests.sources.mock_servers import FAST, Handler, form, refuse, success

A, B = "http://loki-a:3100", "http://loki-b:3100"
T0 = 1_700_000_040  # a multiple of every step the tests ask for: the range is on the grid
NGINX = "<html><body>Welcome to nginx!</body></html>"
# (shard, nanoseconds, line): three lines share 300 ns, two of them in one stream.
LINES = [
    ("a", 100, "a1"),
    ("b", 200, "b2"),
    ("a", 300, "a3"),
    ("b", 300, "b3"),
    ("a", 300, "a3'"),
    ("b", 400, "b4"),
    ("a", 500, "a5"),
]


# Loki servers played by handlers, the first at A, the second at B.
Servers: TypeAlias = mock_servers.Servers[LokiClient]


@pytest.fixture
async def servers() -> AsyncIterator[Servers]:
    async with Servers(LokiClient, A, B) as servers:
        yield servers


def streams(lines: list[tuple[str, int, str]]) -> httpx.Response:
    by_shard: dict[str, list[list[str]]] = {}
    for shard, ns, line in lines:
        by_shard.setdefault(shard, []).append([str(ns), line])
    result = [{"stream": {"shard": s}, "values": v} for s, v in by_shard.items()]
    return success({"resultType": "streams", "result": result, "stats": {}})


def matrix(series: list[tuple[dict[str, str], dict[int, str]]]) -> httpx.Response:
    result = [{"metric": m, "values": [[t, v] for t, v in s.items()]} for m, s in series]
    return success({"resultType": "matrix", "result": result, "stats": {}})


async def loki(request: httpx.Request) -> httpx.Response:
    """Loki over LINES: the `limit` lines of [start, end) nearest the side the direction starts
    from, answered stream by stream."""
    asked = form(request)
    start, end, limit = int(asked["start"]), int(asked["end"]), int(asked["limit"])
    inside = sorted(
        (entry for entry in LINES if start <= entry[1] < end),
        key=lambda entry: entry[1],
        reverse=asked["direction"] == "backward",
    )
    return streams(inside[:limit])


def nginx(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, text=NGINX, headers={"Content-Type": "text/html"})


def one_line(request: httpx.Request) -> httpx.Response:
    return streams([("a", 100, "a1")])


@pytest.mark.parametrize(
    ("direction", "limit", "expected", "windows"),
    [
        (
            "forward",
            1000,
            {"a": [100, 300, 300, 500], "b": [200, 300, 400]},
            [(0, 1000, 4), (300, 1000, 4), (400, 1000, 4)],
        ),
        (
            "backward",
            1000,
            {"a": [500, 300, 300, 100], "b": [400, 300, 200]},
            [(0, 1000, 4), (0, 301, 4), (0, 201, 4)],
        ),
        ("forward", 5, {"a": [100, 300, 300], "b": [200, 300]}, [(0, 1000, 4), (300, 1000, 3)]),
        ("backward", 5, {"a": [500, 300, 300], "b": [400, 300]}, [(0, 1000, 4), (0, 301, 3)]),
    ],
)
async def test_log_lines_are_paged_from_the_last_nanosecond_of_the_page_before(
    servers: Servers,
    direction: Direction,
    limit: int,
    expected: dict[str, list[int]],
    windows: list[tuple[int, int, int]],
) -> None:
    client = servers.client(loki, limits=dataclasses.replace(FAST, max_lines_per_request=4))
    logs = await client.query_logs('{app="x"}', 0, 1000, limit=limit, direction=direction)
    found = {s.labels["shard"]: [t for t, _ in s.entries] for s in logs.streams}
    assert found == expected
    lines = [line for s in logs.streams for _, line in s.entries]
    assert len(lines) == len(set(lines)) == min(limit, len(LINES))  # none lost, none twice
    asked = [form(request) for request in servers.requests]
    assert [(int(f["start"]), int(f["end"]), int(f["limit"])) for f in asked] == windows
    assert {(f["query"], f["direction"]) for f in asked} == {('{app="x"}', direction)}
    assert {request.url.path for request in servers.requests} == {"/loki/api/v1/query_range"}
    assert logs.warnings == []


async def test_a_metric_query_parses_into_the_step_grid(servers: Servers) -> None:
    answer = matrix([({"level": "error"}, {T0: "2", T0 + 120: "1"}), ({"level": "info"}, {})])
    client = servers.client(lambda request: answer)
    query = 'sum by (level) (count_over_time({app="x"}[1m]))'
    found = await client.query_range(query, T0, T0 + 120, 60)
    assert form(servers.requests[0]) == {
        "query": query,
        "start": str(T0 * NS),
        "end": str((T0 + 120) * NS),
        "step": "60",
    }
    assert found.labels == [{"level": "error"}, {"level": "info"}]
    assert (found.start_ms, found.step_ms) == (T0 * 1000, 60_000)
    np.testing.assert_array_equal(found.values, [[2, np.nan, 1], [np.nan] * 3])


LOG_QUERY_FOR_NUMBERS = (
    "this is a log query; a metric query counts or measures lines, such as "
    'sum by (level) (count_over_time({app="api"}[5m]))'
)
METRIC_QUERY_FOR_LINES = (
    'this is a metric query; a log query selects lines, such as {app="api"} |= "error"'
)


@pytest.mark.parametrize(
    ("answer", "ask", "message"),
    [
        (
            streams([("a", T0 * NS, "a line")]),
            lambda client: client.query_range('{app="x"}', T0, T0 + 60, 60),
            LOG_QUERY_FOR_NUMBERS,
        ),
        (
            streams([]),
            lambda client: client.query_range('{app="x"}', T0, T0 + 60, 60),
            LOG_QUERY_FOR_NUMBERS,
        ),
        (
            matrix([({}, {T0: "1"})]),
            lambda client: client.query_logs('count_over_time({app="x"}[1m])', 0, 1000),
            METRIC_QUERY_FOR_LINES,
        ),
    ],
    ids=["lines-for-numbers", "no-lines-for-numbers", "numbers-for-lines"],
)
async def test_a_query_of_the_wrong_kind_is_a_query_error_that_says_which(
    servers: Servers,
    answer: httpx.Response,
    ask: Callable[[LokiClient], Awaitable[object]],
    message: str,
) -> None:
    client = servers.client(lambda request: answer, one_line)
    with pytest.raises(QueryError) as failed:
        await ask(client)
    assert str(failed.value) == message
    assert servers.hosts() == ["loki-a"]  # the query's fault: the next URL is not asked


@pytest.mark.parametrize(
    "ask",
    [
        lambda client: client.query_logs('{app="x"', 0, 1000),
        lambda client: client.query_range('{app="x"', T0, T0 + 60, 60),
    ],
    ids=["query_logs", "query_range"],
)
async def test_loki_plain_text_400_is_a_query_error_with_its_text(
    servers: Servers, ask: Callable[[LokiClient], Awaitable[object]]
) -> None:
    text = "parse error at line 1, col 9: syntax error: unexpected $end\n"
    client = servers.client(lambda request: httpx.Response(400, text=text), one_line)
    with pytest.raises(QueryError) as failed:
        await ask(client)
    assert str(failed.value) == "parse error at line 1, col 9: syntax error: unexpected $end"
    assert servers.hosts() == ["loki-a"]


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        (refuse, "connection refused"),
        (nginx, f"the answer is not Loki JSON: {NGINX.encode()!r}"),
        (
            lambda request: httpx.Response(502, text="Bad Gateway"),
            "HTTP 502 Bad Gateway",
        ),
    ],
    ids=["refused", "html", "502"],
)
async def test_a_url_that_fails_makes_way_for_the_next(
    servers: Servers, bad: Handler, why: str
) -> None:
    client = servers.client(bad, one_line)
    logs = await client.query_logs('{app="x"}', 0, 1000)
    assert [(s.labels, s.entries) for s in logs.streams] == [({"shard": "a"}, [(100, "a1")])]
    assert client.answered_by == B
    assert servers.hosts() == ["loki-a", "loki-b"]
    alone = servers.client(bad, limits=dataclasses.replace(FAST, retries=0))
    with pytest.raises(UnavailableError) as failed:
        await alone.query_logs('{app="x"}', 0, 1000)
    assert str(failed.value) == f"{A}: {why}"


async def test_build_info_and_labels_are_gets(servers: Servers) -> None:
    info = {"version": "3.1.0", "revision": "935aee77", "branch": "HEAD", "goVersion": "go1.22"}

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/loki/api/v1/labels":
            return success(["app", "shard"])
        return httpx.Response(200, json=info)  # no status envelope, unlike Prometheus'

    client = servers.client(refuse, answer)
    assert await client.build_info() == info
    assert await client.labels(0, 1000) == ["app", "shard"]
    assert client.answered_by == B
    assert servers.hosts() == ["loki-a", "loki-b"] * 2
    asked = [(r.method, r.url.path, dict(r.url.params)) for r in servers.requests]
    assert asked[1::2] == [
        ("GET", "/loki/api/v1/status/buildinfo", {}),
        ("GET", "/loki/api/v1/labels", {"start": "0", "end": "1000"}),
    ]
