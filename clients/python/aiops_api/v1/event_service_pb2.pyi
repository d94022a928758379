from aiops_api.v1 import detector_pb2 as _detector_pb2
from aiops_api.v1 import event_pb2 as _event_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SubscribeRequest(_message.Message):
    __slots__ = ("types", "detectors", "min_severity", "after_sequence", "data_sources")
    TYPES_FIELD_NUMBER: _ClassVar[int]
    DETECTORS_FIELD_NUMBER: _ClassVar[int]
    MIN_SEVERITY_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    DATA_SOURCES_FIELD_NUMBER: _ClassVar[int]
    types: _containers.RepeatedScalarFieldContainer[_event_pb2.EventType]
    detectors: _containers.RepeatedScalarFieldContainer[str]
    min_severity: _detector_pb2.Severity
    after_sequence: int
    data_sources: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, types: _Optional[_Iterable[_Union[_event_pb2.EventType, str]]] = ..., detectors: _Optional[_Iterable[str]] = ..., min_severity: _Optional[_Union[_detector_pb2.Severity, str]] = ..., after_sequence: _Optional[int] = ..., data_sources: _Optional[_Iterable[str]] = ...) -> None: ...
