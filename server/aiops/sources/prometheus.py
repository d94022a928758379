"""Prometheus' HTTP API over httpx: range queries as numpy [series, time], labels, series, and
build info; one pooled client per data source, failing over its URLs in order."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np

from aiops.sources.matrix import Matrix, ResponseError, parse_matrix

# Prometheus refuses range queries of more points per series than this; longer ranges are
# fetched in chunks and stitched.
MAX_POINTS_PER_REQUEST = 11_000


class SourceError(Exception):
    """A data source could not answer a query."""


class QueryError(SourceError):
    """The query is wrong: Prometheus' own message, for the user to fix."""


class UnavailableError(SourceError):
    """No URL of the data source answered as Prometheus does: down, slow, or something else."""


class TooLargeError(SourceError):
    """The answer is over a limit: too many bytes or too many series."""


@dataclass(frozen=True)
class Limits:
    connect_timeout: float = 5.0  # seconds
    read_timeout: float = 30.0  # seconds between two reads of a response
    max_response_bytes: int = 256 * 2**20
    max_series: int = 10_000
    max_points_per_request: int = MAX_POINTS_PER_REQUEST


class PrometheusClient:
    def __init__(
        self, urls: Sequence[str], limits: Limits | None = None, authorization: str | None = None
    ) -> None:
        if not urls:
            raise ValueError("a Prometheus data source needs at least one URL")
        self.urls = [url.rstrip("/") for url in urls]
        self.limits = limits or Limits()
        self.answered_by = ""  # the URL that answered last
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(self.limits.read_timeout, connect=self.limits.connect_timeout),
            limits=httpx.Limits(max_connections=8, max_keepalive_connections=8),
            headers={"Authorization": authorization} if authorization else None,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def query_range(self, query: str, start: int, end: int, step: int) -> Matrix:
        """The query's series at start, start + step, ... end (seconds since the epoch), NaN
        where a series has no sample."""
        if step <= 0 or end < start:
            raise ValueError(f"bad range: start={start} end={end} step={step}")
        points = (end - start) // step + 1
        rows: dict[tuple[tuple[str, str], ...], int] = {}
        labels: list[dict[str, str]] = []
        chunks: list[tuple[int, Matrix]] = []
        warnings: list[str] = []
        chunk_points = self.limits.max_points_per_request
        for first in range(0, points, chunk_points):
            count = min(chunk_points, points - first)
            chunk_start = start + first * step
            body = await self._post(
                "/api/v1/query_range",
                {
                    "query": query,
                    "start": str(chunk_start),
                    "end": str(chunk_start + (count - 1) * step),
                    "step": str(step),
                },
            )
            matrix = self._parse(body, chunk_start * 1000, step * 1000, count)
            for series_labels in matrix.labels:
                key = tuple(sorted(series_labels.items()))
                if key not in rows:
                    rows[key] = len(rows)
                    labels.append(series_labels)
            if len(rows) > self.limits.max_series:
                raise TooLargeError(
                    f"the query returns more than {self.limits.max_series} series; "
                    "narrow it with label matchers or aggregate it"
                )
            chunks.append((first, matrix))
            warnings.extend(w for w in matrix.warnings if w not in warnings)
        values = np.full((len(rows), points), np.nan)
        for first, matrix in chunks:
            for series_labels, row_values in zip(matrix.labels, matrix.values, strict=True):
                row = rows[tuple(sorted(series_labels.items()))]
                values[row, first : first + len(row_values)] = row_values
        return Matrix(labels, start * 1000, step * 1000, values, warnings)

    async def labels(self) -> list[str]:
        return [str(name) for name in self._data(await self._post("/api/v1/labels", {}))]

    async def series(self, match: str, start: int, end: int) -> list[dict[str, str]]:
        body = await self._post(
            "/api/v1/series", {"match[]": match, "start": str(start), "end": str(end)}
        )
        found = self._data(body)
        if len(found) > self.limits.max_series:
            raise TooLargeError(f"more than {self.limits.max_series} series match {match!r}")
        return [dict(item) for item in found]

    async def build_info(self) -> dict[str, str]:
        body = await self._get("/api/v1/status/buildinfo")
        return {str(key): str(value) for key, value in self._data(body).items()}

    def _parse(self, body: bytes, start_ms: int, step_ms: int, points: int) -> Matrix:
        try:
            return parse_matrix(body, start_ms, step_ms, points)
        except ResponseError as error:
            raise UnavailableError(f"the answer is not Prometheus': {error}") from None

    def _data(self, body: bytes) -> Any:
        try:
            document = json.loads(body)
            if document.get("status") == "success":
                return document["data"]
        except (ValueError, AttributeError, KeyError):
            pass
        raise UnavailableError(f"the answer is not Prometheus': {body[:80]!r}")

    async def _get(self, path: str) -> bytes:
        return await self._request("GET", path, None)

    async def _post(self, path: str, form: dict[str, str]) -> bytes:
        # POST: a 16 KiB query does not fit every proxy's URL limit.
        return await self._request("POST", path, form)

    async def _request(self, method: str, path: str, form: dict[str, str] | None) -> bytes:
        """The body of the first URL that answers; a wrong query fails at once, a server that
        is down or answers nonsense makes way for the next URL."""
        failures = []
        for url in self.urls:
            try:
                async with self._http.stream(method, url + path, data=form) as response:
                    body = await self._read(response)
            except httpx.TimeoutException:
                failures.append(f"{url}: no answer within {self.limits.read_timeout:g}s")
                continue
            except httpx.TransportError as error:
                failures.append(f"{url}: {error or type(error).__name__}")
                continue
            if response.status_code in (400, 422):  # bad_data, execution: the query's fault
                raise QueryError(_error_message(body) or f"HTTP {response.status_code}")
            if response.status_code != 200:
                message = _error_message(body) or body[:80].decode(errors="replace")
                failures.append(f"{url}: HTTP {response.status_code} {message}".strip())
                continue
            self.answered_by = url
            return body
        raise UnavailableError("; ".join(failures))

    async def _read(self, response: httpx.Response) -> bytes:
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > self.limits.max_response_bytes:
                raise TooLargeError(
                    f"the answer is over {self.limits.max_response_bytes // 2**20} MiB; "
                    "shorten the range, raise the step or narrow the query"
                )
        return bytes(body)


def _error_message(body: bytes) -> str:
    """Prometheus' own error text, when the body is its error document."""
    try:
        document = json.loads(body)
        return str(document.get("error", "")) if isinstance(document, dict) else ""
    except ValueError:
        return ""
