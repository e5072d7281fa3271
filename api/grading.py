"""亩产论英雄 for a proposed firm: its score and grade against a stored dataset's firms.

A firm checked alone (``POST /check``, the web check page) would be ranked among itself only, so the engine
would always give it the bottom grade. Here it is scored with the dataset's benchmarks (the medians of that
dataset's evaluated firms: from the latest finished evaluation of the dataset with the same rule set, else
from evaluating the dataset's firms now) and placed among the dataset's scored firms: its percentile and the
grade the rule set's grade shares give it. Both check paths call :func:`grade_firms`.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select

from rules.vocabulary import code_label, threshold_text


@dataclass(frozen=True)
class Distribution:
    """The scored firms of one dataset under one rule set's weighted-score rule."""

    dataset_id: int
    rule_id: str
    params: Any  # the rule's GradeParams
    scores: np.ndarray  # scores of the dataset's graded firms
    benchmarks: dict[str, float | None]
    grade_status: dict[str, str]  # grade → verdict status, as the rule gave them to the dataset's firms
    run_id: int | None  # the evaluation the scores come from (None: evaluated for this check)


_lock = threading.Lock()


def grade_rule(ruleset: Any) -> Any | None:
    """The rule set's enabled weighted-score (亩产论英雄) rule, or None."""
    return next((r for r in ruleset.rules if r.kind == "weighted_score" and r.enabled), None)


def distribution(engine: Engine, dataset_id: int, ruleset: Any, as_of: dt.date) -> Distribution | None:
    """The dataset's scored firms under ``ruleset``: from its latest finished evaluation with that rule set,
    else evaluated now (cached per run: stored datasets, rule sets and runs never change)."""
    from api.store import evaluations as ev
    from api.store import models as m
    from api.store.engine import memo

    rule = grade_rule(ruleset)
    if rule is None:
        return None
    r = m.EvaluationRun.__table__
    with engine.connect() as conn:
        # The newest finished run of the dataset with this very rule set (its id only: the run rows carry
        # large JSON summaries that a check must not read each time).
        run_id = conn.scalar(
            select(r.c.id)
            .where(r.c.dataset_id == int(dataset_id), r.c.status == "done", r.c.ruleset_sha256 == ruleset.sha256)
            .order_by(r.c.id.desc())
            .limit(1)
        )
        run = None if run_id is None else {"id": int(run_id)}
        key = ("grading", int(dataset_id), str(ruleset.sha256), None if run is None else int(run["id"]))
        cache = memo(engine)
        with _lock:
            if key in cache:
                return cache[key]
        if run is not None:
            verdicts = ev.verdict_table(conn, run["id"], rule=rule.id, level="enterprise")[
                ["value", "code", "status", "threshold"]
            ]
        else:
            inputs = ev.load_inputs_from_store(conn, int(dataset_id))
    if run is None:
        from rules.engine import evaluate

        only_grade = ruleset.model_copy(update={"rules": [rule]})
        result = evaluate(inputs, only_grade, as_of)
        verdicts = result.verdicts[result.verdicts["rule"] == rule.id][["value", "code", "status", "threshold"]]
    shares = rule.p.grade_shares
    graded = verdicts[verdicts["code"].isin(list(shares))]
    threshold = graded["threshold"].iloc[0] if len(graded) else None
    if isinstance(threshold, str):
        threshold = json.loads(threshold)
    dist = Distribution(
        dataset_id=int(dataset_id),
        rule_id=rule.id,
        params=rule.p,
        scores=pd.to_numeric(graded["value"], errors="coerce").to_numpy(dtype=float),
        benchmarks=dict((threshold or {}).get("benchmarks") or {}),
        grade_status={str(c): str(s) for c, s in zip(graded["code"], graded["status"], strict=True)},
        run_id=None if run is None else int(run["id"]),
    )
    with _lock:
        cache[key] = dist
    return dist


def grade_of(score: float, scores: np.ndarray, shares: dict[str, float]) -> tuple[str, int, float]:
    """The grade a firm scoring ``score`` gets when added to firms scoring ``scores``, its rank and percentile.

    Ranked as the engine ranks (highest score first, grades by cumulative rank share), the firm placed
    after the dataset's firms of equal score. Percentile: the share of the dataset's firms scoring lower.
    """
    n = len(scores)
    rank = 1 + int((scores >= score).sum())
    rank_pct = rank / (n + 1)
    grade, lower = list(shares)[-1], 0.0
    for g, share in shares.items():
        upper = lower + share
        if lower + 1e-12 < rank_pct <= upper + 1e-12:
            grade = g
            break
        lower = upper
    percentile = 100.0 * float((scores < score).sum()) / n if n else 0.0
    return grade, rank, percentile


def grade_firms(
    engine: Engine,
    dataset_id: int | None,
    ruleset: Any,
    result: Any,
    enterprises: pd.DataFrame | None,
    as_of: dt.date,
) -> list[dict[str, Any]]:
    """Grade each firm of a check's ``result`` against ``dataset_id``'s firms; JSON-able dicts, one per firm.

    ``enterprises`` is the check's input enterprise table (the indicators' numerators and denominators);
    ``result.enterprises`` gives each firm's land (亩) and 规上 flag as the engine derived them.
    """
    if dataset_id is None or enterprises is None or enterprises.empty or result.enterprises.empty:
        return []
    dist = distribution(engine, dataset_id, ruleset, as_of)
    if dist is None:
        return []
    p = dist.params
    raw = enterprises.assign(enterprise_id=enterprises["enterprise_id"].astype(str)).drop_duplicates("enterprise_id")
    raw = raw.set_index("enterprise_id")
    firms = result.enterprises.assign(enterprise_id=result.enterprises["enterprise_id"].astype(str))
    out = []
    for firm in firms.to_dict("records"):
        values = raw.loc[firm["enterprise_id"]].to_dict() if firm["enterprise_id"] in raw.index else {}
        values["land_mu"] = firm.get("land_mu")
        out.append(_grade_one(firm, values, p, dist))
    return out


def _number(value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return v


def _grade_one(firm: dict[str, Any], values: dict[str, Any], p: Any, dist: Distribution) -> dict[str, Any]:
    land_mu = _number(firm.get("land_mu"))
    above = bool(firm.get("above_scale"))
    base: dict[str, Any] = {
        "enterprise_id": firm["enterprise_id"],
        "rule": dist.rule_id,
        "dataset": dist.dataset_id,
        "run": dist.run_id,
        "firms": int(len(dist.scores)),
        "score": None,
        "percentile": None,
        "rank": None,
        "grade": None,
        "grade_label": "",
        "status": "not_applicable",
        "benchmarks": dist.benchmarks,
        "indicators": [],
        "missing": [],
    }
    evaluated = (above and land_mu > 0) or (not above and land_mu >= p.below_scale_min_mu)
    if not evaluated:
        base["message"] = f"规下企业用地不足 {p.below_scale_min_mu:g} 亩或无用地，不参评"
        return base
    if not (np.isfinite(_number(values.get("revenue_10k"))) and np.isfinite(_number(values.get("tax_10k")))):
        base.update(status="missing_data", message="缺少营业收入或税收，无法评价")
        return base
    if not len(dist.scores):
        base.update(status="missing_data", message=f"数据集 {dist.dataset_id} 没有参评企业，无法比较")
        return base
    score = 0.0
    for ind in p.indicators:
        num, den = _number(values.get(ind.numerator)), _number(values.get(ind.denominator))
        value = num / den if np.isfinite(den) and den > 0 and np.isfinite(num) else float("nan")
        bench = ind.benchmark or dist.benchmarks.get(ind.name)
        ratio = min(max(value / bench, 0.0), p.cap_ratio) if bench and np.isfinite(value) else 0.0
        points = ind.weight * ratio
        score += points
        if not np.isfinite(value):
            base["missing"].append(ind.name)
        base["indicators"].append(
            {
                "name": ind.name,
                "value": round(value, 4) if np.isfinite(value) else None,
                "benchmark": bench,
                "weight": ind.weight,
                "points": round(points, 2),
            }
        )
    grade, rank, percentile = grade_of(score, dist.scores, p.grade_shares)
    shares = threshold_text({"grade_shares": p.grade_shares}).removeprefix("比例 ")
    source = f"评估 #{dist.run_id}" if dist.run_id is not None else "按本规则集即时评估"
    message = (
        f"综合得分 {score:.1f}，高于数据集 {dist.dataset_id} 中 {percentile:.1f}% 的参评企业"
        f"（共 {len(dist.scores):,} 家，基准值取自{source}），排第 {rank:,} 位；"
        f"按 {shares} 的比例评为 {code_label(grade)}"
    )
    if base["missing"]:
        message += f"。未填写的指标按 0 分计（与批量评估相同）：{'、'.join(base['missing'])}"
    base.update(
        score=round(score, 2),
        percentile=round(percentile, 1),
        rank=rank,
        grade=grade,
        grade_label=code_label(grade),
        status=dist.grade_status.get(grade, "warn"),
        message=message,
    )
    return base
