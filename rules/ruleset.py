"""Rule sets as data: a YAML file validated into pydantic models.

Every threshold, date, list and citation lives in the YAML. ``parse_ruleset`` collects every problem of a
file (YAML syntax, unknown keys, wrong types, unknown rule kinds, bad parameters, missing message
templates, template fields a kind does not offer, unknown citations) with its YAML path and line, and
raises one :class:`RuleSetError` listing them all.
"""

from __future__ import annotations

import hashlib
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from rules.errors import RuleSetError
from rules.kinds import KINDS
from rules.messages import template_fields
from rules.vocabulary import legend

BUILTIN_DIR = Path(__file__).parent / "rulesets"


class LandUseCodes(BaseModel):
    """Which 用地分类 codes count as industrial: exact codes and code prefixes."""

    model_config = ConfigDict(extra="forbid")
    exact: list[str]
    prefixes: list[str] = []


class Parameters(BaseModel):
    """Rule-set-wide parameters shared by several rules."""

    model_config = ConfigDict(extra="allow")
    industrial_land_use: LandUseCodes
    membership_share: float = Field(0.5, gt=0, le=1)
    straddle_min: float = Field(0.01, ge=0, lt=1)
    straddle_max: float = Field(0.99, gt=0, le=1)
    above_scale_revenue_10k: float = Field(2000.0, ge=0)
    park_adjacent_m: float = Field(50.0, ge=0)
    block_gap_m: float = Field(30.0, ge=0)
    block_min_mu: float = Field(50.0, ge=0)


class RuleSpec(BaseModel):
    """One rule: its stable id, kind, level, Chinese title, citation, parameters and message templates."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z_]+(\.[a-z0-9_]+)*$")
    kind: str
    level: Literal["parcel", "enterprise", "aggregate"]
    title: str
    citation: str
    params: dict[str, Any] = {}
    messages: dict[str, str]
    enabled: bool = True

    _params: BaseModel | None = PrivateAttr(default=None)

    @property
    def p(self) -> Any:
        """The validated parameter model of this rule's kind."""
        return self._params


class RuleSet(BaseModel):
    """A versioned rule set."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    version: str
    title: str
    effective_from: date
    effective_to: date | None = None
    parameters: Parameters
    citations: dict[str, str] = {}
    rules: list[RuleSpec]

    _yaml_text: str = PrivateAttr(default="")
    _source: str = PrivateAttr(default="")

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, (int, float)) else v

    @property
    def yaml_text(self) -> str:
        """The YAML text the rule set was parsed from."""
        return self._yaml_text

    @property
    def source(self) -> str:
        """Where the rule set came from (a built-in id or a file path)."""
        return self._source

    @cached_property
    def sha256(self) -> str:
        """SHA-256 of the YAML text: identifies exactly which rules a run used."""
        return hashlib.sha256(self._yaml_text.encode("utf-8")).hexdigest()

    def rule(self, rule_id: str) -> RuleSpec:
        """The rule with id ``rule_id`` (``KeyError`` if absent)."""
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    def citation_text(self, rule: RuleSpec) -> str:
        """A rule's citation, resolved through the ``citations`` table when it names a key."""
        return self.citations.get(rule.citation, rule.citation)

    def units(self) -> dict[str, str]:
        """Rule id → the unit its verdicts' ``value`` is measured in (declared by each rule kind)."""
        return {r.id: KINDS[r.kind].unit for r in self.rules if r.kind in KINDS}

    def legend(self) -> dict[str, Any]:
        """Names, colours and units for maps and pages (:func:`rules.vocabulary.legend`)."""
        return legend(self.rules, self.units())

    def header(self) -> dict[str, str]:
        """``{"id", "version", "sha256"}`` as the output contract has it."""
        return {"id": self.id, "version": self.version, "sha256": self.sha256}


def builtin_rulesets() -> list[str]:
    """Ids of the rule sets shipped with mujun."""
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))


def load_ruleset(id_or_path: str | Path) -> RuleSet:
    """Load a built-in rule set by id (``chengdu-2023``) or a YAML file by path.

    Examples
    --------
    >>> rs = load_ruleset("chengdu-2023")
    >>> rs.rule("far.bounds").p.inside_ring.min
    2.0
    """
    text_id = str(id_or_path)
    builtin = BUILTIN_DIR / f"{text_id}.yaml"
    if builtin.is_file() and "/" not in text_id:
        path = builtin
    else:
        path = Path(id_or_path)
        if not path.is_file():
            known = "、".join(builtin_rulesets())
            raise RuleSetError(
                text_id, [("", f"找不到规则集：既不是内置规则集（{known}）也不是存在的文件 (no such rule set or file)")]
            )
    return parse_ruleset(path.read_text(encoding="utf-8"), source=str(path))


def _line_index(text: str) -> dict[tuple, int]:
    """Map YAML paths (tuples of keys/indexes) to 1-based line numbers."""
    lines: dict[tuple, int] = {}
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return lines

    def walk(node: Any, path: tuple) -> None:
        lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                lines[path + (k.value,)] = k.start_mark.line + 1
                walk(v, path + (k.value,))
                lines.setdefault(path + (k.value,), k.start_mark.line + 1)
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                walk(v, path + (i,))

    if root is not None:
        walk(root, ())
    return lines


def _path_text(path: tuple, lines: dict[tuple, int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    probe = path
    while probe and probe not in lines:
        probe = probe[:-1]
    line = lines.get(probe)
    return f"{text or '(top)'} (第 {line} 行)" if line else (text or "(top)")


def parse_ruleset(text: str, source: str = "<rule set>") -> RuleSet:
    """Parse and validate a rule set's YAML text; raise :class:`RuleSetError` listing every problem."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行" if mark else "(top)"
        raise RuleSetError(source, [(where, f"YAML 语法错误 (YAML syntax error): {exc}")]) from None
    if not isinstance(data, dict):
        raise RuleSetError(source, [("(top)", "规则集应是一个 YAML 映射 (a rule set is a YAML mapping)")])
    lines = _line_index(text)
    problems: list[tuple[str, str]] = []
    try:
        ruleset = RuleSet.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            problems.append((_path_text(tuple(err["loc"]), lines), err["msg"]))
        raise RuleSetError(source, problems) from None

    seen: set[str] = set()
    for i, rule in enumerate(ruleset.rules):
        base = ("rules", i)
        if rule.id in seen:
            problems.append((_path_text(base + ("id",), lines), f"规则 id 重复 (duplicate rule id): {rule.id}"))
        seen.add(rule.id)
        kind = KINDS.get(rule.kind)
        if kind is None:
            known = ", ".join(sorted(KINDS))
            problems.append(
                (_path_text(base + ("kind",), lines), f"未知的规则类型 (unknown kind) '{rule.kind}'; known: {known}")
            )
            continue
        if kind.level != rule.level:
            problems.append(
                (_path_text(base + ("level",), lines), f"kind '{rule.kind}' is {kind.level}-level, not {rule.level}")
            )
        try:
            rule._params = kind.params.model_validate(rule.params)
        except ValidationError as exc:
            for err in exc.errors():
                problems.append((_path_text(base + ("params",) + tuple(err["loc"]), lines), err["msg"]))
        for key in kind.messages:
            if key not in rule.messages:
                problems.append(
                    (_path_text(base + ("messages",), lines), f"缺少消息模板 (missing message template) '{key}'")
                )
        for key, template in rule.messages.items():
            where = _path_text(base + ("messages", key), lines)
            try:
                unknown = sorted(set(template_fields(template)) - kind.fields)
            except ValueError as exc:
                problems.append((where, f"模板格式错误 (malformed template): {exc}"))
                continue
            if unknown:
                offered = ", ".join(sorted(kind.fields))
                problems.append(
                    (where, f"模板使用了未知字段 (unknown field) {unknown}; '{rule.kind}' offers: {offered}")
                )
        if rule.citation not in ruleset.citations and not any(ch in rule.citation for ch in "《（"):
            problems.append(
                (_path_text(base + ("citation",), lines), f"未知的引用 (unknown citation key) '{rule.citation}'")
            )
    if ruleset.effective_to and ruleset.effective_to < ruleset.effective_from:
        problems.append((_path_text(("effective_to",), lines), "effective_to is before effective_from"))
    if ruleset.parameters.straddle_min >= ruleset.parameters.straddle_max:
        problems.append((_path_text(("parameters",), lines), "straddle_min must be below straddle_max"))
    if problems:
        raise RuleSetError(source, problems)
    ruleset._yaml_text = text
    ruleset._source = source
    return ruleset
