"""Compact verdicts: a verdict row keeps (level, subject, rule, status, code, value) and the keys of its threshold,
message and citation in ``verdict_texts``, where each distinct text of a run is stored once (17M verdicts of a
million parcels hold a few thousand distinct texts). Existing rows are converted.

Revision ID: 0004_compact_verdicts
Revises: 0003_run_leases
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_compact_verdicts"
down_revision = "0003_run_leases"
branch_labels = None
depends_on = None

# Frozen at this revision: the text columns moved to verdict_texts and the key column of each.
_TEXTS = {"threshold": "threshold_key", "message": "message_key", "citation": "citation_key"}


def _as_text(column: str, table: str = "") -> str:
    # threshold is JSON: compare and keep its stored text (PostgreSQL's json has no equality); JSON null = none
    name = f"{table}.{column}" if table else column
    return f"CAST({name} AS TEXT)" if column == "threshold" else name


def upgrade() -> None:
    """Create verdict_texts, fill it with each run's distinct texts, key the verdicts, drop the text columns."""
    op.create_table(
        "verdict_texts",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("evaluation_runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("key", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("text", sa.Text, nullable=False),
    )
    for key in _TEXTS.values():
        op.add_column("verdicts", sa.Column(key, sa.Integer, nullable=True))
    distinct = " UNION ".join(
        f"SELECT run_id, {_as_text(c)} AS text FROM verdicts WHERE {c} IS NOT NULL AND {_as_text(c)} <> 'null'"
        for c in _TEXTS
    )
    op.execute(
        "INSERT INTO verdict_texts (run_id, key, text) "
        f"SELECT run_id, ROW_NUMBER() OVER (PARTITION BY run_id ORDER BY text) - 1, text FROM ({distinct}) AS d"
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    # A lookup index for the conversion only (hash on PostgreSQL: texts may pass a b-tree entry's size limit).
    if postgres:
        op.execute("CREATE INDEX tmp_verdict_texts_text ON verdict_texts USING hash (text)")
    else:
        op.execute("CREATE INDEX tmp_verdict_texts_text ON verdict_texts (run_id, text)")
    for column, key in _TEXTS.items():
        op.execute(
            f"UPDATE verdicts SET {key} = t.key FROM verdict_texts AS t "
            f"WHERE t.run_id = verdicts.run_id AND t.text = {_as_text(column, 'verdicts')}"
        )
    op.execute("DROP INDEX tmp_verdict_texts_text")
    with op.batch_alter_table("verdicts") as batch:
        for column in _TEXTS:
            batch.drop_column(column)


def downgrade() -> None:
    """Put the texts back on every verdict row and drop verdict_texts."""
    op.add_column("verdicts", sa.Column("threshold", sa.JSON, nullable=True))
    op.add_column("verdicts", sa.Column("message", sa.Text, nullable=True))
    op.add_column("verdicts", sa.Column("citation", sa.Text, nullable=True))
    for column, key in _TEXTS.items():
        value = "CAST(t.text AS JSON)" if column == "threshold" and op.get_bind().dialect.name == "postgresql" \
            else "t.text"
        op.execute(
            f"UPDATE verdicts SET {column} = {value} FROM verdict_texts AS t "
            f"WHERE t.run_id = verdicts.run_id AND t.key = verdicts.{key}"
        )
    with op.batch_alter_table("verdicts") as batch:
        for key in _TEXTS.values():
            batch.drop_column(key)
    op.drop_table("verdict_texts")
