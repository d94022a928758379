"""The server's status for the system dashboard: every `interval` seconds, a SERVER_STATUS event
(not kept in the log, like SCORES) with its open streams, the events it delivered, its CPU and
memory, each detector's lag and last step, and each data source's requests and latest check.
Streams, CPU and memory are those of every serving process (`aiops serve --workers`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import socket
import time
from typing import Protocol

import psutil

from aiops.detectors.recent import RecentScoresRegistry
from aiops.events.bus import Bus
from aiops.health import HealthHistory
from aiops.sources.clients import SourceClients
from aiops.sources.http import RequestStats
from aiops_api.v1 import event_pb2

log = logging.getLogger(__name__)


class Workers(Protocol):
    """The server's other serving processes (aiops.workers.Workers)."""

    @property
    def pids(self) -> list[int]: ...

    @property
    def open_streams(self) -> int: ...

    @property
    def cut_offs(self) -> tuple[int, int]: ...


class StatusReporter:
    def __init__(
        self,
        bus: Bus,
        recent: RecentScoresRegistry,
        history: HealthHistory,
        clients: SourceClients,
        interval: float,
        workers: Workers | None = None,
    ) -> None:
        self.bus = bus
        self.workers = workers
        self.recent = recent
        self.history = history
        self.clients = clients
        self.interval = interval
        self.server = f"{socket.gethostname()}:{os.getpid()}"
        self._process = psutil.Process()
        self._started = self._process.create_time()
        # What the previous status measured from (the counters are cumulative).
        self._at = time.monotonic()
        self._cpu: dict[int, float] = {}  # CPU seconds by process
        self._cpu_seconds()
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
        now, events = time.monotonic(), self.bus.events_delivered
        elapsed = max(now - self._at, 1e-9)
        workers = self.workers.open_streams if self.workers is not None else 0
        status = event_pb2.ServerStatus(
            server=self.server,
            open_streams=self.bus.open_streams + workers,
            events_per_second=(events - self._events) / elapsed,
            cpu_cores=self._cpu_seconds() / elapsed,
            memory_bytes=self._memory_bytes(),
        )
        status.start_time.FromNanoseconds(int(self._started * 1e9))
        status.interval.FromNanoseconds(int(elapsed * 1e9))
        self._at, self._events = now, events
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

    def _processes(self) -> list[psutil.Process]:
        """This process and its workers (those alive now)."""
        processes = [self._process]
        for pid in self.workers.pids if self.workers is not None else []:
            with contextlib.suppress(psutil.Error):
                processes.append(psutil.Process(pid))
        return processes

    def _cpu_seconds(self) -> float:
        """CPU time the serving processes used since the previous call."""
        used, seen = 0.0, {}
        for process in self._processes():
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                seen[process.pid] = times.user + times.system
                used += seen[process.pid] - self._cpu.get(process.pid, 0.0)
        self._cpu = seen
        return used

    def _memory_bytes(self) -> int:
        total = 0
        for process in self._processes():
            with contextlib.suppress(psutil.Error):
                total += process.memory_info().rss
        return total

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
