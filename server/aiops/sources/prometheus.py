"""Prometheus' HTTP API: instant and range queries as numpy [series, time], labels, series, and
build info;
requests go through the shared HTTP layer (failover, retries, circuit breakers, limits)."""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from aiops.sources import answers
from aiops.sources.http import (
    Limits,
    QueryError,
    SourceError,
    SourceHttp,
    TooLargeError,
    UnavailableError,
)
from aiops.sources.matrix import Matrix, parse_matrix
from aiops.sources.ranges import fetch_range

# The errors are the shared layer's; they are importable from here too.
__all__ = [
    "Limits",
    "PrometheusClient",
    "QueryError",
    "SourceError",
    "TooLargeError",
    "UnavailableError",
]


class PrometheusClient:
    def __init__(
        self,
        urls: Sequence[str],
        limits: Limits | None = None,
        authorization: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.http = SourceHttp("Prometheus", urls, limits, authorization, transport=transport)
        self.limits = self.http.limits

    @property
    def answered_by(self) -> str:
        """The URL that answered last."""
        return self.http.answered_by

    async def aclose(self) -> None:
        await self.http.aclose()

    async def query(self, query: str, time: int) -> Matrix:
        """The query's value for each series at `time` (seconds since the epoch): one column."""
        matrix = await self.http.post(
            "/api/v1/query",
            lambda body: answers.vector(body, time * 1000),
            {"query": query, "time": str(time)},
        )
        if len(matrix.labels) > self.limits.max_series:
            raise TooLargeError(
                f"the query returns more than {self.limits.max_series} series; "
                "narrow it with label matchers or aggregate it"
            )
        return matrix

    async def query_range(self, query: str, start: int, end: int, step: int) -> Matrix:
        """The query's series at start, start + step, ... end (seconds since the epoch), NaN
        where a series has no sample."""

        async def piece(piece_start: int, points: int) -> Matrix:
            form = {
                "query": query,
                "start": str(piece_start),
                "end": str(piece_start + (points - 1) * step),
                "step": str(step),
            }
            return await self.http.post(
                "/api/v1/query_range",
                lambda body: parse_matrix(body, piece_start * 1000, step * 1000, points),
                form,
            )

        return await fetch_range(piece, start, end, step, self.limits)

    async def labels(self) -> list[str]:
        return await self.http.post("/api/v1/labels", answers.names, {})

    async def series(self, match: str, start: int, end: int) -> list[dict[str, str]]:
        found = await self.http.post(
            "/api/v1/series",
            answers.label_sets,
            {"match[]": match, "start": str(start), "end": str(end)},
        )
        if len(found) > self.limits.max_series:
            raise TooLargeError(f"more than {self.limits.max_series} series match {match!r}")
        return found

    async def build_info(self) -> dict[str, str]:
        return await self.http.get(
            "/api/v1/status/buildinfo", lambda body: answers.string_map(answers.data(body)), {}
        )
