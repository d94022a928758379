"""Loki's own log patterns (`LokiClient.patterns`): from the real Loki of the tests, whose
pattern ingester is on, and from Loki played by handlers for what a real one will not do."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import numpy as np
import pytest

from aiops.sources.http import NotServedError, QueryError
from aiops.sources.loki import LokiClient
from tests.loki import BASE, MINUTES, LokiServer
from tests.sources.mock_servers import Servers

HOUR = (BASE, BASE + 3600)


@pytest.fixture
async def client(loki_server: LokiServer) -> AsyncIterator[LokiClient]:
    loki_server.wait_for_patterns('{app="checkout"}', *HOUR, 1)
    client = LokiClient([loki_server.url])
    yield client
    await client.aclose()


async def test_the_sample_lines_make_one_pattern_counted_per_step(client: LokiClient) -> None:
    found = await client.patterns('{app="checkout"}', *HOUR, 600)
    (text,) = found.texts
    assert text.startswith('level=info msg="checkout done" cart=<_>') and "<_>" in text
    assert found.levels == ["unknown"]  # levels come from structured metadata, off here
    assert (found.start, found.step) == (BASE, 600)
    np.testing.assert_array_equal(found.counts, [[10] * 6])  # a line a minute
    assert found.counts.sum() == MINUTES


async def test_a_range_cuts_the_counts_and_other_streams_have_none_listed(
    client: LokiClient,
) -> None:
    half = await client.patterns('{app="checkout"}', BASE + 1800, BASE + 3600, 60)
    assert half.counts.shape == (1, 30) and half.counts.sum() == 30
    # Three tokens a line are too few for Loki's pattern ingester; six lines are too few to list.
    none = await client.patterns('{app="api"}', *HOUR, 60)
    assert none.texts == [] and none.counts.shape == (0, 60)


@pytest.mark.parametrize("selector", ['{app="checkout"} |= "done"', '{app=~".*"}', "{app="])
async def test_loki_takes_a_stream_selector_alone(client: LokiClient, selector: str) -> None:
    with pytest.raises(QueryError):
        await client.patterns(selector, *HOUR, 60)


async def test_a_loki_without_patterns_says_so_and_is_not_left_for_another_url() -> None:
    servers = Servers(LokiClient, "http://one:3100", "http://two:3100")
    client = servers.client(
        lambda request: httpx.Response(404), lambda request: httpx.Response(500)
    )
    with pytest.raises(NotServedError):
        await client.patterns('{app="x"}', 0, 600, 60)
    assert [request.url.host for request in servers.requests] == ["one"]
    await client.aclose()


async def test_patterns_listed_twice_are_summed_and_samples_off_the_range_left_out() -> None:
    data = [
        {"pattern": "a <_> b", "level": "unknown", "samples": [[0, 1], [60, 2], [600, 9]]},
        {"pattern": "a <_> b", "level": "error", "samples": [[60, 3], [90, 4]]},
        {"pattern": "c <_>", "samples": None},
    ]
    body = json.dumps({"status": "success", "data": data})
    servers = Servers(LokiClient, "http://one:3100")
    client = servers.client(lambda request: httpx.Response(200, content=body))
    found = await client.patterns('{app="x"}', 0, 600, 60)
    assert found.texts == ["a <_> b", "c <_>"]
    assert found.levels == ["error", "unknown"]
    assert found.counts[0].tolist() == [1, 5] + [0] * 8 and found.counts[1].sum() == 0
    form = dict(httpx.QueryParams(servers.requests[0].content.decode()))
    assert form == {"query": '{app="x"}', "start": "0", "end": str(600 * 10**9), "step": "60s"}
    await client.aclose()
