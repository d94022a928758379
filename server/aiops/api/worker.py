"""A worker process's gRPC server (`aiops serve --workers N`): on the public port beside the
primary's (SO_REUSEPORT, so the kernel spreads connections over the processes), it serves
EventService.Subscribe from its own bus, health and reflection itself, and forwards every other
call, as bytes, to the primary on its private address. The primary holds what those calls need
that is not in the database (the recent scores of the charts, the health probe's checks, the
log-pattern catalogues) and writes every event, so any call answers as on the primary."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiops.api.errors import REQUEST_ID, ErrorInterceptor, current_request_id
from aiops.api.events import EventServicer, add_event_service
from aiops.api.metrics import MetricsInterceptor, RpcMetrics
from aiops.api.reflection import enable_reflection
from aiops.events.bus import Bus

# Imported for their descriptors: reflection on a worker describes the services it forwards.
from aiops_api.v1 import (  # noqa: F401
    data_source_service_pb2,
    detector_service_pb2,
    notification_channel_service_pb2,
)

# As aiops.api.server's, which a worker does not import (it would load the whole application:
# the pipeline's clients, numba; a worker is kept small).
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
EVENT_SERVICE = "aiops.v1.EventService"
# Calls forwarded: every method of these services (all unary).
FORWARDED = frozenset(
    (
        "aiops.v1.DataSourceService",
        "aiops.v1.DetectorService",
        "aiops.v1.NotificationChannelService",
    )
)
# Metadata that belongs to the hop, not to the call.
HOP_METADATA = ("user-agent", "content-type", "te", "host")

Forward = Callable[[bytes, grpc.aio.ServicerContext[Any, Any]], Coroutine[Any, Any, bytes]]


class Forwarder(grpc.GenericRpcHandler):
    """Answers the forwarded services' calls by making the same call to the primary."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.channel = channel
        self._handlers: dict[str, grpc.RpcMethodHandler] = {}

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        method: str = handler_call_details.method
        handler = self._handlers.get(method)
        if handler is None:
            if method.split("/")[1] not in FORWARDED:
                return None
            # No (de)serializers: the request and the answer pass as bytes.
            handler = grpc.unary_unary_rpc_method_handler(self._forward(method))
            self._handlers[method] = handler
        return handler

    def _forward(self, method: str) -> Forward:
        call = self.channel.unary_unary(method)

        async def forward(request: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
            metadata = (
                *(
                    (key, value)
                    for key, value in context.invocation_metadata() or ()
                    if not key.startswith(("grpc-", ":")) and key not in (*HOP_METADATA, REQUEST_ID)
                ),
                (REQUEST_ID, current_request_id()),  # the primary logs it under the same id
            )
            try:
                answer: bytes = await call(
                    request, metadata=metadata, timeout=context.time_remaining()
                )
            except grpc.aio.AioRpcError as e:
                # The primary's status whole: code, message and details (ErrorInfo, ...).
                await context.abort(e.code(), e.details() or "", tuple(e.trailing_metadata() or ()))
            return answer

        return forward


@dataclass
class WorkerServer:
    """A worker's grpc.aio server, bound to `port`, not started yet."""

    server: grpc.aio.Server
    port: int
    health: health.aio.HealthServicer
    events: EventServicer

    async def start(self) -> None:
        self.events.start()
        await self.server.start()
        for name in ("", *FORWARDED, EVENT_SERVICE):
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)

    async def stop(self, grace: float | None) -> None:
        await self.health.enter_graceful_shutdown()
        await self.events.close()  # streams end with where to resume
        await self.server.stop(grace)


def build_worker_server(
    address: str,
    primary: str,
    sessions: async_sessionmaker[AsyncSession],
    bus: Bus,
    heartbeat_interval: float,
    scores_interval: float,
    rpc_metrics: RpcMetrics,
) -> tuple[WorkerServer, grpc.aio.Channel]:
    """The worker's server on `address` (the primary's port; port 0 is not allowed), and its
    channel to the `primary`; OSError when it cannot listen. Its calls are counted into
    `rpc_metrics`, but for those it forwards: the primary counts them."""
    server = grpc.aio.server(
        interceptors=[MetricsInterceptor(rpc_metrics, skip=FORWARDED), ErrorInterceptor()],
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 1),
        ],
    )
    events = EventServicer(sessions, bus, heartbeat_interval, scores_interval)
    add_event_service(events, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    enable_reflection((*sorted(FORWARDED), EVENT_SERVICE, health.SERVICE_NAME), server)
    channel = grpc.aio.insecure_channel(
        primary,
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ],
    )
    server.add_generic_rpc_handlers((Forwarder(channel),))
    try:
        port = server.add_insecure_port(address)
    except RuntimeError:  # grpcio raises this, not OSError, when it cannot bind
        port = 0
    if port == 0:
        raise OSError(f"cannot listen on {address}")
    return WorkerServer(server, port, health_servicer, events), channel
