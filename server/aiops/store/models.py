"""SQLAlchemy models: one table per resource, times in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Always timezone-aware UTC in Python, whatever the database keeps (SQLite keeps none)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[str]: JSON,
    }


class Versioned:
    """A revision bumped on every write: it is the etag, and it stops lost updates."""

    revision: Mapped[int] = mapped_column(Integer, nullable=False)
    create_time: Mapped[datetime] = mapped_column(default=utcnow)
    update_time: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def etag(self) -> str:
        return f'"{self.revision}"'


class DataSourceRow(Versioned, Base):
    __tablename__ = "data_sources"
    __mapper_args__ = {"version_id_col": Versioned.revision}  # noqa: RUF012

    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(32))
    urls: Mapped[list[str]]
    authorization: Mapped[str] = mapped_column(Text, default="")
    timeout_seconds: Mapped[float] = mapped_column(Float)


class DetectorRow(Versioned, Base):
    __tablename__ = "detectors"
    __mapper_args__ = {"version_id_col": Versioned.revision}  # noqa: RUF012

    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    # RESTRICT: a data source cannot go while detectors read from it.
    data_source_id: Mapped[str] = mapped_column(
        ForeignKey("data_sources.id", ondelete="RESTRICT"), index=True
    )
    query: Mapped[str] = mapped_column(Text)
    step_seconds: Mapped[int] = mapped_column(Integer)
    # The algorithm `oneof` as {field name: its config message as JSON}, so that
    # new algorithms need no migration.
    algorithm: Mapped[dict[str, Any]]
    direction: Mapped[str] = mapped_column(String(32), server_default="DIRECTION_BOTH")
    min_deviation: Mapped[float] = mapped_column(Float, server_default="0")
    warning_threshold: Mapped[float] = mapped_column(Float)
    critical_threshold: Mapped[float] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(32), index=True)
    state_reason: Mapped[str] = mapped_column(Text, default="")
    # A log-pattern detector's source as it runs (LogPatternRates.Source's name); "" for others
    # and before its first step. Kept apart from `algorithm`, which says what the user asked.
    log_source: Mapped[str] = mapped_column(String(32), server_default="", default="")
    # Whether /metrics exports its latest scores per series (aiops.pipeline.metrics).
    export_scores: Mapped[bool] = mapped_column(Boolean, server_default="0", default=False)
    # Seconds after a step before its point is read; None: the server's evaluation_delay.
    evaluation_delay_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Points a started detector learns first; 0: the server's backfill_points.
    backfill_points: Mapped[int] = mapped_column(Integer, server_default="0", default=0)
    # What missing points mean (Absence.Policy's name) and, for NO_DATA, after how many steps.
    absence_policy: Mapped[str] = mapped_column(
        String(32), server_default="POLICY_SKIP", default="POLICY_SKIP"
    )
    absence_steps: Mapped[int] = mapped_column(Integer, server_default="0", default=0)


class AnomalyRow(Versioned, Base):
    __tablename__ = "anomalies"
    __mapper_args__ = {"version_id_col": Versioned.revision}  # noqa: RUF012

    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    detector_id: Mapped[str] = mapped_column(
        ForeignKey("detectors.id", ondelete="CASCADE"), index=True
    )
    series_labels: Mapped[dict[str, Any]]
    start_time: Mapped[datetime] = mapped_column(index=True)
    end_time: Mapped[datetime | None]
    peak_score: Mapped[float] = mapped_column(Float)
    peak_value: Mapped[float] = mapped_column(Float)
    severity: Mapped[str] = mapped_column(String(32), index=True)
    state: Mapped[str] = mapped_column(String(32), index=True)
    active: Mapped[bool] = mapped_column(Boolean, server_default="0", default=False)
    # A log-pattern detector's anomaly: its template as an aiops.v1.LogPatternAnomaly in JSON.
    log_pattern: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    kind: Mapped[str] = mapped_column(  # Anomaly.Kind's name
        String(32), server_default="KIND_DEVIATION", default="KIND_DEVIATION"
    )


class CheckpointRow(Base):
    """Where a running detector stands: its series, the algorithm state learnt from them and the
    anomalies still open. The pipeline resumes from here after a restart."""

    __tablename__ = "detector_checkpoints"

    detector_id: Mapped[str] = mapped_column(
        ForeignKey("detectors.id", ondelete="CASCADE"), primary_key=True
    )
    # What the state was learnt under (query, step, algorithm): another one starts afresh.
    fingerprint: Mapped[str] = mapped_column(String(64))
    last_time: Mapped[int] = mapped_column(BigInteger)  # epoch seconds of the last point learnt
    series: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    state: Mapped[bytes] = mapped_column(LargeBinary)  # the algorithm's arrays, as .npz
    open_anomalies: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # A log-pattern detector's templates (`aiops.detectors.log_patterns`); None for others.
    patterns: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    update_time: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class EventRow(Base):
    """The event log: every change, in order, kept for subscribers that reconnect."""

    __tablename__ = "events"

    # BIGINT on PostgreSQL; SQLite autoincrements only an INTEGER primary key.
    sequence: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    time: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    type: Mapped[str] = mapped_column(String(32))
    detector_id: Mapped[str | None] = mapped_column(String(63), index=True)
    payload: Mapped[bytes] = mapped_column(LargeBinary)  # the aiops.v1.Event, serialized


class NotificationChannelRow(Versioned, Base):
    """An Alertmanager or webhook that anomalies are sent to (aiops.pipeline.notifications)."""

    __tablename__ = "notification_channels"
    __mapper_args__ = {"version_id_col": Versioned.revision}  # noqa: RUF012

    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(Text)
    min_severity: Mapped[str] = mapped_column(String(32))
    secret: Mapped[str] = mapped_column(Text, default="")


class NotifiedAnomalyRow(Base):
    """An anomaly a channel was told is firing: at which severity, and the alert as sent, to
    resolve it as it was sent (the same labels) even once the anomaly is gone (its detector
    deleted): no foreign key to it."""

    __tablename__ = "notified_anomalies"

    channel_id: Mapped[str] = mapped_column(
        ForeignKey("notification_channels.id", ondelete="CASCADE"), primary_key=True
    )
    anomaly_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    severity: Mapped[str] = mapped_column(String(32))
    alert: Mapped[dict[str, Any]] = mapped_column(JSON)
