from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class ErrorReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ERROR_REASON_UNSPECIFIED: _ClassVar[ErrorReason]
    ERROR_REASON_INVALID_ARGUMENT: _ClassVar[ErrorReason]
    ERROR_REASON_RESOURCE_NOT_FOUND: _ClassVar[ErrorReason]
    ERROR_REASON_RESOURCE_ALREADY_EXISTS: _ClassVar[ErrorReason]
    ERROR_REASON_ETAG_MISMATCH: _ClassVar[ErrorReason]
    ERROR_REASON_DATA_SOURCE_IN_USE: _ClassVar[ErrorReason]
    ERROR_REASON_INTERNAL: _ClassVar[ErrorReason]
    ERROR_REASON_DATA_SOURCE_UNAVAILABLE: _ClassVar[ErrorReason]
    ERROR_REASON_DATA_SOURCE_KIND_UNSUPPORTED: _ClassVar[ErrorReason]
    ERROR_REASON_STREAM_TOO_SLOW: _ClassVar[ErrorReason]
    ERROR_REASON_SHUTTING_DOWN: _ClassVar[ErrorReason]
    ERROR_REASON_EVENT_BUS_LOST: _ClassVar[ErrorReason]
    ERROR_REASON_EVENT_BUS_UNAVAILABLE: _ClassVar[ErrorReason]
ERROR_REASON_UNSPECIFIED: ErrorReason
ERROR_REASON_INVALID_ARGUMENT: ErrorReason
ERROR_REASON_RESOURCE_NOT_FOUND: ErrorReason
ERROR_REASON_RESOURCE_ALREADY_EXISTS: ErrorReason
ERROR_REASON_ETAG_MISMATCH: ErrorReason
ERROR_REASON_DATA_SOURCE_IN_USE: ErrorReason
ERROR_REASON_INTERNAL: ErrorReason
ERROR_REASON_DATA_SOURCE_UNAVAILABLE: ErrorReason
ERROR_REASON_DATA_SOURCE_KIND_UNSUPPORTED: ErrorReason
ERROR_REASON_STREAM_TOO_SLOW: ErrorReason
ERROR_REASON_SHUTTING_DOWN: ErrorReason
ERROR_REASON_EVENT_BUS_LOST: ErrorReason
ERROR_REASON_EVENT_BUS_UNAVAILABLE: ErrorReason
