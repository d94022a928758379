import datetime

from aiops_api.v1 import detector_pb2 as _detector_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class NotificationChannel(_message.Message):
    __slots__ = ("name", "display_name", "kind", "url", "min_severity", "secret", "has_secret", "create_time", "update_time", "etag")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[NotificationChannel.Kind]
        KIND_ALERTMANAGER: _ClassVar[NotificationChannel.Kind]
        KIND_WEBHOOK: _ClassVar[NotificationChannel.Kind]
    KIND_UNSPECIFIED: NotificationChannel.Kind
    KIND_ALERTMANAGER: NotificationChannel.Kind
    KIND_WEBHOOK: NotificationChannel.Kind
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    MIN_SEVERITY_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    HAS_SECRET_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    kind: NotificationChannel.Kind
    url: str
    min_severity: _detector_pb2.Severity
    secret: str
    has_secret: bool
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., kind: _Optional[_Union[NotificationChannel.Kind, str]] = ..., url: _Optional[str] = ..., min_severity: _Optional[_Union[_detector_pb2.Severity, str]] = ..., secret: _Optional[str] = ..., has_secret: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...
