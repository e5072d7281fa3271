"""Browser sign-in: the form takes the API token once; the cookie then carries only a signed session id.

The session row (``web_sessions``) lives in the store, so sign-ins survive a restart and every server
process sees them; revoking or rotating the user's token ends it at once. The cookie is HttpOnly,
SameSite=Strict and Secure over https.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response

from api.auth import COOKIE, cookie_session_id, identify, session_cookie, token_refusal
from api.store import repository as repo
from api.store.repository import ROLES

__all__ = ["COOKIE", "Forbidden", "NeedsSignIn", "SignIn", "WebUser", "clear_cookie", "current_user",
           "require_user", "session_ended", "set_cookie", "sign_in", "sign_out"]

ROLE_LABELS = {"viewer": "查看", "analyst": "分析", "admin": "管理员", "anonymous": "访客"}
_RANK = {role: rank for rank, role in enumerate(ROLES, start=1)}
SESSION_ENDED = ("您的登录已失效：令牌已被吊销、换发或过期，或登录已超时，请重新登录 "
                 "(your sign-in has ended: the token was revoked, rotated or expired, or the session timed out)")


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


@dataclass(frozen=True)
class SignIn:
    """The outcome of the sign-in form: the user and cookie value, or the Chinese reason for refusing."""

    user: WebUser | None
    cookie: str | None = None
    max_age: int | None = None
    error: str | None = None


def current_user(request: Request) -> WebUser | None:
    """Who is looking at the page: the session's user, an anonymous reader if allowed, else None."""
    principal = identify(request).session
    if principal is not None:
        return WebUser(principal.name, principal.role)
    if getattr(request.app.state.settings, "allow_anonymous_read", False):
        return WebUser("访客", "anonymous")
    return None


def session_ended(request: Request) -> bool:
    """True when the browser sent a genuine session cookie whose session is over (revoked, expired)."""
    return identify(request).session_ended


def require_user(request: Request, role: str = "viewer") -> WebUser:
    """The current user if their role is at least ``role``; raises NeedsSignIn / Forbidden otherwise."""
    user = current_user(request)
    if user is None or (role != "viewer" and not user.signed_in):
        raise NeedsSignIn()
    if not user.can(role):
        raise Forbidden(user, role)
    return user


def sign_in(request: Request, token: str) -> SignIn:
    """Check ``token`` and open a web session for its user (audited); the token itself is never stored."""
    token = token.strip()
    if not token or len(token) > 200:
        return SignIn(None, error=token_refusal(None)[1])
    hours = request.app.state.settings.session_hours
    with request.app.state.engine.begin() as conn:
        owner = repo.token_owner(conn, token)
        refusal = token_refusal(owner)
        if refusal is not None:
            return SignIn(None, error=refusal[1])
        session_id = repo.create_session(conn, owner["id"], hours, owner["expires_at"])
        repo.audit(conn, owner["name"], "sign_in", "user", owner["id"], {"name": owner["name"]})
    seconds = hours * 3600
    if owner["expires_at"] is not None:
        seconds = min(seconds, (owner["expires_at"] - dt.datetime.now(dt.UTC)).total_seconds())
    return SignIn(WebUser(owner["name"], owner["role"]), session_cookie(request, session_id), max(int(seconds), 1))


def sign_out(request: Request) -> None:
    """End the browser's session: its row is deleted (audited), so the cookie is worthless even if kept."""
    session_id = cookie_session_id(request) if request.cookies.get(COOKIE) else None
    if session_id is None:
        return
    principal = identify(request).session  # before the write: one connection at a time
    with request.app.state.engine.begin() as conn:
        user_id = repo.delete_session(conn, session_id)
        if user_id is not None:
            name = principal.name if principal else None
            repo.audit(conn, name, "sign_out", "user", user_id, {"name": name})


def set_cookie(response: Response, request: Request, outcome: SignIn) -> None:
    """Put the session cookie on ``response``: HttpOnly, SameSite=Strict, Secure when the request is https."""
    response.set_cookie(COOKIE, outcome.cookie or "", max_age=outcome.max_age, httponly=True, samesite="strict",
                        path="/", secure=request.url.scheme == "https")


def clear_cookie(response: Response, request: Request) -> None:
    """Remove the session cookie from the browser (same attributes, so every browser drops it)."""
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https")
