"""Prometheus' /metrics: every RPC counted with go-grpc-prometheus' names and the code its client
got (a stream its client leaves: Canceled), in every serving process, scraped by a real
Prometheus; aiops' own metrics (streams cut off, the event log, data sources, transactions).
The scores written back: tests/pipeline/test_metrics.py and test_live.py."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import grpc
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from aiops.app import App
from aiops_api.v1 import (
    data_source_service_pb2,
    detector_service_pb2,
    event_service_pb2,
    event_service_pb2_grpc,
)
from tests.conftest import connected, serving
from tests.events import publish
from tests.prometheus import PrometheusServer
from tests.rpc import prometheus

DETECTORS, EVENTS = "aiops.v1.DetectorService", "aiops.v1.EventService"
# The counting does not depend on the database.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
async def server(database_url: str) -> AsyncIterator[App]:
    async with serving(database_url, metrics_address="127.0.0.1:0") as running:
        yield running


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(app: App) -> Samples:
    """Every sample of /metrics, by name and labels."""
    assert app.metrics is not None
    return samples(httpx.get(app.metrics.url, timeout=10, trust_env=False).text)


def samples(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return name, frozenset(labels.items())


def rpc(kind: str, service: str, method: str, **more: str) -> dict[str, str]:
    return {"grpc_type": kind, "grpc_service": service, "grpc_method": method, **more}


async def until(condition: Any, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not await asyncio.to_thread(condition):
        assert time.monotonic() < deadline, "not counted in time"
        await asyncio.sleep(0.1)


async def test_every_call_is_counted_with_the_code_its_client_got(server: App) -> None:
    async with connected(server) as api:
        await api.detectors.ListDetectors(detector_service_pb2.ListDetectorsRequest())
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await api.detectors.GetDetector(
                detector_service_pb2.GetDetectorRequest(name="detectors/nope")
            )
        assert missing.value.code() is grpc.StatusCode.NOT_FOUND
        opened = time.monotonic()
        bad = api.events.Subscribe(event_service_pb2.SubscribeRequest(after_sequence=-1))
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await bad.read()
        assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        stream = api.events.Subscribe(event_service_pb2.SubscribeRequest())
        await stream.read()  # its first heartbeat, at once
        first = time.monotonic()
        await stream.read()  # and the shared ticker's next one (every 0.2 s here)
        between = time.monotonic() - first
        stream.cancel()  # the client goes away

        subscribe = rpc("server_stream", EVENTS, "Subscribe")
        canceled = sample("grpc_server_handled_total", **subscribe, grpc_code="Canceled")
        await until(lambda: scrape(server).get(canceled) == 1)
    seen = scrape(server)
    listing = rpc("unary", DETECTORS, "ListDetectors")
    getting = rpc("unary", DETECTORS, "GetDetector")
    assert seen[sample("grpc_server_started_total", **listing)] == 1
    assert seen[sample("grpc_server_handled_total", **listing, grpc_code="OK")] == 1
    assert seen[sample("grpc_server_msg_received_total", **listing)] == 1
    assert seen[sample("grpc_server_msg_sent_total", **listing)] == 1
    assert seen[sample("grpc_server_handled_total", **getting, grpc_code="NotFound")] == 1
    assert seen[sample("grpc_server_msg_sent_total", **getting)] == 0
    assert seen[sample("grpc_server_started_total", **subscribe)] == 2
    assert seen[sample("grpc_server_handled_total", **subscribe, grpc_code="InvalidArgument")] == 1
    assert seen[sample("grpc_server_msg_sent_total", **subscribe)] >= 2  # the heartbeats
    assert seen[sample("grpc_server_handling_seconds_count", **listing)] == 1
    inf = sample("grpc_server_handling_seconds_bucket", **listing, le="+Inf")
    fast = sample("grpc_server_handling_seconds_bucket", **listing, le="10.0")
    assert seen[inf] == seen[fast] == 1
    # A stream is timed until it ends, not until its first message: at least the gap between
    # its heartbeats (halved for the jitter of two clocks), at most what its client waited.
    streamed = seen[sample("grpc_server_handling_seconds_sum", **subscribe)]
    assert between / 2 <= streamed <= time.monotonic() - opened
    assert seen[sample("process_resident_memory_bytes")] > 0


async def test_the_calls_of_every_serving_process_are_counted(database_url: str) -> None:
    """Streams spread over three processes are all counted by the primary's /metrics; a call
    a worker forwards is counted once (by the primary)."""
    connections = 16  # over 3 processes: all on one by chance once in 10^7
    async with (
        serving(database_url, workers=3, metrics_address="127.0.0.1:0") as server,
        AsyncExitStack() as stack,
    ):
        channels = [
            await stack.enter_async_context(
                grpc.aio.insecure_channel(
                    server.address, options=[("grpc.use_local_subchannel_pool", 1)]
                )
            )
            for _ in range(connections)
        ]
        streams = []
        for channel in channels:
            stream = event_service_pb2_grpc.EventServiceStub(channel).Subscribe(
                event_service_pb2.SubscribeRequest()
            )
            await stream.read()
            streams.append(stream)
            await channel.unary_unary(
                f"/{DETECTORS}/ListDetectors",
                request_serializer=detector_service_pb2.ListDetectorsRequest.SerializeToString,
                response_deserializer=detector_service_pb2.ListDetectorsResponse.FromString,
            )(detector_service_pb2.ListDetectorsRequest())
        assert len(server.bus.subscriptions) < connections, "the streams are spread"
        started = sample("grpc_server_started_total", **rpc("server_stream", EVENTS, "Subscribe"))
        await until(lambda: scrape(server).get(started) == connections)
        listing = sample("grpc_server_started_total", **rpc("unary", DETECTORS, "ListDetectors"))
        assert scrape(server)[listing] == connections
        for stream in streams:
            stream.cancel()


async def test_a_real_prometheus_scrapes_the_metrics(server: App) -> None:
    assert server.metrics is not None
    config = (
        "global:\n  scrape_interval: 1s\n"
        "scrape_configs:\n"
        "  - job_name: aiops\n"
        f"    static_configs: [{{targets: ['{server.metrics.address}']}}]\n"
    )
    prometheus = await asyncio.to_thread(PrometheusServer, None, config)
    try:
        async with connected(server) as api:
            await api.detectors.ListDetectors(detector_service_pb2.ListDetectorsRequest())
        query = (
            'sum(grpc_server_handled_total{job="aiops",grpc_method="ListDetectors",grpc_code="OK"})'
        )

        def answered() -> bool:
            response = httpx.get(
                f"{prometheus.url}/api/v1/query", params={"query": query}, trust_env=False
            )
            result = response.json()["data"]["result"]
            return bool(result) and float(result[0]["value"][1]) == 1

        await until(answered, 30)
    finally:
        await asyncio.to_thread(prometheus.stop)


async def test_a_taken_metrics_address_is_a_clear_error(database_url: str, server: App) -> None:
    assert server.metrics is not None
    with pytest.raises(OSError, match="metrics_address"):
        async with serving(database_url, metrics_address=server.metrics.address):
            pass


async def test_a_stream_cut_off_and_the_events_it_dropped_are_counted(database_url: str) -> None:
    async with (
        serving(database_url, stream_buffer=50, metrics_address="127.0.0.1:0") as server,
        connected(server) as api,
    ):
        stream = api.events.Subscribe(event_service_pb2.SubscribeRequest())
        await stream.read()  # open; it reads no more
        assert scrape(server)[sample("aiops_subscribe_streams")] == 1
        # One transaction: all 60 reach the stream before it sends any, 10 past its buffer.
        await publish(server, 60)
        seen = scrape(server)
        assert seen[sample("aiops_events_published_total")] == 60
        assert seen[sample("aiops_streams_cut_off_total")] == 1
        # The 50 it had waiting and the one that did not fit; the 9 after found it gone.
        assert seen[sample("aiops_stream_events_dropped_total")] == 51
        stream.cancel()
        await until(lambda: scrape(server)[sample("aiops_subscribe_streams")] == 0)


async def test_the_event_log_size_and_what_retention_pruned(server: App) -> None:
    await publish(server, 60)
    await server.retention.prune()
    seen = scrape(server)
    assert seen[sample("aiops_event_log_events")] == 60
    assert seen[sample("aiops_event_log_pruned_events_total")] == 0
    server.retention.keep = 10
    await server.retention.prune()
    seen = scrape(server)
    assert seen[sample("aiops_event_log_events")] == 10
    assert seen[sample("aiops_event_log_pruned_events_total")] == 50


async def test_data_source_requests_and_database_transactions_are_timed(server: App) -> None:
    commits = sample("aiops_db_transaction_seconds_count", outcome="commit")
    before = scrape(server)[commits]
    async with connected(server) as api:
        await api.data_sources.CreateDataSource(
            data_source_service_pb2.CreateDataSourceRequest(
                data_source=prometheus(urls=["http://127.0.0.1:9"]), data_source_id="away"
            )
        )
        check = await api.data_sources.CheckDataSource(
            data_source_service_pb2.CheckDataSourceRequest(name="dataSources/away")
        )
    assert not check.reachable
    seen = scrape(server)
    away = {"data_source": "dataSources/away"}
    # The check, and the health probe's (if it came by): every one failed.
    requests = seen[sample("aiops_data_source_request_seconds_count", **away)]
    assert requests >= 1
    assert seen[sample("aiops_data_source_request_errors_total", **away)] == requests
    assert seen[sample("aiops_data_source_request_seconds_sum", **away)] > 0
    assert seen[commits] >= before + 1  # the create (and the probe's health event)
    assert seen[sample("aiops_db_transaction_seconds_sum", outcome="commit")] > 0
