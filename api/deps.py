"""Shared FastAPI dependencies: the store connection and typed query parameters that resolve or raise."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Connection


async def get_conn(request: Request) -> AsyncIterator[Connection]:
    """A connection to the store for the duration of one request.

    The caller is identified first, with a connection of its own that is back in the pool before this one is
    taken, so a request never holds two (with both held, 24 concurrent readers emptied the old 8+8 pool and
    every one waited for the others). And a dependency's connection is held across the request's thread
    hops, so at most half the pool is lent this way; the rest of the requests wait here, in the event loop,
    not in a worker thread. (Worker threads blocked on an empty pool cannot run the requests that would give
    a connection back: 100 readers starved the server that way.)
    """
    from api.auth import identify

    await run_in_threadpool(identify, request)
    async with _request_slots(request):
        conn = await run_in_threadpool(request.app.state.engine.connect)
        try:
            yield conn
        finally:
            await run_in_threadpool(conn.close)


def _request_slots(request: Request) -> asyncio.Semaphore:
    """The app's gate for requests holding a dependency's connection: half the pool's base size."""
    slots = getattr(request.app.state, "request_slots", None)
    if slots is None:  # made in the event loop's thread, so no two requests race here
        size = request.app.state.engine.pool.size()
        slots = request.app.state.request_slots = asyncio.Semaphore(max(1, size // 2))
    return slots


def _auth_aliases() -> tuple[object, object, object]:
    from api.auth import Principal, require_admin, require_analyst, require_read

    return (Annotated[Principal, Depends(require_read)], Annotated[Principal, Depends(require_analyst)],
            Annotated[Principal, Depends(require_admin)])


Conn = Annotated[Connection, Depends(get_conn)]
MAX_ID = 2**31 - 1  # PostgreSQL integer; larger numbers are refused as bad input, not a database error
RowId = Annotated[int, Path(ge=1, le=MAX_ID, description="编号 (id)")]
Reader, Analyst, Admin = _auth_aliases()
