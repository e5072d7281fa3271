"""Initial schema: users, datasets, parcels, enterprises, occupancy, land supply, zones, rule sets, runs,
parcel results, verdicts, audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SRID = 4544
# Frozen copy of the contract columns at this revision (later revisions add columns, never edit these).
_PARCEL = {
    "land_use": "str", "floor_area_m2": "float", "footprint_m2": "float", "special_process": "bool",
    "status": "str", "planned_use": "str", "retainable": "bool", "transfer_date": "date",
    "agreed_start_date": "date", "actual_start_date": "date", "planned_dev_area_m2": "float",
    "developed_area_m2": "float", "total_investment_10k": "float", "invested_10k": "float",
    "halted_since": "date", "delay_cause": "str", "standard_land": "bool",
    "committed_investment_per_mu_10k": "float", "committed_revenue_per_mu_10k": "float",
    "committed_tax_per_mu_10k": "float", "production_due_date": "date", "enterprise_id": "str",
}
_ENTERPRISE = {
    "name": "str", "industry_code": "str", "revenue_10k": "float", "tax_10k": "float", "year": "float",
    "above_scale": "bool", "value_added_10k": "float", "energy_tce": "float", "rd_expense_10k": "float",
    "employees": "float", "emission_eq": "float",
}
_TYPES = {"str": lambda: sa.String(200), "float": sa.Float, "bool": sa.Boolean, "date": sa.Date}


def _typed(columns: dict[str, str]) -> list[sa.Column]:
    return [sa.Column(name, _TYPES[kind](), nullable=True) for name, kind in columns.items()]


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _dataset_fk() -> sa.Column:
    fk = sa.ForeignKey("datasets.id", ondelete="CASCADE")
    return sa.Column("dataset_id", sa.Integer, fk, nullable=False)


def _run_fk() -> sa.Column:
    fk = sa.ForeignKey("evaluation_runs.id", ondelete="CASCADE")
    return sa.Column("run_id", sa.Integer, fk, nullable=False)


def upgrade() -> None:
    """Create every table of the first schema."""
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        _ts("created_at", False),
        sa.Column("active", sa.Boolean, nullable=False),
    )
    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("sources", sa.JSON, nullable=False),
        sa.Column("counts", sa.JSON, nullable=False),
        sa.Column("extents", sa.JSON, nullable=False),
        sa.Column("warnings", sa.JSON, nullable=False),
        sa.Column("missing_columns", sa.JSON, nullable=False),
        sa.Column("created_by", sa.String(100)),
        _ts("created_at", False),
    )
    op.create_table(
        "parcels",
        sa.Column("id", sa.Integer, primary_key=True),
        _dataset_fk(),
        sa.Column("parcel_id", sa.String(100), nullable=False),
        sa.Column("area_m2", sa.Float, nullable=False),
        sa.Column("extra", sa.JSON),
        sa.Column("geom", Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False),
        *_typed(_PARCEL),
        sa.UniqueConstraint("dataset_id", "parcel_id", name="uq_parcels_dataset_parcel"),
    )
    op.create_table(
        "enterprises",
        sa.Column("id", sa.Integer, primary_key=True),
        _dataset_fk(),
        sa.Column("enterprise_id", sa.String(100), nullable=False),
        sa.Column("extra", sa.JSON),
        sa.Column("geom", Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=True),
        *_typed(_ENTERPRISE),
        sa.UniqueConstraint("dataset_id", "enterprise_id", name="uq_enterprises_dataset_ent"),
    )
    op.create_table(
        "occupancy",
        sa.Column("id", sa.Integer, primary_key=True),
        _dataset_fk(),
        sa.Column("enterprise_id", sa.String(100)),
        sa.Column("parcel_id", sa.String(100)),
        sa.Column("floor_area_m2", sa.Float),
        sa.Column("extra", sa.JSON),
    )
    op.create_index("ix_occupancy_dataset_id", "occupancy", ["dataset_id"])
    op.create_table(
        "land_supply",
        sa.Column("id", sa.Integer, primary_key=True),
        _dataset_fk(),
        sa.Column("year", sa.Float),
        sa.Column("land_use", sa.String(200)),
        sa.Column("area_m2", sa.Float),
        sa.Column("extra", sa.JSON),
    )
    op.create_index("ix_land_supply_dataset_id", "land_supply", ["dataset_id"])
    op.create_table(
        "zone_features",
        sa.Column("id", sa.Integer, primary_key=True),
        _dataset_fk(),
        sa.Column("layer", sa.String(60), nullable=False),
        sa.Column("zone_id", sa.String(100)),
        sa.Column("name", sa.String(200)),
        sa.Column("properties", sa.JSON),
        sa.Column("geom", Geometry("GEOMETRY", srid=SRID, spatial_index=True), nullable=False),
    )
    op.create_index("ix_zone_features_dataset_layer", "zone_features", ["dataset_id", "layer"])
    op.create_table(
        "rulesets",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("ruleset_id", sa.String(100), nullable=False),
        sa.Column("version", sa.String(100), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("yaml_text", sa.Text, nullable=False),
        sa.Column("builtin", sa.Boolean, nullable=False),
        sa.Column("created_by", sa.String(100)),
        _ts("created_at", False),
        sa.UniqueConstraint("ruleset_id", "version", name="uq_rulesets_id_version"),
    )
    op.create_table(
        "evaluation_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        _dataset_fk(),
        sa.Column("ruleset_pk", sa.Integer, sa.ForeignKey("rulesets.id"), nullable=False),
        sa.Column("ruleset_sha256", sa.String(64), nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("progress", sa.Float, nullable=False),
        sa.Column("summary", sa.JSON),
        sa.Column("aggregates", sa.JSON),
        sa.Column("enterprises", sa.JSON),
        sa.Column("error", sa.JSON),
        sa.Column("created_by", sa.String(100)),
        _ts("created_at", False),
        _ts("started_at"),
        _ts("finished_at"),
    )
    op.create_index("ix_evaluation_runs_dataset_id", "evaluation_runs", ["dataset_id"])
    op.create_table(
        "parcel_results",
        sa.Column("id", sa.Integer, primary_key=True),
        _run_fk(),
        sa.Column("parcel_id", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20)),
        sa.Column("area_m2", sa.Float),
        sa.Column("area_mu", sa.Float),
        sa.Column("district", sa.String(200)),
        sa.Column("park_id", sa.String(100)),
        sa.Column("zone", sa.String(60)),
        sa.Column("inside_ring", sa.Boolean),
        sa.Column("far", sa.Float),
        sa.Column("rule_statuses", sa.JSON),
        sa.UniqueConstraint("run_id", "parcel_id", name="uq_parcel_results_run_parcel"),
    )
    op.create_index("ix_parcel_results_run_status", "parcel_results", ["run_id", "status"])
    op.create_table(
        "verdicts",
        sa.Column("id", sa.Integer, primary_key=True),
        _run_fk(),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("subject_id", sa.String(100), nullable=False),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("value", sa.Float),
        sa.Column("code", sa.String(100)),
        sa.Column("threshold", sa.JSON),
        sa.Column("message", sa.Text),
        sa.Column("citation", sa.Text),
    )
    op.create_index("ix_verdicts_run_rule_status", "verdicts", ["run_id", "rule", "status", "subject_id"])
    op.create_index("ix_verdicts_run_subject", "verdicts", ["run_id", "level", "subject_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        _ts("at", False),
        sa.Column("actor", sa.String(100)),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("entity", sa.String(60), nullable=False),
        sa.Column("entity_id", sa.String(100)),
        sa.Column("details", sa.JSON),
    )


def downgrade() -> None:
    """Drop every table of the first schema."""
    for table in ("audit_log", "verdicts", "parcel_results", "evaluation_runs", "rulesets", "zone_features",
                  "land_supply", "occupancy", "enterprises", "parcels", "datasets", "users"):
        op.drop_table(table)
