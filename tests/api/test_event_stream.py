"""EventService.Subscribe carrying events: live, replayed from the log after a sequence with no
gap and no duplicate, as the bytes of the published event (read by the Python and the Go
client), a reset where the log no longer has them, filters, and streams that end with where to
resume (too slow, server shutting down). Each with one serving process and with two (the
primary and a worker, `--workers 2`): a test's channel is one connection, which the kernel
hands to either (tests/api/test_event_workers.py spreads subscribers over both)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest

from aiops.app import App
from aiops.events import log as event_log
from aiops.events.retention import Retention
from aiops.store.database import session_factory
from aiops_api.v1 import event_pb2
from aiops_api.v1 import event_service_pb2 as pb
from tests.conftest import Api, connected, serving
from tests.events import publish
from tests.rpc import failure
from tests.subscribers import subscribing

STREAM_BUFFER = 50
SCORES_INTERVAL = 0.5


@pytest.fixture(params=[1, 2], ids=["1-worker", "2-workers"])
def workers(request: pytest.FixtureRequest) -> int:
    """Serving processes: the primary alone, or the primary and a worker on the same port."""
    return int(request.param)


@pytest.fixture
async def server(
    database_url: str, bus_settings: dict[str, Any], workers: int
) -> AsyncIterator[App]:
    """No detectors run: the events are the tests'. On each bus, with one and two workers."""
    async with serving(
        database_url,
        run_detectors=False,
        workers=workers,
        stream_buffer=STREAM_BUFFER,
        heartbeat_interval=0.2,
        scores_interval=SCORES_INTERVAL,
        **bus_settings,
    ) as running:
        yield running


@pytest.fixture
async def api(server: App) -> AsyncIterator[Api]:
    async with connected(server) as stubs:
        yield stubs


async def next_event(stream: Any) -> event_pb2.Event:
    """The stream's next event that is not a heartbeat (those come whenever their time is)."""
    event = await stream.read()
    while event.WhichOneof("payload") == "heartbeat":
        event = await stream.read()
    return event


async def collect(
    api: Api, request: pb.SubscribeRequest, until: int, limit: float = 10
) -> list[event_pb2.Event]:
    """The non-heartbeat events of a stream, until one has sequence `until`."""
    stream = api.events.Subscribe(request, timeout=limit)
    found = []
    async for event in stream:
        if event.WhichOneof("payload") != "heartbeat":
            found.append(event)
            if event.sequence >= until:
                break
    stream.cancel()
    return found


async def test_live_events_follow_the_first_heartbeat(api: Api, server: App) -> None:
    stream = api.events.Subscribe(pb.SubscribeRequest(), timeout=10)
    first = await stream.read()
    assert first.WhichOneof("payload") == "heartbeat"
    sequences = await publish(server, 3)
    got = [await next_event(stream) for _ in range(3)]
    stream.cancel()
    assert [e.sequence for e in got] == sequences
    assert [e.data_source_health.reachable for e in got] == [True, False, True]


async def test_the_first_heartbeat_carries_the_latest_sequence_also_after_a_restart(
    database_url: str, bus_settings: dict[str, Any], workers: int
) -> None:
    latest = 0
    for _ in range(3):  # each server after the first learns it from the log
        async with (
            serving(database_url, run_detectors=False, workers=workers, **bus_settings) as server,
            connected(server) as api,
        ):
            stream = api.events.Subscribe(pb.SubscribeRequest(), timeout=10)
            assert (await stream.read()).sequence == latest
            stream.cancel()
            latest = (await publish(server, 2))[-1]
    assert latest == 6


async def test_replay_after_a_sequence_then_live_without_gap_or_duplicate(
    api: Api, server: App
) -> None:
    before = await publish(server, 5)
    request = pb.SubscribeRequest(after_sequence=before[1])
    stream = api.events.Subscribe(request, timeout=10)
    heartbeat = await stream.read()
    assert heartbeat.sequence == before[-1], "a heartbeat carries the latest sequence"
    replayed = [await next_event(stream) for _ in range(3)]
    after = await publish(server, 2)
    live = [await next_event(stream) for _ in range(2)]
    stream.cancel()
    assert [e.sequence for e in replayed + live] == before[2:] + after


async def published_events(server: App, count: int) -> list[event_pb2.Event]:
    """`count` health events in one transaction, as `publish` writes them; the events."""
    async with event_log.recording(session_factory(server.engine), server.bus) as recorder:
        for i in range(count):
            health = event_pb2.DataSourceHealth(data_source="dataSources/a", reachable=i % 2 == 0)
            recorder.add(event_pb2.Event(data_source_health=health))
    return recorder.events


async def test_events_go_out_as_the_bytes_of_the_published_event(api: Api, server: App) -> None:
    """Subscribe hands each stream an event's bytes serialized once (passed through, not
    serialized per stream): they are the event's own serialization, live and replayed, and
    decode to the event."""
    raw = api.channel.unary_stream(
        "/aiops.v1.EventService/Subscribe",
        request_serializer=pb.SubscribeRequest.SerializeToString,
        response_deserializer=None,  # the bytes as they came
    )
    streams = [raw(pb.SubscribeRequest(), timeout=10) for _ in range(2)]
    decoded = api.events.Subscribe(pb.SubscribeRequest(), timeout=10)
    for stream in [*streams, decoded]:
        first = await stream.read()
        heartbeat = (
            first if isinstance(first, event_pb2.Event) else event_pb2.Event.FromString(first)
        )
        assert heartbeat.WhichOneof("payload") == "heartbeat"
    events = await published_events(server, 3)
    expected = [event.SerializeToString() for event in events]

    async def payloads(stream: Any, until: int) -> list[bytes]:
        got: list[bytes] = []
        while len(got) < until:
            payload = await stream.read()
            if event_pb2.Event.FromString(payload).WhichOneof("payload") != "heartbeat":
                got.append(payload)
        return got

    for stream in streams:
        assert await payloads(stream, 3) == expected
        stream.cancel()
    assert [await next_event(decoded) for _ in range(3)] == events
    decoded.cancel()
    replay = raw(pb.SubscribeRequest(after_sequence=events[0].sequence), timeout=10)
    await replay.read()
    assert await payloads(replay, 2) == expected[1:]
    replay.cancel()
    assert [event_pb2.Event.FromString(payload) for payload in expected] == events


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_go_client_reads_every_event_in_order(
    api: Api, server: App, go_subscribers: Path
) -> None:
    """The Go client (bench/fanout-sub, on the Go client's stubs) decodes the events as they
    go out: every one, in order, with its sequence and time."""
    target = ("-address", api.address)
    async with subscribing(go_subscribers, *target, streams=20) as subscribers:
        assert await subscribers.up() == 20
        sequences = await publish(server, 5)
        report = await subscribers.receive(sequences[0], sequences[-1])
    assert report["received"] == 20 * 5
    assert (report["first_min"], report["last_max"]) == (sequences[0], sequences[-1])
    assert (report["disorder"], report["errors"], report["incomplete"]) == (0, {}, 0)
    assert sum(report["counts"]) == 20 * 5  # a latency each


async def test_reconnecting_subscribers_see_every_event_once_while_events_are_published(
    api: Api, server: App
) -> None:
    """Many subscribers drop their stream at random points and resume from the last sequence
    they saw, while events are published concurrently: each ends with exactly the sequence."""
    total_batches = 40
    published: list[int] = []

    async def publisher() -> None:
        for _ in range(total_batches):
            published.extend(await publish(server, random.randint(1, 3)))
            await asyncio.sleep(random.uniform(0, 0.02))

    seen_by: dict[int, list[int]] = {}

    async def subscriber(seed: int, stop: asyncio.Event, ready: asyncio.Event) -> list[int]:
        rng = random.Random(seed)
        seen: list[int] = []
        seen_by[seed] = seen
        while not (stop.is_set() and published and seen and seen[-1] == published[-1]):
            # The first stream opens before any event: live from there, it misses nothing.
            after = seen[-1] if seen else 0
            # No deadline per stream: on a slow machine one may wait long for its next event;
            # the test as a whole is bounded below, and a lost live event shows there.
            stream = api.events.Subscribe(pb.SubscribeRequest(after_sequence=after))
            budget = rng.randint(1, 8)
            try:
                async for event in stream:
                    if event.WhichOneof("payload") == "heartbeat":
                        ready.set()
                        if stop.is_set() and seen and seen[-1] == event.sequence:
                            break
                        continue
                    seen.append(event.sequence)
                    budget -= 1
                    if budget == 0:
                        break
            except grpc.aio.AioRpcError as error:
                # A busy machine can leave a stream this far behind: resume, as clients do.
                assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            stream.cancel()
        return seen

    stop = asyncio.Event()
    ready = [asyncio.Event() for _ in range(8)]
    subscribers = [
        asyncio.create_task(subscriber(seed, stop, ready[seed])) for seed in range(len(ready))
    ]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in ready)), timeout=30)
    await publisher()
    stop.set()
    _, waiting = await asyncio.wait(subscribers, timeout=60)
    for task in waiting:
        task.cancel()
    stuck = {seed: seen_by[seed][-3:] for seed, task in enumerate(subscribers) if task in waiting}
    assert not stuck, f"still waiting after {published[-3:]}, last seen: {stuck}"
    for task in subscribers:
        assert task.result() == published


async def test_a_sequence_no_longer_kept_gets_a_reset(api: Api, server: App) -> None:
    sequences = await publish(server, 6)
    await Retention(session_factory(server.engine), keep=2, max_age=timedelta(days=1)).prune()

    events = await collect(api, pb.SubscribeRequest(after_sequence=sequences[0]), until=0)
    assert events[0].WhichOneof("payload") == "reset"
    assert events[0].reset.oldest_sequence == sequences[-2]
    assert events[0].sequence == sequences[-1]

    # Still kept: a plain replay.
    kept = await collect(api, pb.SubscribeRequest(after_sequence=sequences[-3]), sequences[-1])
    assert [e.sequence for e in kept] == sequences[-2:]


async def test_filters_pick_types_and_data_sources(api: Api, server: App) -> None:
    before = await publish(server, 1, "dataSources/b")
    await publish(server, 2, "dataSources/a")
    wanted = await publish(server, 2, "dataSources/b")
    request = pb.SubscribeRequest(after_sequence=before[-1], data_sources=["dataSources/b"])
    # Only b's events, and asking for anomalies only gives none of them.
    events = await collect(api, request, until=wanted[-1])
    assert [e.sequence for e in events] == wanted
    anomalies_only = pb.SubscribeRequest(types=[event_pb2.EVENT_TYPE_ANOMALY], after_sequence=0)
    stream = api.events.Subscribe(anomalies_only, timeout=10)
    assert (await stream.read()).WhichOneof("payload") == "heartbeat"
    assert (await stream.read()).WhichOneof("payload") == "heartbeat"
    stream.cancel()


async def test_a_stream_that_falls_behind_ends_with_where_to_resume(api: Api, server: App) -> None:
    stream = api.events.Subscribe(pb.SubscribeRequest(), timeout=10)
    heartbeat = await stream.read()
    # More events at once than the stream may hold waiting.
    await publish(server, STREAM_BUFFER + 10)
    delivered = [heartbeat.sequence]

    async def drain() -> None:
        while True:
            delivered.append((await stream.read()).sequence)

    error = await failure(drain())
    assert error.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error.reason == "STREAM_TOO_SLOW"
    # What it got before the end, and no further: resuming from there misses nothing.
    assert int(error.metadata["last_sequence"]) == delivered[-1]
    assert len(delivered) < STREAM_BUFFER


async def test_shutdown_ends_streams_with_where_to_resume(
    database_url: str, bus_settings: dict[str, Any], workers: int
) -> None:
    async with (
        serving(database_url, run_detectors=False, workers=workers, **bus_settings) as server,
        connected(server) as api,
    ):
        sequences = await publish(server, 2)
        stream = api.events.Subscribe(pb.SubscribeRequest(), timeout=10)
        await stream.read()
        stopping = asyncio.create_task(server.stop(grace=2))

        async def drain() -> None:
            while True:
                await stream.read()

        error = await failure(drain())
        await stopping
    assert error.code == grpc.StatusCode.UNAVAILABLE
    assert error.reason == "SHUTTING_DOWN"
    assert int(error.metadata["last_sequence"]) == sequences[-1]


async def test_a_subscriber_that_reads_nothing_does_not_hold_up_another(
    api: Api, server: App
) -> None:
    slow = api.events.Subscribe(pb.SubscribeRequest(), timeout=30)
    await slow.read()  # connected; from now on it reads nothing
    fast = api.events.Subscribe(pb.SubscribeRequest(), timeout=30)
    await fast.read()
    loop = asyncio.get_running_loop()
    published: dict[int, float] = {}
    received: dict[int, float] = {}

    async def read_fast() -> None:
        while len(received) < 200:
            event = await fast.read()
            if event.WhichOneof("payload") != "heartbeat":
                received[event.sequence] = loop.time()

    reading = asyncio.create_task(read_fast())
    for _ in range(20):
        for sequence in await publish(server, 10):
            published[sequence] = loop.time()
        await asyncio.sleep(0.01)
    await asyncio.wait_for(reading, timeout=20)
    slow.cancel()
    fast.cancel()
    assert sorted(received) == sorted(published)
    delays = sorted(received[s] - published[s] for s in published)
    # A few milliseconds here; the bound only has to tell "not held up" from "held up".
    assert delays[-1] < 0.5, f"median {delays[len(delays) // 2]:.4f}s, max {delays[-1]:.4f}s"


def scores(detector: str, value: float) -> event_pb2.Event:
    """A SCORES event as a running detector hands one out: one series, one point."""
    series = event_pb2.SeriesScores(
        labels={"instance": "a"}, values=[value], scores=[0.1], lower=[0], upper=[200]
    )
    return event_pb2.Event(scores=event_pb2.Scores(detector=detector, series=[series]))


async def test_scores_go_to_the_streams_that_ask_one_per_detector_per_interval(
    api: Api, server: App
) -> None:
    charts = api.events.Subscribe(
        pb.SubscribeRequest(types=[event_pb2.EVENT_TYPE_SCORES], detectors=["detectors/a"]),
        timeout=10,
    )
    others = api.events.Subscribe(pb.SubscribeRequest(), timeout=10)
    await charts.read()
    await others.read()
    latest = (await publish(server, 1))[0]
    for value in range(10):
        await server.bus.broadcast(scores("detectors/a", value))
    await server.bus.broadcast(scores("detectors/b", 99))
    await publish(server, 1, "dataSources/after-the-scores")

    loop = asyncio.get_running_loop()
    got: list[tuple[float, event_pb2.Event]] = []
    quiet_from = loop.time() + 3 * SCORES_INTERVAL  # heartbeats keep the reads coming
    while loop.time() < quiet_from:
        event = await charts.read()
        if event.WhichOneof("payload") != "heartbeat":
            got.append((loop.time(), event))
    charts.cancel()
    # The first at once; of the nine that came within the interval, only the latest, after it.
    assert [event.scores.series[0].values[0] for _, event in got] == [0, 9]
    assert {event.scores.detector for _, event in got} == {"detectors/a"}
    assert got[1][0] - got[0][0] >= SCORES_INTERVAL * 0.9
    assert [event.sequence for _, event in got] == [latest, latest + 1]

    # A stream that did not ask for SCORES gets the events around them, and no scores.
    event = await next_event(others)
    assert event.data_source_health.data_source == "dataSources/a"
    event = await next_event(others)
    assert event.data_source_health.data_source == "dataSources/after-the-scores"
    others.cancel()


# One process: the test looks at the primary's subscriptions (a worker runs the same code).
@pytest.mark.parametrize("workers", [1])
async def test_a_stream_whose_client_reads_nothing_is_freed_once_cut_off(
    api: Api, server: App
) -> None:
    stuck = api.events.Subscribe(pb.SubscribeRequest(), timeout=30)
    await stuck.read()  # connected; from now on it reads nothing
    assert len(server.bus.subscriptions) == 1
    # Big events fill the transport's window: the server's write for this stream blocks, its
    # queue overflows behind it, and it could never get round to ending itself.
    sessions = session_factory(server.engine)
    for _ in range(40):
        if server.bus.subscriptions and next(iter(server.bus.subscriptions)).ended:
            break
        async with event_log.recording(sessions, server.bus) as recorder:
            for _ in range(STREAM_BUFFER // 2):
                health = event_pb2.DataSourceHealth(data_source="dataSources/a", error="x" * 50_000)
                recorder.add(event_pb2.Event(data_source_health=health))
        await asyncio.sleep(0.05)
    ended = next(iter(server.bus.subscriptions))
    assert ended.ended is not None, "the stream is cut off"
    for _ in range(200):  # ten seconds; ended, then cancelled within two heartbeat intervals
        if not server.bus.subscriptions:
            break
        await asyncio.sleep(0.05)
    assert not server.bus.subscriptions
    stuck.cancel()
