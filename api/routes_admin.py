"""Admin endpoints: users and their tokens (issue, revoke, rotate; a token is shown once) and the audit log."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from api.deps import Admin, Conn
from api.errors import error_responses
from api.schemas import In, Out, TokenState, UtcTime
from api.store import repository as repo

router = APIRouter(tags=["管理 admin"])

UserName = Annotated[str, Path(min_length=1, max_length=100, description="用户名 (user name)")]
ExpiresDays = Field(
    default=None, ge=0, le=repo.MAX_TOKEN_DAYS,
    description="令牌有效天数，0 = 永不过期；不填则用 MUJUN_TOKEN_DAYS (days the token is valid; 0 = never)",
)


# A name the store accepts (1–100 printable characters once trimmed), narrowed to characters a JSON Schema
# pattern can name: visible ASCII, Latin letters with accents, CJK ideographs and the 间隔号 of names like
# 阿卜杜·热合曼, spaces inside. (Printable is a Unicode property no OpenAPI pattern can express.)
_NAME_CHAR = "!-~\u00b7\u00c0-\u024f\u3400-\u4dbf\u4e00-\u9fff"
USER_NAME_PATTERN = f"^ *[{_NAME_CHAR}]([{_NAME_CHAR} ]*[{_NAME_CHAR}])? *$"


class NewUser(In):
    """A user to create."""

    name: str = Field(min_length=1, max_length=100, pattern=USER_NAME_PATTERN,
                      description="用户名：ASCII 可见字符、带重音的拉丁字母、汉字、间隔号 ·，中间可有空格")
    role: Literal["viewer", "analyst", "admin"] = "viewer"
    expires_days: int | None = ExpiresDays


class Rotation(In):
    """How long the new token is valid."""

    expires_days: int | None = ExpiresDays


class UserOut(Out):
    """A user and the state of their token (never the token or its hash)."""

    id: int
    name: str
    role: str
    active: bool
    state: TokenState = Field(description="令牌状态：有效/已吊销/已过期")
    created_at: UtcTime
    expires_at: UtcTime | None = Field(description="令牌过期时间，空 = 永不过期 (UTC)")
    revoked_at: UtcTime | None


class IssuedToken(UserOut):
    """A user with the bearer token just issued: shown this once, only its hash is stored."""

    token: str


class UserList(Out):
    """Every user."""

    users: list[UserOut]


class AuditEntry(Out):
    """One write to the store."""

    id: int
    at: UtcTime
    actor: str | None
    action: str
    entity: str
    entity_id: str | None
    details: dict[str, Any] | None


class AuditLog(Out):
    """The latest writes, newest first."""

    audit: list[AuditEntry]


def _days(request: Request, requested: int | None) -> int:
    return request.app.state.settings.token_days if requested is None else requested


def _issued(token: str, user: dict[str, Any], status_code: int) -> JSONResponse:
    body = IssuedToken(token=token, **user).model_dump(mode="json")
    return JSONResponse(body, status_code=status_code, headers={"Cache-Control": "no-store"})


@router.post("/users", status_code=201, response_model=IssuedToken,
             summary="新增用户 (add a user; returns its token once)",
             responses=error_responses(400, 401, 403, 409, 413))
def add_user(body: NewUser, request: Request, user: Admin) -> JSONResponse:
    """Create a user and return its bearer token (only now; it is stored hashed)."""
    with request.app.state.engine.begin() as conn:
        token = repo.add_user(conn, body.name, body.role, actor=user.name,
                              expires_days=_days(request, body.expires_days))
        created = repo.get_user(conn, body.name.strip())
    return _issued(token, created, 201)


@router.post("/users/{name}/revoke", response_model=UserOut, summary="吊销令牌 (revoke a user's token)",
             responses=error_responses(400, 401, 403, 404))
def revoke_user(name: UserName, request: Request, user: Admin) -> dict[str, Any]:
    """Revoke the token now: API calls with it get 401 and the user's web sessions end; idempotent."""
    with request.app.state.engine.begin() as conn:
        return repo.revoke_user(conn, name, actor=user.name)


@router.post("/users/{name}/rotate", response_model=IssuedToken,
             summary="换发令牌 (rotate: a new token, shown once; the old one stops working)",
             responses=error_responses(400, 401, 403, 404, 413))
def rotate_token(name: UserName, request: Request, user: Admin,
                 body: Annotated[Rotation | None, Body()] = None) -> JSONResponse:
    """Issue a new token (re-activating a revoked user); the old token and the user's web sessions end now."""
    days = _days(request, body.expires_days if body else None)
    with request.app.state.engine.begin() as conn:
        token, rotated = repo.rotate_token(conn, name, actor=user.name, expires_days=days)
    return _issued(token, rotated, 200)


@router.get("/users", response_model=UserList, summary="用户列表 (users)", responses=error_responses(401, 403))
def list_users(conn: Conn, _user: Admin) -> dict[str, Any]:
    """Users, roles and token states (never tokens)."""
    return {"users": repo.list_users(conn)}


@router.get("/audit", summary="审计日志 (audit log)", response_model=AuditLog,
            responses=error_responses(400, 401, 403))
def audit_log(conn: Conn, _user: Admin,
              limit: Annotated[int, Query(description="条数，限于 1–1000 (entries; clamped to 1–1000)")] = 100
              ) -> dict[str, Any]:
    """The latest writes: who, when, what."""
    return {"audit": repo.list_audit(conn, min(max(limit, 1), 1000))}
