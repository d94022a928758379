"""Builds the grpc.aio server: the aiops services, health, reflection and the error interceptor."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from aiops.api.data_sources import DataSourceServicer
from aiops.api.detectors import DetectorServicer
from aiops.api.errors import ErrorInterceptor
from aiops.api.events import EventServicer
from aiops.api.reflection import enable_reflection
from aiops.config import Settings
from aiops.detect import warmup
from aiops.events import log as event_log
from aiops.events.bus import Bus
from aiops.events.redis_bus import RedisBus
from aiops.events.retention import Retention
from aiops.pipeline.health import HealthProbe
from aiops.pipeline.runner import PipelineSettings
from aiops.pipeline.scheduler import Scheduler
from aiops.sources import matrix
from aiops.sources.clients import SourceClients
from aiops.store.database import create_engine, session_factory
from aiops_api.v1 import (
    data_source_service_pb2,
    data_source_service_pb2_grpc,
    detector_service_pb2,
    detector_service_pb2_grpc,
    event_service_pb2,
    event_service_pb2_grpc,
)

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 4 * 1024 * 1024
SERVICE_NAMES = (
    data_source_service_pb2.DESCRIPTOR.services_by_name["DataSourceService"].full_name,
    detector_service_pb2.DESCRIPTOR.services_by_name["DetectorService"].full_name,
    event_service_pb2.DESCRIPTOR.services_by_name["EventService"].full_name,
)


@dataclass
class RunningServer:
    server: grpc.aio.Server
    engine: AsyncEngine
    health: health.aio.HealthServicer
    address: str
    clients: SourceClients
    bus: Bus
    scheduler: Scheduler
    health_probe: HealthProbe
    events: EventServicer
    retention: Retention

    async def stop(self, grace: float | None = 5.0) -> None:
        await self.health.enter_graceful_shutdown()
        await self.events.close()  # streams end with where to resume
        await self.server.stop(grace)
        await self.scheduler.stop()
        await self.health_probe.stop()
        await self.retention.stop()
        await self.bus.stop()
        await self.clients.aclose()
        await self.engine.dispose()


def _warm_up() -> None:
    warmup.warm_up()
    matrix.warm_up()


async def start_server(settings: Settings) -> RunningServer:
    """Starts serving on `settings.grpc_address` (port 0 picks a free port); the schema must be
    migrated already."""
    # Compiled kernels (or ones loaded from numba's cache) before the first request, off the loop.
    await asyncio.to_thread(_warm_up)
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    clients = SourceClients()
    bus = (
        RedisBus(settings.redis_url, settings.stream_buffer)
        if settings.redis_url
        else Bus(settings.stream_buffer)
    )
    server = grpc.aio.server(
        interceptors=[ErrorInterceptor()],
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ],
    )
    data_source_service_pb2_grpc.add_DataSourceServiceServicer_to_server(
        DataSourceServicer(sessions, clients), server
    )
    detector_service_pb2_grpc.add_DetectorServiceServicer_to_server(
        DetectorServicer(sessions, clients, bus), server
    )
    events = EventServicer(sessions, bus, settings.heartbeat_interval, settings.scores_interval)
    event_service_pb2_grpc.add_EventServiceServicer_to_server(events, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    enable_reflection((*SERVICE_NAMES, health.SERVICE_NAME), server)

    host, _, _ = settings.grpc_address.rpartition(":")
    try:
        port = server.add_insecure_port(settings.grpc_address)
    except RuntimeError:  # grpcio raises this, not OSError, when it cannot bind
        port = 0
    if port == 0:
        await engine.dispose()
        raise OSError(f"cannot listen on {settings.grpc_address}")
    try:
        await bus.start()
    except OSError:
        await engine.dispose()
        raise
    async with sessions() as session:
        _, bus.latest = await event_log.bounds(session)
    events.start()
    await server.start()
    for name in ("", *SERVICE_NAMES):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    scheduler = Scheduler(
        sessions,
        clients,
        bus,
        PipelineSettings(
            evaluation_delay=settings.evaluation_delay,
            backfill_points=settings.backfill_points,
            checkpoint_interval=settings.checkpoint_interval,
        ),
    )
    probe = HealthProbe(sessions, clients, bus, settings.health_interval)
    retention = Retention(
        sessions,
        settings.event_retention_count,
        timedelta(hours=settings.event_retention_hours),
    )
    retention.start()
    if settings.run_detectors:
        scheduler.start()
        probe.start()
    return RunningServer(
        server,
        engine,
        health_servicer,
        f"{host}:{port}",
        clients,
        bus,
        scheduler,
        probe,
        events,
        retention,
    )
