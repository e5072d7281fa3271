"""Bearer-token auth with roles: viewer (read), analyst (import, evaluate), admin (rule sets, users)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from api.errors import ApiError
from api.store.repository import ROLES, user_for_token

ROLE_RANK = {role: rank for rank, role in enumerate(ROLES, start=1)}
ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user name and role (``anonymous``/``viewer`` for open reads)."""

    name: str
    role: str

    def can(self, role: str) -> bool:
        """True when this principal's role is at least ``role``."""
        return ROLE_RANK.get(self.role, 0) >= ROLE_RANK[role]


_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def _principal(request: Request) -> Principal | None:
    header = request.headers.get("authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized",
                       "Authorization 头格式应为 'Bearer <令牌>' (expected a bearer token)",
                       [{"header": "Authorization"}], _CHALLENGE)
    with request.app.state.engine.connect() as conn:
        user = user_for_token(conn, token.strip())
    if user is None:
        raise ApiError(401, "invalid_token", "令牌无效或已停用 (invalid or revoked token)",
                       [{"header": "Authorization"}], _CHALLENGE)
    return Principal(user["name"], user["role"])


def require(role: str) -> Callable[[Request], Principal]:
    """A FastAPI dependency admitting callers with at least ``role`` (reads may be opened by a setting)."""
    if role not in ROLE_RANK:
        raise ValueError(f"unknown role {role!r}")

    def dependency(request: Request) -> Principal:
        principal = _principal(request)
        if principal is None:
            if role == "viewer" and request.app.state.settings.allow_anonymous_read:
                return Principal(ANONYMOUS, "viewer")
            raise ApiError(401, "unauthorized",
                           "需要登录令牌 (authentication required): Authorization: Bearer …",
                           [{"required_role": role}], _CHALLENGE)
        if not principal.can(role):
            raise ApiError(403, "forbidden",
                           f"用户 {principal.name} 的角色 {principal.role} 无权执行此操作，需要 {role} "
                           f"(role {principal.role} may not do this; needs {role})",
                           [{"user": principal.name, "role": principal.role, "required_role": role}])
        return principal

    dependency.__name__ = f"require_{role}"
    return dependency


require_read = require("viewer")
require_analyst = require("analyst")
require_admin = require("admin")
