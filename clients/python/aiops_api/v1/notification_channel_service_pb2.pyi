from aiops_api.v1 import notification_channel_pb2 as _notification_channel_pb2
from google.api import client_pb2 as _client_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateNotificationChannelRequest(_message.Message):
    __slots__ = ("notification_channel", "notification_channel_id")
    NOTIFICATION_CHANNEL_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    notification_channel: _notification_channel_pb2.NotificationChannel
    notification_channel_id: str
    def __init__(self, notification_channel: _Optional[_Union[_notification_channel_pb2.NotificationChannel, _Mapping]] = ..., notification_channel_id: _Optional[str] = ...) -> None: ...

class GetNotificationChannelRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListNotificationChannelsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListNotificationChannelsResponse(_message.Message):
    __slots__ = ("notification_channels", "next_page_token")
    NOTIFICATION_CHANNELS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    notification_channels: _containers.RepeatedCompositeFieldContainer[_notification_channel_pb2.NotificationChannel]
    next_page_token: str
    def __init__(self, notification_channels: _Optional[_Iterable[_Union[_notification_channel_pb2.NotificationChannel, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateNotificationChannelRequest(_message.Message):
    __slots__ = ("notification_channel", "update_mask")
    NOTIFICATION_CHANNEL_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    notification_channel: _notification_channel_pb2.NotificationChannel
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, notification_channel: _Optional[_Union[_notification_channel_pb2.NotificationChannel, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeleteNotificationChannelRequest(_message.Message):
    __slots__ = ("name", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...
