"""Alembic environment: the URL comes from the caller's Config, the metadata from every domain
package's models (shared.migrations.schema gathers them)."""

from alembic import context
from sqlalchemy import create_engine, pool

from shared.migrations.schema import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
        with context.begin_transaction():
            # Two processes upgrading at once (api and worker starting together) take turns.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(724101)")
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
