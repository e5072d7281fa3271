"""Read a rule set as rows and compare two versions (rules added, removed, parameters changed), in words."""

from __future__ import annotations

from typing import Any

from gis.vocabulary import display_value
from rules.vocabulary import message_label, param_label, param_text

HEADER_LABELS = {"version": "版本", "title": "名称", "effective_from": "施行日期", "effective_to": "废止日期"}


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as ``{"a.b.c": value}`` (lists kept whole) for a table of parameters."""
    if hasattr(value, "model_dump"):
        value = value.model_dump()
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def parameter_rows(params: Any, unit: str = "") -> list[dict[str, str]]:
    """Parameters as ``[{"label": "成片间距", "text": "30 米"}, …]`` (one row per top-level key)."""
    if hasattr(params, "model_dump"):
        params = params.model_dump()
    return [{"label": param_label(k), "text": param_text(k, v, unit)} for k, v in (params or {}).items()]


def diff_rulesets(a: Any, b: Any) -> dict[str, Any]:
    """What changed from rule set ``a`` to ``b``: header, shared parameters, and per-rule changes (in words)."""
    header = [
        (HEADER_LABELS[name], _word(getattr(a, name)), _word(getattr(b, name)))
        for name in HEADER_LABELS
        if getattr(a, name) != getattr(b, name)
    ]
    params = _changes(flatten(a.parameters), flatten(b.parameters), words=lambda k, v: param_text(k, v),
                      label=param_label)
    ra = {r.id: r for r in a.rules}
    rb = {r.id: r for r in b.rules}
    ua, ub = a.units(), b.units()
    added = [rb[i] for i in rb if i not in ra]
    removed = [ra[i] for i in ra if i not in rb]
    changed = []
    for rule_id in (i for i in rb if i in ra):
        x, y = ra[rule_id], rb[rule_id]
        unit = ub.get(rule_id) or ua.get(rule_id, "")
        rows = _changes(flatten(x.params), flatten(y.params), words=lambda k, v, u=unit: param_text(k, v, u),
                        label=lambda k: "参数 " + param_label(k))
        rows += _changes(
            {"标题": x.title, "启用": x.enabled, "依据": a.citation_text(x)},
            {"标题": y.title, "启用": y.enabled, "依据": b.citation_text(y)},
        )
        rows += _changes({"类型": x.kind}, {"类型": y.kind}, code=True)
        rows += _changes(flatten(x.messages), flatten(y.messages), label=lambda k: f"提示语（{message_label(k)}）",
                         code=True)
        if rows:
            changed.append({"rule": y, "rows": rows})
    return {
        "header": header,
        "parameters": params,
        "added": added,
        "removed": removed,
        "changed": changed,
        "same": a.sha256 == b.sha256,
    }


def _word(value: Any) -> str:
    return display_value(value) or "—"


def _changes(
    x: dict[str, Any],
    y: dict[str, Any],
    *,
    words: Any = None,
    label: Any = None,
    code: bool = False,
) -> list[dict[str, Any]]:
    """Rows ``{"key", "before", "after", "code"}`` for the keys whose value differs (values in words)."""
    rows = []
    for key in [*x, *(k for k in y if k not in x)]:
        if x.get(key) == y.get(key):
            continue
        before = "（无）" if key not in x else (words(key, x[key]) if words else _word(x[key]))
        after = "（无）" if key not in y else (words(key, y[key]) if words else _word(y[key]))
        rows.append({"key": label(key) if label else key, "before": before, "after": after, "code": code})
    return rows
