"""A run's result in the planners' words: rule titles and units, verdict rows, city indicators, problem counts.

Shared by the dashboard, the results pages (table, print, parcel) and the check page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from api.web.pages._shared import FLAGGED
from rules.vocabulary import AGGREGATE_CODE_LABELS, STATUS_ORDER, code_label, is_note, threshold_text, value_text


@dataclass
class RuleWords:
    """How a run's rules are named: Chinese titles and value units (from the run's rule set)."""

    titles: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)

    def title(self, rule_id: str) -> str:
        """The rule's Chinese title; a rule the rule set does not know reads 规则."""
        return self.titles.get(str(rule_id), "规则")

    def unit(self, rule_id: str) -> str:
        """The unit of the rule's ``value``."""
        return self.units.get(str(rule_id), "")


def rule_words(ruleset: Any) -> RuleWords:
    """Titles and units of a ``RuleSet`` (``None`` gives empty words)."""
    if ruleset is None:
        return RuleWords()
    return RuleWords({r.id: r.title for r in ruleset.rules}, ruleset.units())


def result_words(result: Any) -> RuleWords:
    """Titles and units of the rule set a stored run used, as its rebuilt ``EvaluationResult`` carries them."""
    return RuleWords(dict(result.rule_titles), dict(result.rule_units))


def verdict_rows(verdicts: list[dict[str, Any]], words: RuleWords) -> dict[str, list[dict[str, Any]]]:
    """Verdicts as a planner reads them, most severe first: ``{"rules": [...], "notes": [...]}``.

    ``data.*`` verdicts are data-quality notes (数据提示): listed apart and never counted as problems.
    """
    rank = {s: i for i, s in enumerate(STATUS_ORDER)}
    out: dict[str, list[dict[str, Any]]] = {"rules": [], "notes": []}
    for v in sorted(verdicts, key=lambda v: rank.get(str(v.get("status")), 99)):
        rule = str(v.get("rule"))
        unit = words.unit(rule)
        threshold = v.get("threshold")
        if isinstance(threshold, str):
            try:
                threshold = json.loads(threshold)
            except json.JSONDecodeError:
                pass
        row = {
            "subject_id": v.get("subject_id"),
            "level": v.get("level"),
            "rule": rule,
            "title": words.title(rule),
            "status": v.get("status"),
            "code": code_label(v.get("code"), rule),
            "value": value_text(v.get("value"), unit) or "—",
            "threshold": threshold_text(threshold, unit) or "—",
            "message": v.get("message") or "",
            "citation": v.get("citation") or "",
        }
        out["notes" if is_note(rule) else "rules"].append(row)
    return out


def park_names(zones: dict[str, Any] | None) -> dict[str, str]:
    """Park id → park name from a dataset's ``parks`` zone layer (ids without a name keep the id)."""
    parks = (zones or {}).get("parks")
    if parks is None or len(parks) == 0 or "park_id" not in parks.columns:
        return {}
    names = parks["name"] if "name" in parks.columns else parks["park_id"]
    ids = parks["park_id"].astype(str)
    return dict(zip(ids, names.where(names.notna(), ids).astype(str), strict=True))


def indicators(
    summary: dict[str, Any], aggregates: pd.DataFrame | None = None, words: RuleWords | None = None
) -> list[dict[str, Any]]:
    """City indicators against the 2025 targets (``summary["city"]``) plus the latest year's supply share."""
    words = words or RuleWords()
    city = dict(summary.get("city") or {})
    if aggregates is not None and not aggregates.empty and "agg.supply_share" not in city:
        years = aggregates[(aggregates["rule"] == "agg.supply_share") & (aggregates["scope"] == "year")]
        if len(years):
            last = years.assign(_y=years["key"].astype(str)).sort_values("_y").iloc[-1]
            threshold = last["threshold"]
            if isinstance(threshold, str):
                threshold = json.loads(threshold)
            city["agg.supply_share"] = {
                "value": last["value"],
                "threshold": threshold,
                "status": last["status"],
                "year": str(last["key"]),
            }
    out = []
    for key, item in city.items():
        rule, code = key, ""
        if rule not in words.titles and "." in key:
            head, _, tail = key.rpartition(".")
            if head in words.titles:
                rule, code = head, tail
        label = words.titles.get(rule) or "全市指标"
        if code:
            label += f"（{AGGREGATE_CODE_LABELS.get(code) or code_label(code, rule)}）"
        if item.get("year"):
            label += f"（{item['year']} 年）"
        unit = words.unit(rule)
        threshold = item.get("threshold") or {}
        out.append(
            {
                "key": key,
                "label": label,
                "status": item.get("status"),
                "value": value_text(item.get("value"), unit) or "—",
                "target": threshold_text(threshold, unit) or "—",
            }
        )
    return out


def overview(run: dict[str, Any], result: Any, words: RuleWords) -> dict[str, Any]:
    """What the dashboard and the printed summary show of a run: indicators and problem counts."""
    return {
        "indicators": indicators(run.get("summary") or {}, result.aggregates, words),
        "by_rule": _flag_counts_by_rule(result.verdicts, words),
        "notes": _note_counts(result.verdicts, words),
        "by_district": _flag_counts_by(result.parcels, "district"),
    }


def _flag_counts_by_rule(verdicts: pd.DataFrame, words: RuleWords) -> list[dict[str, Any]]:
    """Problems per rule (fail / warn / missing data), data-quality notes left out."""
    if verdicts.empty:
        return []
    v = verdicts[verdicts["status"].isin(FLAGGED) & ~verdicts["rule"].astype(str).str.startswith("data.")]
    counts = v.groupby(["rule", "status"]).size().unstack(fill_value=0)
    counts = counts.reindex(columns=list(FLAGGED), fill_value=0)
    counts["total"] = counts.sum(axis=1)
    counts = counts.sort_values("total", ascending=False)
    return [
        {"rule": str(k), "title": words.title(str(k)), **{c: int(x) for c, x in row.items()}}
        for k, row in counts.iterrows()
    ]


def _note_counts(verdicts: pd.DataFrame, words: RuleWords) -> list[dict[str, Any]]:
    """Data-quality notes (数据提示) per rule: how many subjects each flags."""
    if verdicts.empty:
        return []
    notes = verdicts[verdicts["rule"].astype(str).str.startswith("data.") & (verdicts["status"] == "warn")]
    counts = notes.groupby("rule").size().sort_values(ascending=False)
    return [{"rule": str(k), "title": words.title(str(k)), "n": int(n)} for k, n in counts.items()]


def _flag_counts_by(parcels: pd.DataFrame, column: str) -> list[dict[str, Any]]:
    """Parcels per value of ``column`` and status, most failing first."""
    if column not in parcels.columns:
        return []
    keys = parcels[column].astype("object").where(parcels[column].notna(), "（未归属）")
    counts = pd.crosstab(keys, parcels["status"]).reindex(columns=list(STATUS_ORDER), fill_value=0)
    counts["total"] = counts.sum(axis=1)
    counts = counts.sort_values(["fail", "warn"], ascending=False)
    return [{"key": str(k), **{c: int(x) for c, x in row.items()}} for k, row in counts.iterrows()]
