"""Creating, changing and deleting detectors and data sources are events too, written in the
change's transaction: a client's lists stay current without polling, whoever made the change."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf.field_mask_pb2 import FieldMask

from aiops_api.v1 import (
    data_source_service_pb2,
    detector_pb2,
    detector_service_pb2,
    event_pb2,
)
from aiops_api.v1 import event_service_pb2 as pb
from tests.conftest import Api
from tests.rpc import detector, failure, prometheus


async def subscribe(api: Api, **filters: object) -> Any:
    """A live stream, open once its first heartbeat came."""
    request = pb.SubscribeRequest(**filters)  # type: ignore[arg-type]
    stream = api.events.Subscribe(request, timeout=10)
    assert (await stream.read()).WhichOneof("payload") == "heartbeat"
    return stream


async def take(stream: Any, count: int) -> list[event_pb2.Event]:
    """The stream's next `count` events that are not heartbeats."""
    found: list[event_pb2.Event] = []
    while len(found) < count:
        event = await stream.read()
        if event.WhichOneof("payload") != "heartbeat":
            found.append(event)
    stream.cancel()
    return found


async def test_creating_changing_and_deleting_are_events_in_order(api: Api) -> None:
    stream = await subscribe(api)
    source = await api.data_sources.CreateDataSource(
        data_source_service_pb2.CreateDataSourceRequest(
            data_source=prometheus(authorization="Bearer secret"), data_source_id="prom"
        )
    )
    created = await api.detectors.CreateDetector(
        detector_service_pb2.CreateDetectorRequest(
            detector=detector(source.name), detector_id="cpu"
        )
    )
    renamed = await api.detectors.UpdateDetector(
        detector_service_pb2.UpdateDetectorRequest(
            detector=detector_pb2.Detector(name=created.name, display_name="CPU"),
            update_mask=FieldMask(paths=["display_name"]),
        )
    )
    started = await api.detectors.StartDetector(
        detector_service_pb2.StartDetectorRequest(name=created.name)
    )
    await api.detectors.DeleteDetector(
        detector_service_pb2.DeleteDetectorRequest(name=created.name)
    )
    await api.data_sources.DeleteDataSource(
        data_source_service_pb2.DeleteDataSourceRequest(name=source.name)
    )

    events = await take(stream, 6)

    assert [event.sequence for event in events] == [1, 2, 3, 4, 5, 6]
    assert [event.WhichOneof("payload") for event in events] == [
        "data_source_change",
        "detector_change",
        "detector_change",
        "detector_status",
        "detector_change",
        "data_source_change",
    ]
    first, *_, last = events
    assert first.data_source_change == event_pb2.DataSourceChange(data_source=source)
    assert first.data_source_change.data_source.has_authorization  # but never the secret
    assert b"secret" not in first.SerializeToString()
    assert events[1].detector_change == event_pb2.DetectorChange(detector=created)
    assert events[2].detector_change == event_pb2.DetectorChange(detector=renamed)
    # A status carries the etag that a conditional update needs next.
    assert events[3].detector_status.state == detector_pb2.Detector.STATE_BACKFILLING
    assert events[3].detector_status.etag == started.etag != renamed.etag
    assert events[4].detector_change == event_pb2.DetectorChange(detector=started, deleted=True)
    assert last.data_source_change.deleted
    assert last.data_source_change.data_source.name == source.name


async def test_change_events_follow_the_detector_and_data_source_filters(api: Api) -> None:
    detector_y = await subscribe(
        api, types=[event_pb2.EVENT_TYPE_DETECTOR_CHANGE], detectors=["detectors/y"]
    )
    source_b = await subscribe(
        api, types=[event_pb2.EVENT_TYPE_DATA_SOURCE_CHANGE], data_sources=["dataSources/b"]
    )
    for source_id in ("a", "b"):
        await api.data_sources.CreateDataSource(
            data_source_service_pb2.CreateDataSourceRequest(
                data_source=prometheus(), data_source_id=source_id
            )
        )
    for detector_id in ("x", "y"):
        await api.detectors.CreateDetector(
            detector_service_pb2.CreateDetectorRequest(
                detector=detector("dataSources/a"), detector_id=detector_id
            )
        )

    await api.detectors.DeleteDetector(
        detector_service_pb2.DeleteDetectorRequest(name="detectors/y")
    )
    only_y = await take(detector_y, 2)
    only_b = await take(source_b, 1)

    assert [event.detector_change.detector.name for event in only_y] == ["detectors/y"] * 2
    assert [event.detector_change.deleted for event in only_y] == [False, True]
    assert [event.data_source_change.data_source.name for event in only_b] == ["dataSources/b"]


async def test_a_refused_change_writes_no_event(api: Api) -> None:
    await api.data_sources.CreateDataSource(
        data_source_service_pb2.CreateDataSourceRequest(
            data_source=prometheus(), data_source_id="prom"
        )
    )
    await api.detectors.CreateDetector(
        detector_service_pb2.CreateDetectorRequest(
            detector=detector("dataSources/prom"), detector_id="cpu"
        )
    )
    refused = [
        api.detectors.CreateDetector(  # exists already
            detector_service_pb2.CreateDetectorRequest(
                detector=detector("dataSources/prom"), detector_id="cpu"
            )
        ),
        api.detectors.CreateDetector(  # no such data source
            detector_service_pb2.CreateDetectorRequest(
                detector=detector("dataSources/nope"), detector_id="other"
            )
        ),
        api.detectors.DeleteDetector(  # stale etag
            detector_service_pb2.DeleteDetectorRequest(name="detectors/cpu", etag='"99"')
        ),
        api.data_sources.DeleteDataSource(  # in use
            data_source_service_pb2.DeleteDataSourceRequest(name="dataSources/prom")
        ),
    ]
    codes = [(await failure(call)).code for call in refused]
    assert codes == [
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.FAILED_PRECONDITION,
    ]
    # The next event after the two creations is this one, not a refused change's.
    await api.detectors.StartDetector(
        detector_service_pb2.StartDetectorRequest(name="detectors/cpu")
    )
    stream = api.events.Subscribe(pb.SubscribeRequest(after_sequence=2), timeout=10)
    (event,) = await take(stream, 1)
    assert event.sequence == 3
    assert event.WhichOneof("payload") == "detector_status"
