"""Shared FastAPI dependencies: the store connection and typed query parameters that resolve or raise."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy import Connection

from api.settings import Settings


def get_conn(request: Request) -> Iterator[Connection]:
    """A connection to the store for the duration of one request."""
    with request.app.state.engine.connect() as conn:
        yield conn


def get_settings_dep(request: Request) -> Settings:
    """The settings the app was built with."""
    return request.app.state.settings


def _auth_aliases() -> tuple[object, object, object]:
    from api.auth import Principal, require_admin, require_analyst, require_read

    return (Annotated[Principal, Depends(require_read)], Annotated[Principal, Depends(require_analyst)],
            Annotated[Principal, Depends(require_admin)])


Conn = Annotated[Connection, Depends(get_conn)]
MAX_ID = 2**31 - 1  # PostgreSQL integer; larger numbers are refused as bad input, not a database error
RowId = Annotated[int, Path(ge=1, le=MAX_ID, description="编号 (id)")]
AppSettings = Annotated[Settings, Depends(get_settings_dep)]
Reader, Analyst, Admin = _auth_aliases()
