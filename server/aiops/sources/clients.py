"""One pooled client per data source, rebuilt when the data source changes."""

from __future__ import annotations

from aiops.sources.prometheus import Limits, PrometheusClient
from aiops.store.models import DataSourceRow


class SourceClients:
    def __init__(self) -> None:
        self._clients: dict[str, tuple[int, PrometheusClient]] = {}

    async def prometheus(self, row: DataSourceRow) -> PrometheusClient:
        """The client of a Prometheus data source as stored now (its revision)."""
        cached = self._clients.get(row.id)
        if cached is not None and cached[0] == row.revision:
            return cached[1]
        if cached is not None:
            await cached[1].aclose()
        client = PrometheusClient(
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
