"""Alembic environment for the mujun store; the connection comes from ``api.store.engine.upgrade_schema``."""

from __future__ import annotations

from alembic import context

from api.store.models import Base

target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run migrations on the connection handed in by the caller (or the configured store)."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        from api.store.engine import get_engine

        engine = get_engine(migrate=False)
        with engine.begin() as connection:
            context.configure(connection=connection, target_metadata=target_metadata)
            with context.begin_transaction():
                context.run_migrations()
        return
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("mujun migrations run online only (mujun 仅支持在线迁移)")
run_migrations_online()
