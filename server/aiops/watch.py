"""`aiops watch`: a server's events printed as they happen, one line each, through the Python
client's `watch` helper (so it reconnects and resumes by itself)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

import grpc
from google.protobuf import json_format

from aiops_api.v1 import detector_pb2, event_pb2, event_service_pb2, event_service_pb2_grpc
from aiops_api.watch import watch

TYPES = {
    "detector-status": event_pb2.EVENT_TYPE_DETECTOR_STATUS,
    "anomaly": event_pb2.EVENT_TYPE_ANOMALY,
    "data-source-health": event_pb2.EVENT_TYPE_DATA_SOURCE_HEALTH,
    "detector-change": event_pb2.EVENT_TYPE_DETECTOR_CHANGE,
    "data-source-change": event_pb2.EVENT_TYPE_DATA_SOURCE_CHANGE,
}
SEVERITIES = {"warning": detector_pb2.SEVERITY_WARNING, "critical": detector_pb2.SEVERITY_CRITICAL}


def run_watch(args: argparse.Namespace, address: str) -> int:
    request = event_service_pb2.SubscribeRequest(
        types=[TYPES[name] for name in args.type],
        detectors=args.detector,
        data_sources=args.data_source,
        min_severity=SEVERITIES.get(args.min_severity or "", detector_pb2.SEVERITY_UNSPECIFIED),
        after_sequence=args.after,
    )
    with contextlib.suppress(KeyboardInterrupt):
        try:
            asyncio.run(_print_events(address, request, as_json=args.json))
        except grpc.aio.AioRpcError as error:
            print(f"aiops watch: {error.code().name}: {error.details()}", file=sys.stderr)
            return 1
    return 0


async def _print_events(
    address: str, request: event_service_pb2.SubscribeRequest, *, as_json: bool
) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = event_service_pb2_grpc.EventServiceStub(channel)  # type: ignore[no-untyped-call]
        async for event in watch(stub, request):
            print(_json(event) if as_json else describe(event), flush=True)


def _json(event: event_pb2.Event) -> str:
    return json_format.MessageToJson(event, indent=None, preserving_proto_field_name=True)


def describe(event: event_pb2.Event) -> str:
    """One line for people: sequence, time, what happened."""
    when = event.time.ToDatetime().strftime("%Y-%m-%dT%H:%M:%SZ")
    head = f"{event.sequence:>8} {when}"
    match event.WhichOneof("payload"):
        case "detector_status":
            status = event.detector_status
            state = detector_pb2.Detector.State.Name(status.state).removeprefix("STATE_")
            reason = f" ({status.state_reason})" if status.state_reason else ""
            return f"{head} {status.detector} {state}{reason}"
        case "anomaly_change":
            anomaly = event.anomaly_change.anomaly
            severity = detector_pb2.Severity.Name(anomaly.severity).removeprefix("SEVERITY_")
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(anomaly.series_labels.items()))
            still = "active" if anomaly.active else "ended"
            line = (
                f"{head} {anomaly.name} {severity} {{{labels}}} peak {anomaly.peak_value:g} "
                f"score {anomaly.peak_score:.3f} {still}"
            )
            if anomaly.HasField("log_pattern"):  # a log template's: which, and what it did
                pattern = anomaly.log_pattern
                kind = pattern.Kind.Name(pattern.kind).removeprefix("KIND_").lower()
                line += f" {kind}: {pattern.template[:120]}"
            return line
        case "data_source_health":
            health = event.data_source_health
            state = f"up at {health.url}" if health.reachable else f"DOWN: {health.error}"
            return f"{head} {health.data_source} {state}"
        case "detector_change":
            change = event.detector_change
            what = "deleted" if change.deleted else f"saved {change.detector.etag}"
            return f"{head} {change.detector.name} {what}"
        case "data_source_change":
            source = event.data_source_change
            what = "deleted" if source.deleted else f"saved {source.data_source.etag}"
            return f"{head} {source.data_source.name} {what}"
        case "reset":
            return f"{head} RESET: {event.reset.reason}"
    return f"{head} {event.WhichOneof('payload')}"
