"""CLI commands for users and their tokens: ``mujun users add/list/revoke/rotate``.

A token is printed once, on stdout alone (so ``TOKEN=$(mujun users add …)`` works); everything else goes to
stderr. The store keeps only its hash; every change is in the audit log with actor ``cli``.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console

from api.cli_core import _fail

console = Console(stderr=True)

users_app = typer.Typer(help="用户与令牌 (users and tokens)", no_args_is_help=True)

STATE_LABELS = {"active": "有效", "revoked": "已吊销", "expired": "已过期"}
ExpiresDays = Annotated[
    int | None,
    typer.Option("--expires-days", min=0, help="令牌有效天数，0 = 永不过期；默认 MUJUN_TOKEN_DAYS (90)"),
]



def _days(requested: int | None) -> int:
    from api.settings import get_settings

    return get_settings().token_days if requested is None else requested


def _expiry_text(user: dict[str, Any]) -> str:
    expires = user["expires_at"]
    return "永不过期 (never expires)" if expires is None else f"{expires:%Y-%m-%d %H:%M} UTC 过期 (expires)"


def _print_token(token: str) -> None:
    console.print("令牌只显示这一次，请妥善保存 (the token is shown only once):", highlight=False)
    typer.echo(token)


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="用户名")],
    role: Annotated[str, typer.Option(help="viewer 只读 / analyst 导入评估 / admin 规则集用户")] = "viewer",
    expires_days: ExpiresDays = None,
) -> None:
    """新增用户并打印其令牌（只显示一次）(add a user; its token is printed once, stored hashed)."""
    from api.store.engine import get_engine
    from api.store.errors import StoreError
    from api.store.repository import add_user, get_user

    try:
        with get_engine().begin() as conn:
            token = add_user(conn, name, role, actor="cli", expires_days=_days(expires_days))
            user = get_user(conn, name.strip())
    except StoreError as exc:
        _fail(exc.message)
    console.print(f"已创建用户 {user['name']}（角色 {role}），令牌{_expiry_text(user)}。", highlight=False)
    _print_token(token)


@users_app.command("list")
def users_list() -> None:
    """列出用户及令牌状态 (list users and their token state; tokens are never shown)."""
    from api.store.engine import get_engine
    from api.store.repository import list_users

    with get_engine().connect() as conn:
        users = list_users(conn)
    for u in users:
        expires = "never" if u["expires_at"] is None else f"{u['expires_at']:%Y-%m-%d}"
        typer.echo(f"{u['id']}\t{u['name']}\t{u['role']}\t{u['state']} {STATE_LABELS[u['state']]}\t"
                   f"expires {expires}")


@users_app.command("revoke")
def users_revoke(name: Annotated[str, typer.Argument(help="用户名")]) -> None:
    """吊销用户的令牌，其网页登录同时失效 (revoke a user's token; their web sessions end at once)."""
    from api.store.engine import get_engine
    from api.store.errors import StoreError
    from api.store.repository import get_user, revoke_user

    try:
        with get_engine().begin() as conn:
            was = get_user(conn, name)["state"]
            revoke_user(conn, name, actor="cli")
    except StoreError as exc:
        _fail(exc.message)
    if was == "revoked":
        console.print(f"用户 {name} 的令牌此前已吊销，未作改动 (already revoked; nothing changed)", highlight=False)
    else:
        console.print(f"已吊销用户 {name} 的令牌，其网页登录已结束；换发新令牌：mujun users rotate {name} "
                      "(token revoked, web sessions ended)", highlight=False)


@users_app.command("rotate")
def users_rotate(name: Annotated[str, typer.Argument(help="用户名")], expires_days: ExpiresDays = None) -> None:
    """换发新令牌并打印（只显示一次），旧令牌与网页登录立即失效 (new token, printed once; the old one stops)."""
    from api.store.engine import get_engine
    from api.store.errors import StoreError
    from api.store.repository import rotate_token

    try:
        with get_engine().begin() as conn:
            token, user = rotate_token(conn, name, actor="cli", expires_days=_days(expires_days))
    except StoreError as exc:
        _fail(exc.message)
    console.print(f"已为用户 {name} 换发令牌，旧令牌与网页登录已失效；新令牌{_expiry_text(user)}。", highlight=False)
    _print_token(token)


def register(app: typer.Typer) -> None:
    """Register the ``users`` command group on the ``mujun`` app."""
    app.add_typer(users_app, name="users")
