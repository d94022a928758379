"""A call whose client goes away (a deadline, a cancel) in the middle of a write: the write runs
to its end, and the next writer is not stalled. Cut short inside a transaction, a connection
could keep SQLite's write lock, and every write after it waited for the busy timeout."""

from __future__ import annotations

import asyncio
import random
import time

import grpc
import pytest

from aiops_api.v1 import data_source_service_pb2, detector_service_pb2
from tests.conftest import Api
from tests.rpc import detector, prometheus

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
ROUNDS, CALLS = 12, 100  # before the fix, a stalled writer within ten rounds


async def create(api: Api, detector_id: str, deadline: float) -> str:
    try:
        await api.detectors.CreateDetector(
            detector_service_pb2.CreateDetectorRequest(
                detector=detector("dataSources/p", query="up"), detector_id=detector_id
            ),
            timeout=deadline,
        )
        return "OK"
    except grpc.aio.AioRpcError as error:
        assert error.code() is grpc.StatusCode.DEADLINE_EXCEEDED, error
        return error.code().name


async def test_writes_whose_clients_left_do_not_stall_the_next_writer(api: Api) -> None:
    await api.data_sources.CreateDataSource(
        data_source_service_pb2.CreateDataSourceRequest(
            data_source=prometheus(), data_source_id="p"
        )
    )
    rng = random.Random(1)
    left = 0
    for round_ in range(ROUNDS):
        # Deadlines around the time a call takes under this load: many end mid-write.
        outcomes = await asyncio.gather(
            *(create(api, f"d{round_}-{i}", rng.uniform(0.01, 0.3)) for i in range(CALLS))
        )
        left += outcomes.count("DEADLINE_EXCEEDED")
        started = time.monotonic()
        await create(api, f"after-{round_}", 10)
        assert time.monotonic() - started < 5, f"round {round_}: the next write was stalled"
    assert left > ROUNDS * CALLS / 4, "enough clients left mid-call to show the fault"
    # Each call that began ran to its end: what it wrote is whole.
    listed = await api.detectors.ListDetectors(
        detector_service_pb2.ListDetectorsRequest(page_size=1000)
    )
    assert all(d.query == "up" and d.data_source == "dataSources/p" for d in listed.detectors)
