"""Read/write functions over the store that the API and the CLI share (datasets, users, rule sets, audit)."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Connection, Engine, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from api.store import models as m
from api.store.errors import Conflict, NotFound, StoreError

ROLES = ("viewer", "analyst", "admin")
MAX_TOKEN_DAYS = 36500
_P = ParamSpec("_P")
_T = TypeVar("_T")


def reading(engine: Engine, query: Callable[Concatenate[Connection, _P], _T], *args: _P.args,
            **kwargs: _P.kwargs) -> _T:
    """``query(conn, …)`` on a connection of its own, back in the pool as soon as it returns.

    For callers that hold no connection (the web pages): they name the store function the JSON routes call
    with their request's connection, and never hold one across their own work.
    """
    with engine.connect() as conn:
        return query(conn, *args, **kwargs)


def writing(engine: Engine, change: Callable[Concatenate[Connection, _P], _T], *args: _P.args,
            **kwargs: _P.kwargs) -> _T:
    """``change(conn, …)`` in a transaction of its own: committed when it returns, rolled back if it raises."""
    with engine.begin() as conn:
        return change(conn, *args, **kwargs)


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


# --- users and tokens -----------------------------------------------------------------------------

def token_hash(token: str) -> str:
    """SHA-256 of a bearer token (tokens are 256-bit random, so an unsalted hash is safe to store)."""
    return hashlib.sha256(token.encode()).hexdigest()


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """A stored time as an aware UTC datetime (SQLite gives naive UTC back, PostgreSQL aware)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def _new_token() -> str:
    return "mj_" + secrets.token_urlsafe(32)


def _expiry(expires_days: float, now: dt.datetime) -> dt.datetime | None:
    if expires_days < 0 or not math.isfinite(expires_days):
        raise StoreError(f"有效天数须为 0（永不过期）或正数，收到 {expires_days} (expires_days must be ≥ 0)",
                         details=[{"field": "expires_days", "value": str(expires_days)}], code="invalid_expiry")
    if expires_days == 0:
        return None
    if expires_days > MAX_TOKEN_DAYS:
        raise StoreError(f"有效天数最多 {MAX_TOKEN_DAYS} 天，收到 {expires_days:g}；永不过期请用 0 "
                         f"(expires_days at most {MAX_TOKEN_DAYS}; 0 = never)",
                         details=[{"field": "expires_days", "value": expires_days}], code="invalid_expiry")
    return now + dt.timedelta(days=expires_days)


def _check_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > 100 or any(not ch.isprintable() for ch in cleaned):
        raise StoreError(f"用户名须为 1–100 个可打印字符，收到 {len(cleaned)} 个字符 "
                         "(user name must be 1–100 printable characters)",
                         details=[{"field": "name", "value": cleaned[:120]}], code="invalid_name")
    return cleaned


def _user_row(conn: Connection, name: str) -> Any:
    row = conn.execute(select(m.User.__table__).where(m.User.name == name)).first()
    if row is None:
        raise NotFound(f"用户 '{name}' 不存在 (user not found); 用 mujun users list 查看 (see mujun users list)",
                       details=[{"user": name}])
    return row


def user_dict(row: Any, now: dt.datetime | None = None) -> dict[str, Any]:
    """A user as the API and the CLI show it (never its token hash); ``state`` is active/revoked/expired."""
    d = dict(row._mapping)
    expires = utc(d.get("token_expires_at"))
    return {"id": d["id"], "name": d["name"], "role": d["role"], "active": bool(d["active"]),
            "state": token_state(bool(d["active"]), expires, now or m._now()),
            "created_at": utc(d["created_at"]), "expires_at": expires, "revoked_at": utc(d.get("revoked_at"))}


def token_state(active: bool, expires_at: dt.datetime | None, now: dt.datetime) -> str:
    """``active``, ``revoked`` or ``expired`` (revocation wins: it is the admin's explicit act)."""
    if not active:
        return "revoked"
    if expires_at is not None and utc(expires_at) <= now:
        return "expired"
    return "active"


def add_user(conn: Connection, name: str, role: str, actor: str | None = None, *,
             expires_days: float = 0) -> str:
    """Create a user with ``role`` and return its new bearer token (shown once, stored hashed).

    ``expires_days`` = 0 makes a token that never expires.
    """
    name = _check_name(name)
    if role not in ROLES:
        raise StoreError(f"未知角色 '{role}' (unknown role); 可选 (choose one of): {', '.join(ROLES)}",
                         details=[{"field": "role", "value": role}], code="invalid_role")
    if conn.scalar(select(m.User.id).where(m.User.name == name)) is not None:
        raise Conflict(f"用户 '{name}' 已存在 (user already exists); 换发令牌请用 mujun users rotate "
                       "(to issue a new token use rotate)", details=[{"field": "name", "value": name}])
    now = m._now()
    expires = _expiry(expires_days, now)
    token = _new_token()
    user_id = conn.scalar(insert(m.User.__table__).returning(m.User.id), [{
        "name": name, "role": role, "token_sha256": token_hash(token), "created_at": now, "active": True,
        "token_expires_at": expires,
    }])
    audit(conn, actor, "add", "user", user_id, {"name": name, "role": role, "expires_at": _iso(expires)})
    return token


def revoke_user(conn: Connection, name: str, actor: str | None = None) -> dict[str, Any]:
    """Revoke the user's token and end their web sessions now; revoking twice changes nothing."""
    row = _user_row(conn, name)
    if row.active:
        now = m._now()
        conn.execute(update(m.User.__table__).where(m.User.id == row.id).values(active=False, revoked_at=now))
        ended = end_sessions(conn, row.id)
        audit(conn, actor, "revoke", "user", row.id, {"name": name, "sessions_ended": ended})
    return user_dict(_user_row(conn, name))


def rotate_token(conn: Connection, name: str, actor: str | None = None, *,
                 expires_days: float = 0) -> tuple[str, dict[str, Any]]:
    """Issue the user a new token (the old one stops working, their web sessions end); re-activates a revoked user.

    Returns the new token (shown once) and the user as :func:`user_dict` shows it.
    """
    row = _user_row(conn, name)
    now = m._now()
    expires = _expiry(expires_days, now)
    token = _new_token()
    conn.execute(update(m.User.__table__).where(m.User.id == row.id).values(
        token_sha256=token_hash(token), active=True, revoked_at=None, token_expires_at=expires))
    ended = end_sessions(conn, row.id)
    audit(conn, actor, "rotate", "user", row.id,
          {"name": name, "expires_at": _iso(expires), "was": token_state(bool(row.active),
                                                                          row.token_expires_at, now),
           "sessions_ended": ended})
    return token, user_dict(_user_row(conn, name), now)


def get_user(conn: Connection, name: str) -> dict[str, Any]:
    """One user by name as :func:`user_dict` shows it, or NotFound."""
    return user_dict(_user_row(conn, name))


def token_owner(conn: Connection, token: str) -> dict[str, Any] | None:
    """The user holding ``token`` whatever its state (``state``: active/revoked/expired), or None."""
    row = conn.execute(select(m.User.__table__).where(m.User.token_sha256 == token_hash(token))).first()
    return user_dict(row) if row is not None else None


def user_for_token(conn: Connection, token: str) -> dict[str, Any] | None:
    """The user holding ``token`` if it is neither revoked nor expired (id, name, role), or None."""
    owner = token_owner(conn, token)
    if owner is None or owner["state"] != "active":
        return None
    return {k: owner[k] for k in ("id", "name", "role")}


def list_users(conn: Connection) -> list[dict[str, Any]]:
    """Users without their token hashes, with their token's state and expiry."""
    now = m._now()
    return [user_dict(r, now) for r in conn.execute(select(m.User.__table__).order_by(m.User.id))]


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds")


# --- web sessions ---------------------------------------------------------------------------------

def create_session(conn: Connection, user_id: int, hours: float, token_expires_at: dt.datetime | None) -> str:
    """Open a web session for ``user_id`` and return its random id (the store keeps only its SHA-256).

    The session ends after ``hours`` or when the token it was opened with expires, whichever is first.
    Sessions that are over are removed here, so the table holds no more than the live ones.
    """
    now = m._now()
    expires = now + dt.timedelta(hours=hours)
    if token_expires_at is not None:
        expires = min(expires, utc(token_expires_at))
    t = m.WebSession.__table__
    conn.execute(delete(t).where(or_(t.c.expires_at <= now, t.c.revoked.is_(True))))
    session_id = secrets.token_urlsafe(32)
    conn.execute(insert(t), [{"id": token_hash(session_id), "user_id": user_id, "created_at": now,
                              "expires_at": expires, "revoked": False}])
    return session_id


def session_owner(conn: Connection, session_id: str) -> dict[str, Any] | None:
    """The user of a live web session (id, name, role), or None when it is unknown, over or its token is not valid."""
    s, u = m.WebSession.__table__, m.User.__table__
    row = conn.execute(
        select(u.c.id, u.c.name, u.c.role, u.c.active, u.c.token_expires_at, s.c.expires_at, s.c.revoked)
        .join(u, u.c.id == s.c.user_id).where(s.c.id == token_hash(session_id))).first()
    now = m._now()
    if row is None or row.revoked or utc(row.expires_at) <= now:
        return None
    if token_state(bool(row.active), row.token_expires_at, now) != "active":
        return None
    return {"id": row.id, "name": row.name, "role": row.role}


def delete_session(conn: Connection, session_id: str) -> int | None:
    """Remove a web session (sign-out); returns its user's id, or None when there was none."""
    t = m.WebSession.__table__
    user_id = conn.scalar(select(t.c.user_id).where(t.c.id == token_hash(session_id)))
    if user_id is not None:
        conn.execute(delete(t).where(t.c.id == token_hash(session_id)))
    return user_id


def end_sessions(conn: Connection, user_id: int) -> int:
    """Mark every live web session of ``user_id`` revoked (their next page asks them to sign in again)."""
    t = m.WebSession.__table__
    result = conn.execute(update(t).where(t.c.user_id == user_id, t.c.revoked.is_(False)).values(revoked=True))
    return result.rowcount or 0


def server_secret(engine: Engine, name: str) -> str:
    """A secret shared by every server process on this store, created by the first process that asks."""
    t = m.ServerSecret.__table__
    with engine.connect() as conn:
        value = conn.scalar(select(t.c.value).where(t.c.name == name))
    if value is not None:
        return value
    try:
        with engine.begin() as conn:
            conn.execute(insert(t), [{"name": name, "value": secrets.token_urlsafe(48), "created_at": m._now()}])
    except IntegrityError:  # another process created it at the same moment: use theirs
        pass
    with engine.connect() as conn:
        return conn.scalar(select(t.c.value).where(t.c.name == name))
