import datetime

from aiops_api.v1 import detector_pb2 as _detector_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LogPattern(_message.Message):
    __slots__ = ("name", "template", "count", "first_seen_time", "last_seen_time", "example_line", "rate", "score", "severity", "error", "in_baseline")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEEN_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_TIME_FIELD_NUMBER: _ClassVar[int]
    EXAMPLE_LINE_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    IN_BASELINE_FIELD_NUMBER: _ClassVar[int]
    name: str
    template: str
    count: int
    first_seen_time: _timestamp_pb2.Timestamp
    last_seen_time: _timestamp_pb2.Timestamp
    example_line: str
    rate: float
    score: float
    severity: _detector_pb2.Severity
    error: bool
    in_baseline: bool
    def __init__(self, name: _Optional[str] = ..., template: _Optional[str] = ..., count: _Optional[int] = ..., first_seen_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_seen_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., example_line: _Optional[str] = ..., rate: _Optional[float] = ..., score: _Optional[float] = ..., severity: _Optional[_Union[_detector_pb2.Severity, str]] = ..., error: _Optional[bool] = ..., in_baseline: _Optional[bool] = ...) -> None: ...
