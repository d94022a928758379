"""What the health probe saw of each data source lately: its last checks, newest last, kept in
memory for the data source's page and the system dashboard (`ListHealthChecks`,
`ServerStatus`). About 100 bytes a check: 240 per data source are 24 KB."""

from __future__ import annotations

from collections import deque

from aiops_api.v1 import data_source_service_pb2

HealthCheck = data_source_service_pb2.HealthCheck
KEPT_CHECKS = 240


class HealthHistory:
    def __init__(self, kept: int = KEPT_CHECKS) -> None:
        self.kept = kept
        self._checks: dict[str, deque[HealthCheck]] = {}

    def add(self, data_source_id: str, check: HealthCheck) -> None:
        self._checks.setdefault(data_source_id, deque(maxlen=self.kept)).append(check)

    def newest_first(self, data_source_id: str) -> list[HealthCheck]:
        return list(reversed(self._checks.get(data_source_id, ())))

    def latest(self, data_source_id: str) -> HealthCheck | None:
        checks = self._checks.get(data_source_id)
        return checks[-1] if checks else None

    def ids(self) -> set[str]:
        return set(self._checks)

    def keep_only(self, data_source_ids: set[str]) -> None:
        """Forgets the data sources that are gone."""
        for key in self._checks.keys() - data_source_ids:
            del self._checks[key]
