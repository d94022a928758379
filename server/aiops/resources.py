"""Mapping between stored rows and what the rest of the server works with: aiops.v1 messages,
and the plain settings a data source's client is built from."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy
from google.protobuf import json_format
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from aiops.sources.clients import SourceConfig
from aiops.store.models import AnomalyRow, DataSourceRow, DetectorRow, NotificationChannelRow
from aiops_api.v1 import anomaly_pb2, data_source_pb2, detector_pb2, notification_channel_pb2

DataSource = data_source_pb2.DataSource
Detector = detector_pb2.Detector
Anomaly = anomaly_pb2.Anomaly


def timestamp(value: datetime) -> Timestamp:
    result = Timestamp()
    result.FromDatetime(value)
    return result


def data_source_message(row: DataSourceRow) -> data_source_pb2.DataSource:
    timeout = Duration()
    timeout.FromNanoseconds(round(row.timeout_seconds * 1e9))
    return DataSource(
        name=f"dataSources/{row.id}",
        display_name=row.display_name,
        kind=row.kind,
        urls=row.urls,
        timeout=timeout,
        has_authorization=bool(row.authorization),
        create_time=timestamp(row.create_time),
        update_time=timestamp(row.update_time),
        etag=row.etag,
    )


def notification_channel_message(
    row: NotificationChannelRow,
) -> notification_channel_pb2.NotificationChannel:
    return notification_channel_pb2.NotificationChannel(
        name=f"notificationChannels/{row.id}",
        display_name=row.display_name,
        kind=row.kind,
        url=row.url,
        min_severity=row.min_severity,
        has_secret=bool(row.secret),
        create_time=timestamp(row.create_time),
        update_time=timestamp(row.update_time),
        etag=row.etag,
    )


# Detectors built from rows, by (id, revision, create_time): every write of a row bumps its
# revision, so a hit is the row as stored. Building one (the algorithm's JSON through
# json_format above all) is most of what ListDetectors costs; copying a built one is not.
_built: dict[tuple[str, int, datetime], detector_pb2.Detector] = {}
MAX_BUILT = 10_000


def detector_message(row: DetectorRow) -> detector_pb2.Detector:
    stored = not sqlalchemy.inspect(row).modified  # changed in memory: its revision is stale
    key = (row.id, row.revision, row.create_time)
    built = _built.get(key) if stored else None
    if built is None:
        built = _build_detector(row)
        if stored:
            if len(_built) >= MAX_BUILT:
                del _built[next(iter(_built))]  # the oldest
            _built[key] = built
    detector = Detector()
    detector.CopyFrom(built)
    return detector


def _build_detector(row: DetectorRow) -> detector_pb2.Detector:
    detector = Detector(
        name=f"detectors/{row.id}",
        display_name=row.display_name,
        description=row.description,
        data_source=f"dataSources/{row.data_source_id}",
        query=row.query,
        step=Duration(seconds=row.step_seconds),
        direction=row.direction,
        min_deviation=row.min_deviation,
        export_scores=row.export_scores,
        thresholds=detector_pb2.SeverityThresholds(
            warning=row.warning_threshold, critical=row.critical_threshold
        ),
        state=row.state,
        state_reason=row.state_reason,
        create_time=timestamp(row.create_time),
        update_time=timestamp(row.update_time),
        etag=row.etag,
    )
    if row.evaluation_delay_seconds is not None:
        detector.evaluation_delay.seconds = row.evaluation_delay_seconds
    detector.backfill_points = row.backfill_points
    detector.absence.CopyFrom(
        detector_pb2.Absence(policy=row.absence_policy, steps=row.absence_steps)
    )
    json_format.ParseDict(row.algorithm, detector)
    if row.log_source and detector.WhichOneof("algorithm") == "log_pattern":
        detector.log_pattern.effective_source = row.log_source  # type: ignore[assignment]
    return detector


def write_detector(row: DetectorRow, detector: detector_pb2.Detector) -> None:
    """Stores a prepared detector's settings (`aiops.detectors.spec.prepare`) in its row."""
    row.display_name = detector.display_name
    row.description = detector.description
    row.data_source_id = detector.data_source.removeprefix("dataSources/")
    row.query = detector.query
    row.step_seconds = detector.step.seconds
    row.algorithm = algorithm_json(detector)
    row.direction = detector_pb2.Direction.Name(detector.direction)
    row.min_deviation = detector.min_deviation
    row.export_scores = detector.export_scores
    row.evaluation_delay_seconds = (
        detector.evaluation_delay.seconds if detector.HasField("evaluation_delay") else None
    )
    row.backfill_points = detector.backfill_points
    row.absence_policy = detector_pb2.Absence.Policy.Name(detector.absence.policy)
    row.absence_steps = detector.absence.steps
    row.warning_threshold = detector.thresholds.warning
    row.critical_threshold = detector.thresholds.critical


def algorithm_json(detector: detector_pb2.Detector) -> dict[str, object]:
    """The chosen member of the algorithm `oneof` as {field name: config}, as rows keep it."""
    which = detector.WhichOneof("algorithm")
    assert which is not None, "defaults fill the algorithm before it is stored"
    config = json_format.MessageToDict(
        getattr(detector, which),
        preserving_proto_field_name=True,
        always_print_fields_with_no_presence=True,
    )
    config.pop("effective_source", None)  # a log-pattern detector's: output only, kept apart
    return {which: config}


def anomaly_message(row: AnomalyRow) -> anomaly_pb2.Anomaly:
    anomaly = Anomaly(
        name=f"detectors/{row.detector_id}/anomalies/{row.id}",
        series_labels=row.series_labels,
        start_time=timestamp(row.start_time),
        peak_score=row.peak_score,
        peak_value=row.peak_value,
        severity=row.severity,
        state=row.state,
        create_time=timestamp(row.create_time),
        update_time=timestamp(row.update_time),
        etag=row.etag,
        active=row.active,
        kind=row.kind,
    )
    if row.end_time is not None:
        anomaly.end_time.CopyFrom(timestamp(row.end_time))
    if row.log_pattern is not None:
        json_format.ParseDict(row.log_pattern, anomaly.log_pattern, ignore_unknown_fields=True)
    return anomaly


def source_config(row: DataSourceRow) -> SourceConfig:
    return SourceConfig(
        id=row.id,
        revision=row.revision,
        kind=row.kind,
        urls=tuple(row.urls),
        timeout_seconds=row.timeout_seconds,
        authorization=row.authorization or "",
    )
