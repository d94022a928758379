"""Message size limits and client deadlines: refused or cut off cleanly, the server unharmed."""

from __future__ import annotations

import grpc
import pytest

from aiops.api.server import MAX_MESSAGE_BYTES
from aiops_api.v1 import data_source_service_pb2, event_service_pb2
from tests.conftest import Api
from tests.rpc import prometheus


async def test_message_over_the_limit_is_resource_exhausted(api: Api) -> None:
    huge = prometheus(display_name="x" * (MAX_MESSAGE_BYTES + 1))
    request = data_source_service_pb2.CreateDataSourceRequest(
        data_source_id="huge", data_source=huge
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await api.data_sources.CreateDataSource(request, timeout=10)
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED

    # Nothing was written and the server goes on serving.
    listed = await api.data_sources.ListDataSources(
        data_source_service_pb2.ListDataSourcesRequest(), timeout=10
    )
    assert list(listed.data_sources) == []


async def test_stream_ends_with_deadline_exceeded_at_the_client_deadline(api: Api) -> None:
    stream = api.events.Subscribe(event_service_pb2.SubscribeRequest(), timeout=0.5)
    received = 0
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        async for _ in stream:
            received += 1
    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert received >= 1


async def test_expired_deadline_is_deadline_exceeded(api: Api) -> None:
    request = data_source_service_pb2.CreateDataSourceRequest(
        data_source_id="late", data_source=prometheus()
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await api.data_sources.CreateDataSource(request, timeout=1e-6)
    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
