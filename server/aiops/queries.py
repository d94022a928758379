"""Asking a data source on a request's behalf (CheckDataSource, QueryMetrics, QueryLogs, a
backtest's range, the health probe): the request's checks, the answer as a message, and the data
source's failures as the request's errors."""

from __future__ import annotations

import time
from dataclasses import dataclass

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from aiops.errors import (
    DataSourceKindUnsupported,
    DataSourceUnavailable,
    FieldViolation,
    InvalidArgument,
)
from aiops.sources.clients import SourceClient, SourceClients, SourceConfig
from aiops.sources.http import QueryError, QueryTimeoutError, SourceError, TooLargeError
from aiops.sources.loki import Direction, LokiClient
from aiops.sources.matrix import Matrix
from aiops.validation import Violations, check_query, check_step
from aiops_api.v1 import data_source_service_pb2

pb = data_source_service_pb2
LogsDirection = pb.QueryLogsRequest.Direction

DEFAULT_STEP_SECONDS = 60
# Eight bytes a value: the answer stays under the 4 MiB message limit.
MAX_VALUES = 400_000
DEFAULT_LINES = 1000
MAX_LINES = 5000
# The lines' text and labels, counted with some overhead each: the answer stays under 4 MiB.
MAX_LOG_BYTES = 3 * 2**20
MAX_NANOSECONDS = 2**63 - 1  # Loki's timestamps are int64 nanoseconds
DIRECTIONS: dict[int, Direction] = {
    LogsDirection.DIRECTION_UNSPECIFIED: "backward",
    LogsDirection.DIRECTION_BACKWARD: "backward",
    LogsDirection.DIRECTION_FORWARD: "forward",
}


@dataclass(frozen=True)
class LogsQuery:
    start_ns: int
    end_ns: int
    limit: int
    direction: Direction


def check_metrics_query(request: pb.QueryMetricsRequest, violations: Violations) -> int:
    """The request's step in seconds, once its fields are checked."""
    check_query(request.query, "query", "a PromQL or LogQL metric expression", violations)
    step = request.step.seconds if request.HasField("step") else DEFAULT_STEP_SECONDS
    check_step(step, request.step.nanos, "step", violations)
    for field in ("start_time", "end_time"):
        if not request.HasField(field):
            violations.add(field, "required")
        elif getattr(request, field).nanos or getattr(request, field).seconds < 0:
            violations.add(
                field,
                "a whole number of seconds from 1970: points lie on the step grid, "
                "the multiples of step since the epoch",
            )
    start, end = request.start_time.seconds, request.end_time.seconds
    if request.HasField("start_time") and request.HasField("end_time"):
        if end <= start:
            violations.add("end_time", "must be after start_time")
        elif step >= 1 and (end - start) // step + 1 > MAX_VALUES:
            violations.add("step", f"more than {MAX_VALUES} points: raise the step")
    return step


def check_logs_query(request: pb.QueryLogsRequest, violations: Violations) -> LogsQuery:
    """The request's range, limit and direction, once its fields are checked."""
    check_query(request.query, "query", 'a LogQL log query such as {app="api"}', violations)
    times = []
    for field in ("start_time", "end_time"):
        value: Timestamp = getattr(request, field)
        nanoseconds = value.seconds * 1_000_000_000 + value.nanos
        if not request.HasField(field):
            violations.add(field, "required")
        elif not 0 <= value.nanos < 1_000_000_000 or not 0 <= nanoseconds <= MAX_NANOSECONDS:
            violations.add(field, "a time from 1970 to 2262")
        times.append(nanoseconds)
    start_ns, end_ns = times
    if request.HasField("start_time") and request.HasField("end_time") and end_ns <= start_ns:
        violations.add("end_time", "must be after start_time")
    limit = request.limit or DEFAULT_LINES
    if not 1 <= limit <= MAX_LINES:
        violations.add("limit", f"from 1 to {MAX_LINES} lines; {DEFAULT_LINES} when unset")
    if request.direction not in DIRECTIONS:
        violations.add("direction", "must be DIRECTION_BACKWARD or DIRECTION_FORWARD")
    return LogsQuery(start_ns, end_ns, limit, DIRECTIONS.get(request.direction, "backward"))


async def fetch_matrix(
    clients: SourceClients,
    source: SourceConfig,
    query: str,
    start: int,
    end: int,
    step: int,
    *,
    field: str = "query",
) -> Matrix:
    """A range query's series from any data source (PromQL, or a LogQL metric query on Loki);
    a wrong or too large query is INVALID_ARGUMENT on `field`."""
    client = await clients.get(source)
    try:
        return await client.query_range(query, start, end, step)
    except SourceError as error:
        raise _query_failed(error, source.name, client, field) from None


async def query_metrics(
    clients: SourceClients, source: SourceConfig, request: pb.QueryMetricsRequest, step: int
) -> pb.QueryMetricsResponse:
    matrix = await fetch_matrix(
        clients, source, request.query, request.start_time.seconds, request.end_time.seconds, step
    )
    if matrix.values.size > MAX_VALUES:
        raise InvalidArgument(
            [
                FieldViolation(
                    "query",
                    f"returns {matrix.values.shape[0]} series of {matrix.values.shape[1]} "
                    f"points, more than {MAX_VALUES} values: narrow it or raise the step",
                )
            ]
        )
    response = pb.QueryMetricsResponse(warnings=matrix.warnings)
    # The data source was asked on the step grid: the first point may be before start_time.
    start, every = Timestamp(seconds=matrix.start_ms // 1000), Duration(seconds=step)
    for labels, values in zip(matrix.labels, matrix.values, strict=True):
        response.series.add(labels=labels, start_time=start, step=every, values=values)
    return response


async def query_logs(
    clients: SourceClients, source: SourceConfig, query: str, logs_query: LogsQuery
) -> pb.QueryLogsResponse:
    client = await clients.get(source)
    name = source.name
    if not isinstance(client, LokiClient):
        raise DataSourceKindUnsupported(name, client.http.server, "run LogQL log queries")
    try:
        logs = await client.query_logs(
            query,
            logs_query.start_ns,
            logs_query.end_ns,
            logs_query.limit,
            logs_query.direction,
            max_bytes=MAX_LOG_BYTES,
        )
    except SourceError as error:
        raise _query_failed(error, name, client, "query") from None
    response = pb.QueryLogsResponse(warnings=logs.warnings)
    for stream in logs.streams:
        entries = response.streams.add(labels=stream.labels).entries
        for nanoseconds, line in stream.entries:
            entry = entries.add(line=line)
            entry.time.FromNanoseconds(nanoseconds)
    return response


async def check_log_query(
    clients: SourceClients, source: SourceConfig, query: str, field: str
) -> None:
    """Asks Loki for one line of `query` in the last minute: a query it refuses (or a metric
    query) is INVALID_ARGUMENT on `field` with Loki's words. A Loki that does not answer passes:
    whether it is up is not the request's fault."""
    client = await clients.get(source)
    if not isinstance(client, LokiClient):
        return
    end = time.time_ns()
    try:
        await client.query_logs(query, end - 60 * 1_000_000_000, end, limit=1)
    except (QueryError, TooLargeError) as error:
        raise _query_failed(error, source.name, client, field) from None
    except SourceError:
        pass


def _query_failed(error: SourceError, name: str, client: SourceClient, field: str) -> Exception:
    """A wrong, too large or too costly query is the request's fault; the rest is the data
    source's."""
    if isinstance(error, QueryError):
        return InvalidArgument([FieldViolation(field, f"{client.http.server} says: {error}")])
    if isinstance(error, TooLargeError | QueryTimeoutError):
        return InvalidArgument([FieldViolation(field, str(error))])
    return DataSourceUnavailable(name, str(error))


async def check_data_source(
    clients: SourceClients, source: SourceConfig
) -> pb.CheckDataSourceResponse:
    """Whether the data source answers, which URL did, how fast and which version: what
    CheckDataSource answers and the health probe watches."""
    client = await clients.get(source)
    started = time.perf_counter()
    try:
        info = await client.build_info()
    except SourceError as error:
        return pb.CheckDataSourceResponse(reachable=False, error=str(error))
    latency = Duration()
    latency.FromNanoseconds(int((time.perf_counter() - started) * 1e9))
    return pb.CheckDataSourceResponse(
        reachable=True, url=client.answered_by, latency=latency, version=info.get("version", "")
    )
