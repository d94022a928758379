"""The server's status for the system dashboard: every `interval` seconds, a SERVER_STATUS event
(not kept in the log, like SCORES) with its open streams, the events it delivered, its CPU and
memory, each detector's lag and last step, and each data source's requests and latest check."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import socket
import time

import psutil

from aiops.detectors.recent import RecentScoresRegistry
from aiops.events.bus import Bus
from aiops.health import HealthHistory
from aiops.sources.clients import SourceClients
from aiops.sources.http import RequestStats
from aiops_api.v1 import event_pb2

log = logging.getLogger(__name__)


class StatusReporter:
    def __init__(
        self,
        bus: Bus,
        recent: RecentScoresRegistry,
        history: HealthHistory,
        clients: SourceClients,
        interval: float,
    ) -> None:
        self.bus = bus
        self.recent = recent
        self.history = history
        self.clients = clients
        self.interval = interval
        self.server = f"{socket.gethostname()}:{os.getpid()}"
        self._process = psutil.Process()
        self._started = self._process.create_time()
        # What the previous status measured from (the counters are cumulative).
        self._at = time.monotonic()
        self._cpu = time.process_time()
        self._events = bus.events_delivered
        self._requests: dict[str, RequestStats] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._report_forever(), name="status")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _report_forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.bus.broadcast(self.measure())
            except Exception:  # the next one may go through
                log.exception("status: cannot report")

    def measure(self) -> event_pb2.Event:
        """The status since the previous call (or since this reporter was made)."""
        now, cpu, events = time.monotonic(), time.process_time(), self.bus.events_delivered
        elapsed = max(now - self._at, 1e-9)
        status = event_pb2.ServerStatus(
            server=self.server,
            open_streams=self.bus.open_streams,
            events_per_second=(events - self._events) / elapsed,
            cpu_cores=(cpu - self._cpu) / elapsed,
            memory_bytes=self._process.memory_info().rss,
        )
        status.start_time.FromNanoseconds(int(self._started * 1e9))
        status.interval.FromNanoseconds(int(elapsed * 1e9))
        self._at, self._cpu, self._events = now, cpu, events
        wall = time.time()
        for detector_id, ring in self.recent.items():
            if not ring.running:
                continue
            status.detectors.add(
                detector=f"detectors/{detector_id}",
                lag_seconds=ring.lag(wall),
                step_seconds=ring.step_seconds,
                series=len(ring.labels),
            )
        self._add_data_sources(status)
        event = event_pb2.Event(server_status=status)
        event.time.GetCurrentTime()
        return event

    def _add_data_sources(self, status: event_pb2.ServerStatus) -> None:
        stats = self.clients.stats()
        for key in sorted(stats.keys() | self.history.ids()):
            now = stats.get(key, RequestStats())
            before = self._requests.get(key, RequestStats())
            if now.requests < before.requests:  # a new client (the data source changed)
                before = RequestStats()
            requests = now.requests - before.requests
            activity = status.data_sources.add(
                data_source=f"dataSources/{key}",
                requests=requests,
                errors=now.errors - before.errors,
                mean_latency_seconds=(now.seconds - before.seconds) / requests
                if requests
                else math.nan,
            )
            check = self.history.latest(key)
            if check is not None:
                activity.last_check.CopyFrom(check)
            self._requests[key] = RequestStats(now.requests, now.errors, now.seconds)
