"""The gRPC server: the aiops services, health, reflection and the error interceptor."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiops.api.data_sources import DataSourceServicer
from aiops.api.detectors import DetectorServicer
from aiops.api.errors import ErrorInterceptor
from aiops.api.events import EventServicer, add_event_service
from aiops.api.metrics import MetricsInterceptor, RpcMetrics
from aiops.api.notification_channels import NotificationChannelServicer
from aiops.api.reflection import enable_reflection
from aiops.detectors.log_patterns import LogPatternsRegistry
from aiops.detectors.recent import RecentScoresRegistry
from aiops.events.bus import Bus
from aiops.health import HealthHistory
from aiops.sources.clients import SourceClients
from aiops_api.v1 import (
    data_source_service_pb2,
    data_source_service_pb2_grpc,
    detector_service_pb2,
    detector_service_pb2_grpc,
    event_service_pb2,
    notification_channel_service_pb2,
    notification_channel_service_pb2_grpc,
)

MAX_MESSAGE_BYTES = 4 * 1024 * 1024
SERVICE_NAMES = (
    data_source_service_pb2.DESCRIPTOR.services_by_name["DataSourceService"].full_name,
    detector_service_pb2.DESCRIPTOR.services_by_name["DetectorService"].full_name,
    event_service_pb2.DESCRIPTOR.services_by_name["EventService"].full_name,
    notification_channel_service_pb2.DESCRIPTOR.services_by_name[
        "NotificationChannelService"
    ].full_name,
)


@dataclass
class ApiServer:
    """A grpc.aio server with every service added, bound to `port`, not started yet."""

    server: grpc.aio.Server
    port: int
    health: health.aio.HealthServicer
    events: EventServicer

    async def start(self) -> None:
        self.events.start()
        await self.server.start()
        for name in ("", *SERVICE_NAMES):
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)

    async def stop(self, grace: float | None) -> None:
        await self.health.enter_graceful_shutdown()
        await self.events.close()  # streams end with where to resume
        await self.server.stop(grace)


def build_server(
    address: str,
    sessions: async_sessionmaker[AsyncSession],
    clients: SourceClients,
    bus: Bus,
    heartbeat_interval: float,
    scores_interval: float,
    recent: RecentScoresRegistry,
    history: HealthHistory,
    patterns: LogPatternsRegistry | None = None,
    rpc_metrics: RpcMetrics | None = None,
) -> ApiServer:
    """The server listening on `address` (port 0 picks a free one); OSError when it cannot."""
    # The metrics' interceptor outermost: it sees the status the error interceptor gave.
    counting = [MetricsInterceptor(rpc_metrics)] if rpc_metrics is not None else []
    server = grpc.aio.server(
        interceptors=[*counting, ErrorInterceptor()],
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ],
    )
    data_source_service_pb2_grpc.add_DataSourceServiceServicer_to_server(
        DataSourceServicer(sessions, clients, bus, history), server
    )
    detector_service_pb2_grpc.add_DetectorServiceServicer_to_server(
        DetectorServicer(sessions, clients, bus, recent, patterns or LogPatternsRegistry()),
        server,
    )
    notification_channel_service_pb2_grpc.add_NotificationChannelServiceServicer_to_server(
        NotificationChannelServicer(sessions), server
    )
    events = EventServicer(sessions, bus, heartbeat_interval, scores_interval)
    add_event_service(events, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    enable_reflection((*SERVICE_NAMES, health.SERVICE_NAME), server)
    try:
        port = server.add_insecure_port(address)
    except RuntimeError:  # grpcio raises this, not OSError, when it cannot bind
        port = 0
    if port == 0:
        raise OSError(f"cannot listen on {address}")
    return ApiServer(server, port, health_servicer, events)
