"""Read a rule set as rows and compare two versions (rules added, removed, parameters changed)."""

from __future__ import annotations

from typing import Any


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


def diff_rulesets(a: Any, b: Any) -> dict[str, Any]:
    """What changed from rule set ``a`` to ``b``: header, shared parameters, and per-rule changes."""
    header = [
        (name, getattr(a, name), getattr(b, name))
        for name in ("version", "title", "effective_from", "effective_to")
        if getattr(a, name) != getattr(b, name)
    ]
    params = _changes(flatten(a.parameters), flatten(b.parameters))
    ra = {r.id: r for r in a.rules}
    rb = {r.id: r for r in b.rules}
    added = [rb[i] for i in rb if i not in ra]
    removed = [ra[i] for i in ra if i not in rb]
    changed = []
    for rule_id in (i for i in rb if i in ra):
        x, y = ra[rule_id], rb[rule_id]
        rows = _changes(flatten(x.params), flatten(y.params), "参数 ")
        rows += _changes(
            {"标题": x.title, "启用": x.enabled, "依据": a.citation_text(x), "类型": x.kind},
            {"标题": y.title, "启用": y.enabled, "依据": b.citation_text(y), "类型": y.kind},
        )
        rows += _changes(flatten(x.messages), flatten(y.messages), "提示语 ")
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


def _changes(x: dict[str, Any], y: dict[str, Any], label: str = "") -> list[dict[str, Any]]:
    rows = []
    for key in [*x, *(k for k in y if k not in x)]:
        before, after = x.get(key, "（无）"), y.get(key, "（无）")
        if before != after:
            rows.append({"key": label + key, "before": before, "after": after})
    return rows
