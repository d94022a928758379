"""Settings: flags, then AIOPS_* environment variables, then a TOML file, then defaults."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

ENV_PREFIX = "AIOPS_"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class Settings:
    grpc_address: str = "127.0.0.1:50051"
    database_url: str = "sqlite+aiosqlite:///aiops.db"
    heartbeat_interval: float = 5.0  # seconds between heartbeat events on every stream
    log_level: str = "INFO"


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
            changes[key] = kind(value)
        except ValueError as e:
            raise ValueError(f"setting {key!r} in {origin}: {e}") from None
    updated = replace(settings, **changes)
    if updated.heartbeat_interval <= 0:
        raise ValueError(f"setting 'heartbeat_interval' in {origin} must be positive")
    if updated.log_level.upper() not in LOG_LEVELS:
        raise ValueError(f"setting 'log_level' in {origin} must be one of {', '.join(LOG_LEVELS)}")
    return updated
