"""One pooled client per data source, of its kind, rebuilt when the data source changes."""

from __future__ import annotations

from aiops.sources.http import Limits
from aiops.sources.loki import LokiClient
from aiops.sources.prometheus import PrometheusClient
from aiops.store.models import DataSourceRow

# Both answer query_range(query, start, end, step) with a Matrix, and build_info().
SourceClient = PrometheusClient | LokiClient
KINDS: dict[str, type[SourceClient]] = {
    "KIND_PROMETHEUS": PrometheusClient,
    "KIND_LOKI": LokiClient,
}


class SourceClients:
    def __init__(self) -> None:
        self._clients: dict[str, tuple[int, SourceClient]] = {}

    async def get(self, row: DataSourceRow) -> SourceClient:
        """The client of a data source as stored now (its revision)."""
        cached = self._clients.get(row.id)
        if cached is not None and cached[0] == row.revision:
            return cached[1]
        if cached is not None:
            await cached[1].aclose()
        client = KINDS[row.kind](
            list(row.urls),
            Limits(read_timeout=row.timeout_seconds),
            authorization=row.authorization or None,
        )
        self._clients[row.id] = (row.revision, client)
        return client

    async def aclose(self) -> None:
        for _, client in self._clients.values():
            await client.aclose()
        self._clients.clear()
