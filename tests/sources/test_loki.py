"""The Loki client against a real Loki (built from the Go module proxy by scripts/install-tools),
filled with the log lines of tests/loki.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import numpy as np
import pytest

from aiops.sources.http import Limits, QueryError, UnavailableError
from aiops.sources.loki import Direction, Logs, LokiClient
from tests.loki import BASE, BATCH_OFFSETS, ERROR_MINUTES, MINUTES, NS, TIED_NS, LokiServer
from tests.postgres import free_port

HOUR = (BASE * NS, (BASE + 3600) * NS)  # [start, end) of the test data, in nanoseconds
BATCH = '{app="batch"}'


@pytest.fixture
async def client(loki_server: LokiServer) -> AsyncIterator[LokiClient]:
    client = LokiClient([loki_server.url])
    yield client
    await client.aclose()


def by_labels(logs: Logs) -> dict[tuple[tuple[str, str], ...], list[tuple[int, str]]]:
    return {tuple(sorted(s.labels.items())): s.entries for s in logs.streams}


def all_batch_lines() -> set[tuple[str, int, str]]:
    return {
        (shard, TIED_NS + offset, f"shard {shard} line {i}")
        for shard, offsets in BATCH_OFFSETS.items()
        for i, offset in enumerate(offsets)
    }


def flatten(logs: Logs) -> list[tuple[str, int, str]]:
    return [(s.labels["shard"], t, line) for s in logs.streams for t, line in s.entries]


async def test_a_log_query_returns_each_stream_newest_first(client: LokiClient) -> None:
    logs = await client.query_logs('{app="api"}', *HOUR)
    streams = by_labels(logs)
    info = streams[(("app", "api"), ("level", "info"))]
    errors = streams[(("app", "api"), ("level", "error"))]
    assert len(streams) == 2 and logs.warnings == []
    assert info == [
        ((BASE + 60 * k) * NS, f"GET /orders/{k} 200") for k in reversed(range(MINUTES))
    ]
    assert [t for t, _ in errors] == [(BASE + 60 * k) * NS for k in reversed(ERROR_MINUTES)]


async def test_forward_returns_oldest_first_and_the_limit_keeps_the_oldest(
    client: LokiClient,
) -> None:
    logs = await client.query_logs('{app="api"}', *HOUR, limit=3, direction="forward")
    assert sorted((t, line) for s in logs.streams for t, line in s.entries) == [
        (BASE * NS, "GET /orders/0 200"),
        (BASE * NS, "GET /orders/0 500 upstream timeout"),
        ((BASE + 60) * NS, "GET /orders/1 200"),
    ]


async def test_the_limit_keeps_the_newest_lines_across_streams(client: LokiClient) -> None:
    logs = await client.query_logs('{app="api"}', *HOUR, limit=3)
    assert [line for s in logs.streams for _, line in s.entries] == [
        "GET /orders/59 200",
        "GET /orders/58 200",
        "GET /orders/57 200",
    ]


async def test_the_end_is_excluded_and_the_start_included(client: LokiClient) -> None:
    logs = await client.query_logs('{app="api", level="info"}', BASE * NS, (BASE + 120) * NS)
    assert [line for _, line in logs.streams[0].entries] == [
        "GET /orders/1 200",
        "GET /orders/0 200",
    ]


async def test_a_filter_selects_lines(client: LokiClient) -> None:
    logs = await client.query_logs('{app="api"} |= "timeout"', *HOUR)
    assert len(logs.streams) == 1 and logs.streams[0].labels["level"] == "error"


@pytest.mark.parametrize("direction", ["backward", "forward"])
@pytest.mark.parametrize("page", [4, 5, 7, 1000])
async def test_paging_past_loki_limit_loses_and_repeats_no_line_at_equal_timestamps(
    loki_server: LokiServer, direction: Direction, page: int
) -> None:
    # Three lines share a nanosecond twice over: pages of 4 and 5 end among them.
    client = LokiClient([loki_server.url], Limits(max_lines_per_request=page))
    logs = await client.query_logs(BATCH, *HOUR, direction=direction)
    await client.aclose()
    found = flatten(logs)
    assert len(found) == len(set(found)) == 12 and set(found) == all_batch_lines()
    assert logs.warnings == []
    for stream in logs.streams:
        times = [t for t, _ in stream.entries]
        assert times == sorted(times, reverse=direction == "backward")


async def test_a_limit_inside_a_page_of_ties_keeps_the_count(loki_server: LokiServer) -> None:
    client = LokiClient([loki_server.url], Limits(max_lines_per_request=4))
    logs = await client.query_logs(BATCH, *HOUR, limit=7, direction="forward")
    await client.aclose()
    found = flatten(logs)
    assert len(found) == len(set(found)) == 7
    assert sorted(t - TIED_NS for _, t, _ in found) == [0, 1, 2, 2, 2, 3, 4]


async def test_more_lines_at_one_nanosecond_than_a_page_holds_are_cut_with_a_warning(
    loki_server: LokiServer,
) -> None:
    client = LokiClient([loki_server.url], Limits(max_lines_per_request=2))
    logs = await client.query_logs(BATCH, *HOUR)
    await client.aclose()
    found = flatten(logs)
    assert len(found) == len(set(found)) and set(found) < all_batch_lines()
    assert any("lines at" in warning and "left out" in warning for warning in logs.warnings)


async def test_max_bytes_stops_the_lines_with_a_warning(client: LokiClient) -> None:
    logs = await client.query_logs('{app="api", level="info"}', *HOUR, max_bytes=400)
    lines = [line for _, line in logs.streams[0].entries]
    assert 0 < len(lines) < 20 and lines[0] == "GET /orders/59 200"  # 60 without the cap
    assert sum(len(line) for line in lines) < 400
    assert "stopped after" in logs.warnings[-1]


async def test_a_metric_query_fills_the_step_grid_with_nan_gaps(client: LokiClient) -> None:
    end = BASE + 60 * (MINUTES - 1)
    matrix = await client.query_range('count_over_time({level="error"}[1m])', BASE, end, 60)
    assert matrix.labels == [{"app": "api", "level": "error"}]
    assert (matrix.start_ms, matrix.step_ms) == (BASE * 1000, 60_000)
    expected = np.full(MINUTES, np.nan)
    expected[list(ERROR_MINUTES)] = 1
    np.testing.assert_array_equal(matrix.values[0], expected)


async def test_a_metric_query_of_many_series(client: LokiClient) -> None:
    query = 'sum by (level) (count_over_time({app="api"}[10m]))'
    matrix = await client.query_range(query, BASE + 600, BASE + 3540, 600)
    rows = {labels["level"]: row for row, labels in enumerate(matrix.labels)}
    np.testing.assert_array_equal(matrix.values[rows["info"]], [10] * 5)
    np.testing.assert_array_equal(matrix.values[rows["error"]], [1] * 5)


async def test_a_long_metric_range_is_fetched_in_pieces(loki_server: LokiServer) -> None:
    query = 'count_over_time({level="error"}[1s])'
    end = BASE + 3599  # 3,600 one-second points
    whole = LokiClient([loki_server.url])
    pieces = LokiClient([loki_server.url], Limits(max_points_per_request=1000))
    try:
        expected = await whole.query_range(query, BASE, end, 1)
        stitched = await pieces.query_range(query, BASE, end, 1)
    finally:
        await whole.aclose()
        await pieces.aclose()
    assert stitched.values.shape == (1, 3600)
    assert np.nansum(stitched.values) == len(ERROR_MINUTES)
    np.testing.assert_array_equal(stitched.values, expected.values)


async def test_labels_series_and_build_info(client: LokiClient) -> None:
    assert {"app", "level", "shard"} <= set(await client.labels(*HOUR))
    found = await client.series(BATCH, *HOUR)
    assert sorted(s["shard"] for s in found) == ["a", "b"]
    assert (await client.build_info())["version"].startswith("3.")


@pytest.mark.parametrize("query", ['{app="api"', 'count_over_time({app="api"})', "app=api"])
async def test_bad_logql_is_a_query_error_with_loki_message(client: LokiClient, query: str) -> None:
    with pytest.raises(QueryError, match="parse error"):
        await client.query_logs(query, *HOUR)
    with pytest.raises(QueryError, match="parse error"):
        await client.query_range(query, BASE, BASE + 600, 60)


async def test_a_metric_query_for_lines_and_a_log_query_for_numbers_say_so(
    client: LokiClient,
) -> None:
    with pytest.raises(QueryError, match="this is a metric query"):
        await client.query_logs('count_over_time({app="api"}[1m])', *HOUR)
    with pytest.raises(QueryError, match="this is a log query"):
        await client.query_range('{app="api"}', BASE, BASE + 600, 60)


async def test_an_unreachable_url_is_unavailable_and_the_next_url_answers(
    loki_server: LokiServer,
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    alone = LokiClient([dead], Limits(retries=0))
    with pytest.raises(UnavailableError, match=dead):
        await alone.query_logs(BATCH, *HOUR)
    await alone.aclose()
    failover = LokiClient([dead, loki_server.url])
    logs = await failover.query_logs(BATCH, *HOUR)
    assert failover.answered_by == loki_server.url
    await failover.aclose()
    assert len(flatten(logs)) == 12


@pytest.mark.parametrize(("start", "end", "limit"), [(HOUR[1], HOUR[0], 10), (*HOUR, 0)])
async def test_a_bad_range_or_limit_is_refused_before_asking(
    client: LokiClient, start: int, end: int, limit: int
) -> None:
    with pytest.raises(ValueError, match="bad range or limit"):
        await client.query_logs(BATCH, start, end, limit)
