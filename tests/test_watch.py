"""The Python client's `watch` helper and `aiops watch`: events followed across a server restart,
each once and in order; a bad request raised, not retried."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

import grpc
import pytest

from aiops_api.v1 import (
    data_source_service_pb2,
    detector_service_pb2,
    event_service_pb2,
    event_service_pb2_grpc,
)
from aiops_api.watch import watch
from tests.conftest import connected, serving
from tests.events import publish
from tests.postgres import free_port
from tests.rpc import detector, prometheus


async def test_watch_follows_events_across_a_server_restart(
    database_url: str, bus_settings: dict[str, Any]
) -> None:
    address = f"127.0.0.1:{free_port()}"
    settings = {"grpc_address": address, "run_detectors": False, "heartbeat_interval": 0.2}
    settings |= bus_settings
    got: list[int] = []
    published: list[int] = []
    async with grpc.aio.insecure_channel(address) as channel:
        stub = event_service_pb2_grpc.EventServiceStub(channel)
        events = watch(stub, event_service_pb2.SubscribeRequest(), base_delay=0.05, max_delay=0.2)

        async def follow(count: int) -> None:
            async for event in events:
                got.append(event.sequence)
                if len(got) == count:
                    return

        async with serving(database_url, **settings) as first:
            following = asyncio.create_task(follow(4))
            await asyncio.sleep(0.5)  # the stream is up
            published += [(await publish(first, 1, "dataSources/a"))[0] for _ in range(2)]
            await asyncio.sleep(0.3)
        # Down for a while: what happens meanwhile (here, on the next server) is replayed.
        async with serving(database_url, **settings) as second:
            published.append((await publish(second, 1, "dataSources/b"))[0])
            await asyncio.sleep(0.5)
            published.append((await publish(second, 1, "dataSources/c"))[0])
            await asyncio.wait_for(following, timeout=20)
        await events.aclose()  # type: ignore[attr-defined]
    assert got == published


async def test_watch_raises_what_the_request_did_wrong(database_url: str) -> None:
    async with serving(database_url, run_detectors=False) as server, connected(server) as api:
        bad = event_service_pb2.SubscribeRequest(detectors=["not-a-name"])
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            async for _ in watch(api.events, bad):
                pass
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_aiops_watch_prints_each_event(database_url: str) -> None:
    async with serving(database_url, run_detectors=False) as server, connected(server) as api:
        await api.data_sources.CreateDataSource(
            data_source_service_pb2.CreateDataSourceRequest(
                data_source=prometheus(), data_source_id="prom"
            )
        )
        await api.detectors.CreateDetector(
            detector_service_pb2.CreateDetectorRequest(
                detector=detector("dataSources/prom"), detector_id="cpu"
            )
        )
        name = "detectors/cpu"
        await api.detectors.StartDetector(detector_service_pb2.StartDetectorRequest(name=name))
        await api.detectors.StopDetector(detector_service_pb2.StopDetectorRequest(name=name))
        # Events 1 and 2 are the creations, 3 the Start: after it, the Stop (4) is replayed,
        # whenever it connects.
        command = ["watch", "--grpc-address", server.address, "--after", "3"]
        process = subprocess.Popen(  # noqa: ASYNC220 - it runs beside the test, read in a thread
            [sys.executable, "-m", "aiops.cli", *command, "--json", "--type", "detector-status"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert process.stdout is not None
            line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), 60)
        finally:
            process.terminate()
            process.wait(timeout=10)
    printed = json.loads(line)
    assert printed["sequence"] == "4"
    assert printed["detector_status"] == {
        "detector": name,
        "state": "STATE_STOPPED",
        "etag": '"3"',
    }
