"""Helpers for asserting on RPC results and the rich errors the server sends."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from aiops_api.v1 import data_source_pb2, detector_pb2


@dataclass
class Failure:
    code: grpc.StatusCode
    message: str
    reason: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    violations: dict[str, str] = field(default_factory=dict)  # field path -> description
    details: list[Any] = field(default_factory=list)


async def failure(call: Awaitable[Any]) -> Failure:
    """Awaits a call that must fail; returns its status with the decoded details."""
    try:
        await call
    except grpc.aio.AioRpcError as error:
        result = Failure(error.code(), error.details() or "")
        status = rpc_status.from_call(error)
        for detail in status.details if status else []:
            for kind in (
                error_details_pb2.ErrorInfo,
                error_details_pb2.BadRequest,
                error_details_pb2.PreconditionFailure,
                error_details_pb2.ResourceInfo,
            ):
                if detail.Is(kind.DESCRIPTOR):
                    message = kind()
                    detail.Unpack(message)
                    result.details.append(message)
                    if isinstance(message, error_details_pb2.ErrorInfo):
                        assert message.domain == "aiops.dev"
                        result.reason = message.reason
                        result.metadata = dict(message.metadata)
                    if isinstance(message, error_details_pb2.BadRequest):
                        result.violations = {
                            v.field: v.description for v in message.field_violations
                        }
        assert result.reason, f"every error carries an ErrorInfo: {error}"
        return result
    raise AssertionError("the call succeeded but should have failed")


def prometheus(**fields: Any) -> data_source_pb2.DataSource:
    fields.setdefault("kind", data_source_pb2.DataSource.KIND_PROMETHEUS)
    fields.setdefault("urls", ["http://127.0.0.1:9090"])
    return data_source_pb2.DataSource(**fields)


def detector(data_source: str, **fields: Any) -> detector_pb2.Detector:
    fields.setdefault("query", 'rate(http_requests_total{job="api"}[5m])')
    return detector_pb2.Detector(data_source=data_source, **fields)
