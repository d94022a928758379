"""DetectorService: detectors, their lifecycle, and the anomalies they find."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import grpc
from google.protobuf.empty_pb2 import Empty
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from aiops import queries, validation
from aiops.api.field_masks import copy_fields, resolve_update_mask
from aiops.api.filtering import FilterField, enum_value, parse_filter
from aiops.api.pagination import (
    decode_offset,
    decode_page_token,
    encode_page_token,
    query_fingerprint,
)
from aiops.detect import registry
from aiops.detectors import backtest, lifecycle, log_patterns, series, spec
from aiops.detectors.log_patterns import LogPatternsRegistry
from aiops.detectors.recent import RecentScoresRegistry
from aiops.errors import NotFound
from aiops.events import log as event_log
from aiops.events.bus import Bus
from aiops.resources import anomaly_message, detector_message, source_config, write_detector
from aiops.sources.clients import SourceClients, SourceConfig
from aiops.store.models import AnomalyRow, DataSourceRow, DetectorRow
from aiops.store.repository import check_etag, fetch_page, get_row, insert_row
from aiops.validation import Violations, invalid
from aiops_api.v1 import (
    anomaly_pb2,
    detector_pb2,
    detector_service_pb2,
    detector_service_pb2_grpc,
    event_pb2,
)

Detector = detector_pb2.Detector
Anomaly = anomaly_pb2.Anomaly
pb = detector_service_pb2

COLLECTION = "detectors"
# Start and Stop retry this many times when the pipeline writes the detector at the same time.
STATE_CHANGE_ATTEMPTS = 3

UPDATABLE = frozenset(
    {
        "display_name",
        "description",
        "data_source",
        "query",
        "step",
        *(algorithm.name for algorithm in registry.ALGORITHMS),
        spec.LOG_PATTERN,
        "direction",
        "min_deviation",
        "thresholds",
        "export_scores",
        "evaluation_delay",
        "backfill_points",
        "absence",
    }
)
IMMUTABLE = frozenset({"name"})
OUTPUT_ONLY = frozenset({"state", "state_reason", "create_time", "update_time"})
FILTER_FIELDS = {
    "state": FilterField(DetectorRow.state, enum_value(Detector.State, "STATE_")),
    "data_source": FilterField(
        DetectorRow.data_source_id,
        lambda name: validation.parse_name(name, "dataSources", "filter"),
    ),
    "display_name": FilterField(DetectorRow.display_name),
}

ANOMALY_UPDATABLE = frozenset({"state"})
ANOMALY_OUTPUT_ONLY = frozenset(
    {
        "series_labels",
        "start_time",
        "end_time",
        "peak_score",
        "peak_value",
        "severity",
        "create_time",
        "update_time",
        "kind",
    }
)


def _rfc3339(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("a time needs a zone, such as 2026-01-02T03:04:05Z")
    return value


ANOMALY_FILTER_FIELDS = {
    "severity": FilterField(AnomalyRow.severity, enum_value(detector_pb2.Severity, "SEVERITY_")),
    "state": FilterField(AnomalyRow.state, enum_value(Anomaly.State, "STATE_")),
    "start_time": FilterField(AnomalyRow.start_time, _rfc3339, frozenset({"<", "<=", ">", ">="})),
}


class DetectorServicer(detector_service_pb2_grpc.DetectorServiceServicer):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clients: SourceClients,
        bus: Bus,
        recent: RecentScoresRegistry,
        patterns: LogPatternsRegistry,
    ) -> None:
        self.sessions = sessions
        self.clients = clients
        self.bus = bus
        self.recent = recent
        self.patterns = patterns

    async def CreateDetector(
        self, request: pb.CreateDetectorRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> detector_pb2.Detector:
        violations = Violations()
        validation.check_user_id(request.detector_id, "detector_id", violations)
        validation.check_output_only_unset(request.detector, OUTPUT_ONLY, "detector", violations)
        detector = spec.prepare(request.detector, violations)
        violations.raise_if_any()

        row = DetectorRow(
            id=request.detector_id or str(uuid.uuid4()), state=lifecycle.STOPPED, state_reason=""
        )
        write_detector(row, detector)
        await self._check_log_query(detector)
        async with event_log.recording(self.sessions, self.bus) as recorder:
            session = recorder.session
            await _check_data_source_exists(session, row.data_source_id, detector)
            await insert_row(session, row, f"{COLLECTION}/{row.id}")
            _record_change(recorder, row)
        return detector_message(row)

    async def GetDetector(
        self, request: pb.GetDetectorRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> detector_pb2.Detector:
        key = validation.parse_name(request.name, COLLECTION, "name")
        async with self.sessions() as session:
            row = await get_row(session, DetectorRow, key, request.name)
        return detector_message(row)

    async def ListDetectors(
        self, request: pb.ListDetectorsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ListDetectorsResponse:
        limit = validation.page_size(request.page_size)
        conditions = parse_filter(request.filter, FILTER_FIELDS)
        fingerprint = query_fingerprint(COLLECTION, request.filter)
        after = decode_page_token(request.page_token, fingerprint)
        async with self.sessions() as session:
            rows, last = await fetch_page(
                session, select(DetectorRow).where(*conditions), [DetectorRow.id], after, limit
            )
        return pb.ListDetectorsResponse(
            detectors=[detector_message(row) for row in rows],
            next_page_token=encode_page_token(last, fingerprint) if last else "",
        )

    async def UpdateDetector(
        self, request: pb.UpdateDetectorRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> detector_pb2.Detector:
        name = request.detector.name
        key = validation.parse_name(name, COLLECTION, "detector.name")
        paths = resolve_update_mask(
            request.update_mask,
            request.detector,
            prefix="detector",
            updatable=UPDATABLE,
            immutable=IMMUTABLE,
            output_only=OUTPUT_ONLY,
        )
        async with self.sessions() as session:
            stored = await get_row(session, DetectorRow, key, name)
        # A log-pattern detector's query is asked of Loki before the transaction: a data source
        # slow to answer holds no lock.
        await self._check_log_query(_updated(stored, request.detector, paths))
        async with event_log.recording(self.sessions, self.bus) as recorder:
            session = recorder.session
            row = await get_row(session, DetectorRow, key, name)
            check_etag(row, request.detector.etag, name)
            updated = _updated(row, request.detector, paths)
            data_source_id = updated.data_source.removeprefix("dataSources/")
            await _check_data_source_exists(session, data_source_id, updated)
            write_detector(row, updated)
            await session.flush()
            _record_change(recorder, row)
        return detector_message(row)

    async def DeleteDetector(
        self, request: pb.DeleteDetectorRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Empty:
        key = validation.parse_name(request.name, COLLECTION, "name")
        async with event_log.recording(self.sessions, self.bus) as recorder:
            session = recorder.session
            row = await get_row(session, DetectorRow, key, request.name)
            check_etag(row, request.etag, request.name)
            _record_change(recorder, row, deleted=True)
            await session.delete(row)
        return Empty()

    async def StartDetector(
        self, request: pb.StartDetectorRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> detector_pb2.Detector:
        # The pipeline learns the backfill window, then sets RUNNING.
        return await self._set_state(request.name, lifecycle.after_start)

    async def StopDetector(
        self, request: pb.StopDetectorRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> detector_pb2.Detector:
        return await self._set_state(request.name, lifecycle.after_stop)

    async def _set_state(
        self, name: str, move: Callable[[str], str | None]
    ) -> detector_pb2.Detector:
        key = validation.parse_name(name, COLLECTION, "name")
        for _ in range(STATE_CHANGE_ATTEMPTS - 1):
            try:
                return await self._write_state(key, name, move)
            except StaleDataError:
                # The pipeline wrote the detector (RUNNING, DEGRADED) meanwhile: the user's
                # Start or Stop still stands, on the new revision.
                continue
        return await self._write_state(key, name, move)

    async def _write_state(
        self, key: str, name: str, move: Callable[[str], str | None]
    ) -> detector_pb2.Detector:
        async with event_log.recording(self.sessions, self.bus) as recorder:
            row = await get_row(recorder.session, DetectorRow, key, name)
            state = move(row.state)
            if state is not None:
                row.state = state
                row.state_reason = ""
                await recorder.session.flush()  # the new etag
                status = event_pb2.DetectorStatus(detector=name, state=row.state, etag=row.etag)
                recorder.add(event_pb2.Event(detector_status=status), key)
        return detector_message(row)

    async def GetAnomaly(
        self, request: pb.GetAnomalyRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> anomaly_pb2.Anomaly:
        detector_id, key = validation.parse_anomaly_name(request.name, "name")
        async with self.sessions() as session:
            row = await get_row(session, AnomalyRow, key, request.name)
        if row.detector_id != detector_id:
            raise NotFound(request.name)
        return anomaly_message(row)

    async def ListAnomalies(
        self, request: pb.ListAnomaliesRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ListAnomaliesResponse:
        detector_id = (
            None
            if request.parent == "detectors/-"
            else validation.parse_name(request.parent, COLLECTION, "parent")
        )
        limit = validation.page_size(request.page_size)
        conditions = parse_filter(request.filter, ANOMALY_FILTER_FIELDS)
        fingerprint = query_fingerprint("anomalies", request.parent, request.filter)
        after = _anomaly_key(decode_page_token(request.page_token, fingerprint))
        statement = select(AnomalyRow).where(*conditions)
        async with self.sessions() as session:
            if detector_id is not None:
                await get_row(session, DetectorRow, detector_id, request.parent)
                statement = statement.where(AnomalyRow.detector_id == detector_id)
            rows, last = await fetch_page(
                session,
                statement,
                [AnomalyRow.start_time, AnomalyRow.id],
                after,
                limit,
                descending=True,
            )
        token = encode_page_token([last[0].isoformat(), last[1]], fingerprint) if last else ""
        return pb.ListAnomaliesResponse(
            anomalies=[anomaly_message(row) for row in rows], next_page_token=token
        )

    async def UpdateAnomaly(
        self, request: pb.UpdateAnomalyRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> anomaly_pb2.Anomaly:
        name = request.anomaly.name
        detector_id, key = validation.parse_anomaly_name(name, "anomaly.name")
        paths = resolve_update_mask(
            request.update_mask,
            request.anomaly,
            prefix="anomaly",
            updatable=ANOMALY_UPDATABLE,
            immutable=frozenset({"name"}),
            output_only=ANOMALY_OUTPUT_ONLY,
        )
        if "state" in paths or not request.update_mask.paths:
            violations = Violations()
            validation.check_enum(request.anomaly.state, Anomaly.State, "anomaly.state", violations)
            violations.raise_if_any()
        async with self.sessions.begin() as session:
            row = await get_row(session, AnomalyRow, key, name)
            if row.detector_id != detector_id:
                raise NotFound(name)
            check_etag(row, request.anomaly.etag, name)
            row.state = Anomaly.State.Name(request.anomaly.state)
        return anomaly_message(row)

    async def BacktestDetector(
        self, request: pb.BacktestDetectorRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.BacktestDetectorResponse:
        violations = Violations()
        if not request.HasField("detector"):
            violations.add("detector", "required: the settings to try")
        over_range = request.HasField("range")
        detector = spec.prepare(request.detector, violations, reads=over_range)
        backtest.check(request, detector.step.seconds, violations)
        if over_range and spec.is_log_pattern(detector):
            violations.add(
                "range",
                "a log-pattern detector is not backtested over a data source's range (that "
                "would mine every line of it): send its templates' rates as series",
            )
        violations.raise_if_any()
        if not over_range:
            return await backtest.run(detector, request.series)
        source = await self._data_source_of(detector)
        return await backtest.over_range(self.clients, source, detector, request.range)

    async def ListDetectorSeries(
        self, request: pb.ListDetectorSeriesRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ListDetectorSeriesResponse:
        key = validation.parse_name(request.parent, COLLECTION, "parent")
        limit = validation.page_size(request.page_size)
        matchers = series.parse_selector(request.filter, "filter")
        fingerprint = query_fingerprint("series", request.parent, request.filter)
        offset = decode_offset(request.page_token, fingerprint)
        async with self.sessions() as session:
            row = await get_row(session, DetectorRow, key, request.parent)
        items, after, total = series.list_series(
            self.recent.get(key, row.create_time),
            matchers,
            offset,
            limit,
            row.warning_threshold,
            row.critical_threshold,
        )
        return pb.ListDetectorSeriesResponse(
            series=items,
            next_page_token=encode_page_token([after], fingerprint) if after else "",
            total_size=total,
        )

    async def ReadDetectorScores(
        self, request: pb.ReadDetectorScoresRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ReadDetectorScoresResponse:
        key = validation.parse_name(request.detector, COLLECTION, "detector")
        limit = validation.page_size(request.page_size, default=series.DEFAULT_SCORES_PAGE)
        matchers = series.parse_selector(request.filter, "filter")
        start, end = _time_range(request)
        fingerprint = query_fingerprint(
            "scores", request.detector, request.filter, str(start), str(end)
        )
        offset = decode_offset(request.page_token, fingerprint)
        async with self.sessions() as session:
            row = await get_row(session, DetectorRow, key, request.detector)
        response, after = series.read_scores(
            self.recent.get(key, row.create_time), matchers, start, end, offset, limit
        )
        response.next_page_token = encode_page_token([after], fingerprint) if after else ""
        return response

    async def ListLogPatterns(
        self, request: pb.ListLogPatternsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ListLogPatternsResponse:
        key = validation.parse_name(request.parent, COLLECTION, "parent")
        limit = validation.page_size(request.page_size)
        predicates = log_patterns.parse_filter(request.filter)
        fingerprint = query_fingerprint("logPatterns", request.parent, request.filter)
        offset = decode_offset(request.page_token, fingerprint)
        async with self.sessions() as session:
            row = await get_row(session, DetectorRow, key, request.parent)
        catalogue = self.patterns.get(key, row.create_time)
        items, after, total = log_patterns.list_patterns(
            request.parent,
            catalogue,
            self.recent.get(key, row.create_time),
            predicates,
            offset,
            limit,
            row.warning_threshold,
            row.critical_threshold,
        )
        return pb.ListLogPatternsResponse(
            log_patterns=items,
            next_page_token=encode_page_token([after], fingerprint) if after else "",
            total_size=total,
            evicted_count=catalogue.evicted if catalogue is not None else 0,
            source=row.log_source or "SOURCE_UNSPECIFIED",
        )

    async def _check_log_query(self, detector: detector_pb2.Detector) -> None:
        """A log-pattern detector's query, asked of its Loki (one line of the last minute), so
        that a query Loki refuses is refused now, naming the field; a Loki that does not
        answer is the runner's to find (DEGRADED)."""
        if not spec.is_log_pattern(detector):
            return
        key = detector.data_source.removeprefix("dataSources/")
        async with self.sessions() as session:
            row = await session.get(DataSourceRow, key)
        if row is None or row.kind != "KIND_LOKI":
            return  # _check_data_source_exists names the field
        await queries.check_log_query(
            self.clients, source_config(row), detector.query, "detector.query"
        )

    async def _data_source_of(self, detector: detector_pb2.Detector) -> SourceConfig:
        key = detector.data_source.removeprefix("dataSources/")
        async with self.sessions() as session:
            row = await session.get(DataSourceRow, key)
        if row is None:
            raise invalid("detector.data_source", f"{detector.data_source} does not exist")
        return source_config(row)


def _updated(row: DetectorRow, changes: Detector, paths: list[str]) -> Detector:
    """The stored detector with the request's changes, prepared; INVALID_ARGUMENT when bad."""
    updated = detector_message(row)
    copy_fields(changes, updated, paths)
    violations = Violations()
    updated = spec.prepare(updated, violations)
    violations.raise_if_any()
    return updated


def _time_range(request: pb.ReadDetectorScoresRequest) -> tuple[int | None, int | None]:
    """The range's ends in seconds (None when unset), or INVALID_ARGUMENT naming the field."""
    if not request.HasField("range"):
        return None, None
    violations = Violations()
    for field in ("start_time", "end_time"):
        if not request.range.HasField(field):
            violations.add(f"range.{field}", "required when range is set")
    violations.raise_if_any()
    start, end = request.range.start_time, request.range.end_time
    if (end.seconds, end.nanos) < (start.seconds, start.nanos):
        raise invalid("range.end_time", "must not be before start_time")
    # Points are on whole seconds: a point at 10 s is in [9.5 s, 10 s].
    return start.seconds + (start.nanos > 0), end.seconds


def _anomaly_key(key: list[Any] | None) -> list[Any] | None:
    if key is None:
        return None
    try:
        start, anomaly_id = key
        return [datetime.fromisoformat(start), str(anomaly_id)]
    except (ValueError, TypeError):
        raise invalid("page_token", "not a page token returned by this method") from None


async def _check_data_source_exists(
    session: AsyncSession, key: str, detector: detector_pb2.Detector
) -> None:
    row = await session.get(DataSourceRow, key)
    if row is None:
        raise invalid("detector.data_source", f"{detector.data_source} does not exist")
    if spec.is_log_pattern(detector) and row.kind != "KIND_LOKI":
        raise invalid(
            "detector.data_source",
            f"{detector.data_source} is not Loki: a log-pattern detector reads log lines",
        )


def _record_change(
    recorder: event_log.Recorder, row: DetectorRow, *, deleted: bool = False
) -> None:
    change = event_pb2.DetectorChange(detector=detector_message(row), deleted=deleted)
    recorder.add(event_pb2.Event(detector_change=change), row.id)
