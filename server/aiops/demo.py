"""The demo that `aiops serve` runs when no Prometheus is configured and Debian's (or any)
`prometheus` binary is on the PATH: a local Prometheus holding an hour of a made-up request
rate, scraping the same series live from an exporter in this process, and a running detector
over it. The series spikes once a minute, so a newcomer sees anomalies within a minute. Where a
`loki` binary is found too, a Loki and a log-pattern detector over its lines (`demo_logs.py`).

The demo talks to the server through its own gRPC API, as any client would.
"""

from __future__ import annotations

import asyncio
import logging
import math
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import httpx

from aiops_api.v1 import (
    data_source_pb2,
    data_source_service_pb2,
    data_source_service_pb2_grpc,
    detector_pb2,
    detector_service_pb2,
    detector_service_pb2_grpc,
)

if TYPE_CHECKING:
    from aiops.demo_logs import LogDemo

log = logging.getLogger(__name__)

SERVICES = ("checkout", "search", "login")
STEP = 5  # seconds, of the detector and of the history
SCRAPE_INTERVAL = "1s"
HISTORY = 3600  # seconds of history loaded before Prometheus starts
SPIKE_SECONDS = 10  # each minute, one service spikes for this long
DATA_SOURCE_ID = "demo"
DETECTOR_ID = "demo-requests"


def request_rate(service: int, t: float) -> float:
    """The demo series: an hourly wave, a little wobble, and each minute a spike in one
    service (they take turns)."""
    base = 100.0 * (service + 1)
    wave = 0.05 * base * math.sin(2 * math.pi * t / 3600)
    wobble = 0.005 * base * math.sin(t * 1.7 + service)
    minute, second = divmod(int(t), 60)
    spike = 2.0 * base if minute % len(SERVICES) == service and second < SPIKE_SECONDS else 0.0
    return round(base + wave + wobble + spike, 3)


def exposition(t: float) -> str:
    lines = ["# TYPE demo_requests_per_second gauge"]
    for i, service in enumerate(SERVICES):
        lines.append(f'demo_requests_per_second{{service="{service}"}} {request_rate(i, t)}')
    return "\n".join([*lines, ""])


def history(now: int, instance: str) -> str:
    """The last hour as OpenMetrics, with the labels Prometheus gives the scraped series."""
    lines = ["# TYPE demo_requests_per_second gauge"]
    for t in range(now - HISTORY, now - 60, STEP):
        for i, service in enumerate(SERVICES):
            labels = f'instance="{instance}",job="aiops-demo",service="{service}"'
            lines.append(f"demo_requests_per_second{{{labels}}} {request_rate(i, t)} {t}")
    return "\n".join([*lines, "# EOF", ""])


class Demo:
    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="aiops-demo-"))
        self.process: subprocess.Popen[bytes] | None = None
        self.exporter: asyncio.Server | None = None
        self.url = ""
        self.logs: LogDemo | None = None

    async def start(self, grpc_address: str) -> None:
        self.exporter = await asyncio.start_server(self._serve_metrics, "127.0.0.1", 0)
        instance = f"127.0.0.1:{self.exporter.sockets[0].getsockname()[1]}"
        await asyncio.to_thread(self._start_prometheus, instance)
        await self._create_detector(grpc_address)
        log.info(
            "demo: Prometheus at %s; detector detectors/%s raises anomalies within a minute "
            '(grpcurl -plaintext -d \'{"parent": "detectors/%s"}\' %s '
            "aiops.v1.DetectorService/ListAnomalies)",
            self.url,
            DETECTOR_ID,
            DETECTOR_ID,
            grpc_address,
        )
        await self._start_logs(grpc_address)

    async def _start_logs(self, grpc_address: str) -> None:
        from aiops import demo_logs

        binary = demo_logs.loki_binary()
        if binary is None:
            log.info("demo: no loki binary found (make setup builds one): no log demo")
            return
        self.logs = demo_logs.LogDemo(binary)
        try:
            await self.logs.start(grpc_address)
        except (OSError, httpx.HTTPError, grpc.aio.AioRpcError) as error:
            log.warning("demo: the log demo did not start: %s", error)

    async def stop(self) -> None:
        if self.logs is not None:
            await self.logs.stop()
        if self.exporter is not None:
            self.exporter.close()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            await asyncio.to_thread(self.process.wait, 30)
        shutil.rmtree(self.directory, ignore_errors=True)

    async def _serve_metrics(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        with suppress(OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            await reader.readuntil(b"\r\n\r\n")
            body = exposition(time.time()).encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        writer.close()

    def _start_prometheus(self, instance: str) -> None:
        (self.directory / "history.om").write_text(history(int(time.time()), instance))
        subprocess.run(
            ["promtool", "tsdb", "create-blocks-from", "openmetrics", "history.om", "tsdb"],
            cwd=self.directory,
            check=True,
            capture_output=True,
            timeout=120,
        )
        (self.directory / "prometheus.yml").write_text(
            f"global:\n  scrape_interval: {SCRAPE_INTERVAL}\n"
            "scrape_configs:\n  - job_name: aiops-demo\n"
            f"    static_configs:\n      - targets: ['{instance}']\n"
        )
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [
                "prometheus",
                "--config.file=prometheus.yml",
                "--storage.tsdb.path=tsdb",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            cwd=self.directory,
            stdout=(self.directory / "prometheus.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.process.poll() is None:
            with suppress(httpx.TransportError):
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise OSError(f"the demo's Prometheus did not start; see {self.directory}/prometheus.log")

    async def _create_detector(self, grpc_address: str) -> None:
        async with grpc.aio.insecure_channel(grpc_address) as channel:
            detectors = detector_service_pb2_grpc.DetectorServiceStub(channel)  # type: ignore[no-untyped-call]
            source = await ensure_data_source(
                channel, DATA_SOURCE_ID, self.url, "Demo Prometheus (started by aiops serve)"
            )
            detector = detector_pb2.Detector(
                display_name="Demo: requests per second, per service",
                data_source=source.name,
                query="demo_requests_per_second",
                step={"seconds": STEP},
                robust_z_score=detector_pb2.RobustZScore(window=60),
            )
            try:
                await detectors.CreateDetector(
                    detector_service_pb2.CreateDetectorRequest(
                        detector=detector, detector_id=DETECTOR_ID
                    )
                )
            except grpc.aio.AioRpcError as error:
                if error.code() != grpc.StatusCode.ALREADY_EXISTS:
                    raise
            await detectors.StartDetector(
                detector_service_pb2.StartDetectorRequest(name=f"detectors/{DETECTOR_ID}")
            )


async def ensure_data_source(
    channel: grpc.aio.Channel, source_id: str, url: str, display_name: str
) -> data_source_pb2.DataSource:
    """Creates the Prometheus data source `source_id` at `url`, or points it there."""
    sources = data_source_service_pb2_grpc.DataSourceServiceStub(channel)  # type: ignore[no-untyped-call]
    source = data_source_pb2.DataSource(
        name=f"dataSources/{source_id}",
        display_name=display_name,
        kind=data_source_pb2.DataSource.KIND_PROMETHEUS,
        urls=[url],
    )
    try:
        created: data_source_pb2.DataSource = await sources.CreateDataSource(
            data_source_service_pb2.CreateDataSourceRequest(
                data_source=source, data_source_id=source_id
            )
        )
        return created
    except grpc.aio.AioRpcError as error:
        if error.code() != grpc.StatusCode.ALREADY_EXISTS:
            raise
    updated: data_source_pb2.DataSource = await sources.UpdateDataSource(
        data_source_service_pb2.UpdateDataSourceRequest(
            data_source=source, update_mask={"paths": ["urls"]}
        )
    )
    return updated


def available() -> bool:
    return shutil.which("prometheus") is not None and shutil.which("promtool") is not None


def free_port() -> int:
    """A free loopback port: free once this returns, and Prometheus binds it right after."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
