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
