"""Read/write functions over the store that the API and the CLI share (datasets, users, rule sets, audit)."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from sqlalchemy import Connection, func, insert, select

from api.store import models as m
from api.store.errors import Conflict, NotFound

ROLES = ("viewer", "analyst", "admin")


def audit(conn: Connection, actor: str | None, action: str, entity: str, entity_id: Any,
          details: dict[str, Any] | None = None) -> None:
    """Record one write in the audit log (inside the caller's transaction)."""
    conn.execute(insert(m.AuditLog.__table__), [{
        "at": m._now(), "actor": actor, "action": action, "entity": entity,
        "entity_id": None if entity_id is None else str(entity_id), "details": details,
    }])


def analyze(conn: Connection, *tables: str) -> None:
    """Refresh planner statistics after a bulk write (PostgreSQL plans badly on empty stats; SQLite too)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ANALYZE " + ", ".join(tables))
    else:
        for table in tables:
            conn.exec_driver_sql(f"ANALYZE {table}")


def list_audit(conn: Connection, limit: int = 100) -> list[dict[str, Any]]:
    """The latest audit entries, newest first."""
    rows = conn.execute(select(m.AuditLog.__table__).order_by(m.AuditLog.id.desc()).limit(limit))
    return [dict(r._mapping) for r in rows]


# --- datasets -------------------------------------------------------------------------------------

def dataset_dict(row: Any) -> dict[str, Any]:
    """A dataset row as the API shows it."""
    d = dict(row._mapping)
    return {k: d[k] for k in ("id", "name", "content_sha256", "sources", "counts", "extents", "warnings",
                              "missing_columns", "created_by", "created_at")}


def list_datasets(conn: Connection) -> list[dict[str, Any]]:
    """Every dataset, newest first."""
    rows = conn.execute(select(m.Dataset.__table__).order_by(m.Dataset.id.desc()))
    return [dataset_dict(r) for r in rows]


def get_dataset(conn: Connection, dataset_id: int) -> dict[str, Any]:
    """One dataset by id, or NotFound."""
    row = conn.execute(select(m.Dataset.__table__).where(m.Dataset.id == dataset_id)).first()
    if row is None:
        raise NotFound(f"数据集 {dataset_id} 不存在 (dataset {dataset_id} not found)",
                       details=[{"dataset": dataset_id}])
    return dataset_dict(row)


def latest_dataset_id(conn: Connection, *, with_zones: bool = False) -> int | None:
    """The newest dataset (optionally: the newest that has zone layers), or None when the store is empty."""
    if with_zones:
        return conn.scalar(select(func.max(m.ZoneFeature.dataset_id)))
    return conn.scalar(select(func.max(m.Dataset.id)))


# --- users ----------------------------------------------------------------------------------------

def token_hash(token: str) -> str:
    """SHA-256 of a bearer token (tokens are 256-bit random, so an unsalted hash is safe to store)."""
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(conn: Connection, name: str, role: str, actor: str | None = None) -> str:
    """Create a user with ``role`` and return its new bearer token (shown once, stored hashed)."""
    if role not in ROLES:
        raise Conflict(f"未知角色 '{role}' (unknown role); 可选 (choose one of): {', '.join(ROLES)}",
                       details=[{"field": "role", "value": role}], code="invalid_role")
    if conn.scalar(select(m.User.id).where(m.User.name == name)) is not None:
        raise Conflict(f"用户 '{name}' 已存在 (user already exists)",
                       details=[{"field": "name", "value": name}])
    token = "mj_" + secrets.token_urlsafe(32)
    user_id = conn.scalar(insert(m.User.__table__).returning(m.User.id), [{
        "name": name, "role": role, "token_sha256": token_hash(token), "created_at": m._now(), "active": True,
    }])
    audit(conn, actor, "add", "user", user_id, {"name": name, "role": role})
    return token


def user_for_token(conn: Connection, token: str) -> dict[str, Any] | None:
    """The active user holding ``token``, or None."""
    row = conn.execute(select(m.User.id, m.User.name, m.User.role).where(
        m.User.token_sha256 == token_hash(token), m.User.active.is_(True))).first()
    return dict(row._mapping) if row else None


def list_users(conn: Connection) -> list[dict[str, Any]]:
    """Users without their token hashes."""
    rows = conn.execute(select(m.User.id, m.User.name, m.User.role, m.User.active, m.User.created_at)
                        .order_by(m.User.id))
    return [dict(r._mapping) for r in rows]
