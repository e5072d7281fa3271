"""Who is calling, resolved once per request: a token (API) or a signed web-session cookie (pages).

The token comes as ``Authorization: Bearer <token>`` or, for clients that cannot send a bearer header (QGIS's
auth manager, GDAL's ``GDAL_HTTP_AUTH=BASIC``), as HTTP Basic ``<user name>:<token>``; both go through the one
lookup below, and with Basic the user name must be the token's owner.

Roles: viewer (read), analyst (import, evaluate), admin (rule sets, users). Tokens and session ids are kept
hashed in the store; a revoked or expired token, and every session opened with it, is refused on the next
request. :func:`identify` looks the caller up with its own short-lived connection and returns it to the pool
before the route takes its connection (``api.deps.get_conn`` calls it first), so a request never holds two.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from api.errors import ApiError
from api.store import repository as repo
from api.store.repository import ROLES

ROLE_RANK = {role: rank for rank, role in enumerate(ROLES, start=1)}
ANONYMOUS = "anonymous"
COOKIE = "mujun_session"
REALM = "mujun"
# Both schemes offered: a client that can send only Basic (QGIS, GDAL) learns that it may.
_CHALLENGE = {"WWW-Authenticate": f'Bearer realm="{REALM}", Basic realm="{REALM}", charset="UTF-8"'}
_SECRET_NAME = "session_cookie"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user name and role (``anonymous``/``viewer`` for open reads)."""

    name: str
    role: str

    def can(self, role: str) -> bool:
        """True when this principal's role is at least ``role``."""
        return ROLE_RANK.get(self.role, 0) >= ROLE_RANK[role]


@dataclass(frozen=True)
class Caller:
    """The credentials a request carried, each looked up once.

    ``bearer`` is the Authorization header's user when its token is valid, else ``bearer_error`` says why it
    was refused; ``session`` is the cookie's user when its session is live, and ``session_ended`` is True
    when a genuine (signed) cookie came whose session is over: revoked, expired, signed out.
    """

    bearer: Principal | None = None
    bearer_error: ApiError | None = None
    session: Principal | None = None
    session_ended: bool = False


def _day(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "?"


def token_refusal(owner: dict[str, Any] | None) -> tuple[str, str] | None:
    """Why a token is refused, as (code, Chinese message), or None when it is valid; one wording for API and pages."""
    if owner is None:
        return "invalid_token", "令牌无效或已停用，请向管理员索取 (invalid or revoked token)"
    if owner["state"] == "revoked":
        return "token_revoked", (f"令牌已于 {_day(owner['revoked_at'])} 被管理员吊销，请向管理员索取新令牌 "
                                 "(mujun users rotate 用户名) (token revoked)")
    if owner["state"] == "expired":
        return "token_expired", (f"令牌已于 {_day(owner['expires_at'])} 过期，请管理员执行 mujun users rotate "
                                 f"{owner['name']} 换发新令牌 (token expired)")
    return None


# --- signed session cookie ---------------------------------------------------------------------------

def _session_key(request: Request) -> bytes:
    """The cookie-signing key: MUJUN_SESSION_SECRET, else one kept in the store and shared by every process."""
    key = getattr(request.app.state, "session_key", None)
    if key is None:
        secret = request.app.state.settings.session_secret or repo.server_secret(
            request.app.state.engine, _SECRET_NAME)
        key = request.app.state.session_key = hashlib.sha256(secret.encode()).digest()
    return key


def _signature(key: bytes, session_id: str) -> str:
    mac = hmac.new(key, session_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def session_cookie(request: Request, session_id: str) -> str:
    """The cookie value for ``session_id``: ``<id>.<HMAC-SHA256 of the id>``."""
    return f"{session_id}.{_signature(_session_key(request), session_id)}"


def cookie_session_id(request: Request) -> str | None:
    """The session id in the request's cookie if its signature is ours, else None (forged or garbage)."""
    raw = request.cookies.get(COOKIE, "")
    session_id, dot, signature = raw.rpartition(".")
    if not dot or not session_id or len(raw) > 200:
        return None
    if not hmac.compare_digest(signature, _signature(_session_key(request), session_id)):
        return None
    return session_id


# --- one lookup per request ----------------------------------------------------------------------------

_FORMAT_HINT = "Authorization 头格式应为 'Bearer <令牌>' 或 Basic（用户名 + 令牌作密码）(expected Bearer or Basic)"


def _refused(code: str, message: str) -> ApiError:
    return ApiError(401, code, message, [{"header": "Authorization"}], _CHALLENGE)


def _credentials(request: Request) -> tuple[str | None, str | None, ApiError | None]:
    """The token the Authorization header carries, the user name given with it (Basic only), or why the header
    is refused: ``Bearer <token>``, or ``Basic base64(<user name>:<token>)``."""
    header = request.headers.get("authorization", "")
    if not header:
        return None, None, None
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value, None, None
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None, None, _refused("unauthorized", "Basic 认证的内容不是 base64 编码的 用户名:令牌 "
                                        "(Basic credentials must be base64 of user:token)")
        user, colon, token = decoded.partition(":")
        if not colon or not user or not token:
            return None, None, _refused("unauthorized", "Basic 认证应为 用户名:令牌，令牌填在密码处 "
                                        "(Basic credentials must be user:token, the token as the password)")
        return token, user, None
    return None, None, _refused("unauthorized", _FORMAT_HINT)


def identify(request: Request) -> Caller:
    """The request's caller, looked up once (cached on ``request.state``) with a connection held only meanwhile."""
    cached = getattr(request.state, "caller", None)
    if cached is not None:
        return cached
    token, basic_user, error = _credentials(request)
    session_id = cookie_session_id(request) if request.cookies.get(COOKIE) else None
    bearer = session = None
    if token is not None or session_id is not None:
        with request.app.state.engine.connect() as conn:
            owner = repo.token_owner(conn, token) if token is not None else None
            live = repo.session_owner(conn, session_id) if session_id is not None else None
        if token is not None:
            refusal = token_refusal(owner)
            if refusal is None and basic_user is not None and basic_user != owner["name"]:
                refusal = ("invalid_token", f"用户名 {basic_user[:100]} 与令牌不符：Basic 认证请填令牌所属的用户名 "
                           "(the user name does not match the token)")
            if refusal is None:
                bearer = Principal(owner["name"], owner["role"])
            else:
                error = _refused(*refusal)
        if live is not None:
            session = Principal(live["name"], live["role"])
    caller = Caller(bearer, error, session, session_ended=session_id is not None and session is None)
    request.state.caller = caller
    return caller


def require(role: str) -> Callable[[Request], Principal]:
    """A FastAPI dependency admitting callers with at least ``role`` (reads may be opened by a setting)."""
    if role not in ROLE_RANK:
        raise ValueError(f"unknown role {role!r}")

    def dependency(request: Request) -> Principal:
        caller = identify(request)
        if caller.bearer_error is not None:
            raise caller.bearer_error
        principal = caller.bearer
        if principal is None:
            if role == "viewer" and request.app.state.settings.allow_anonymous_read:
                return Principal(ANONYMOUS, "viewer")
            raise ApiError(401, "unauthorized",
                           "需要登录令牌 (authentication required): Authorization: Bearer <令牌>，"
                           "或 Basic（用户名 + 令牌作密码）", [{"required_role": role}], _CHALLENGE)
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
