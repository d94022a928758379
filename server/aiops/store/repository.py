"""Row operations the servicers share: get or fail, insert once, optimistic etags, keyset pages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from aiops.errors import AlreadyExists, EtagMismatch, NotFound
from aiops.store.models import Base, DetectorRow, utcnow

RowT = TypeVar("RowT", bound=Base)


async def get_row(session: AsyncSession, row_type: type[RowT], key: str, name: str) -> RowT:
    row = await session.get(row_type, key)
    if row is None:
        raise NotFound(name)
    return row


async def insert_row(session: AsyncSession, row: Base, name: str) -> None:
    if await session.get(type(row), row.id) is not None:  # type: ignore[attr-defined]
        raise AlreadyExists(name)
    row.create_time = row.update_time = utcnow()  # type: ignore[attr-defined]
    session.add(row)
    try:
        await session.flush()
    except IntegrityError:  # a concurrent create of the same id won the race
        raise AlreadyExists(name) from None


def check_etag(row: Any, etag: str, name: str) -> None:
    """An empty etag means "whatever is stored"; a stale one fails the write (AIP-154)."""
    if etag and etag != row.etag:
        raise EtagMismatch(name)


async def fetch_page(
    session: AsyncSession,
    statement: Select[Any],
    sort_key: Sequence[Any],
    after: list[Any] | None,
    limit: int,
    *,
    descending: bool = False,
) -> tuple[list[Any], list[Any] | None]:
    """One page in `sort_key` order, continuing after the key `after`; returns the rows and the
    key to continue after, None on the last page. Keyset, so pages stay stable under writes."""
    if after is not None:
        statement = statement.where(_beyond(sort_key, after, descending))
    order = [column.desc() if descending else column.asc() for column in sort_key]
    result = await session.scalars(statement.order_by(*order).limit(limit + 1))
    rows = list(result)
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, [getattr(last, column.key) for column in sort_key]


def _beyond(sort_key: Sequence[Any], after: list[Any], descending: bool) -> ColumnElement[bool]:
    # (a, b) > (x, y) written out, since row-value comparisons differ between databases.
    clauses = []
    for i, column in enumerate(sort_key):
        equal = [sort_key[j] == after[j] for j in range(i)]
        step = column < after[i] if descending else column > after[i]
        clauses.append(and_(*equal, step))
    return or_(*clauses)


async def detectors_using(session: AsyncSession, data_source_id: str) -> list[str]:
    result = await session.scalars(
        select(DetectorRow.id).where(DetectorRow.data_source_id == data_source_id).limit(100)
    )
    return [f"detectors/{key}" for key in result]
