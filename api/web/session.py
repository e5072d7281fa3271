"""Browser sign-in: a form takes the API token and keeps it in an HttpOnly, SameSite=Strict cookie."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from api.store.repository import ROLES, user_for_token

COOKIE = "mujun_session"
ROLE_LABELS = {"viewer": "查看", "analyst": "分析", "admin": "管理员", "anonymous": "访客"}
_RANK = {role: rank for rank, role in enumerate(ROLES, start=1)}


@dataclass(frozen=True)
class WebUser:
    """The signed-in person: name and role (anonymous viewers when reads are open)."""

    name: str
    role: str

    def can(self, role: str) -> bool:
        """True when this user's role is at least ``role`` (viewer < analyst < admin)."""
        return _RANK.get(self.role, 1 if self.role == "anonymous" else 0) >= _RANK[role]

    @property
    def signed_in(self) -> bool:
        """False for the anonymous reader."""
        return self.role != "anonymous"

    @property
    def role_label(self) -> str:
        """The role in Chinese."""
        return ROLE_LABELS.get(self.role, self.role)


class NeedsSignIn(Exception):
    """The page needs a signed-in user (redirect to the sign-in form)."""


class Forbidden(Exception):
    """The signed-in user's role may not do this."""

    def __init__(self, user: WebUser, role: str) -> None:
        self.user = user
        self.role = role
        super().__init__(f"{user.name} ({user.role}) needs {role}")


def token_user(request: Request, token: str) -> WebUser | None:
    """The active user holding ``token`` in the store, or None."""
    with request.app.state.engine.connect() as conn:
        row = user_for_token(conn, token.strip())
    return WebUser(row["name"], row["role"]) if row else None


def current_user(request: Request) -> WebUser | None:
    """Who is looking at the page: the cookie's user, an anonymous reader if allowed, else None."""
    token = request.cookies.get(COOKIE)
    if token:
        user = token_user(request, token)
        if user is not None:
            return user
    if getattr(request.app.state.settings, "allow_anonymous_read", False):
        return WebUser("访客", "anonymous")
    return None


def require_user(request: Request, role: str = "viewer") -> WebUser:
    """The current user if their role is at least ``role``; raises NeedsSignIn / Forbidden otherwise."""
    user = current_user(request)
    if user is None or (role != "viewer" and not user.signed_in):
        raise NeedsSignIn()
    if not user.can(role):
        raise Forbidden(user, role)
    return user
