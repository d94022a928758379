import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Direction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DIRECTION_UNSPECIFIED: _ClassVar[Direction]
    DIRECTION_BOTH: _ClassVar[Direction]
    DIRECTION_UP: _ClassVar[Direction]
    DIRECTION_DOWN: _ClassVar[Direction]

class Severity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SEVERITY_UNSPECIFIED: _ClassVar[Severity]
    SEVERITY_WARNING: _ClassVar[Severity]
    SEVERITY_CRITICAL: _ClassVar[Severity]
DIRECTION_UNSPECIFIED: Direction
DIRECTION_BOTH: Direction
DIRECTION_UP: Direction
DIRECTION_DOWN: Direction
SEVERITY_UNSPECIFIED: Severity
SEVERITY_WARNING: Severity
SEVERITY_CRITICAL: Severity

class Detector(_message.Message):
    __slots__ = ("name", "display_name", "description", "data_source", "query", "step", "robust_z_score", "ewma", "seasonal_baseline", "change_point", "ensemble", "log_pattern", "direction", "min_deviation", "thresholds", "export_scores", "evaluation_delay", "backfill_points", "absence", "state", "state_reason", "create_time", "update_time", "etag")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[Detector.State]
        STATE_STOPPED: _ClassVar[Detector.State]
        STATE_BACKFILLING: _ClassVar[Detector.State]
        STATE_RUNNING: _ClassVar[Detector.State]
        STATE_DEGRADED: _ClassVar[Detector.State]
        STATE_FAILED: _ClassVar[Detector.State]
    STATE_UNSPECIFIED: Detector.State
    STATE_STOPPED: Detector.State
    STATE_BACKFILLING: Detector.State
    STATE_RUNNING: Detector.State
    STATE_DEGRADED: Detector.State
    STATE_FAILED: Detector.State
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DATA_SOURCE_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    ROBUST_Z_SCORE_FIELD_NUMBER: _ClassVar[int]
    EWMA_FIELD_NUMBER: _ClassVar[int]
    SEASONAL_BASELINE_FIELD_NUMBER: _ClassVar[int]
    CHANGE_POINT_FIELD_NUMBER: _ClassVar[int]
    ENSEMBLE_FIELD_NUMBER: _ClassVar[int]
    LOG_PATTERN_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    MIN_DEVIATION_FIELD_NUMBER: _ClassVar[int]
    THRESHOLDS_FIELD_NUMBER: _ClassVar[int]
    EXPORT_SCORES_FIELD_NUMBER: _ClassVar[int]
    EVALUATION_DELAY_FIELD_NUMBER: _ClassVar[int]
    BACKFILL_POINTS_FIELD_NUMBER: _ClassVar[int]
    ABSENCE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STATE_REASON_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    description: str
    data_source: str
    query: str
    step: _duration_pb2.Duration
    robust_z_score: RobustZScore
    ewma: Ewma
    seasonal_baseline: SeasonalBaseline
    change_point: ChangePoint
    ensemble: Ensemble
    log_pattern: LogPatternRates
    direction: Direction
    min_deviation: float
    thresholds: SeverityThresholds
    export_scores: bool
    evaluation_delay: _duration_pb2.Duration
    backfill_points: int
    absence: Absence
    state: Detector.State
    state_reason: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., description: _Optional[str] = ..., data_source: _Optional[str] = ..., query: _Optional[str] = ..., step: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., robust_z_score: _Optional[_Union[RobustZScore, _Mapping]] = ..., ewma: _Optional[_Union[Ewma, _Mapping]] = ..., seasonal_baseline: _Optional[_Union[SeasonalBaseline, _Mapping]] = ..., change_point: _Optional[_Union[ChangePoint, _Mapping]] = ..., ensemble: _Optional[_Union[Ensemble, _Mapping]] = ..., log_pattern: _Optional[_Union[LogPatternRates, _Mapping]] = ..., direction: _Optional[_Union[Direction, str]] = ..., min_deviation: _Optional[float] = ..., thresholds: _Optional[_Union[SeverityThresholds, _Mapping]] = ..., export_scores: _Optional[bool] = ..., evaluation_delay: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., backfill_points: _Optional[int] = ..., absence: _Optional[_Union[Absence, _Mapping]] = ..., state: _Optional[_Union[Detector.State, str]] = ..., state_reason: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class RobustZScore(_message.Message):
    __slots__ = ("window",)
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    window: int
    def __init__(self, window: _Optional[int] = ...) -> None: ...

class Ewma(_message.Message):
    __slots__ = ("span",)
    SPAN_FIELD_NUMBER: _ClassVar[int]
    span: int
    def __init__(self, span: _Optional[int] = ...) -> None: ...

class SeasonalBaseline(_message.Message):
    __slots__ = ("period", "seasons")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    SEASONS_FIELD_NUMBER: _ClassVar[int]
    period: _duration_pb2.Duration
    seasons: int
    def __init__(self, period: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., seasons: _Optional[int] = ...) -> None: ...

class ChangePoint(_message.Message):
    __slots__ = ("span", "drift", "threshold")
    SPAN_FIELD_NUMBER: _ClassVar[int]
    DRIFT_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    span: int
    drift: float
    threshold: float
    def __init__(self, span: _Optional[int] = ..., drift: _Optional[float] = ..., threshold: _Optional[float] = ...) -> None: ...

class Ensemble(_message.Message):
    __slots__ = ("window", "period", "half_life")
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    HALF_LIFE_FIELD_NUMBER: _ClassVar[int]
    window: int
    period: _duration_pb2.Duration
    half_life: int
    def __init__(self, window: _Optional[int] = ..., period: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., half_life: _Optional[int] = ...) -> None: ...

class LogPatternRates(_message.Message):
    __slots__ = ("source", "effective_source", "max_lines_per_step", "max_templates", "baseline_steps", "robust_z_score", "ewma", "seasonal_baseline", "change_point", "ensemble")
    class Source(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        SOURCE_UNSPECIFIED: _ClassVar[LogPatternRates.Source]
        SOURCE_AUTO: _ClassVar[LogPatternRates.Source]
        SOURCE_LOKI_PATTERNS: _ClassVar[LogPatternRates.Source]
        SOURCE_MINED: _ClassVar[LogPatternRates.Source]
    SOURCE_UNSPECIFIED: LogPatternRates.Source
    SOURCE_AUTO: LogPatternRates.Source
    SOURCE_LOKI_PATTERNS: LogPatternRates.Source
    SOURCE_MINED: LogPatternRates.Source
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_SOURCE_FIELD_NUMBER: _ClassVar[int]
    MAX_LINES_PER_STEP_FIELD_NUMBER: _ClassVar[int]
    MAX_TEMPLATES_FIELD_NUMBER: _ClassVar[int]
    BASELINE_STEPS_FIELD_NUMBER: _ClassVar[int]
    ROBUST_Z_SCORE_FIELD_NUMBER: _ClassVar[int]
    EWMA_FIELD_NUMBER: _ClassVar[int]
    SEASONAL_BASELINE_FIELD_NUMBER: _ClassVar[int]
    CHANGE_POINT_FIELD_NUMBER: _ClassVar[int]
    ENSEMBLE_FIELD_NUMBER: _ClassVar[int]
    source: LogPatternRates.Source
    effective_source: LogPatternRates.Source
    max_lines_per_step: int
    max_templates: int
    baseline_steps: int
    robust_z_score: RobustZScore
    ewma: Ewma
    seasonal_baseline: SeasonalBaseline
    change_point: ChangePoint
    ensemble: Ensemble
    def __init__(self, source: _Optional[_Union[LogPatternRates.Source, str]] = ..., effective_source: _Optional[_Union[LogPatternRates.Source, str]] = ..., max_lines_per_step: _Optional[int] = ..., max_templates: _Optional[int] = ..., baseline_steps: _Optional[int] = ..., robust_z_score: _Optional[_Union[RobustZScore, _Mapping]] = ..., ewma: _Optional[_Union[Ewma, _Mapping]] = ..., seasonal_baseline: _Optional[_Union[SeasonalBaseline, _Mapping]] = ..., change_point: _Optional[_Union[ChangePoint, _Mapping]] = ..., ensemble: _Optional[_Union[Ensemble, _Mapping]] = ...) -> None: ...

class Absence(_message.Message):
    __slots__ = ("policy", "steps")
    class Policy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        POLICY_UNSPECIFIED: _ClassVar[Absence.Policy]
        POLICY_SKIP: _ClassVar[Absence.Policy]
        POLICY_ZERO: _ClassVar[Absence.Policy]
        POLICY_NO_DATA: _ClassVar[Absence.Policy]
    POLICY_UNSPECIFIED: Absence.Policy
    POLICY_SKIP: Absence.Policy
    POLICY_ZERO: Absence.Policy
    POLICY_NO_DATA: Absence.Policy
    POLICY_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    policy: Absence.Policy
    steps: int
    def __init__(self, policy: _Optional[_Union[Absence.Policy, str]] = ..., steps: _Optional[int] = ...) -> None: ...

class SeverityThresholds(_message.Message):
    __slots__ = ("warning", "critical")
    WARNING_FIELD_NUMBER: _ClassVar[int]
    CRITICAL_FIELD_NUMBER: _ClassVar[int]
    warning: float
    critical: float
    def __init__(self, warning: _Optional[float] = ..., critical: _Optional[float] = ...) -> None: ...
