"""What a Subscribe stream asked for: event types, detectors, data sources, a minimum severity."""

from __future__ import annotations

from dataclasses import dataclass

from aiops.events.log import TYPES
from aiops_api.v1 import event_pb2, event_service_pb2

# Every type but SCORES and SERVER_STATUS (not in the log) when a stream names none: they are
# many and only charts want them.
DEFAULT_TYPES = frozenset(TYPES.values())


@dataclass(frozen=True)
class EventFilter:
    types: frozenset[int]
    detectors: frozenset[str]  # names; empty for all
    data_sources: frozenset[str]  # names; empty for all
    min_severity: int  # 0 for all

    @classmethod
    def of(cls, request: event_service_pb2.SubscribeRequest) -> EventFilter:
        return cls(
            types=frozenset(request.types) or DEFAULT_TYPES,
            detectors=frozenset(request.detectors),
            data_sources=frozenset(request.data_sources),
            min_severity=request.min_severity,
        )

    def matches(self, event: event_pb2.Event) -> bool:
        kind = event.WhichOneof("payload")
        if kind == "reset":
            return True
        if kind == "scores":
            wanted = event_pb2.EVENT_TYPE_SCORES in self.types
            return wanted and self._detector(event.scores.detector)
        if kind == "server_status":
            return event_pb2.EVENT_TYPE_SERVER_STATUS in self.types
        if kind is None or TYPES.get(kind) not in self.types:
            return False
        if kind == "detector_status":
            return self._detector(event.detector_status.detector)
        if kind == "anomaly_change":
            anomaly = event.anomaly_change.anomaly
            detector = anomaly.name.rpartition("/anomalies/")[0]
            return self._detector(detector) and anomaly.severity >= self.min_severity
        if kind == "detector_change":
            return self._detector(event.detector_change.detector.name)
        if kind == "data_source_health":
            return self._data_source(event.data_source_health.data_source)
        if kind == "data_source_change":
            return self._data_source(event.data_source_change.data_source.name)
        return False

    def _detector(self, name: str) -> bool:
        return not self.detectors or name in self.detectors

    def _data_source(self, name: str) -> bool:
        return not self.data_sources or name in self.data_sources
