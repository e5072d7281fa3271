"""Errors raised by the store; ``api/errors.py`` maps them to HTTP status codes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class StoreError(Exception):
    """Base of every store error: a stable ``code``, a Chinese ``message``, ``details`` naming rows/fields."""

    code = "store_error"

    def __init__(self, message: str, *, details: Sequence[Any] | None = None,
                 code: str | None = None) -> None:
        self.message = message
        self.details: list[Any] = list(details or [])
        if code:
            self.code = code
        super().__init__(message)

    def __str__(self) -> str:
        """The message and one line per detail, in words (what the CLI prints)."""
        return "\n".join([self.message, *(f"  - {_detail_text(d)}" for d in self.details)])


_DETAIL_LABELS = {"file": "文件", "layer": "图层", "field": "字段", "limit": "上限", "length": "最长",
                  "count": "个数", "rows": "行", "ids": "编号"}


def _detail_text(detail: Any) -> str:
    if not isinstance(detail, dict):
        return str(detail)
    head = detail.get("problem") or detail.get("message") or ""
    parts = []
    for key, value in detail.items():
        if key in ("problem", "message"):
            continue
        if isinstance(value, list | tuple):
            value = "、".join(str(v) for v in value[:10]) + (" …" if len(value) > 10 else "")
        parts.append(f"{_DETAIL_LABELS.get(key, key)} {value}")
    return f"{head}（{'；'.join(parts)}）" if head and parts else head or "；".join(parts)


class NotFound(StoreError):
    """The dataset, run, rule set, feature or user asked for does not exist."""

    code = "not_found"


class Conflict(StoreError):
    """The write would contradict what is stored (an immutable rule set version, a duplicate user)."""

    code = "conflict"


class ImportRejected(StoreError):
    """An import that cannot be stored as given; nothing was written."""

    code = "import_rejected"


class BadQuery(StoreError):
    """A query the store cannot answer as asked: an unknown property, a bad filter or cursor (400)."""

    code = "invalid_parameter"
