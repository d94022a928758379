"""The /metrics endpoint for Prometheus: prometheus_client's HTTP server (a thread of its own)
on `metrics_address`, over a registry of this server's collectors (the gRPC metrics of every
serving process, aiops.api.metrics; the process's own, prometheus_client's)."""

from __future__ import annotations

from dataclasses import dataclass
from threading import Thread
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector
from prometheus_client.exposition import start_http_server
from prometheus_client.registry import Collector


def registry_of(*collectors: Collector) -> CollectorRegistry:
    """A registry of `collectors`, with the process's CPU, memory, files and Python's version."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    for collector in collectors:
        registry.register(collector)
    return registry


@dataclass
class MetricsServer:
    server: WSGIServer
    thread: Thread
    address: str  # host:port, with the port chosen when 0 was asked for

    @property
    def url(self) -> str:
        return f"http://{self.address}/metrics"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def serve_metrics(address: str, registry: CollectorRegistry) -> MetricsServer:
    """Serves `registry` on `address` (host:port, port 0 for any) at /metrics; OSError when
    the address is taken."""
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    try:
        server, thread = start_http_server(int(port), addr=host, registry=registry)
    except OSError as e:
        raise OSError(f"cannot listen on {address} (metrics_address, for /metrics): {e}") from None
    shown = f"[{host}]" if ":" in host else host
    return MetricsServer(server, thread, f"{shown}:{server.server_port}")
