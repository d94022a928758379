"""One pooled client per data source, of its kind, rebuilt when the data source changes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from aiops.sources.http import Limits, RequestStats
from aiops.sources.loki import LokiClient
from aiops.sources.prometheus import PrometheusClient

# Both answer query_range(query, start, end, step) with a Matrix, and build_info().
SourceClient = PrometheusClient | LokiClient
KINDS: dict[str, type[SourceClient]] = {
    "KIND_PROMETHEUS": PrometheusClient,
    "KIND_LOKI": LokiClient,
}


@dataclass(frozen=True)
class SourceConfig:
    """What a data source's client is built from. `revision` changes with every change of the
    data source, and a new revision gets a new client."""

    id: str
    revision: int
    kind: str  # a key of KINDS
    urls: Sequence[str]
    timeout_seconds: float  # one request's deadline, retries and failover included
    authorization: str = ""  # the Authorization header, if any

    @property
    def name(self) -> str:
        return f"dataSources/{self.id}"


class SourceClients:
    """The clients of every data source; `transport` (httpx's) is for tests without a network."""

    def __init__(self, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._clients: dict[str, tuple[SourceConfig, SourceClient]] = {}
        self.transport = transport

    async def get(self, source: SourceConfig) -> SourceClient:
        """The client of a data source as configured now. Compared whole, not by revision: a
        data source deleted and made again under its id starts again at revision 1."""
        cached = self._clients.get(source.id)
        if cached is not None and cached[0] == source:
            return cached[1]
        if cached is not None:
            await cached[1].aclose()
        client = KINDS[source.kind](
            list(source.urls),
            Limits(timeout=source.timeout_seconds),
            authorization=source.authorization or None,
            transport=self.transport,
        )
        self._clients[source.id] = (source, client)
        return client

    async def keep_only(self, ids: set[str]) -> None:
        """Closes the clients of data sources that are gone."""
        for key in self._clients.keys() - ids:
            await self._clients.pop(key)[1].aclose()

    def stats(self) -> dict[str, RequestStats]:
        """Per data source id, the requests of its current client (safe from the scrape's
        thread: the clients are copied in one step first)."""
        return {key: client.http.stats for key, (_, client) in list(self._clients.items())}

    async def aclose(self) -> None:
        for _, client in self._clients.values():
            await client.aclose()
        self._clients.clear()
