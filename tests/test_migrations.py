"""Alembic migrations go down and up again on both backends, leaving the schema the models use."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect

from aiops.store.database import alembic_config, create_engine, migrate
from aiops.store.models import Base

TABLES = set(Base.metadata.tables)


async def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    async with engine.connect() as connection:
        names = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    await engine.dispose()
    return names - {"alembic_version"}


def in_thread(function, *args) -> None:  # type: ignore[no-untyped-def]
    with ThreadPoolExecutor(1) as pool:
        pool.submit(function, *args).result()


async def test_downgrade_to_base_and_upgrade_again(database_url: str) -> None:
    assert await table_names(database_url) == TABLES

    in_thread(command.downgrade, alembic_config(database_url), "base")
    assert await table_names(database_url) == set()

    in_thread(migrate, database_url)
    assert await table_names(database_url) == TABLES


async def test_migrated_schema_matches_the_models(database_url: str) -> None:
    """What `alembic revision --autogenerate` would write: nothing, or a migration is missing."""

    def differences(sync: Connection) -> list[object]:
        return compare_metadata(MigrationContext.configure(sync), Base.metadata)

    engine = create_engine(database_url)
    async with engine.connect() as connection:
        assert await connection.run_sync(differences) == []
    await engine.dispose()
