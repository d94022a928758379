"""What the real-time pipeline tests share: an exporter whose value a test sets, and a real
Prometheus scraping it (and the server's /metrics, where the test serves them)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from tests.postgres import free_port
from tests.prometheus import PrometheusServer

SCRAPE = "500ms"


class Exporter:
    """A /metrics endpoint serving one gauge, `live`, whose value the test sets."""

    def __init__(self) -> None:
        self.value = 100.0

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        body = f"# TYPE live gauge\nlive {self.value}\n".encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()

    async def stop(self) -> None:
        self.server.close()
        await self.server.wait_closed()


@dataclass
class Scraped:
    exporter: Exporter
    prometheus: PrometheusServer
    metrics_address: str  # where the server is to serve /metrics, which Prometheus scrapes


@pytest.fixture
async def scraped() -> AsyncIterator[Scraped]:
    exporter = Exporter()
    port = await exporter.start()
    metrics_address = f"127.0.0.1:{free_port()}"
    # The scores come back with the labels of their series (job="exporter"): honor_labels
    # keeps them, as for federation.
    config = (
        f"global:\n  scrape_interval: {SCRAPE}\n  scrape_timeout: 400ms\n"
        "scrape_configs:\n  - job_name: exporter\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
        "  - job_name: aiops\n    honor_labels: true\n"
        f"    static_configs:\n      - targets: ['{metrics_address}']\n"
    )
    server = await asyncio.to_thread(PrometheusServer, None, config)
    yield Scraped(exporter, server, metrics_address)
    server.stop()
    await exporter.stop()
