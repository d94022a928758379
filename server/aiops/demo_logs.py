"""The demo's logs, beside its Prometheus where a `loki` binary is found (on the PATH, or the
one `make test` builds into .tools/bin): a local Loki with its pattern ingester on, holding half
an hour of a made-up shop's log lines and fed new ones every second, and a running log-pattern
detector over them. A burst of one template comes every third minute, and a new error template
three minutes after the start, so a newcomer sees both kinds of anomaly within minutes.

Like the rest of the demo, it talks to the server through its own gRPC API.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import subprocess
import tempfile
import time
from contextlib import suppress
from pathlib import Path

import grpc
import httpx

from aiops.demo import free_port
from aiops_api.v1 import (
    data_source_pb2,
    data_source_service_pb2,
    data_source_service_pb2_grpc,
    detector_pb2,
    detector_service_pb2,
    detector_service_pb2_grpc,
)

log = logging.getLogger(__name__)

BUILT_LOKI = Path(__file__).resolve().parents[2] / ".tools" / "bin" / "loki"
STEP = 10  # seconds: Loki counts patterns in 10-second samples
HISTORY = 1800  # seconds of lines pushed before the detector starts
BASELINE_STEPS = 120  # 20 minutes of the history
NEW_AFTER = 180  # seconds after the start when the new error template comes, for 30 seconds
DATA_SOURCE_ID = "demo-logs"
DETECTOR_ID = "demo-log-patterns"
SELECTOR = '{app="demo-shop"}'
NS = 1_000_000_000

# Loki as one binary on loopback, everything in memory and in `directory` (the demo's, and the
# tests' in tests/loki.py): ready at once, any line taken, queries answered from the ingester.
LOKI_CONFIG = """\
auth_enabled: false
server:
  http_listen_address: 127.0.0.1
  http_listen_port: {http_port}
  grpc_listen_address: 127.0.0.1
  grpc_listen_port: {grpc_port}
  log_level: warn
common:
  instance_addr: 127.0.0.1
  path_prefix: {directory}
  replication_factor: 1
  ring:
    kvstore:
      store: inmemory
  storage:
    filesystem:
      chunks_directory: {directory}/chunks
      rules_directory: {directory}/rules
schema_config:
  configs:
    - from: 2020-01-01
      store: tsdb
      object_store: filesystem
      schema: v13
      index:
        prefix: index_
        period: 24h
ingester:
  lifecycler:
    min_ready_duration: 0s  # ready at once instead of after 15s
    final_sleep: 0s
  chunk_idle_period: 24h  # what is pushed stays in memory however long it runs
  # Single binary: the ingester answers for lines up to about 2h40m old unless told otherwise.
  query_store_max_look_back_period: -1
limits_config:
  reject_old_samples: false  # the history pushed at start is hours old
  # Streams keep exactly the labels pushed: no service_name, no detected_level.
  discover_service_name: []
  discover_log_levels: false
  max_line_size: 0  # lines of a megabyte are taken (the tests' bad input)
# Loki's own log patterns (/loki/api/v1/patterns), which log-pattern detectors may use.
pattern_ingester:
  enabled: true
  lifecycler:
    min_ready_duration: 0s
    final_sleep: 0s
frontend:
  scheduler_dns_lookup_period: 100ms  # finds the scheduler at once instead of after 10s
querier:
  query_ingesters_within: 0  # nothing is flushed: ask the ingester however old the range
analytics:
  reporting_enabled: false
"""


def loki_binary() -> str | None:
    found = shutil.which("loki")
    if found is not None:
        return found
    return str(BUILT_LOKI) if BUILT_LOKI.exists() else None


def shop_lines(t: int, started: float) -> list[str]:
    """The lines of second `t`: orders every second, carts every other one, a payment retried
    every fifth (and in bursts every third minute once the demo runs: the history has none, so
    the first is news), and the new error for 30 s after NEW_AFTER seconds."""
    minute, second = divmod(t, 60)
    lines = [f'level=info msg="order placed" order={t % 100_000} total={t % 97}.{t % 10}0']
    if t % 2 == 0:
        lines.append(f'level=info msg="cart viewed" user=u{t % 53} items={t % 7 + 1}')
    burst = t >= started and minute % 3 == 0 and 20 <= second < 30
    retries = 6 if burst else int(t % 5 == 0)
    lines += [
        f'level=warn msg="payment retried" gateway=gw{(t + i) % 3} attempt={i + 1}'
        for i in range(retries)
    ]
    if 0 <= t - started - NEW_AFTER < 30:
        lines.append(f'level=error msg="inventory sync failed" store=s{t % 5} code={500 + t % 4}')
    return lines


class LogDemo:
    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.directory = Path(tempfile.mkdtemp(prefix="aiops-demo-loki-"))
        self.process: subprocess.Popen[bytes] | None = None
        self.feeder: asyncio.Task[None] | None = None
        self.url = ""
        self.started = time.time()

    async def start(self, grpc_address: str) -> None:
        now = int(time.time())
        await asyncio.to_thread(self._start_loki)
        await asyncio.to_thread(self._push, range(now - HISTORY, now))
        self.feeder = asyncio.create_task(self._feed(now), name="demo-logs")
        await self._create_detector(grpc_address)
        log.info(
            "demo: Loki at %s; log-pattern detector detectors/%s raises its first anomalies "
            "within minutes (aiops.v1.DetectorService/ListLogPatterns lists its templates)",
            self.url,
            DETECTOR_ID,
        )

    async def stop(self) -> None:
        if self.feeder is not None:
            self.feeder.cancel()
            with suppress(asyncio.CancelledError):
                await self.feeder
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            await asyncio.to_thread(self.process.wait, 30)
        shutil.rmtree(self.directory, ignore_errors=True)

    def _start_loki(self) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        config = LOKI_CONFIG.format(http_port=port, grpc_port=free_port(), directory=self.directory)
        (self.directory / "loki.yaml").write_text(config)
        self.process = subprocess.Popen(
            [self.binary, "-config.file=loki.yaml"],
            cwd=self.directory,
            stdout=(self.directory / "loki.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            with suppress(httpx.TransportError):
                if httpx.get(f"{self.url}/ready", timeout=1).status_code == 200:
                    return
            time.sleep(0.2)
        raise OSError(f"the demo's Loki did not start; see {self.directory}/loki.log")

    def _push(self, seconds: range) -> None:
        values = [
            [str(t * NS + i), line]
            for t in seconds
            for i, line in enumerate(shop_lines(t, self.started))
        ]
        body = {"streams": [{"stream": {"app": "demo-shop"}, "values": values}]}
        response = httpx.post(
            f"{self.url}/loki/api/v1/push",
            content=json.dumps(body),
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        response.raise_for_status()

    async def _feed(self, since: int) -> None:
        """Pushes each second's lines once it has passed."""
        while True:
            await asyncio.sleep(1)
            now = int(time.time())
            if now > since:
                try:
                    await asyncio.to_thread(self._push, range(since, now))
                    since = now
                except httpx.HTTPError as error:  # Loki will be back, or the demo ends
                    log.warning("demo: pushing to Loki failed: %s", error)

    async def _create_detector(self, grpc_address: str) -> None:
        async with grpc.aio.insecure_channel(grpc_address) as channel:
            sources = data_source_service_pb2_grpc.DataSourceServiceStub(channel)  # type: ignore[no-untyped-call]
            detectors = detector_service_pb2_grpc.DetectorServiceStub(channel)  # type: ignore[no-untyped-call]
            source = data_source_pb2.DataSource(
                name=f"dataSources/{DATA_SOURCE_ID}",
                display_name="Demo Loki (started by aiops serve)",
                kind=data_source_pb2.DataSource.KIND_LOKI,
                urls=[self.url],
            )
            try:
                await sources.CreateDataSource(
                    data_source_service_pb2.CreateDataSourceRequest(
                        data_source=source, data_source_id=DATA_SOURCE_ID
                    )
                )
            except grpc.aio.AioRpcError as error:
                if error.code() != grpc.StatusCode.ALREADY_EXISTS:
                    raise
                await sources.UpdateDataSource(
                    data_source_service_pb2.UpdateDataSourceRequest(
                        data_source=source, update_mask={"paths": ["urls"]}
                    )
                )
            detector = detector_pb2.Detector(
                display_name="Demo: the shop's log templates",
                data_source=source.name,
                query=SELECTOR,
                step={"seconds": STEP},
                # The default rate algorithm, the ensemble: it scores from its 100th point on.
                log_pattern=detector_pb2.LogPatternRates(baseline_steps=BASELINE_STEPS),
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
            # Start learns afresh: this Loki is new, and so is its history.
            await detectors.StopDetector(
                detector_service_pb2.StopDetectorRequest(name=f"detectors/{DETECTOR_ID}")
            )
            await detectors.StartDetector(
                detector_service_pb2.StartDetectorRequest(name=f"detectors/{DETECTOR_ID}")
            )
