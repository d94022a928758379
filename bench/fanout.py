"""Live events fan-out: N Subscribe streams over loopback gRPC, from aiops and from bare grpc.aio.

N concurrent EventService.Subscribe streams, served by aiops and by a bare grpc.aio broadcaster
of the same method (the ceiling).

    .venv/bin/python bench/fanout.py [--streams N] [--rate R] [--duration S] [--quick]
        [--harness go|python] [--workers N] [--no-ceiling] [--json PATH]

Four kinds of process, so that each one's memory and CPU are its own:
- the server (`--serve`): the real aiops server (`start_app`, as `aiops serve` builds it, no
  detectors, `--workers` serving processes: one per core by default, as `aiops serve`) on a
  SQLite file in a temporary directory, and a publisher in it that writes
  DATA_SOURCE_HEALTH events through the event log (`events.log.recording`) at a fixed rate,
  `--batch` events to a transaction (1 by default; a detector's step or the health probe's round
  writes its several events in one): event i is due i / rate seconds after the start, a batch
  when its first event is, a late one goes at once, and none is written after the window;
- the bare broadcaster (`--serve-bare`): a grpc.aio server with the same Subscribe method and
  messages and nothing else: no database, no bus, no filters, no interceptor, no heartbeats
  after the first; its publisher, at the same pace, serializes each event once into one
  in-memory list that every stream reads from. It is the most a grpc.aio process delivers here.
  With `--workers` N it is N such processes on one port (SO_REUSEPORT), each publishing the
  same events at the same pace: the most N grpc.aio processes deliver;
- the subscribers: by default one Go process (`bench/fanout-sub`, built on demand into
  FANOUT_CACHE) holding every stream; with `--harness python`, several Python processes
  (`--subscribe`), each holding its share of the streams. Either spreads the streams over
  several channels (each its own HTTP/2 connection, so the streams do not all share one);
- this driver, which starts them, waits until every stream has its first heartbeat (both
  servers send one at once), has the server publish for `--duration` seconds, waits up to
  `--grace` seconds more for every stream to receive the last event, and adds up what they
  report. It measures aiops, then (unless `--no-ceiling`) the bare broadcaster with the same
  subscribers and set-up, and divides: `ceiling_ratio` is aiops' deliveries a second over the
  bare broadcaster's (about 1 while both keep up with what is published: it tells capacity
  apart only at a rate neither keeps up with), `cpu_per_delivery_ratio` their server CPU per
  delivery.

Every stream subscribes live before anything is published (the log is empty), with no filter,
so it must receive every event published: lost = streams up x events published - events
received. An event not received by the end of the grace period counts as lost, as do the
events a stream misses because the server ended it (RESOURCE_EXHAUSTED when its queue of
`--stream-buffer` events overflowed); stream errors are reported by code.

Latency is the time of receipt in the subscriber (its wall clock) minus the event's `time`,
which the server sets when it stores the event: it takes in the commit, the fan-out, gRPC and
the subscriber process getting round to it. Server RSS is VmRSS and VmHWM from /proc, summed
over the server's processes (the primary and its workers); CPU is utime + stime over the
publishing window (100 % = one core), for the server's processes together and for all the
subscriber processes together: on a small machine they share the same cores. What the rest of
the machine took in that window (/proc/stat's busy time less theirs) and the load average
before and after are reported too: the figures of a shared machine depend on them.

The server runs with the options `start_app` gives it: grpc.aio sets no limit on concurrent
RPCs and gRPC core none on concurrent streams per connection (1,000 streams on one connection
open; `--connections 1`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from array import array
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

BIN_MS = 0.1  # latency histogram resolution
MAX_BIN = 600_000  # 60 s; later receipts land in the last bin (the max is kept exactly)
STREAMS_PER_PROCESS = 1_250  # Python subscribers; one Go process holds every stream
STREAMS_PER_CONNECTION = 100
OPENING = 100  # streams a subscriber process opens at a time
GO_HARNESS = Path(__file__).resolve().parent / "fanout-sub"
FANOUT_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "aiops-bench"
TARGET_P99_MS = 100.0
TARGET_RSS_MIB = 1536.0
PLAN_P99_MS = 50.0
PLAN_STREAMS = 1_000
CORES = len(os.sched_getaffinity(0))


# The server process.


def serve(
    database: Path,
    stream_buffer: int,
    heartbeat: float,
    profile: Path | None,
    workers: int,
    envoy: bool,
) -> None:
    from aiops.store.database import migrate

    url = f"sqlite+aiosqlite:///{database}"
    migrate(url)
    _run(_serve(url, stream_buffer, heartbeat, workers, envoy), profile)


def _run(main: Coroutine[Any, Any, None], profile: Path | None) -> None:
    if profile is None:
        asyncio.run(main)
        return
    import cProfile

    with cProfile.Profile() as profiler:
        asyncio.run(main)
    profiler.dump_stats(profile)


async def _serve(url: str, stream_buffer: int, heartbeat: float, workers: int, envoy: bool) -> None:
    from aiops import heap
    from aiops.app import start_app
    from aiops.config import Settings
    from aiops.events import log as event_log
    from aiops.store.database import session_factory

    server = await start_app(
        Settings(
            grpc_address="127.0.0.1:0",
            database_url=url,
            run_detectors=False,
            envoy=envoy,
            http_address="127.0.0.1:0",
            stream_buffer=stream_buffer,
            heartbeat_interval=heartbeat,
            workers=workers,
        )
    )
    heap.freeze()  # as `aiops serve` does
    sessions = session_factory(server.engine)

    async def write(events: list[Any]) -> list[Any]:
        """In one transaction, as a writer of several events (a detector's step, the health
        probe's round) writes them."""
        async with event_log.recording(sessions, server.bus) as recorder:
            for event in events:
                recorder.add(event)
        return recorder.events

    try:
        await _commands(server.address, server.http_url, write)
    finally:
        await server.stop(grace=None)


async def _commands(
    address: str,
    url: str | None,
    write: Callable[[list[Any]], Awaitable[list[Any]]],
    others: Sequence[Child] = (),
) -> None:
    """Says the address (and Envoy's URL, with one), then publishes through `write` as the
    driver asks; `others` (the bare broadcaster's other processes) are told to publish too, at
    the same time."""
    loop = asyncio.get_running_loop()
    _say({"address": address, "url": url})
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        command = json.loads(line)
        if "publish" not in command:
            break
        for other in others:
            other.tell(command)
        published = await _publish(write, command["rate"], command["duration"], command["batch"])
        for other in others:
            await loop.run_in_executor(None, other.hear, command["duration"] * 3 + 120)
        _say(published)


async def _publish(
    write: Callable[[list[Any]], Awaitable[list[Any]]], rate: float, duration: float, batch: int
) -> dict[str, Any]:
    """DATA_SOURCE_HEALTH events at `rate` a second for `duration` seconds, `batch` at a time
    (each batch due when its first event is), each batch through `write`, which stores and
    publishes it and returns its events with their sequence and time; what was published, and
    how late the publisher ran."""
    from aiops_api.v1 import event_pb2

    loop = asyncio.get_running_loop()
    planned = round(rate * duration)
    started = loop.time()
    end = started + duration
    sequences: list[int] = []
    store_ms: list[float] = []
    lag_ms = 0.0
    for first in range(0, planned, batch):
        due = started + first / rate
        now = loop.time()
        if now >= end:
            break
        if due > now:
            await asyncio.sleep(due - now)
        else:
            lag_ms = max(lag_ms, (now - due) * 1000)
        healths = [
            event_pb2.DataSourceHealth(
                data_source="dataSources/bench", reachable=i % 2 == 0, url="http://127.0.0.1:9090"
            )
            for i in range(first, min(first + batch, planned))
        ]
        events = await write([event_pb2.Event(data_source_health=h) for h in healths])
        # From the events' time (set as they are stored) to their publication after the commit.
        store_ms.append((time.time() - events[0].time.ToNanoseconds() / 1e9) * 1000)
        sequences.extend(event.sequence for event in events)
    return {
        "first": sequences[0] if sequences else 0,
        "last": sequences[-1] if sequences else 0,
        "published": len(sequences),
        "planned": planned,
        "seconds": loop.time() - started,
        "lag_max_ms": lag_ms,
        "store_ms_p50": float(np.median(store_ms)) if store_ms else 0.0,
        "store_ms_max": max(store_ms, default=0.0),
    }


# The bare broadcaster.


class Broadcast:
    """The bare broadcaster's events, each serialized once, in one list that every stream reads
    from; `more` is set (and replaced) on each new one."""

    def __init__(self, heartbeat: float) -> None:
        self.payloads: list[bytes] = []
        self.more = asyncio.Event()
        self.heartbeat_ms = round(heartbeat * 1000)

    def add(self, event: Any) -> Any:
        event.sequence = len(self.payloads) + 1
        event.time.GetCurrentTime()
        self.payloads.append(event.SerializeToString())
        more, self.more = self.more, asyncio.Event()
        more.set()
        return event

    async def subscribe(self, request: Any, context: Any) -> AsyncIterator[bytes]:
        """The same method as EventService.Subscribe: a heartbeat at once, then every event."""
        from aiops_api.v1 import event_pb2

        position = len(self.payloads)
        heartbeat = event_pb2.Event(
            sequence=position, heartbeat=event_pb2.Heartbeat(interval_ms=self.heartbeat_ms)
        )
        heartbeat.time.GetCurrentTime()
        yield heartbeat.SerializeToString()
        while True:
            if position == len(self.payloads):
                await self.more.wait()
                continue
            yield self.payloads[position]
            position += 1


def serve_bare(
    heartbeat: float, profile: Path | None, workers: int, port: int, envoy: bool
) -> None:
    _run(_serve_bare(heartbeat, workers, port, envoy), profile)


async def _serve_bare(heartbeat: float, workers: int, port: int, envoy: bool) -> None:
    """With `workers` > 1, as many processes on one port (SO_REUSEPORT, as aiops' workers),
    each with its own publisher at the same pace: the ceiling of that many processes. With
    `envoy`, the Envoy aiops runs (its config, `aiops.envoy`) in front of them."""
    import grpc
    from grpc_health.v1 import health, health_pb2_grpc

    from aiops.config import Settings
    from aiops.envoy import start_envoy
    from aiops_api.v1 import event_service_pb2

    broadcast = Broadcast(heartbeat)
    service = event_service_pb2.DESCRIPTOR.services_by_name["EventService"].full_name
    # No response serializer: the handler yields the bytes themselves.
    methods = {
        "Subscribe": grpc.unary_stream_rpc_method_handler(
            broadcast.subscribe,
            request_deserializer=event_service_pb2.SubscribeRequest.FromString,
        )
    }
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, methods),))
    server.add_registered_method_handlers(service, methods)
    if envoy:  # Envoy is ready once a health check through it answers SERVING
        health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
    port = server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    others = [
        Child.of_this_file(
            "--serve-bare",
            *("--heartbeat", str(heartbeat), "--port", str(port), "--workers", "1"),
            log=sys.stderr,
        )
        for _ in range(workers - 1)
    ]
    for other in others:
        other.hear(60)
    address = f"127.0.0.1:{port}"
    proxy = await start_envoy(Settings(http_address="127.0.0.1:0"), address) if envoy else None

    async def write(events: list[Any]) -> list[Any]:
        return [broadcast.add(event) for event in events]

    try:
        await _commands(address, proxy.url if proxy else None, write, others)
    finally:
        for other in others:
            other.stop()
        if proxy is not None:
            await proxy.stop()
        await server.stop(grace=None)


# A subscriber process.


@dataclass
class Stream:
    up: asyncio.Future[bool]
    call: Any = None
    first: int = 0
    last: int = 0
    received: int = 0
    disorder: int = 0  # duplicates or events out of order (there should be none)
    error: str = ""
    done: bool = False


@dataclass
class Tally:
    """Counts down the streams that still wait for the last event."""

    target: int = 0
    remaining: int = 0
    all_done: asyncio.Event = field(default_factory=asyncio.Event)

    def finish(self, stream: Stream) -> None:
        if not stream.done:
            stream.done = True
            self.remaining -= 1
            if self.remaining <= 0:
                self.all_done.set()


def subscribe(address: str, streams: int, connections: int) -> None:
    asyncio.run(_subscribe(address, streams, connections))


async def _subscribe(address: str, count: int, connections: int) -> None:
    import grpc

    from aiops_api.v1 import event_service_pb2, event_service_pb2_grpc

    loop = asyncio.get_running_loop()
    # A subchannel pool of its own makes each channel a connection of its own.
    channels = [
        grpc.aio.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range(connections)
    ]
    stubs = [event_service_pb2_grpc.EventServiceStub(c) for c in channels]  # type: ignore[no-untyped-call]
    latencies = array("d")
    tally = Tally()
    streams = [Stream(up=loop.create_future()) for _ in range(count)]

    async def follow(k: int, stream: Stream) -> None:
        stream.call = stubs[k % len(stubs)].Subscribe(event_service_pb2.SubscribeRequest())
        try:
            async for event in stream.call:
                now = time.time()
                if event.HasField("heartbeat"):
                    if not stream.up.done():
                        stream.up.set_result(True)
                    continue
                sequence = event.sequence
                if sequence <= stream.last:
                    stream.disorder += 1
                    continue
                stamp = event.time
                latencies.append(now - stamp.seconds - stamp.nanos * 1e-9)
                stream.received += 1
                stream.last = sequence
                if not stream.first:
                    stream.first = sequence
                if tally.target and sequence >= tally.target:
                    tally.finish(stream)
        except grpc.aio.AioRpcError as e:
            if e.code() != grpc.StatusCode.CANCELLED:
                stream.error = e.code().name
        except asyncio.CancelledError:  # how grpc.aio ends a call cancelled here at the end
            pass
        finally:
            if not stream.up.done():
                stream.up.set_result(False)
            if tally.target:
                tally.finish(stream)

    opening = asyncio.Semaphore(OPENING)
    tasks: list[asyncio.Task[None]] = []

    async def start(k: int, stream: Stream) -> None:
        async with opening:
            tasks.append(asyncio.create_task(follow(k, stream)))
            await stream.up

    began = time.monotonic()
    await asyncio.gather(*(start(k, s) for k, s in enumerate(streams)))
    _say({"up": sum(s.up.result() for s in streams), "open_s": time.monotonic() - began})

    command = json.loads(await loop.run_in_executor(None, sys.stdin.readline))
    waiting = time.monotonic()
    tally.target = command["last"]
    tally.remaining = count
    for stream in streams:
        if stream.last >= tally.target or stream.call.done() or not tally.target:
            tally.finish(stream)
    if tally.remaining > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(tally.all_done.wait(), command["grace"])
    drain_s = time.monotonic() - waiting
    for stream in streams:
        stream.call.cancel()
    await asyncio.gather(*tasks)
    for channel in channels:
        await channel.close()

    late = np.frombuffer(latencies, dtype=np.float64) * 1000
    bins = np.bincount(np.clip(late / BIN_MS, 0, MAX_BIN).astype(np.int64))
    nonzero = np.flatnonzero(bins)
    up = [s for s in streams if s.up.result()]
    each = max(0, command["last"] - command["first"] + 1) if command["last"] else 0
    _say(
        {
            "streams": count,
            "up": len(up),
            "received": sum(s.received for s in streams),
            "first_min": min((s.first for s in streams if s.first), default=0),
            "last_max": max((s.last for s in streams), default=0),
            "disorder": sum(s.disorder for s in streams),
            "errors": Counter(s.error for s in streams if s.error),
            "incomplete": sum(1 for s in up if s.last < tally.target and not s.error),
            # What the streams ended by the server missed, and what the others had not yet got.
            "missing_ended": sum(each - s.received for s in up if s.error),
            "missing_open": sum(each - s.received for s in up if not s.error),
            "drain_s": drain_s,
            "max_ms": float(late.max()) if len(late) else 0.0,
            "bins": nonzero.tolist(),
            "counts": bins[nonzero].tolist(),
        }
    )


# The driver.


def _say(message: dict[str, Any]) -> None:
    print(json.dumps(message), flush=True)


class Child:
    """A process spoken to in JSON lines over its stdin and stdout: this file in another role,
    or the Go subscribers."""

    def __init__(self, command: list[str], log: IO[str], role: str = "") -> None:
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True
        )
        self.pid = self.process.pid
        self.role = role or Path(command[0]).name

    @classmethod
    def of_this_file(cls, *args: str, log: IO[str]) -> Child:
        return cls([sys.executable, str(Path(__file__).resolve()), *args], log, args[0])

    def tell(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def hear(self, timeout: float) -> dict[str, Any]:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if ready else ""
        if not line:
            self.process.kill()
            raise RuntimeError(f"process {self.pid} ({self.role}): no answer")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def go_harness() -> Path:
    """The Go subscribers, built (or brought up to date: go build caches) into FANOUT_CACHE."""
    go = shutil.which("go")
    if go is None:
        raise RuntimeError("no `go` in PATH for the Go subscribers (or use --harness python)")
    binary = FANOUT_CACHE / "fanout-sub"
    binary.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([go, "build", "-o", str(binary), "."], cwd=GO_HARNESS, check=True)
    return binary


def cpu_seconds(pid: int) -> float:
    """utime + stime of a live process and of its serving processes (its children: aiops'
    workers, the bare broadcaster's other processes)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(child) for child in children(pid))


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(child) for child in path.read_text().split()]
    except FileNotFoundError:  # gone meanwhile
        return []


def machine_busy_seconds() -> float:
    """CPU time every process on the machine has used (all cores), from /proc/stat."""
    ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")  # up to steal; guests are in user


def memory_mib(pid: int, key: str = "VmRSS") -> float:
    """A process's memory and its children's (the serving processes: all workers)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            own = int(line.split()[1]) / 1024
            return own + sum(memory_mib(child, key) for child in children(pid))
    raise RuntimeError(f"no {key} for process {pid}")


def percentile(bins: Counter[int], q: float) -> float:
    """The q-quantile of the merged histogram, in ms (the top of its bin)."""
    total = sum(bins.values())
    if not total:
        return 0.0
    rank = math.ceil(q * total)
    seen = 0
    for b in sorted(bins):
        seen += bins[b]
        if seen >= rank:
            return (b + 1) * BIN_MS
    return (max(bins) + 1) * BIN_MS


def share(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if k < total % parts else 0) for k in range(parts)]


def server_command(args: argparse.Namespace, scratch: Path, bare: bool) -> list[str]:
    profile = []
    if args.profile:
        profile = ["--profile", str(args.profile.resolve()) + (".bare" if bare else "")]
    workers = ["--workers", str(args.workers), "--via", args.via]
    if bare:
        return ["--serve-bare", "--heartbeat", str(args.heartbeat), *workers, *profile]
    return [
        "--serve",
        "--database",
        str(scratch / "aiops.db"),
        "--stream-buffer",
        str(args.stream_buffer),
        "--heartbeat",
        str(args.heartbeat),
        *workers,
        *profile,
    ]


def subscribers(
    args: argparse.Namespace, server: dict[str, Any], harness: Path | None, log: IO[str]
) -> list[Child]:
    """The subscriber processes, each told its share of the streams and connections."""
    address = server["address"]
    processes = args.clients or (
        1 if harness is not None else math.ceil(args.streams / STREAMS_PER_PROCESS)
    )
    processes = min(processes, args.streams)
    connections = args.connections or math.ceil(args.streams / STREAMS_PER_CONNECTION)
    connections = max(connections, processes)
    parts = zip(share(args.streams, processes), share(connections, processes), strict=True)
    if harness is not None:
        target = ["-grpcweb", server["url"]] if args.via == "envoy" else ["-address", address]
        command = [str(harness), *target, "-opening", str(OPENING)]
        return [
            Child([*command, "-streams", str(n), "-connections", str(c)], log) for n, c in parts
        ]
    return [
        Child.of_this_file(
            "--subscribe",
            "--address",
            address,
            "--streams",
            str(n),
            "--connections",
            str(c),
            log=log,
        )
        for n, c in parts
    ]


def measure(
    args: argparse.Namespace, scratch: Path, harness: Path | None, bare: bool = False
) -> dict[str, Any]:
    """One run against aiops, or against the bare broadcaster."""
    name = "bare" if bare else "aiops"
    log = (args.log or scratch / "children.log").open("a")
    log.write(f"--- {name}\n")
    log.flush()
    (scratch / name).mkdir(exist_ok=True)
    server = Child.of_this_file(*server_command(args, scratch / name, bare), log=log)
    clients: list[Child] = []
    try:
        serving = server.hear(300)
        idle_rss = memory_mib(server.pid)
        began, opening_cpu = time.monotonic(), cpu_seconds(server.pid)
        clients = subscribers(args, serving, harness, log)
        ready = [c.hear(600) for c in clients]
        open_s = time.monotonic() - began
        opening_cpu = cpu_seconds(server.pid) - opening_cpu
        up = sum(r["up"] for r in ready)
        connections = max(
            args.connections or math.ceil(args.streams / STREAMS_PER_CONNECTION), len(clients)
        )
        if args.via == "envoy":  # HTTP/1.1 to Envoy: a connection per stream
            connections = args.streams
        print(
            f"{name}: {up:,} of {args.streams:,} streams up in {open_s:.1f} s "
            f"({len(clients)} subscriber processes, {connections} connections); "
            f"server RSS {memory_mib(server.pid):.0f} MiB"
        )
        # A heartbeat interval with every stream open and nothing published: what idle
        # streams cost (a heartbeat each per interval).
        idle_cpu = cpu_seconds(server.pid)
        time.sleep(args.heartbeat)
        idle_cpu = cpu_seconds(server.pid) - idle_cpu
        pids = [c.pid for c in clients]
        load_before = os.getloadavg()[0]
        server_cpu, clients_cpu = cpu_seconds(server.pid), sum(map(cpu_seconds, pids))
        machine_cpu = machine_busy_seconds()
        window = time.monotonic()
        server.tell(
            {"publish": True, "rate": args.rate, "duration": args.duration, "batch": args.batch}
        )
        published = server.hear(args.duration * 3 + 120)
        window_s = time.monotonic() - window
        window_end_cpu = cpu_seconds(server.pid)
        server_cpu = window_end_cpu - server_cpu
        clients_cpu = sum(map(cpu_seconds, pids)) - clients_cpu
        # Tick accounting differs a little between /proc/stat and /proc/PID/stat.
        others_cpu = max(0.0, machine_busy_seconds() - machine_cpu - server_cpu - clients_cpu)
        server_rss = memory_mib(server.pid)
        for c in clients:
            c.tell({"first": published["first"], "last": published["last"], "grace": args.grace})
        reports = [c.hear(args.grace + 300) for c in clients]
        # From the first event published until every subscriber has given up waiting.
        delivery_cpu = server_cpu + cpu_seconds(server.pid) - window_end_cpu
        server_peak_rss = memory_mib(server.pid, "VmHWM")
        load_after = os.getloadavg()[0]
    finally:
        for child in [*clients, server]:
            child.stop()
        log.close()

    bins: Counter[int] = Counter()
    for report in reports:
        bins.update(dict(zip(report["bins"], report["counts"], strict=True)))
    errors: Counter[str] = Counter()
    for report in reports:
        errors.update(report["errors"])
    received = sum(r["received"] for r in reports)
    expected = up * published["published"]
    lost = expected - received
    first_min = min((r["first_min"] for r in reports if r["first_min"]), default=0)
    last_max = max(r["last_max"] for r in reports)
    if received and (first_min < published["first"] or last_max > published["last"]):
        raise RuntimeError(f"events {first_min}..{last_max} outside the published range")
    p99 = percentile(bins, 0.99)
    delivery_s = published["seconds"] + max(r["drain_s"] for r in reports)
    return {
        "streams": args.streams,
        "rate": args.rate,
        "duration": args.duration,
        "batch": args.batch,
        "client_processes": len(clients),
        "connections": connections,
        "stream_buffer": args.stream_buffer,
        "streams_up": up,
        "open_s": round(open_s, 1),
        "events_planned": published["planned"],
        "events_published": published["published"],
        "publish_rate": round(published["published"] / max(published["seconds"], args.duration), 1),
        "publish_lag_max_ms": round(published["lag_max_ms"], 1),
        "events_expected": expected,
        "events_received": received,
        "lost": lost,
        "stream_errors": sum(errors.values()),
        "stream_error_codes": ",".join(f"{k}={v}" for k, v in sorted(errors.items())),
        "lost_on_ended_streams": sum(r["missing_ended"] for r in reports),
        "lost_late": sum(r["missing_open"] for r in reports),
        "streams_incomplete": sum(r["incomplete"] for r in reports),
        "disorder": sum(r["disorder"] for r in reports),
        "p50_ms": round(percentile(bins, 0.5), 1),
        "p90_ms": round(percentile(bins, 0.9), 1),
        "p99_ms": round(p99, 1),
        "max_ms": round(max(r["max_ms"] for r in reports), 1),
        "store_ms_p50": round(published["store_ms_p50"], 2),
        "store_ms_max": round(published["store_ms_max"], 1),
        "delivered_per_s": round(received / delivery_s),
        "drain_s": round(max(r["drain_s"] for r in reports), 1),
        "server_rss_mib": round(server_rss),
        "server_peak_rss_mib": round(server_peak_rss),
        "server_rss_no_streams_mib": round(idle_rss),
        "server_cpu_percent": round(100 * server_cpu / window_s),
        "server_idle_cpu_percent": round(100 * idle_cpu / args.heartbeat),
        "server_cpu_us_per_delivery": round(1e6 * delivery_cpu / received) if received else None,
        "server_cpu_delivering_s": round(delivery_cpu, 3),
        "server_cpu_ms_per_open": round(1000 * opening_cpu / args.streams, 2),
        "clients_cpu_percent": round(100 * clients_cpu / window_s),
        "others_cpu_percent": round(100 * others_cpu / window_s),
        "load_before": round(load_before, 2),
        "load_after": round(load_after, 2),
        "cpus": os.cpu_count(),
        "meets_targets": up == args.streams
        and lost == 0
        and p99 < TARGET_P99_MS
        and server_peak_rss < TARGET_RSS_MIB,
        "plan_1000_streams_under_50ms": args.streams >= PLAN_STREAMS
        and up == args.streams
        and lost == 0
        and p99 < PLAN_P99_MS,
    }


def against_ceiling(figures: dict[str, Any], bare: dict[str, Any] | None) -> dict[str, Any]:
    """aiops' figures with the bare broadcaster's beside them, and their ratios."""
    ratios: dict[str, Any] = {"ceiling_ratio": None, "cpu_per_delivery_ratio": None}
    if bare is not None and bare["delivered_per_s"] and bare["events_received"]:
        ratios["ceiling_ratio"] = round(figures["delivered_per_s"] / bare["delivered_per_s"], 3)
        if figures["events_received"]:
            ours = figures["server_cpu_delivering_s"] / figures["events_received"]
            theirs = bare["server_cpu_delivering_s"] / bare["events_received"]
            ratios["cpu_per_delivery_ratio"] = round(ours / theirs, 2)
    return {**figures, **ratios, "bare": bare}


def describe(name: str, figures: dict[str, Any]) -> None:
    print(
        f"{name}: {figures['streams']:,} streams, {figures['events_published']:,} events at "
        f"{figures['publish_rate']}/s (planned {figures['rate']}/s for {figures['duration']} s): "
        f"received {figures['events_received']:,} of {figures['events_expected']:,}, "
        f"lost {figures['lost']:,}, stream errors {figures['stream_errors']} "
        f"{figures['stream_error_codes']}"
    )
    print(
        f"  latency p50 {figures['p50_ms']} ms, p90 {figures['p90_ms']} ms, "
        f"p99 {figures['p99_ms']} ms, max {figures['max_ms']} ms "
        f"(stored to published: p50 {figures['store_ms_p50']} ms); "
        f"{figures['delivered_per_s']:,} deliveries/s"
    )
    print(
        f"  server RSS {figures['server_rss_mib']} MiB (peak {figures['server_peak_rss_mib']}, "
        f"{figures['server_rss_no_streams_mib']} before any stream); server CPU "
        f"{figures['server_cpu_percent']} % publishing, {figures['server_idle_cpu_percent']} % "
        f"with idle streams, {figures['server_cpu_us_per_delivery']} us per delivery, "
        f"{figures['server_cpu_ms_per_open']} ms per stream opened; subscribers' CPU "
        f"{figures['clients_cpu_percent']} %, other processes' {figures['others_cpu_percent']} % "
        f"({figures['cpus']} cores; load {figures['load_before']} before, "
        f"{figures['load_after']} after)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=10_000, help="concurrent Subscribe streams")
    parser.add_argument("--rate", type=float, default=100.0, help="events published a second")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of publishing")
    parser.add_argument(
        "--batch",
        type=int,
        default=1,
        help="events written in one transaction (a detector step's anomalies, a health round)",
    )
    parser.add_argument(
        "--grace", type=float, default=10.0, help="seconds to wait for the last event after"
    )
    parser.add_argument(
        "--harness",
        choices=("go", "python"),
        default="go",
        help="the subscribers: one Go process (bench/fanout-sub), or Python processes",
    )
    parser.add_argument(
        "--no-ceiling",
        dest="ceiling",
        action="store_false",
        help="measure aiops only, not the bare grpc.aio broadcaster after it",
    )
    parser.add_argument(
        "--clients",
        type=int,
        default=0,
        help=f"subscriber processes (default one Go process, or a Python one per "
        f"{STREAMS_PER_PROCESS:,} streams)",
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=0,
        help=f"HTTP/2 connections in all (default one per {STREAMS_PER_CONNECTION} streams)",
    )
    parser.add_argument(
        "--stream-buffer", type=int, default=10_000, help="the server's stream_buffer setting"
    )
    parser.add_argument(
        "--heartbeat", type=float, default=5.0, help="the server's heartbeat_interval setting"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="write a cProfile of the aiops server here, of the bare one to PATH.bare (slows them)",
    )
    parser.add_argument("--log", type=Path, help="keep the processes' stderr (server log) here")
    parser.add_argument(
        "--workers",
        type=int,
        default=CORES,
        help="serving processes of aiops (and of the bare broadcaster); default one per core "
        f"({CORES} here), as `aiops serve`",
    )
    parser.add_argument(
        "--via",
        choices=("direct", "envoy"),
        default="direct",
        help="the subscribers' way in: gRPC to the servers, or grpc-web through an Envoy in "
        "front of each (as the UI's; Go subscribers only; Envoy's CPU and memory count as "
        "the server's)",
    )
    parser.add_argument("--quick", action="store_true", help="1,000 streams for 10 s")
    parser.add_argument("--json", type=Path, help="write the figures here as one JSON object")
    # The processes the driver starts.
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-bare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--subscribe", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--address", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        envoy = args.via == "envoy"
        serve(args.database, args.stream_buffer, args.heartbeat, args.profile, args.workers, envoy)
        return
    if args.serve_bare:
        serve_bare(args.heartbeat, args.profile, args.workers, args.port, args.via == "envoy")
        return
    if args.subscribe:
        subscribe(args.address, args.streams, args.connections)
        return
    if args.quick:
        args.streams, args.duration, args.grace = 1_000, 10.0, 5.0
    if args.via == "envoy" and args.harness != "go":
        parser.error("--via envoy needs the Go subscribers (grpc-web)")

    harness = go_harness() if args.harness == "go" else None
    with tempfile.TemporaryDirectory() as scratch:
        try:
            figures = measure(args, Path(scratch), harness)
            bare = measure(args, Path(scratch), harness, bare=True) if args.ceiling else None
        except BaseException:
            sys.stderr.write((args.log or Path(scratch) / "children.log").read_text()[-5000:])
            raise
    figures = {
        **against_ceiling(figures, bare),
        "harness": args.harness,
        "workers": args.workers,  # serving processes, of aiops and of the bare broadcaster
        "via": args.via,
    }
    describe("aiops", figures)
    if bare is not None:
        describe("bare grpc.aio", bare)
        print(
            f"aiops / bare: {figures['ceiling_ratio']}x the deliveries a second, "
            f"{figures['cpu_per_delivery_ratio']}x the server CPU per delivery "
            f"({figures['workers']} workers each, {args.harness} subscribers)"
        )
    print(
        f"targets (p99 < {TARGET_P99_MS:.0f} ms, RSS < {TARGET_RSS_MIB / 1024} GiB, no loss): "
        f"{'met' if figures['meets_targets'] else 'NOT met'}; the plan's > 1,000 streams "
        f"and < 50 ms: {'met' if figures['plan_1000_streams_under_50ms'] else 'not met'}"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
