"""The Prometheus client against a real Prometheus (Debian's), and against servers that
misbehave in the ways real ones do: down, silent, speaking HTML, answering without end."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import numpy as np
import pytest

from aiops.sources.prometheus import (
    Limits,
    PrometheusClient,
    QueryError,
    TooLargeError,
    UnavailableError,
)
from tests.postgres import free_port
from tests.prometheus import BASE, MINUTES, PrometheusServer
from tests.sources.fake_servers import a_gigabyte, html, http_server, silence


@pytest.fixture
async def client(prometheus_server: PrometheusServer) -> AsyncIterator[PrometheusClient]:
    client = PrometheusClient([prometheus_server.url])
    yield client
    await client.aclose()


def by_instance(labels: list[dict[str, str]]) -> dict[str, int]:
    return {series["instance"]: row for row, series in enumerate(labels)}


async def test_a_range_query_returns_each_series_on_the_step_grid(
    client: PrometheusClient,
) -> None:
    matrix = await client.query_range("demo", BASE, BASE + 60 * (MINUTES - 1), 60)
    rows = by_instance(matrix.labels)
    assert sorted(matrix.labels, key=str) == [
        {"__name__": "demo", "instance": "a"},
        {"__name__": "demo", "instance": "b"},
    ]
    assert matrix.values.shape == (2, MINUTES)
    np.testing.assert_array_equal(matrix.values[rows["a"]], np.arange(MINUTES) * 1.5)
    half = MINUTES // 2
    np.testing.assert_array_equal(matrix.values[rows["b"], :half], -np.arange(half))
    assert np.isnan(matrix.values[rows["b"], half + 5 :]).all()  # past the 5-minute lookback


async def test_a_range_longer_than_prometheus_allows_is_fetched_in_chunks(
    client: PrometheusClient, prometheus_server: PrometheusServer
) -> None:
    end = BASE + 60 * MINUTES - 1  # 21,600 one-second points: two requests
    matrix = await client.query_range('demo{instance="a"}', BASE, end, 1)
    assert matrix.values.shape == (1, 21_600)
    np.testing.assert_array_equal(matrix.values[0, ::60], np.arange(MINUTES) * 1.5)
    small_chunks = PrometheusClient([prometheus_server.url], Limits(max_points_per_request=1000))
    try:
        stitched = await small_chunks.query_range('demo{instance="a"}', BASE, end, 1)
    finally:
        await small_chunks.aclose()
    np.testing.assert_array_equal(stitched.values, matrix.values)


async def test_an_instant_query_returns_one_column(client: PrometheusClient) -> None:
    matrix = await client.query("demo * 2", BASE + 60 * 10)
    rows = by_instance(matrix.labels)
    assert matrix.values.shape == (2, 1) and matrix.start_ms == (BASE + 600) * 1000
    assert matrix.values[rows["a"], 0] == 30.0 and matrix.values[rows["b"], 0] == -20.0
    assert matrix.labels[rows["a"]] == {"instance": "a"}  # an expression drops the name
    special = await client.query(
        "vector(+Inf) or label_replace(vector(NaN), 'x', 'y', '', '')", BASE
    )
    assert sorted(map(str, special.values[:, 0])) == ["inf", "nan"]
    with pytest.raises(QueryError, match="parse error"):
        await client.query("demo[", BASE)
    with pytest.raises(TooLargeError, match="more than 10000 series"):
        await client.query("many", BASE)


async def test_labels_series_and_build_info(client: PrometheusClient) -> None:
    assert {"__name__", "instance", "i"} <= set(await client.labels())
    found = await client.series("demo", BASE, BASE + 3600)
    assert sorted(s["instance"] for s in found) == ["a", "b"]
    assert (await client.build_info())["version"].startswith("2.")


async def test_bad_promql_is_a_query_error_with_prometheus_message(
    client: PrometheusClient,
) -> None:
    with pytest.raises(QueryError, match="parse error"):
        await client.query_range("demo[", BASE, BASE + 600, 60)


async def test_a_query_returning_100k_series_hits_the_series_limit(
    client: PrometheusClient,
) -> None:
    with pytest.raises(TooLargeError, match="more than 10000 series"):
        await client.query_range("many", BASE, BASE + 60, 60)


async def test_an_unreachable_url_is_unavailable_and_the_next_url_answers(
    prometheus_server: PrometheusServer,
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    alone = PrometheusClient([dead])
    with pytest.raises(UnavailableError, match=dead):
        await alone.query_range("demo", BASE, BASE + 600, 60)
    await alone.aclose()
    failover = PrometheusClient([dead, prometheus_server.url])
    matrix = await failover.query_range("demo", BASE, BASE + 600, 60)
    await failover.aclose()
    assert len(matrix.labels) == 2


async def test_a_url_that_answers_html_is_unavailable() -> None:
    async with http_server(html) as url:
        client = PrometheusClient([url])
        with pytest.raises(UnavailableError, match="not Prometheus JSON"):
            await client.query_range("demo", BASE, BASE + 600, 60)
        await client.aclose()


async def test_a_server_that_never_answers_times_out() -> None:
    async with http_server(silence) as url:
        client = PrometheusClient([url], Limits(timeout=0.5))
        started = time.monotonic()
        with pytest.raises(UnavailableError, match=r"no answer within 0.5s"):
            await client.query_range("demo", BASE, BASE + 600, 60)
        assert time.monotonic() - started < 5
        await client.aclose()


async def test_a_gigabyte_answer_is_cut_off_at_the_limit() -> None:
    async with http_server(a_gigabyte) as url:
        client = PrometheusClient([url], Limits(max_response_bytes=4 * 2**20))
        with pytest.raises(TooLargeError, match="over 4 MiB"):
            await client.query_range("demo", BASE, BASE + 600, 60)
        await client.aclose()
