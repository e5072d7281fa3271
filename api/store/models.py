"""Tables of the mujun store (SQLAlchemy 2 + GeoAlchemy2); the same models serve SpatiaLite and PostGIS.

Geometries are kept in the working CRS EPSG:4544 with a spatial index; the API reprojects to CRS84 on the way
out. Contract columns get typed columns; every other input column is kept in ``extra`` (JSON).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from geoalchemy2 import Geometry
from pyproj import CRS
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from gis.crs import WORKING_CRS
from rules.result import VERDICT_KEY_COLUMNS, VERDICT_TEXT_KEYS

SRID = CRS(WORKING_CRS).to_epsg()  # the working CRS (gis.crs), stored in every geometry column

# Contract columns of the parcels layer and their storage kind (data-contract.md, "Parcels").
PARCEL_COLUMNS: dict[str, str] = {
    "land_use": "str",
    "floor_area_m2": "float",
    "footprint_m2": "float",
    "special_process": "bool",
    "status": "str",
    "planned_use": "str",
    "retainable": "bool",
    "transfer_date": "date",
    "agreed_start_date": "date",
    "actual_start_date": "date",
    "planned_dev_area_m2": "float",
    "developed_area_m2": "float",
    "total_investment_10k": "float",
    "invested_10k": "float",
    "halted_since": "date",
    "delay_cause": "str",
    "standard_land": "bool",
    "committed_investment_per_mu_10k": "float",
    "committed_revenue_per_mu_10k": "float",
    "committed_tax_per_mu_10k": "float",
    "production_due_date": "date",
    "enterprise_id": "str",
}
ENTERPRISE_COLUMNS: dict[str, str] = {
    "name": "str",
    "industry_code": "str",
    "revenue_10k": "float",
    "tax_10k": "float",
    "year": "float",
    "above_scale": "bool",
    "value_added_10k": "float",
    "energy_tce": "float",
    "rd_expense_10k": "float",
    "employees": "float",
    "emission_eq": "float",
}
OCCUPANCY_COLUMNS: dict[str, str] = {"enterprise_id": "str", "parcel_id": "str", "floor_area_m2": "float"}
LAND_SUPPLY_COLUMNS: dict[str, str] = {"year": "float", "land_use": "str", "area_m2": "float"}

_SA_TYPES = {"str": lambda: String(200), "float": Float, "bool": Boolean, "date": Date}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base of every mujun table."""

    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    """An API user; only the SHA-256 of the bearer token is kept."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # False once the token is revoked
    token_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # None = never
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class WebSession(Base):
    """A signed-in browser: the cookie carries a random id (signed); only its SHA-256 is kept here."""

    __tablename__ = "web_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the session id
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class ServerSecret(Base):
    """A secret every server process on this store shares (the key that signs session cookies)."""

    __tablename__ = "server_secrets"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Dataset(Base):
    """One import: its source files, their hashes, who imported it and when."""

    __tablename__ = "datasets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    content_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    sources: Mapped[dict[str, Any]] = mapped_column(JSON)  # kind -> {name, sha256, size}
    counts: Mapped[dict[str, Any]] = mapped_column(JSON)  # kind -> rows; zone layer -> features
    extents: Mapped[dict[str, Any]] = mapped_column(JSON)  # collection id -> CRS84 bbox
    warnings: Mapped[list[Any]] = mapped_column(JSON)  # LoadReport warnings kept for the record
    missing_columns: Mapped[list[Any]] = mapped_column(JSON)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Parcel(Base):
    """宗地: contract columns typed, the rest in ``extra``; MultiPolygon in EPSG:4544."""

    __tablename__ = "parcels"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    parcel_id: Mapped[str] = mapped_column(String(100))
    area_m2: Mapped[float] = mapped_column(Float)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False)
    __table_args__ = (UniqueConstraint("dataset_id", "parcel_id", name="uq_parcels_dataset_parcel"),)


for _name, _kind in PARCEL_COLUMNS.items():
    Parcel.__table__.append_column(
        Column(_name, _SA_TYPES[_kind](), nullable=True)
    )


class Enterprise(Base):
    """企业: contract columns typed; ``geom`` = the union of the parcels it occupies (its land)."""

    __tablename__ = "enterprises"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    enterprise_id: Mapped[str] = mapped_column(String(100))
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=True)
    __table_args__ = (UniqueConstraint("dataset_id", "enterprise_id", name="uq_enterprises_dataset_ent"),)


for _name, _kind in ENTERPRISE_COLUMNS.items():
    Enterprise.__table__.append_column(
        Column(_name, _SA_TYPES[_kind](), nullable=True)
    )


class Occupancy(Base):
    """Which enterprise occupies how much floor area on which parcel."""

    __tablename__ = "occupancy"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    enterprise_id: Mapped[str | None] = mapped_column(String(100))
    parcel_id: Mapped[str | None] = mapped_column(String(100))
    floor_area_m2: Mapped[float | None] = mapped_column(Float)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class LandSupply(Base):
    """One plot of 国有建设用地 supplied in a year (for agg.supply_share)."""

    __tablename__ = "land_supply"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    year: Mapped[float | None] = mapped_column(Float)
    land_use: Mapped[str | None] = mapped_column(String(200))
    area_m2: Mapped[float | None] = mapped_column(Float)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ZoneFeature(Base):
    """A feature of a zone layer (red_line, ring, parks, districts, …); all its columns in ``properties``."""

    __tablename__ = "zone_features"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    layer: Mapped[str] = mapped_column(String(60))
    zone_id: Mapped[str | None] = mapped_column(String(100))
    name: Mapped[str | None] = mapped_column(String(200))
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    geom = mapped_column(Geometry("GEOMETRY", srid=SRID, spatial_index=True), nullable=False)
    __table_args__ = (Index("ix_zone_features_dataset_layer", "dataset_id", "layer"),)


class RuleSetRecord(Base):
    """A rule set version: YAML text and its sha256; immutable once stored."""

    __tablename__ = "rulesets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ruleset_id: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    yaml_text: Mapped[str] = mapped_column(Text)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    __table_args__ = (UniqueConstraint("ruleset_id", "version", name="uq_rulesets_id_version"),)


class EvaluationRun(Base):
    """One evaluation of a dataset against a rule set at an as-of date."""

    __tablename__ = "evaluation_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    ruleset_pk: Mapped[int] = mapped_column(ForeignKey("rulesets.id"))
    ruleset_sha256: Mapped[str] = mapped_column(String(64))
    as_of: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued/running/done/failed
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    aggregates: Mapped[list[Any] | None] = mapped_column(JSON)
    enterprises: Mapped[list[Any] | None] = mapped_column(JSON)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # The server process that will execute the run, and until when its claim holds (renewed while it works): a
    # server starting up fails only the runs whose lease expired, never another live server's.
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class ParcelResult(Base):
    """A parcel's outcome in a run: overall status, derived attributes and per-rule statuses."""

    __tablename__ = "parcel_results"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("evaluation_runs.id", ondelete="CASCADE"))
    parcel_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str | None] = mapped_column(String(20))
    area_m2: Mapped[float | None] = mapped_column(Float)
    area_mu: Mapped[float | None] = mapped_column(Float)
    district: Mapped[str | None] = mapped_column(String(200))
    park_id: Mapped[str | None] = mapped_column(String(100))
    zone: Mapped[str | None] = mapped_column(String(60))
    inside_ring: Mapped[bool | None] = mapped_column(Boolean)
    far: Mapped[float | None] = mapped_column(Float)
    rule_statuses: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    __table_args__ = (
        UniqueConstraint("run_id", "parcel_id", name="uq_parcel_results_run_parcel"),
        Index("ix_parcel_results_run_status", "run_id", "status"),
    )


# The verdict table's columns come from rules.result (one schema): the per-row ones get a SQL type here, each
# shared text column (threshold JSON, message, citation) becomes ``<name>_key`` into ``verdict_texts``.
VERDICT_SQL_TYPES: dict[str, Any] = {
    "level": lambda: String(20), "subject_id": lambda: String(100), "rule": lambda: String(100),
    "status": lambda: String(20), "code": lambda: String(100), "value": Float,
}
_VERDICT_REQUIRED = {"level", "subject_id", "rule", "status"}


class Verdict(Base):
    """One rule's verdict on one parcel or enterprise in a run: the key columns of ``rules.result`` and the
    keys of its threshold, message and citation in ``verdict_texts`` (text stored once per run, not per row)."""

    __tablename__ = "verdicts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("evaluation_runs.id", ondelete="CASCADE"))


for _name in VERDICT_KEY_COLUMNS:
    Verdict.__table__.append_column(
        Column(_name, VERDICT_SQL_TYPES[_name](), nullable=_name not in _VERDICT_REQUIRED)
    )
for _key in VERDICT_TEXT_KEYS.values():
    Verdict.__table__.append_column(Column(_key, Integer, nullable=True))
_vc = Verdict.__table__.c
Index("ix_verdicts_run_rule_status", _vc.run_id, _vc.rule, _vc.status, _vc.subject_id)
Index("ix_verdicts_run_subject", _vc.run_id, _vc.level, _vc.subject_id)


class VerdictText(Base):
    """A text shared by a run's verdicts (a message, a citation, a threshold as JSON), stored once per run."""

    __tablename__ = "verdict_texts"
    run_id: Mapped[int] = mapped_column(ForeignKey("evaluation_runs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    text: Mapped[str] = mapped_column(Text)


class AuditLog(Base):
    """Every write to the store: who, when, what."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    actor: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(60))
    entity_id: Mapped[str | None] = mapped_column(String(100))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
