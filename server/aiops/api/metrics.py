"""The gRPC server's metrics, with the names and labels of go-grpc-prometheus (what operators'
dashboards already query): grpc_server_started_total, grpc_server_handled_total (by grpc_code),
grpc_server_msg_received_total, grpc_server_msg_sent_total and the grpc_server_handling_seconds
histogram, each by grpc_type, grpc_service and grpc_method. Counted by an interceptor of our own
(py-grpc-prometheus has no grpc.aio support) into plain numbers, which a collector reads at
scrape time: nothing is locked per message. Codes are spelled as in Go ("OK", "NotFound",
"Canceled"); a stream that its client leaves is "Canceled", one past its deadline
"DeadlineExceeded". Each serving process counts its own calls (`snapshot` / `merge` add up the
workers' in the primary); a worker counts no call it forwards: the primary does."""

from __future__ import annotations

import asyncio
import bisect
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric

# prometheus_client's default buckets, in seconds.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LABELS = ["grpc_type", "grpc_service", "grpc_method"]
UNARY, SERVER_STREAM = "unary", "server_stream"


def code_name(code: grpc.StatusCode | None) -> str:
    """Go's spelling of a status code: NOT_FOUND -> "NotFound", CANCELLED -> "Canceled"."""
    if code is None:
        return "OK"
    if code is grpc.StatusCode.CANCELLED:
        return "Canceled"
    return "".join(part.title() for part in code.name.split("_")) if code.name != "OK" else "OK"


@dataclass
class MethodCounts:
    started: int = 0
    received: int = 0
    sent: int = 0
    handled: Counter[str] = field(default_factory=Counter)  # by code
    buckets: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))  # last: +Inf
    seconds: float = 0.0

    def finished(self, code: str, seconds: float) -> None:
        self.handled[code] += 1
        self.buckets[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.seconds += seconds


class RpcMetrics:
    """The counts of one serving process, by (grpc_type, grpc_service, grpc_method)."""

    def __init__(self) -> None:
        self.methods: dict[tuple[str, str, str], MethodCounts] = {}

    def of(self, kind: str, service: str, method: str) -> MethodCounts:
        key = (kind, service, method)
        counts = self.methods.get(key)
        if counts is None:
            counts = self.methods[key] = MethodCounts()
        return counts

    def snapshot(self) -> list[dict[str, Any]]:
        """The counts as JSON (a worker's, for the primary). Safe from another thread (the
        scrape's): the methods are copied in one step before they are read."""
        return [
            {
                "key": list(key),
                "started": c.started,
                "received": c.received,
                "sent": c.sent,
                "handled": dict(c.handled),
                "buckets": list(c.buckets),
                "seconds": c.seconds,
            }
            for key, c in list(self.methods.items())
        ]

    def merge(self, snapshot: Iterable[dict[str, Any]]) -> None:
        """Adds a snapshot's counts to these."""
        for item in snapshot:
            counts = self.of(*item["key"])
            counts.started += item["started"]
            counts.received += item["received"]
            counts.sent += item["sent"]
            counts.handled.update(item["handled"])
            counts.buckets = [a + b for a, b in zip(counts.buckets, item["buckets"], strict=True)]
            counts.seconds += item["seconds"]


class RpcCollector:
    """The metric families of `sources()` added up (this process's RpcMetrics and the latest
    snapshot of each worker), for a prometheus_client registry."""

    def __init__(self, sources: Callable[[], Iterable[RpcMetrics]]) -> None:
        self.sources = sources

    def collect(self) -> Iterator[Metric]:
        total = RpcMetrics()
        for metrics in self.sources():
            total.merge(metrics.snapshot())
        started = CounterMetricFamily(
            "grpc_server_started", "Total number of RPCs started on the server.", labels=LABELS
        )
        handled = CounterMetricFamily(
            "grpc_server_handled",
            "Total number of RPCs completed on the server, regardless of success or failure.",
            labels=[*LABELS, "grpc_code"],
        )
        received = CounterMetricFamily(
            "grpc_server_msg_received",
            "Total number of RPC stream messages received on the server.",
            labels=LABELS,
        )
        sent = CounterMetricFamily(
            "grpc_server_msg_sent",
            "Total number of gRPC stream messages sent by the server.",
            labels=LABELS,
        )
        seconds = HistogramMetricFamily(
            "grpc_server_handling_seconds",
            "Histogram of response latency (seconds) of gRPC that had been application-level "
            "handled by the server.",
            labels=LABELS,
        )
        for key, c in sorted(total.methods.items()):
            labels = list(key)
            started.add_metric(labels, c.started)
            received.add_metric(labels, c.received)
            sent.add_metric(labels, c.sent)
            for code, n in sorted(c.handled.items()):
                handled.add_metric([*labels, code], n)
            cumulative, buckets = 0, []
            for bound, n in zip((*map(str, BUCKETS), "+Inf"), c.buckets, strict=True):
                cumulative += n
                buckets.append((bound, cumulative))
            seconds.add_metric(labels, buckets, c.seconds)
        yield from (started, handled, received, sent, seconds)


class MetricsInterceptor(grpc.aio.ServerInterceptor):
    """Counts every call of the unary and server-streaming methods into `metrics`, except those
    of the `skip` services (a worker's forwarded calls, which the primary counts)."""

    def __init__(self, metrics: RpcMetrics, skip: Iterable[str] = ()) -> None:
        self.metrics = metrics
        self.skip = frozenset(skip)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        _, service, method = str(handler_call_details.method).split("/")
        if service in self.skip:
            return handler
        if handler.unary_unary is not None:
            counts = self.metrics.of(UNARY, service, method)
            return grpc.unary_unary_rpc_method_handler(
                _count_unary(handler.unary_unary, counts),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            counts = self.metrics.of(SERVER_STREAM, service, method)
            return grpc.unary_stream_rpc_method_handler(
                _count_stream(handler.unary_stream, counts),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler  # the contract has no client-streaming method


class _Counting:
    """A servicer context whose writes are counted (a stream that writes with context.write)."""

    def __init__(self, context: grpc.aio.ServicerContext[Any, Any], counts: MethodCounts):
        self._context = context
        self._counts = counts

    async def write(self, message: Any) -> None:
        await self._context.write(message)
        self._counts.sent += 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


def _final_code(context: grpc.aio.ServicerContext[Any, Any], error: BaseException | None) -> str:
    if isinstance(error, asyncio.CancelledError):
        remaining = context.time_remaining()
        return "DeadlineExceeded" if remaining is not None and remaining <= 0 else "Canceled"
    if error is not None and not isinstance(error, grpc.aio.AbortError):
        return "Unknown"
    return code_name(context.code())


def _count_unary(behaviour: Any, counts: MethodCounts) -> Callable[..., Awaitable[Any]]:
    async def counted(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        counts.started += 1
        counts.received += 1
        began, error = time.perf_counter(), None
        try:
            response = await behaviour(request, context)
            counts.sent += 1
            return response
        except BaseException as e:
            error = e
            raise
        finally:
            counts.finished(_final_code(context, error), time.perf_counter() - began)

    return counted


def _count_stream(behaviour: Any, counts: MethodCounts) -> Callable[..., Any]:
    if asyncio.iscoroutinefunction(behaviour):  # writes with context.write

        async def written(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> None:
            counts.started += 1
            counts.received += 1
            began, error = time.perf_counter(), None
            try:
                await behaviour(request, _Counting(context, counts))
            except BaseException as e:
                error = e
                raise
            finally:
                counts.finished(_final_code(context, error), time.perf_counter() - began)

        return written

    async def yielded(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        counts.started += 1
        counts.received += 1
        began, error = time.perf_counter(), None
        try:
            async for response in behaviour(request, context):
                yield response
                counts.sent += 1
        except BaseException as e:
            error = e
            raise
        finally:
            counts.finished(_final_code(context, error), time.perf_counter() - began)

    return yielded
