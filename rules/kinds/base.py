"""The rule-kind registry and the decision-table builder that every kind uses.

A rule kind is a small function ``fn(ctx, rule) -> Outcome`` registered by name with the pydantic model of
its parameters, the message keys it needs and the template fields it offers. A kind is written as an ordered
list of cases, each a boolean mask over all subjects at once: the first case that matches a subject decides
its status, code, value, threshold and message. No per-parcel Python.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from rules.messages import render, template_fields
from rules.vocabulary import STATUSES

if TYPE_CHECKING:
    from rules.ruleset import RuleSpec

Level = Literal["parcel", "enterprise", "aggregate"]
STATUS_CODE = {name: i for i, name in enumerate(STATUSES)}
_STATUS_NAMES = np.array(STATUSES, dtype=object)


class NoParams(BaseModel):
    """Parameters of a kind that takes none."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class KindSpec:
    """A registered rule kind."""

    name: str
    func: Callable[..., Any]
    level: Level
    params: type[BaseModel]
    messages: tuple[str, ...]
    fields: frozenset[str]
    # A parcel-level kind may also judge enterprises (per_mu.*): ``fn(ctx, rule) -> (ids, Outcome)``.
    enterprise: Callable[..., Any] | None = None
    # What ``value`` measures, a key of ``rules.vocabulary.UNIT_FORMATS`` ("" = a plain ratio such as FAR).
    unit: str = ""
    # What other kinds may read of this kind's outcome (name → function of the Outcome), and what this kind
    # reads of others (names): the engine runs providers first and hands the values over in ``ctx.provided``.
    provides: Mapping[str, Callable[[Outcome], Any]] = field(default_factory=dict)
    needs: tuple[str, ...] = ()
    # Columns an enterprise-level kind adds to the enterprise table (the 亩产论英雄 score and grade).
    firm_columns: Callable[[Outcome], Mapping[str, Any]] | None = None
    # Zone layers the kind always overlays (besides any its parameters name), so the engine can overlay them
    # all side by side before the rules run.
    layers: tuple[str, ...] = ()


KINDS: dict[str, KindSpec] = {}


def also_for_enterprises(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Attach an enterprise-level judgement to the already registered kind ``name`` (decorator)."""

    def deco(func: Callable[..., Any]) -> Callable[..., Any]:
        KINDS[name] = replace(KINDS[name], enterprise=func)
        return func

    return deco


def register(
    name: str,
    *,
    level: Level,
    messages: tuple[str, ...],
    fields: tuple[str, ...] = (),
    params: type[BaseModel] = NoParams,
    unit: str = "",
    provides: Mapping[str, Callable[[Outcome], Any]] | None = None,
    needs: tuple[str, ...] = (),
    firm_columns: Callable[[Outcome], Mapping[str, Any]] | None = None,
    layers: tuple[str, ...] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a rule kind under ``name`` (decorator); ``unit`` is what its verdicts' ``value`` measures,
    ``provides``/``needs`` what it hands to or reads from other kinds, ``firm_columns`` what it adds to the
    enterprise table."""

    def deco(func: Callable[..., Any]) -> Callable[..., Any]:
        KINDS[name] = KindSpec(
            name, func, level, params, messages, frozenset(fields) | {"value"}, unit=unit,
            provides=dict(provides or {}), needs=needs, firm_columns=firm_columns, layers=layers,
        )
        return func

    return deco


@dataclass
class Outcome:
    """Verdicts of one rule for ``n`` subjects, filled case by case (first matching case wins)."""

    rule: "RuleSpec"
    n: int
    status_code: np.ndarray = field(init=False)
    code: np.ndarray = field(init=False)
    value: np.ndarray = field(init=False)
    threshold: np.ndarray = field(init=False)
    message: np.ndarray = field(init=False)
    open: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.status_code = np.full(self.n, -1, dtype=np.int8)
        self.code = np.full(self.n, None, dtype=object)
        self.value = np.full(self.n, np.nan)
        self.threshold = np.full(self.n, None, dtype=object)
        self.message = np.full(self.n, None, dtype=object)
        self.open = np.ones(self.n, dtype=bool)

    def case(
        self,
        mask: np.ndarray | bool,
        status: str,
        message: str,
        *,
        code: str | np.ndarray | None = None,
        value: np.ndarray | float | None = None,
        threshold: dict | np.ndarray | None = None,
        **variables: Any,
    ) -> np.ndarray:
        """Decide the still-open subjects in ``mask``; ``message`` is the key of the rule's template.

        Array arguments have length ``n``; they are cut to the matching subjects here. Returns the mask of
        subjects this case decided.
        """
        m = np.broadcast_to(np.asarray(mask, dtype=bool), (self.n,)) & self.open
        # the decided rows as positions: every array below is cut once per case in O(rows decided)
        idx = np.flatnonzero(m)
        k = len(idx)
        if k == 0:
            return m
        self.open[idx] = False
        self.status_code[idx] = STATUS_CODE[status]
        self.code[idx] = code[idx] if isinstance(code, np.ndarray) else code
        if value is not None:
            self.value[idx] = value[idx] if isinstance(value, np.ndarray) else value
        if threshold is not None:
            if isinstance(threshold, np.ndarray):
                self.threshold[idx] = threshold[idx]
            else:
                cell = np.empty(1, dtype=object)
                cell[0] = threshold
                self.threshold[idx] = cell
        template = self.rule.messages[message]
        used = set(template_fields(template))
        v = {key: (val[idx] if isinstance(val, np.ndarray) else val) for key, val in variables.items() if key in used}
        if "value" in used:
            v["value"] = self.value[idx]
        self.message[idx] = render(template, k, v)
        return m

    def rest(self, status: str, message: str, **kwargs: Any) -> np.ndarray:
        """Decide every subject still open."""
        return self.case(np.ones(self.n, dtype=bool), status, message, **kwargs)

    @property
    def status(self) -> np.ndarray:
        """Status names (object array); ``status_code`` indexes :data:`STATUSES`."""
        return _STATUS_NAMES[self.status_code]

    def finish(self) -> "Outcome":
        """Check that every subject was decided (a kind that leaves one open is a bug)."""
        if self.open.any():
            raise AssertionError(f"rule {self.rule.id}: {int(self.open.sum())} subjects left undecided")
        return self
