"""DataSourceService: the Prometheus and Loki servers detectors read from."""

from __future__ import annotations

import uuid
from typing import Any

import grpc
from google.protobuf.empty_pb2 import Empty
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiops import queries, validation
from aiops.api.field_masks import copy_fields, resolve_update_mask
from aiops.api.filtering import FilterField, enum_value, parse_filter
from aiops.api.pagination import (
    decode_offset,
    decode_page_token,
    encode_page_token,
    query_fingerprint,
)
from aiops.errors import DataSourceInUse, InvalidArgument
from aiops.events import log as event_log
from aiops.events.bus import Bus
from aiops.health import HealthHistory
from aiops.resources import data_source_message, source_config
from aiops.sources.clients import SourceClients
from aiops.store.models import DataSourceRow
from aiops.store.repository import (
    check_etag,
    detectors_using,
    fetch_page,
    get_row,
    insert_row,
)
from aiops.validation import Violations
from aiops_api.v1 import (
    data_source_pb2,
    data_source_service_pb2,
    data_source_service_pb2_grpc,
    event_pb2,
)

DataSource = data_source_pb2.DataSource
pb = data_source_service_pb2

COLLECTION = "dataSources"
MAX_URLS = 8
MAX_URL_LENGTH = 2048
MAX_AUTHORIZATION_LENGTH = 8192
DEFAULT_TIMEOUT_SECONDS = 30.0
MAX_TIMEOUT_SECONDS = 300.0

UPDATABLE = frozenset({"display_name", "urls", "authorization", "timeout"})
IMMUTABLE = frozenset({"kind", "name"})
OUTPUT_ONLY = frozenset({"has_authorization", "create_time", "update_time"})
FILTER_FIELDS = {
    "kind": FilterField(DataSourceRow.kind, enum_value(DataSource.Kind, "KIND_")),
    "display_name": FilterField(DataSourceRow.display_name),
}


class DataSourceServicer(data_source_service_pb2_grpc.DataSourceServiceServicer):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clients: SourceClients,
        bus: Bus,
        history: HealthHistory,
    ) -> None:
        self.sessions = sessions
        self.clients = clients
        self.bus = bus
        self.history = history

    async def CreateDataSource(
        self, request: pb.CreateDataSourceRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> data_source_pb2.DataSource:
        violations = Violations()
        validation.check_user_id(request.data_source_id, "data_source_id", violations)
        validation.check_output_only_unset(
            request.data_source, OUTPUT_ONLY, "data_source", violations
        )
        _check_data_source(request.data_source, violations)
        violations.raise_if_any()

        row = DataSourceRow(id=request.data_source_id or str(uuid.uuid4()))
        _write_row(row, request.data_source, authorization=request.data_source.authorization)
        async with event_log.recording(self.sessions, self.bus) as recorder:
            await insert_row(recorder.session, row, f"{COLLECTION}/{row.id}")
            _record_change(recorder, row)
        return data_source_message(row)

    async def GetDataSource(
        self, request: pb.GetDataSourceRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> data_source_pb2.DataSource:
        key = validation.parse_name(request.name, COLLECTION, "name")
        async with self.sessions() as session:
            row = await get_row(session, DataSourceRow, key, request.name)
        return data_source_message(row)

    async def ListDataSources(
        self, request: pb.ListDataSourcesRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ListDataSourcesResponse:
        limit = validation.page_size(request.page_size)
        conditions = parse_filter(request.filter, FILTER_FIELDS)
        fingerprint = query_fingerprint(COLLECTION, request.filter)
        after = decode_page_token(request.page_token, fingerprint)
        async with self.sessions() as session:
            rows, last = await fetch_page(
                session, select(DataSourceRow).where(*conditions), [DataSourceRow.id], after, limit
            )
        return pb.ListDataSourcesResponse(
            data_sources=[data_source_message(row) for row in rows],
            next_page_token=encode_page_token(last, fingerprint) if last else "",
        )

    async def UpdateDataSource(
        self, request: pb.UpdateDataSourceRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> data_source_pb2.DataSource:
        name = request.data_source.name
        key = validation.parse_name(name, COLLECTION, "data_source.name")
        paths = resolve_update_mask(
            request.update_mask,
            request.data_source,
            prefix="data_source",
            updatable=UPDATABLE,
            immutable=IMMUTABLE,
            output_only=OUTPUT_ONLY,
        )
        async with event_log.recording(self.sessions, self.bus) as recorder:
            session = recorder.session
            row = await get_row(session, DataSourceRow, key, name)
            check_etag(row, request.data_source.etag, name)
            updated = data_source_message(row)
            copy_fields(request.data_source, updated, paths)
            violations = Violations()
            _check_data_source(updated, violations)
            violations.raise_if_any()
            keep = None if "authorization" in paths else row.authorization
            _write_row(row, updated, authorization=request.data_source.authorization, keep=keep)
            await session.flush()
            _record_change(recorder, row)
        return data_source_message(row)

    async def DeleteDataSource(
        self, request: pb.DeleteDataSourceRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Empty:
        key = validation.parse_name(request.name, COLLECTION, "name")
        async with event_log.recording(self.sessions, self.bus) as recorder:
            session = recorder.session
            row = await get_row(session, DataSourceRow, key, request.name)
            check_etag(row, request.etag, request.name)
            users = await detectors_using(session, key)
            if users:
                raise DataSourceInUse(request.name, users)
            _record_change(recorder, row, deleted=True)
            await session.delete(row)
            try:
                await session.flush()
            except IntegrityError:  # a detector was created on it meanwhile
                raise DataSourceInUse(request.name, await detectors_using(session, key)) from None
        return Empty()

    async def CheckDataSource(
        self, request: pb.CheckDataSourceRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.CheckDataSourceResponse:
        key = validation.parse_name(request.name, COLLECTION, "name")
        async with self.sessions() as session:
            row = await get_row(session, DataSourceRow, key, request.name)
        return await queries.check_data_source(self.clients, source_config(row))

    async def ListHealthChecks(
        self, request: pb.ListHealthChecksRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ListHealthChecksResponse:
        key = validation.parse_name(request.parent, COLLECTION, "parent")
        limit = validation.page_size(request.page_size)
        fingerprint = query_fingerprint("health checks", request.parent)
        offset = decode_offset(request.page_token, fingerprint)
        async with self.sessions() as session:
            row = await get_row(session, DataSourceRow, key, request.parent)
        # Newest first, by position: a check added between pages shifts the rest by one.
        checks = self.history.newest_first(key, row.create_time)
        page = checks[offset : offset + limit]
        after = offset + len(page)
        return pb.ListHealthChecksResponse(
            health_checks=page,
            next_page_token=encode_page_token([after], fingerprint) if after < len(checks) else "",
        )

    async def QueryMetrics(
        self, request: pb.QueryMetricsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.QueryMetricsResponse:
        violations = Violations()
        try:
            key = validation.parse_name(request.data_source, COLLECTION, "data_source")
        except InvalidArgument as error:
            violations.items.extend(error.violations)
        step = queries.check_metrics_query(request, violations)
        violations.raise_if_any()
        async with self.sessions() as session:
            row = await get_row(session, DataSourceRow, key, request.data_source)
        return await queries.query_metrics(self.clients, source_config(row), request, step)

    async def QueryLogs(
        self, request: pb.QueryLogsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.QueryLogsResponse:
        violations = Violations()
        try:
            key = validation.parse_name(request.data_source, COLLECTION, "data_source")
        except InvalidArgument as error:
            violations.items.extend(error.violations)
        logs_query = queries.check_logs_query(request, violations)
        violations.raise_if_any()
        async with self.sessions() as session:
            row = await get_row(session, DataSourceRow, key, request.data_source)
        return await queries.query_logs(self.clients, source_config(row), request.query, logs_query)


def _check_data_source(data_source: data_source_pb2.DataSource, violations: Violations) -> None:
    validation.check_length(data_source.display_name, 200, "data_source.display_name", violations)
    validation.check_enum(data_source.kind, DataSource.Kind, "data_source.kind", violations)
    if not data_source.urls:
        violations.add("data_source.urls", "required: at least one http or https URL")
    elif len(data_source.urls) > MAX_URLS:
        violations.add("data_source.urls", f"at most {MAX_URLS} URLs, got {len(data_source.urls)}")
    else:
        for i, url in enumerate(data_source.urls):
            problem = validation.url_problem(url, MAX_URL_LENGTH, base=True)
            if problem:
                violations.add(f"data_source.urls[{i}]", problem)
        if len(set(data_source.urls)) != len(data_source.urls):
            violations.add("data_source.urls", "the same URL is listed twice")
    authorization = data_source.authorization
    validation.check_length(
        authorization, MAX_AUTHORIZATION_LENGTH, "data_source.authorization", violations
    )
    if any(c in authorization for c in "\r\n\x00"):
        violations.add("data_source.authorization", "must not contain line breaks or NUL")
    if data_source.HasField("timeout"):
        seconds = validation.duration_seconds(
            data_source.timeout, "data_source.timeout", violations
        )
        if seconds is not None and not 0.001 <= seconds <= MAX_TIMEOUT_SECONDS:
            violations.add("data_source.timeout", f"must be from 1ms to {MAX_TIMEOUT_SECONDS:.0f}s")


def _write_row(
    row: DataSourceRow,
    data_source: data_source_pb2.DataSource,
    *,
    authorization: str,
    keep: str | None = None,
) -> None:
    row.display_name = data_source.display_name
    row.kind = DataSource.Kind.Name(data_source.kind)
    row.urls = list(data_source.urls)
    row.authorization = authorization if keep is None else keep
    row.timeout_seconds = (
        data_source.timeout.ToNanoseconds() / 1e9
        if data_source.HasField("timeout")
        else DEFAULT_TIMEOUT_SECONDS
    )


def _record_change(
    recorder: event_log.Recorder, row: DataSourceRow, *, deleted: bool = False
) -> None:
    change = event_pb2.DataSourceChange(data_source=data_source_message(row), deleted=deleted)
    recorder.add(event_pb2.Event(data_source_change=change))
