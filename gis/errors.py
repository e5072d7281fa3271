"""Errors raised by gis/: one base class, a subclass per kind, messages a planner can act on.

Every error names the file (``.path``), the offending feature/row ids (``.ids``) and what to do (``.hint``).
An error that gathers several problems (a whole file, or every file of a load) lists them in ``.problems``
so the user can fix everything at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

MAX_IDS_SHOWN = 20


def format_ids(ids: Sequence[str], limit: int = MAX_IDS_SHOWN) -> str:
    """Render ids as ``A, B, C`` showing the first ``limit`` and the total when there are more."""
    ids = [str(i) for i in ids]
    if len(ids) <= limit:
        return ", ".join(ids)
    return ", ".join(ids[:limit]) + f" …（共 {len(ids)} 个 / {len(ids)} in total）"


class GisError(Exception):
    """Base of every gis/ error: a message plus the file, the offending ids and a hint."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        ids: Iterable[str] | None = None,
        hint: str | None = None,
        problems: Sequence[GisError] | None = None,
    ) -> None:
        self.message = message
        self.path = path
        self.ids: list[str] = [str(i) for i in ids] if ids is not None else []
        self.hint = hint
        self.problems: list[GisError] = list(problems) if problems else []
        super().__init__(self._render())

    def _render(self) -> str:
        head = f"{self.path}: {self.message}" if self.path else self.message
        if self.ids:
            head += f": {format_ids(self.ids)}"
        if self.hint:
            head += f" — {self.hint}"
        if self.problems:
            head += "".join(f"\n  - {p}" for p in self.problems)
        return head


class InputFileError(GisError):
    """A file that is missing, unreadable, of an unsupported format, or lacks a required layer/column."""


class CrsError(GisError):
    """A layer without a CRS, or whose coordinates contradict its CRS."""


class ValidationError(GisError):
    """Bad content: geometries, ids, dates, numbers, codes."""


def combine(problems: Sequence[GisError], *, path: str | None = None) -> GisError:
    """Turn a list of problems into one raisable error (the problem itself when there is only one)."""
    problems = [q for p in problems for q in (p.problems or [p])]
    if len(problems) == 1:
        return problems[0]
    kinds = {type(p) for p in problems}
    cls: type[GisError] = kinds.pop() if len(kinds) == 1 else ValidationError
    return cls(f"发现 {len(problems)} 个问题，请一并修正 ({len(problems)} problems found; fix them all)",
               path=path, problems=problems)
