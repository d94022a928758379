"""Alembic environment: runs the migrations on the async engine of the configured URL."""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from aiops.store.database import create_engine
from aiops.store.models import Base

target_metadata = Base.metadata


def run_on(connection: Connection) -> None:
    # Batch mode lets later migrations alter tables on SQLite, which has little ALTER TABLE.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def run_async() -> None:
    engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "")
    async with engine.connect() as connection:
        await connection.run_sync(run_on)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=context.config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(run_async())
