import datetime

from aiops_api.v1 import anomaly_pb2 as _anomaly_pb2
from aiops_api.v1 import data_source_pb2 as _data_source_pb2
from aiops_api.v1 import data_source_service_pb2 as _data_source_service_pb2
from aiops_api.v1 import detector_pb2 as _detector_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_TYPE_UNSPECIFIED: _ClassVar[EventType]
    EVENT_TYPE_DETECTOR_STATUS: _ClassVar[EventType]
    EVENT_TYPE_ANOMALY: _ClassVar[EventType]
    EVENT_TYPE_DATA_SOURCE_HEALTH: _ClassVar[EventType]
    EVENT_TYPE_SCORES: _ClassVar[EventType]
    EVENT_TYPE_DETECTOR_CHANGE: _ClassVar[EventType]
    EVENT_TYPE_DATA_SOURCE_CHANGE: _ClassVar[EventType]
    EVENT_TYPE_SERVER_STATUS: _ClassVar[EventType]
EVENT_TYPE_UNSPECIFIED: EventType
EVENT_TYPE_DETECTOR_STATUS: EventType
EVENT_TYPE_ANOMALY: EventType
EVENT_TYPE_DATA_SOURCE_HEALTH: EventType
EVENT_TYPE_SCORES: EventType
EVENT_TYPE_DETECTOR_CHANGE: EventType
EVENT_TYPE_DATA_SOURCE_CHANGE: EventType
EVENT_TYPE_SERVER_STATUS: EventType

class Event(_message.Message):
    __slots__ = ("sequence", "time", "heartbeat", "detector_status", "anomaly_change", "data_source_health", "reset", "scores", "detector_change", "data_source_change", "server_status")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    DETECTOR_STATUS_FIELD_NUMBER: _ClassVar[int]
    ANOMALY_CHANGE_FIELD_NUMBER: _ClassVar[int]
    DATA_SOURCE_HEALTH_FIELD_NUMBER: _ClassVar[int]
    RESET_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    DETECTOR_CHANGE_FIELD_NUMBER: _ClassVar[int]
    DATA_SOURCE_CHANGE_FIELD_NUMBER: _ClassVar[int]
    SERVER_STATUS_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    time: _timestamp_pb2.Timestamp
    heartbeat: Heartbeat
    detector_status: DetectorStatus
    anomaly_change: AnomalyChange
    data_source_health: DataSourceHealth
    reset: Reset
    scores: Scores
    detector_change: DetectorChange
    data_source_change: DataSourceChange
    server_status: ServerStatus
    def __init__(self, sequence: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ..., detector_status: _Optional[_Union[DetectorStatus, _Mapping]] = ..., anomaly_change: _Optional[_Union[AnomalyChange, _Mapping]] = ..., data_source_health: _Optional[_Union[DataSourceHealth, _Mapping]] = ..., reset: _Optional[_Union[Reset, _Mapping]] = ..., scores: _Optional[_Union[Scores, _Mapping]] = ..., detector_change: _Optional[_Union[DetectorChange, _Mapping]] = ..., data_source_change: _Optional[_Union[DataSourceChange, _Mapping]] = ..., server_status: _Optional[_Union[ServerStatus, _Mapping]] = ...) -> None: ...

class ServerStatus(_message.Message):
    __slots__ = ("server", "start_time", "interval", "open_streams", "events_per_second", "cpu_cores", "memory_bytes", "detectors", "data_sources")
    SERVER_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    OPEN_STREAMS_FIELD_NUMBER: _ClassVar[int]
    EVENTS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    CPU_CORES_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    DETECTORS_FIELD_NUMBER: _ClassVar[int]
    DATA_SOURCES_FIELD_NUMBER: _ClassVar[int]
    server: str
    start_time: _timestamp_pb2.Timestamp
    interval: _duration_pb2.Duration
    open_streams: int
    events_per_second: float
    cpu_cores: float
    memory_bytes: int
    detectors: _containers.RepeatedCompositeFieldContainer[DetectorActivity]
    data_sources: _containers.RepeatedCompositeFieldContainer[DataSourceActivity]
    def __init__(self, server: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., open_streams: _Optional[int] = ..., events_per_second: _Optional[float] = ..., cpu_cores: _Optional[float] = ..., memory_bytes: _Optional[int] = ..., detectors: _Optional[_Iterable[_Union[DetectorActivity, _Mapping]]] = ..., data_sources: _Optional[_Iterable[_Union[DataSourceActivity, _Mapping]]] = ...) -> None: ...

class DetectorActivity(_message.Message):
    __slots__ = ("detector", "lag_seconds", "step_seconds", "series")
    DETECTOR_FIELD_NUMBER: _ClassVar[int]
    LAG_SECONDS_FIELD_NUMBER: _ClassVar[int]
    STEP_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SERIES_FIELD_NUMBER: _ClassVar[int]
    detector: str
    lag_seconds: float
    step_seconds: float
    series: int
    def __init__(self, detector: _Optional[str] = ..., lag_seconds: _Optional[float] = ..., step_seconds: _Optional[float] = ..., series: _Optional[int] = ...) -> None: ...

class DataSourceActivity(_message.Message):
    __slots__ = ("data_source", "requests", "errors", "mean_latency_seconds", "last_check")
    DATA_SOURCE_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    MEAN_LATENCY_SECONDS_FIELD_NUMBER: _ClassVar[int]
    LAST_CHECK_FIELD_NUMBER: _ClassVar[int]
    data_source: str
    requests: int
    errors: int
    mean_latency_seconds: float
    last_check: _data_source_service_pb2.HealthCheck
    def __init__(self, data_source: _Optional[str] = ..., requests: _Optional[int] = ..., errors: _Optional[int] = ..., mean_latency_seconds: _Optional[float] = ..., last_check: _Optional[_Union[_data_source_service_pb2.HealthCheck, _Mapping]] = ...) -> None: ...

class Scores(_message.Message):
    __slots__ = ("detector", "series", "omitted_series")
    DETECTOR_FIELD_NUMBER: _ClassVar[int]
    SERIES_FIELD_NUMBER: _ClassVar[int]
    OMITTED_SERIES_FIELD_NUMBER: _ClassVar[int]
    detector: str
    series: _containers.RepeatedCompositeFieldContainer[SeriesScores]
    omitted_series: int
    def __init__(self, detector: _Optional[str] = ..., series: _Optional[_Iterable[_Union[SeriesScores, _Mapping]]] = ..., omitted_series: _Optional[int] = ...) -> None: ...

class SeriesScores(_message.Message):
    __slots__ = ("labels", "start_time", "values", "scores", "expected", "lower", "upper")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    LABELS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    LOWER_FIELD_NUMBER: _ClassVar[int]
    UPPER_FIELD_NUMBER: _ClassVar[int]
    labels: _containers.ScalarMap[str, str]
    start_time: _timestamp_pb2.Timestamp
    values: _containers.RepeatedScalarFieldContainer[float]
    scores: _containers.RepeatedScalarFieldContainer[float]
    expected: _containers.RepeatedScalarFieldContainer[float]
    lower: _containers.RepeatedScalarFieldContainer[float]
    upper: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, labels: _Optional[_Mapping[str, str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., values: _Optional[_Iterable[float]] = ..., scores: _Optional[_Iterable[float]] = ..., expected: _Optional[_Iterable[float]] = ..., lower: _Optional[_Iterable[float]] = ..., upper: _Optional[_Iterable[float]] = ...) -> None: ...

class DetectorStatus(_message.Message):
    __slots__ = ("detector", "state", "state_reason", "etag")
    DETECTOR_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STATE_REASON_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    detector: str
    state: _detector_pb2.Detector.State
    state_reason: str
    etag: str
    def __init__(self, detector: _Optional[str] = ..., state: _Optional[_Union[_detector_pb2.Detector.State, str]] = ..., state_reason: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class DetectorChange(_message.Message):
    __slots__ = ("detector", "deleted")
    DETECTOR_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    detector: _detector_pb2.Detector
    deleted: bool
    def __init__(self, detector: _Optional[_Union[_detector_pb2.Detector, _Mapping]] = ..., deleted: _Optional[bool] = ...) -> None: ...

class DataSourceChange(_message.Message):
    __slots__ = ("data_source", "deleted")
    DATA_SOURCE_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    data_source: _data_source_pb2.DataSource
    deleted: bool
    def __init__(self, data_source: _Optional[_Union[_data_source_pb2.DataSource, _Mapping]] = ..., deleted: _Optional[bool] = ...) -> None: ...

class AnomalyChange(_message.Message):
    __slots__ = ("anomaly",)
    ANOMALY_FIELD_NUMBER: _ClassVar[int]
    anomaly: _anomaly_pb2.Anomaly
    def __init__(self, anomaly: _Optional[_Union[_anomaly_pb2.Anomaly, _Mapping]] = ...) -> None: ...

class Reset(_message.Message):
    __slots__ = ("reason", "oldest_sequence")
    REASON_FIELD_NUMBER: _ClassVar[int]
    OLDEST_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    reason: str
    oldest_sequence: int
    def __init__(self, reason: _Optional[str] = ..., oldest_sequence: _Optional[int] = ...) -> None: ...

class DataSourceHealth(_message.Message):
    __slots__ = ("data_source", "reachable", "url", "error")
    DATA_SOURCE_FIELD_NUMBER: _ClassVar[int]
    REACHABLE_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    data_source: str
    reachable: bool
    url: str
    error: str
    def __init__(self, data_source: _Optional[str] = ..., reachable: _Optional[bool] = ..., url: _Optional[str] = ..., error: _Optional[str] = ...) -> None: ...

class Heartbeat(_message.Message):
    __slots__ = ("interval_ms",)
    INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    interval_ms: int
    def __init__(self, interval_ms: _Optional[int] = ...) -> None: ...
