"""CheckDataSource and QueryMetrics: asking a data source, as opposed to managing it."""

from __future__ import annotations

import time

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from aiops.api.validation import Violations
from aiops.errors import (
    DataSourceKindUnsupported,
    DataSourceUnavailable,
    FieldViolation,
    InvalidArgument,
)
from aiops.sources.clients import SourceClients
from aiops.sources.prometheus import QueryError, SourceError, TooLargeError
from aiops.store.models import DataSourceRow
from aiops_api.v1 import data_source_service_pb2

pb = data_source_service_pb2

MAX_QUERY_BYTES = 16 * 1024
MAX_STEP_SECONDS = 86_400
DEFAULT_STEP_SECONDS = 60
# Eight bytes a value: the answer stays under the 4 MiB message limit.
MAX_VALUES = 400_000
PROMETHEUS = "KIND_PROMETHEUS"


def check_query(request: pb.QueryMetricsRequest, violations: Violations) -> int:
    """The request's step in seconds, once its fields are checked."""
    if not request.query.strip():
        violations.add("query", "required: a PromQL expression")
    elif len(request.query.encode()) > MAX_QUERY_BYTES:
        violations.add("query", f"at most {MAX_QUERY_BYTES} bytes")
    step = request.step.seconds if request.HasField("step") else DEFAULT_STEP_SECONDS
    if request.step.nanos or not 1 <= step <= MAX_STEP_SECONDS:
        violations.add("step", f"whole seconds from 1s to {MAX_STEP_SECONDS}s")
    for field in ("start_time", "end_time"):
        if not request.HasField(field):
            violations.add(field, "required")
        elif getattr(request, field).nanos:
            violations.add(field, "a whole number of seconds")
    start, end = request.start_time.seconds, request.end_time.seconds
    if request.HasField("start_time") and request.HasField("end_time"):
        if end <= start:
            violations.add("end_time", "must be after start_time")
        elif step >= 1 and (end - start) // step + 1 > MAX_VALUES:
            violations.add("step", f"more than {MAX_VALUES} points: raise the step")
    return step


async def query_metrics(
    clients: SourceClients,
    row: DataSourceRow,
    name: str,
    request: pb.QueryMetricsRequest,
    step: int,
) -> pb.QueryMetricsResponse:
    if row.kind != PROMETHEUS:
        raise DataSourceKindUnsupported(name, row.kind.removeprefix("KIND_").title(), "run PromQL")
    client = await clients.prometheus(row)
    try:
        matrix = await client.query_range(
            request.query, request.start_time.seconds, request.end_time.seconds, step
        )
    except QueryError as error:
        raise InvalidArgument([FieldViolation("query", f"Prometheus says: {error}")]) from None
    except TooLargeError as error:
        raise InvalidArgument([FieldViolation("query", str(error))]) from None
    except SourceError as error:
        raise DataSourceUnavailable(name, str(error)) from None
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
    start, every = Timestamp(seconds=request.start_time.seconds), Duration(seconds=step)
    for labels, values in zip(matrix.labels, matrix.values, strict=True):
        response.series.add(labels=labels, start_time=start, step=every, values=values)
    return response


async def check_data_source(
    clients: SourceClients, row: DataSourceRow
) -> pb.CheckDataSourceResponse:
    if row.kind != PROMETHEUS:
        raise DataSourceKindUnsupported(
            f"dataSources/{row.id}", row.kind.removeprefix("KIND_").title(), "be checked"
        )
    client = await clients.prometheus(row)
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
