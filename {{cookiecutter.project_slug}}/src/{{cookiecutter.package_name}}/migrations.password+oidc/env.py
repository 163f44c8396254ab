"""Alembic's entry point: run by ``python -m {{ cookiecutter.package_name }}.db upgrade`` on an open connection.

``db.upgrade`` hands the connection over in ``config.attributes``, so the same
code migrates SQLite and PostgreSQL from an installed wheel, with no alembic.ini.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, MetaData

connection: Connection | None = context.config.attributes.get("connection")
metadata: MetaData | None = context.config.attributes.get("target_metadata")
if connection is None:
    raise RuntimeError("run migrations with: python -m {{ cookiecutter.package_name }}.db upgrade")
# render_as_batch: SQLite can alter a table only by copying it, which batch mode does.
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
