import datetime

from aiops_api.v1 import anomaly_pb2 as _anomaly_pb2
from aiops_api.v1 import detector_pb2 as _detector_pb2
from aiops_api.v1 import event_pb2 as _event_pb2
from aiops_api.v1 import log_pattern_pb2 as _log_pattern_pb2
from google.api import client_pb2 as _client_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListLogPatternsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "filter")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    filter: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ...) -> None: ...

class ListLogPatternsResponse(_message.Message):
    __slots__ = ("log_patterns", "next_page_token", "total_size", "evicted_count", "source")
    LOG_PATTERNS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    EVICTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    log_patterns: _containers.RepeatedCompositeFieldContainer[_log_pattern_pb2.LogPattern]
    next_page_token: str
    total_size: int
    evicted_count: int
    source: _detector_pb2.LogPatternRates.Source
    def __init__(self, log_patterns: _Optional[_Iterable[_Union[_log_pattern_pb2.LogPattern, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ..., evicted_count: _Optional[int] = ..., source: _Optional[_Union[_detector_pb2.LogPatternRates.Source, str]] = ...) -> None: ...

class ListDetectorSeriesRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "filter")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    filter: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ...) -> None: ...

class DetectorSeries(_message.Message):
    __slots__ = ("labels", "time", "value", "score", "severity")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    LABELS_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    labels: _containers.ScalarMap[str, str]
    time: _timestamp_pb2.Timestamp
    value: float
    score: float
    severity: _detector_pb2.Severity
    def __init__(self, labels: _Optional[_Mapping[str, str]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., value: _Optional[float] = ..., score: _Optional[float] = ..., severity: _Optional[_Union[_detector_pb2.Severity, str]] = ...) -> None: ...

class ListDetectorSeriesResponse(_message.Message):
    __slots__ = ("series", "next_page_token", "total_size")
    SERIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    series: _containers.RepeatedCompositeFieldContainer[DetectorSeries]
    next_page_token: str
    total_size: int
    def __init__(self, series: _Optional[_Iterable[_Union[DetectorSeries, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class ReadDetectorScoresRequest(_message.Message):
    __slots__ = ("detector", "filter", "range", "page_size", "page_token")
    DETECTOR_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    detector: str
    filter: str
    range: TimeRange
    page_size: int
    page_token: str
    def __init__(self, detector: _Optional[str] = ..., filter: _Optional[str] = ..., range: _Optional[_Union[TimeRange, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ReadDetectorScoresResponse(_message.Message):
    __slots__ = ("series", "next_page_token", "oldest_time", "step")
    SERIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    OLDEST_TIME_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    series: _containers.RepeatedCompositeFieldContainer[_event_pb2.SeriesScores]
    next_page_token: str
    oldest_time: _timestamp_pb2.Timestamp
    step: _duration_pb2.Duration
    def __init__(self, series: _Optional[_Iterable[_Union[_event_pb2.SeriesScores, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., oldest_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., step: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class BacktestDetectorRequest(_message.Message):
    __slots__ = ("detector", "series", "range")
    DETECTOR_FIELD_NUMBER: _ClassVar[int]
    SERIES_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    detector: _detector_pb2.Detector
    series: _containers.RepeatedCompositeFieldContainer[BacktestSeries]
    range: TimeRange
    def __init__(self, detector: _Optional[_Union[_detector_pb2.Detector, _Mapping]] = ..., series: _Optional[_Iterable[_Union[BacktestSeries, _Mapping]]] = ..., range: _Optional[_Union[TimeRange, _Mapping]] = ...) -> None: ...

class TimeRange(_message.Message):
    __slots__ = ("start_time", "end_time")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BacktestSeries(_message.Message):
    __slots__ = ("labels", "start_time", "values")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    LABELS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    labels: _containers.ScalarMap[str, str]
    start_time: _timestamp_pb2.Timestamp
    values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, labels: _Optional[_Mapping[str, str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., values: _Optional[_Iterable[float]] = ...) -> None: ...

class BacktestDetectorResponse(_message.Message):
    __slots__ = ("series", "anomalies", "warnings")
    SERIES_FIELD_NUMBER: _ClassVar[int]
    ANOMALIES_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    series: _containers.RepeatedCompositeFieldContainer[ScoredSeries]
    anomalies: _containers.RepeatedCompositeFieldContainer[_anomaly_pb2.Anomaly]
    warnings: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, series: _Optional[_Iterable[_Union[ScoredSeries, _Mapping]]] = ..., anomalies: _Optional[_Iterable[_Union[_anomaly_pb2.Anomaly, _Mapping]]] = ..., warnings: _Optional[_Iterable[str]] = ...) -> None: ...

class ScoredSeries(_message.Message):
    __slots__ = ("labels", "start_time", "scores", "expected", "lower", "upper", "severities")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    LABELS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    LOWER_FIELD_NUMBER: _ClassVar[int]
    UPPER_FIELD_NUMBER: _ClassVar[int]
    SEVERITIES_FIELD_NUMBER: _ClassVar[int]
    labels: _containers.ScalarMap[str, str]
    start_time: _timestamp_pb2.Timestamp
    scores: _containers.RepeatedScalarFieldContainer[float]
    expected: _containers.RepeatedScalarFieldContainer[float]
    lower: _containers.RepeatedScalarFieldContainer[float]
    upper: _containers.RepeatedScalarFieldContainer[float]
    severities: _containers.RepeatedScalarFieldContainer[_detector_pb2.Severity]
    def __init__(self, labels: _Optional[_Mapping[str, str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., scores: _Optional[_Iterable[float]] = ..., expected: _Optional[_Iterable[float]] = ..., lower: _Optional[_Iterable[float]] = ..., upper: _Optional[_Iterable[float]] = ..., severities: _Optional[_Iterable[_Union[_detector_pb2.Severity, str]]] = ...) -> None: ...

class CreateDetectorRequest(_message.Message):
    __slots__ = ("detector", "detector_id")
    DETECTOR_FIELD_NUMBER: _ClassVar[int]
    DETECTOR_ID_FIELD_NUMBER: _ClassVar[int]
    detector: _detector_pb2.Detector
    detector_id: str
    def __init__(self, detector: _Optional[_Union[_detector_pb2.Detector, _Mapping]] = ..., detector_id: _Optional[str] = ...) -> None: ...

class GetDetectorRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListDetectorsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "filter")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    filter: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ...) -> None: ...

class ListDetectorsResponse(_message.Message):
    __slots__ = ("detectors", "next_page_token")
    DETECTORS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    detectors: _containers.RepeatedCompositeFieldContainer[_detector_pb2.Detector]
    next_page_token: str
    def __init__(self, detectors: _Optional[_Iterable[_Union[_detector_pb2.Detector, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateDetectorRequest(_message.Message):
    __slots__ = ("detector", "update_mask")
    DETECTOR_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    detector: _detector_pb2.Detector
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, detector: _Optional[_Union[_detector_pb2.Detector, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeleteDetectorRequest(_message.Message):
    __slots__ = ("name", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class StartDetectorRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class StopDetectorRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetAnomalyRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListAnomaliesRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "filter")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    filter: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ...) -> None: ...

class ListAnomaliesResponse(_message.Message):
    __slots__ = ("anomalies", "next_page_token")
    ANOMALIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    anomalies: _containers.RepeatedCompositeFieldContainer[_anomaly_pb2.Anomaly]
    next_page_token: str
    def __init__(self, anomalies: _Optional[_Iterable[_Union[_anomaly_pb2.Anomaly, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateAnomalyRequest(_message.Message):
    __slots__ = ("anomaly", "update_mask")
    ANOMALY_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    anomaly: _anomaly_pb2.Anomaly
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, anomaly: _Optional[_Union[_anomaly_pb2.Anomaly, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...
