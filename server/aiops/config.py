"""Settings: flags, then AIOPS_* environment variables, then a TOML file, then defaults."""

from __future__ import annotations

import ipaddress
import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

ENV_PREFIX = "AIOPS_"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("auto", "json", "console")
# The UI's build output in a checkout (`make web`): server/aiops/config.py -> the repository.
UI_DIR = Path(__file__).resolve().parents[2] / "web" / "dist"
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclass(frozen=True)
class Settings:
    grpc_address: str = "127.0.0.1:50051"
    database_url: str = "sqlite+aiosqlite:///aiops.db"
    heartbeat_interval: float = 5.0  # seconds between heartbeat events on every stream
    log_level: str = "INFO"
    # auto: one JSON object per line, but for a person at a terminal; json; console.
    log_format: str = "auto"
    # The pipeline (aiops.pipeline.runner.PipelineSettings says what each does).
    evaluation_delay: float = 5.0
    backfill_points: int = 2880
    checkpoint_interval: float = 60.0
    health_interval: float = 15.0  # seconds between checks of every data source
    # The event log keeps at most this many events, none older than this many hours.
    event_retention_count: int = 100_000
    event_retention_hours: float = 168.0
    # Events a Subscribe stream may have waiting; a client further behind is cut off.
    stream_buffer: int = 10_000
    # Seconds between SCORES events of one detector on one stream, at least.
    scores_interval: float = 1.0
    # Points of each series each detector keeps in memory for charts (aiops.detectors.recent:
    # 40 bytes a point), and seconds between SERVER_STATUS events.
    recent_points: int = 360
    status_interval: float = 2.0
    # Replicas share events through this Redis (redis://host:port/db); none: in-process.
    redis_url: str = ""
    # Serving processes sharing the gRPC port (aiops.workers), by default one per core; 1
    # serves from this process alone.
    workers: int = CORES
    # False serves the API only and runs no detectors.
    run_detectors: bool = True
    # A Prometheus to register as dataSources/prometheus at start; with none, `serve` starts
    # the demo (aiops.demo) where a `prometheus` binary is installed, unless demo is false.
    prometheus_url: str = ""
    demo: bool = True
    # Envoy beside the gRPC server (aiops.envoy): grpc-web and the built UI on http_address
    # (port 0 picks one). False where an Envoy runs separately (envoy/envoy.yaml).
    envoy: bool = True
    http_address: str = "127.0.0.1:8080"
    # Comma-separated origins allowed to call grpc-web from elsewhere (a Vite dev server); the
    # UI that Envoy serves is on the same origin and needs none.
    cors_origins: str = ""
    ui_dir: str = str(UI_DIR)
    # Prometheus' /metrics (aiops.metrics) on this host:port (port 0 picks one); empty: none.
    metrics_address: str = "127.0.0.1:9464"
    # At most this many series' scores on /metrics, of all the detectors with export_scores.
    score_series_limit: int = 10_000
    # Where people reach the UI, for the links in notifications; empty: http_address's.
    external_url: str = ""
    # Seconds between looks for what notification channels are due, and between two posts of
    # every firing alert to an Alertmanager (its alerts last four of these).
    notification_interval: float = 2.0
    alert_resend_interval: float = 60.0


def load_settings(
    flags: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Builds the settings; `flags` holds only the flags given on the command line."""
    environ = dict(os.environ) if environ is None else environ
    if config_file is None and environ.get(f"{ENV_PREFIX}CONFIG"):
        config_file = Path(environ[f"{ENV_PREFIX}CONFIG"])

    settings = Settings()
    if config_file is not None:
        with config_file.open("rb") as f:
            settings = _apply(settings, tomllib.load(f), f"config file {config_file}")
    from_env = {
        field.name: environ[ENV_PREFIX + field.name.upper()]
        for field in fields(Settings)
        if ENV_PREFIX + field.name.upper() in environ
    }
    settings = _apply(settings, from_env, "environment")
    return _apply(settings, {k: v for k, v in (flags or {}).items() if v is not None}, "flags")


def _apply(settings: Settings, values: dict[str, Any], origin: str) -> Settings:
    known = {field.name: field for field in fields(Settings)}
    changes: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            raise ValueError(f"unknown setting {key!r} in {origin}")
        kind = type(getattr(settings, key))
        try:
            changes[key] = _boolean(value) if kind is bool else kind(value)
        except ValueError as e:
            raise ValueError(f"setting {key!r} in {origin}: {e}") from None
    updated = replace(settings, **changes)
    positive = (
        "heartbeat_interval",
        "backfill_points",
        "checkpoint_interval",
        "health_interval",
        "event_retention_count",
        "event_retention_hours",
        "stream_buffer",
        "scores_interval",
        "recent_points",
        "status_interval",
        "workers",
        "score_series_limit",
        "notification_interval",
        "alert_resend_interval",
    )
    for name in positive:
        if getattr(updated, name) <= 0:
            raise ValueError(f"setting {name!r} in {origin} must be positive")
    if updated.evaluation_delay < 0:
        raise ValueError(f"setting 'evaluation_delay' in {origin} must not be negative")
    for allowed in cors_origins(updated):
        if not allowed.startswith(("http://", "https://")) or allowed.count("/") != 2:
            raise ValueError(
                f"setting 'cors_origins' in {origin}: {allowed!r} is not an origin "
                "(scheme://host[:port], no path)"
            )
    host, _, port = updated.http_address.rpartition(":")
    if not _listenable(host.strip("[]")) or not port.isdigit() or int(port) > 65535:
        raise ValueError(
            f"setting 'http_address' in {origin} must be ip:port or localhost:port (Envoy's)"
        )
    if updated.metrics_address:
        host, _, port = updated.metrics_address.rpartition(":")
        if not _listenable(host.strip("[]")) or not port.isdigit() or int(port) > 65535:
            raise ValueError(
                f"setting 'metrics_address' in {origin} must be ip:port or localhost:port, "
                "or empty for no /metrics"
            )
    if updated.external_url and not updated.external_url.startswith(("http://", "https://")):
        raise ValueError(f"setting 'external_url' in {origin} must be an http or https URL")
    if updated.log_format not in LOG_FORMATS:
        raise ValueError(
            f"setting 'log_format' in {origin} must be one of {', '.join(LOG_FORMATS)}"
        )
    if updated.log_level.upper() not in LOG_LEVELS:
        raise ValueError(f"setting 'log_level' in {origin} must be one of {', '.join(LOG_LEVELS)}")
    return updated


def cors_origins(settings: Settings) -> list[str]:
    """The origins of `cors_origins`, without blanks or trailing slashes."""
    return [o.strip().rstrip("/") for o in settings.cors_origins.split(",") if o.strip()]


def _listenable(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost"
    return True


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {value!r}")
