"""Admin endpoints: users (``POST /users`` prints a token once) and the audit log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.deps import Admin, Conn
from api.store import repository as repo

router = APIRouter(tags=["管理 admin"])


class NewUser(BaseModel):
    """A user to create."""

    name: str = Field(min_length=1, max_length=100)
    role: str = Field(default="viewer", pattern="^(viewer|analyst|admin)$")


@router.post("/users", status_code=201, summary="新增用户 (add a user; returns its token once)")
def add_user(body: NewUser, request: Request, user: Admin) -> JSONResponse:
    """Create a user and return its bearer token (only now; it is stored hashed)."""
    with request.app.state.engine.begin() as conn:
        token = repo.add_user(conn, body.name, body.role, actor=user.name)
    return JSONResponse({"name": body.name, "role": body.role, "token": token}, status_code=201)


@router.get("/users", summary="用户列表 (users)")
def list_users(conn: Conn, _user: Admin) -> dict[str, Any]:
    """Users and roles (never tokens)."""
    return {"users": repo.list_users(conn)}


@router.get("/audit", summary="审计日志 (audit log)")
def audit_log(conn: Conn, _user: Admin, limit: int = 100) -> dict[str, Any]:
    """The latest writes: who, when, what."""
    return {"audit": repo.list_audit(conn, min(max(limit, 1), 1000))}
