"""NotificationChannelService: the Alertmanagers and webhooks anomalies are sent to
(aiops.pipeline.notifications sends them)."""

from __future__ import annotations

import uuid
from typing import Any

import grpc
from google.protobuf.empty_pb2 import Empty
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiops import validation
from aiops.api.field_masks import copy_fields, resolve_update_mask
from aiops.api.pagination import decode_page_token, encode_page_token, query_fingerprint
from aiops.resources import notification_channel_message
from aiops.store.models import NotificationChannelRow
from aiops.store.repository import check_etag, fetch_page, get_row, insert_row
from aiops.validation import Violations
from aiops_api.v1 import (
    detector_pb2,
    notification_channel_pb2,
    notification_channel_service_pb2,
    notification_channel_service_pb2_grpc,
)

NotificationChannel = notification_channel_pb2.NotificationChannel
pb = notification_channel_service_pb2

COLLECTION = "notificationChannels"
FIELD = "notification_channel"
MAX_URL_LENGTH = 2048
MIN_SECRET, MAX_SECRET = 16, 256  # characters

UPDATABLE = frozenset({"display_name", "url", "min_severity", "secret"})
IMMUTABLE = frozenset({"kind", "name"})
OUTPUT_ONLY = frozenset({"has_secret", "create_time", "update_time"})


class NotificationChannelServicer(
    notification_channel_service_pb2_grpc.NotificationChannelServiceServicer
):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def CreateNotificationChannel(
        self,
        request: pb.CreateNotificationChannelRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> NotificationChannel:
        violations = Violations()
        validation.check_user_id(
            request.notification_channel_id, "notification_channel_id", violations
        )
        channel = request.notification_channel
        validation.check_output_only_unset(channel, OUTPUT_ONLY, FIELD, violations)
        _check(channel, channel.secret, violations)
        violations.raise_if_any()

        row = NotificationChannelRow(id=request.notification_channel_id or str(uuid.uuid4()))
        _write_row(row, channel, secret=channel.secret)
        async with self.sessions.begin() as session:
            await insert_row(session, row, f"{COLLECTION}/{row.id}")
        return notification_channel_message(row)

    async def GetNotificationChannel(
        self, request: pb.GetNotificationChannelRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> NotificationChannel:
        key = validation.parse_name(request.name, COLLECTION, "name")
        async with self.sessions() as session:
            row = await get_row(session, NotificationChannelRow, key, request.name)
        return notification_channel_message(row)

    async def ListNotificationChannels(
        self,
        request: pb.ListNotificationChannelsRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> pb.ListNotificationChannelsResponse:
        limit = validation.page_size(request.page_size)
        fingerprint = query_fingerprint(COLLECTION, "")
        after = decode_page_token(request.page_token, fingerprint)
        async with self.sessions() as session:
            rows, last = await fetch_page(
                session, select(NotificationChannelRow), [NotificationChannelRow.id], after, limit
            )
        return pb.ListNotificationChannelsResponse(
            notification_channels=[notification_channel_message(row) for row in rows],
            next_page_token=encode_page_token(last, fingerprint) if last else "",
        )

    async def UpdateNotificationChannel(
        self,
        request: pb.UpdateNotificationChannelRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> NotificationChannel:
        name = request.notification_channel.name
        key = validation.parse_name(name, COLLECTION, f"{FIELD}.name")
        paths = resolve_update_mask(
            request.update_mask,
            request.notification_channel,
            prefix=FIELD,
            updatable=UPDATABLE,
            immutable=IMMUTABLE,
            output_only=OUTPUT_ONLY,
        )
        async with self.sessions.begin() as session:
            row = await get_row(session, NotificationChannelRow, key, name)
            check_etag(row, request.notification_channel.etag, name)
            updated = notification_channel_message(row)
            copy_fields(request.notification_channel, updated, paths)
            secret = request.notification_channel.secret if "secret" in paths else row.secret
            violations = Violations()
            _check(updated, secret, violations)
            violations.raise_if_any()
            _write_row(row, updated, secret=secret)
            await session.flush()
        return notification_channel_message(row)

    async def DeleteNotificationChannel(
        self,
        request: pb.DeleteNotificationChannelRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> Empty:
        key = validation.parse_name(request.name, COLLECTION, "name")
        async with self.sessions.begin() as session:
            row = await get_row(session, NotificationChannelRow, key, request.name)
            check_etag(row, request.etag, request.name)
            await session.delete(row)
        return Empty()


def _check(channel: NotificationChannel, secret: str, violations: Violations) -> None:
    """`secret` is the one the channel will have: given, or kept from the stored one."""
    validation.check_length(channel.display_name, 200, f"{FIELD}.display_name", violations)
    validation.check_enum(channel.kind, NotificationChannel.Kind, f"{FIELD}.kind", violations)
    if not channel.url:
        violations.add(f"{FIELD}.url", "required: an http or https URL")
    elif problem := validation.url_problem(
        channel.url, MAX_URL_LENGTH, base=channel.kind == NotificationChannel.KIND_ALERTMANAGER
    ):
        violations.add(f"{FIELD}.url", problem)
    if channel.min_severity:
        validation.check_enum(
            channel.min_severity, detector_pb2.Severity, f"{FIELD}.min_severity", violations
        )
    if secret and channel.kind != NotificationChannel.KIND_WEBHOOK:
        violations.add(f"{FIELD}.secret", "only a webhook signs what it sends")
    elif secret and not MIN_SECRET <= len(secret) <= MAX_SECRET:
        violations.add(f"{FIELD}.secret", f"{MIN_SECRET} to {MAX_SECRET} characters")
    elif secret and not secret.strip():
        violations.add(f"{FIELD}.secret", "must not be blank")


def _write_row(row: NotificationChannelRow, channel: NotificationChannel, *, secret: str) -> None:
    row.display_name = channel.display_name
    row.kind = NotificationChannel.Kind.Name(channel.kind)
    row.url = channel.url
    row.min_severity = detector_pb2.Severity.Name(
        channel.min_severity or detector_pb2.SEVERITY_WARNING
    )
    row.secret = secret
