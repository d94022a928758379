"""What the health probe saw of each data source lately: its last checks, newest last, kept in
memory for the data source's page and the system dashboard (`ListHealthChecks`,
`ServerStatus`). About 100 bytes a check: 240 per data source are 24 KB."""

from __future__ import annotations

from collections import deque
from datetime import datetime

from aiops_api.v1 import data_source_service_pb2

HealthCheck = data_source_service_pb2.HealthCheck
KEPT_CHECKS = 240


class HealthHistory:
    """By data source id and creation time: one deleted and made again under its id starts
    with no checks."""

    def __init__(self, kept: int = KEPT_CHECKS) -> None:
        self.kept = kept
        self._checks: dict[str, deque[HealthCheck]] = {}
        self._created: dict[str, datetime] = {}

    def add(self, data_source_id: str, created: datetime, check: HealthCheck) -> None:
        if self._created.get(data_source_id) != created:
            self._created[data_source_id] = created
            self._checks[data_source_id] = deque(maxlen=self.kept)
        self._checks[data_source_id].append(check)

    def newest_first(self, data_source_id: str, created: datetime) -> list[HealthCheck]:
        if self._created.get(data_source_id) != created:
            return []
        return list(reversed(self._checks[data_source_id]))

    def latest(self, data_source_id: str) -> HealthCheck | None:
        checks = self._checks.get(data_source_id)
        return checks[-1] if checks else None

    def ids(self) -> set[str]:
        return set(self._checks)

    def keep_only(self, data_source_ids: set[str]) -> None:
        """Forgets the data sources that are gone."""
        for key in self._checks.keys() - data_source_ids:
            del self._checks[key], self._created[key]
