"""A LogQL log query's stream selector, found without Loki."""

from __future__ import annotations

import pytest

from aiops.sources.logql import split_selector


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('{app="api"}', ('{app="api"}', "")),
        ('  {app="api", env=~"prod|dev"}  ', ('{app="api", env=~"prod|dev"}', "")),
        ('{app="api"} |= "timeout" != `debug`', ('{app="api"}', '|= "timeout" != `debug`')),
        ('{path="/a}b"} |~ "x"', ('{path="/a}b"}', '|~ "x"')),
        ('{q="say \\"}\\" twice"}', ('{q="say \\"}\\" twice"}', "")),
        ("{raw=`a}\\`}", ("{raw=`a}\\`}", "")),
    ],
)
def test_the_selector_and_what_follows(query: str, expected: tuple[str, str]) -> None:
    assert split_selector(query) == expected


@pytest.mark.parametrize(
    "query",
    ['sum(count_over_time({app="api"}[1m]))', '{app="api"', '{app="a}', "", "app=api"],
)
def test_not_a_log_query(query: str) -> None:
    assert split_selector(query) is None
