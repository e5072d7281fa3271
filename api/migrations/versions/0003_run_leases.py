"""Run leases: which server process executes a queued or running evaluation, and until when its claim holds.

Revision ID: 0003_run_leases
Revises: 0002_tokens
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_run_leases"
down_revision = "0002_tokens"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the lease columns (nullable: runs stored before have no lease and count as expired)."""
    op.add_column("evaluation_runs", sa.Column("lease_owner", sa.String(64), nullable=True))
    op.add_column("evaluation_runs", sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Drop the lease columns."""
    with op.batch_alter_table("evaluation_runs") as batch:
        batch.drop_column("lease_expires_at")
        batch.drop_column("lease_owner")
