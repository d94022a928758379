"""Several serving processes on one port (`aiops serve --workers N`).

The process `aiops serve` starts is the primary: it runs everything it runs with one worker (the
full API, the pipeline, the health probe, retention, Envoy) and writes every event. It also starts
N - 1 worker processes (`python -m aiops.workers`), each with its own event loop and grpc.aio
server bound to the same port (SO_REUSEPORT: the kernel spreads incoming connections over the N
processes). A worker serves Subscribe from its own bus, health and reflection, and forwards every
other call to the primary's private unix socket (`aiops.api.worker`). Its bus is the primary's feed
(`aiops.events.feed`), or with `redis_url` the Redis stream, as a replica's.

A worker learns its plan on stdin (one JSON line) and says `ready` on stdout once it serves, then
its number of open streams, of streams it cut off and their events, and its gRPC metrics (a
JSON line, `{"streams": N, "cut_off": [streams, events], "rpc": [...]}`)
every `STREAMS_REPORT_S`: the primary's SERVER_STATUS and /metrics count every process's, on
either bus. It stops when told (SIGTERM: its
streams end with SHUTTING_DOWN and where to resume; SIGINT, a terminal's Ctrl-C, it leaves to the
primary) or when its stdin closes (the primary is gone, even killed). A worker that dies is started
again."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import secrets
import signal
import sys
from typing import Any

import grpc
import structlog

from aiops import heap, structured_logs
from aiops.api.metrics import RpcMetrics
from aiops.api.worker import build_worker_server
from aiops.config import Settings
from aiops.events import log as event_log
from aiops.events.bus import Bus
from aiops.events.feed import FeedBus, FeedingBus
from aiops.events.redis_bus import RedisBus
from aiops.retry import full_jitter
from aiops.store.database import create_engine, session_factory

log = logging.getLogger(__name__)

READY = "ready"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
WORKER_GRACE_S = 5.0
STREAMS_REPORT_S = 0.5


class Workers:
    """The primary's worker processes: started, watched (and started again), stopped."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.count = settings.workers - 1
        # Sockets in the abstract namespace: no files, so none left behind by a killed server.
        name = f"aiops-{os.getpid()}-{secrets.token_hex(8)}"
        self.primary = f"unix-abstract:{name}.api"
        self.feed = f"\0{name}.feed"
        self.processes: list[asyncio.subprocess.Process | None] = [None] * self.count
        self.streams = [0] * self.count  # what each said it has open
        self.rpc = [RpcMetrics() for _ in range(self.count)]  # and its gRPC metrics
        self.cut_off = [(0, 0)] * self.count  # streams cut off, and their events
        self._watching: list[asyncio.Task[None]] = []
        self._stopping = False
        self._address = ""

    async def listen(self, server: grpc.aio.Server, bus: Bus) -> None:
        """Before `server` starts: its private address for the workers' forwarded calls, and
        the event feed where `bus` is the primary's in-process one."""
        server.add_insecure_port(self.primary)
        if isinstance(bus, FeedingBus):
            await bus.serve_feed(self.feed)

    async def start(self, address: str) -> None:
        """Starts the workers on `address`, the primary's host:port; OSError when one does not
        start (the others are stopped then)."""
        self._address = address
        spawned = await asyncio.gather(
            *(self._spawn() for _ in range(self.count)), return_exceptions=True
        )
        for i, outcome in enumerate(spawned):
            if isinstance(outcome, asyncio.subprocess.Process):
                self.processes[i] = outcome
        failed = [e for e in spawned if isinstance(e, BaseException)]
        if failed:
            await self.stop()
            raise failed[0]
        for i in range(self.count):
            self._watching.append(asyncio.create_task(self._watch(i), name=f"worker {i + 1}"))

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes if p is not None and p.returncode is None]

    @property
    def open_streams(self) -> int:
        """The streams open on the workers, as they last said."""
        return sum(self.streams)

    @property
    def cut_offs(self) -> tuple[int, int]:
        """Streams the workers cut off, and the events those had waiting, as they last said."""
        return sum(s for s, _ in self.cut_off), sum(e for _, e in self.cut_off)

    async def stop(self) -> None:
        """Ends every worker's streams with where to resume, and the workers."""
        self._stopping = True
        for task in self._watching:
            task.cancel()
        await asyncio.gather(*self._watching, return_exceptions=True)
        await asyncio.gather(*(_end(p) for p in self.processes if p is not None))

    async def _spawn(self) -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "aiops.workers",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert process.stdin is not None and process.stdout is not None
        plan = {
            "settings": dataclasses.asdict(self.settings),
            "address": self._address,
            "primary": self.primary,
            "feed": self.feed,
        }
        process.stdin.write(json.dumps(plan).encode() + b"\n")
        try:
            line = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT_S)
        except TimeoutError:
            line = b""
        if line.decode().strip() != READY:
            await _end(process)
            raise OSError(f"a worker did not start on {self._address} (see its log above)")
        return process

    async def _watch(self, i: int) -> None:
        """Starts worker `i` again whenever it dies."""
        failures = 0
        while True:
            process = self.processes[i]
            if process is not None:
                await self._hear(i, process)
                code = await process.wait()
                # What it counted goes with it: a counter that falls is a restart to Prometheus.
                self.streams[i], self.rpc[i], self.cut_off[i] = 0, RpcMetrics(), (0, 0)
                if self._stopping:
                    return
                log.warning(
                    "worker %d (pid %d) exited with %s; starting another", i + 1, process.pid, code
                )
                self.processes[i] = None
            await asyncio.sleep(full_jitter(failures, 0.1, 5.0))
            try:
                self.processes[i] = await self._spawn()
                failures = 0
            except OSError as e:
                log.error("%s", e)
                failures += 1

    async def _hear(self, i: int, process: asyncio.subprocess.Process) -> None:
        """Keeps what worker `i` says of its streams until its stdout closes (it has gone)."""
        assert process.stdout is not None
        async for line in process.stdout:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                said = json.loads(line)
                self.streams[i] = int(said["streams"])
                streams, events = said["cut_off"]
                self.cut_off[i] = (int(streams), int(events))
                metrics = RpcMetrics()
                metrics.merge(said["rpc"])
                self.rpc[i] = metrics


async def _end(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


# The worker process.


async def _work() -> None:
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    plan: dict[str, Any] = json.loads(await stdin.readline())
    settings = Settings(**plan["settings"])
    structured_logs.configure(settings.log_level, settings.log_format)
    structlog.contextvars.bind_contextvars(worker=os.getpid())  # on every line it logs
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    # A terminal's Ctrl-C reaches every process of the group: the primary stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    engine = create_engine(settings.database_url)
    bus: Bus = (
        RedisBus(settings.redis_url, settings.stream_buffer)
        if settings.redis_url
        else FeedBus(plan["feed"], settings.stream_buffer)
    )
    await bus.start()
    sessions = session_factory(engine)
    async with sessions() as session:
        _, latest = await event_log.bounds(session)
    bus.latest = max(bus.latest, latest)
    rpc = RpcMetrics()
    api, primary = build_worker_server(
        plan["address"],
        plan["primary"],
        sessions,
        bus,
        settings.heartbeat_interval,
        settings.scores_interval,
        rpc,
    )
    await api.start()
    heap.freeze()
    print(READY, flush=True)

    async def orphaned() -> None:  # the primary is gone when its end of stdin closes
        await stdin.read()
        stop.set()

    async def report() -> None:
        with contextlib.suppress(BrokenPipeError):  # the primary has gone
            while True:
                said = {
                    "streams": bus.open_streams,
                    "cut_off": [bus.cut_offs.streams, bus.cut_offs.events],
                    "rpc": rpc.snapshot(),
                }
                print(json.dumps(said), flush=True)
                await asyncio.sleep(STREAMS_REPORT_S)

    tasks = [asyncio.create_task(orphaned()), asyncio.create_task(report())]
    await stop.wait()
    for task in tasks:
        task.cancel()
    await api.stop(WORKER_GRACE_S)
    await primary.close()
    await bus.stop()
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(_work())
