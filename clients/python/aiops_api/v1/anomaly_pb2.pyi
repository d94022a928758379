import datetime

from aiops_api.v1 import detector_pb2 as _detector_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Anomaly(_message.Message):
    __slots__ = ("name", "series_labels", "start_time", "end_time", "peak_score", "peak_value", "severity", "state", "create_time", "update_time", "etag", "active", "log_pattern", "kind")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[Anomaly.State]
        STATE_OPEN: _ClassVar[Anomaly.State]
        STATE_ACKNOWLEDGED: _ClassVar[Anomaly.State]
        STATE_FALSE_POSITIVE: _ClassVar[Anomaly.State]
    STATE_UNSPECIFIED: Anomaly.State
    STATE_OPEN: Anomaly.State
    STATE_ACKNOWLEDGED: Anomaly.State
    STATE_FALSE_POSITIVE: Anomaly.State
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[Anomaly.Kind]
        KIND_DEVIATION: _ClassVar[Anomaly.Kind]
        KIND_NO_DATA: _ClassVar[Anomaly.Kind]
    KIND_UNSPECIFIED: Anomaly.Kind
    KIND_DEVIATION: Anomaly.Kind
    KIND_NO_DATA: Anomaly.Kind
    class SeriesLabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    SERIES_LABELS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    PEAK_SCORE_FIELD_NUMBER: _ClassVar[int]
    PEAK_VALUE_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    LOG_PATTERN_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    name: str
    series_labels: _containers.ScalarMap[str, str]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    peak_score: float
    peak_value: float
    severity: _detector_pb2.Severity
    state: Anomaly.State
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    active: bool
    log_pattern: LogPatternAnomaly
    kind: Anomaly.Kind
    def __init__(self, name: _Optional[str] = ..., series_labels: _Optional[_Mapping[str, str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., peak_score: _Optional[float] = ..., peak_value: _Optional[float] = ..., severity: _Optional[_Union[_detector_pb2.Severity, str]] = ..., state: _Optional[_Union[Anomaly.State, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., active: _Optional[bool] = ..., log_pattern: _Optional[_Union[LogPatternAnomaly, _Mapping]] = ..., kind: _Optional[_Union[Anomaly.Kind, str]] = ...) -> None: ...

class LogPatternAnomaly(_message.Message):
    __slots__ = ("log_pattern", "template", "example_line", "error", "kind")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[LogPatternAnomaly.Kind]
        KIND_NEW: _ClassVar[LogPatternAnomaly.Kind]
        KIND_SURGE: _ClassVar[LogPatternAnomaly.Kind]
        KIND_DROP: _ClassVar[LogPatternAnomaly.Kind]
    KIND_UNSPECIFIED: LogPatternAnomaly.Kind
    KIND_NEW: LogPatternAnomaly.Kind
    KIND_SURGE: LogPatternAnomaly.Kind
    KIND_DROP: LogPatternAnomaly.Kind
    LOG_PATTERN_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    EXAMPLE_LINE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    log_pattern: str
    template: str
    example_line: str
    error: bool
    kind: LogPatternAnomaly.Kind
    def __init__(self, log_pattern: _Optional[str] = ..., template: _Optional[str] = ..., example_line: _Optional[str] = ..., error: _Optional[bool] = ..., kind: _Optional[_Union[LogPatternAnomaly.Kind, str]] = ...) -> None: ...
