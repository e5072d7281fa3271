"""A timeline per parcel: its dated events from its data and the rule set, marked past / today / upcoming.

Events (``rules.vocabulary.TIMELINE_EVENTS``): 供地 (``transfer_date``), 约定动工, 实际动工, 中止开发
(``halted_since``), Order 53's early warning, 满一年 and 满两年 (computed by the idle rule's own
``idle_reference``/``idle_deadlines`` with the rule set's ``idle_order53`` parameters, so a timeline never
disagrees with a verdict), 达产/到期 (``production_due_date``) and the evaluation's as-of date. Everything is
vectorised: one array per kind of event over all parcels, concatenated and sorted once.

``warning_list`` keeps the deadlines that fall from the as-of date to ``within_days`` later: the 预警清单.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from rules.kinds.parcel import IdleParams, idle_deadlines, idle_reference
from rules.result import status_column
from rules.ruleset import RuleSet
from rules.vocabulary import PHASE_LABELS, STATUS_LABELS, TIMELINE_DEADLINES, TIMELINE_EVENTS, code_label

COLUMNS = ["parcel_id", "event", "label", "date", "phase", "days", "deadline", "detail"]
_ORDER = {e: i for i, e in enumerate(TIMELINE_EVENTS)}
# Idle-rule statuses under which its deadlines apply (not_applicable: not industrial land, or the rule is off).
_IDLE_JUDGED = ("pass", "warn", "fail", "missing_data")


def _dates(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), np.datetime64("NaT"), dtype="datetime64[ns]")
    return pd.to_datetime(frame[column], errors="coerce").dt.normalize().to_numpy(dtype="datetime64[ns]")


def _text(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), None, dtype=object)
    s = frame[column].astype(object)
    return s.where(s.notna(), None).to_numpy(dtype=object)


def idle_params(ruleset: RuleSet) -> tuple[str, IdleParams] | None:
    """The rule set's Order 53 rule (the first enabled rule of kind ``idle_order53``): ``(rule id, params)``."""
    for rule in ruleset.rules:
        if rule.kind == "idle_order53" and rule.enabled:
            return rule.id, rule.p
    return None


def _grades(result: Any, ids: np.ndarray) -> np.ndarray:
    """Per parcel: its firms' 亩产论英雄 grades in words (``某公司 B 类（提升发展类）``, joined by ；), or ''."""
    firms, occ = getattr(result, "enterprises", None), getattr(result, "occupants", None)
    out = np.full(len(ids), "", dtype=object)
    if firms is None or occ is None or firms.empty or occ.empty or "grade" not in firms.columns:
        return out
    graded = firms[firms["grade"].notna()]  # firms not graded (规下, too little land, data missing) have none
    names = graded["name"] if "name" in graded.columns else graded["enterprise_id"]
    words = pd.Series((names.astype(str) + " " + graded["grade"].astype(str).map(code_label)).to_numpy(),
                      index=graded["enterprise_id"].astype(str).to_numpy())
    pairs = occ.astype(str).drop_duplicates()
    pairs = pairs.assign(w=pairs["enterprise_id"].map(words)).dropna(subset=["w"])
    joined = pairs.groupby("parcel_id", sort=False)["w"].agg("；".join)
    found = pd.Series(ids).map(joined)
    out[found.notna().to_numpy()] = found.dropna().to_numpy()
    return out


def timeline(
    parcels: pd.DataFrame,
    ruleset: RuleSet,
    as_of: date | str,
    result: Any = None,
    yearly: dict[int, Any] | None = None,
) -> pd.DataFrame:
    """Every parcel's dated events, ordered by parcel (input order), date and event kind.

    ``parcels``: the input parcels (``parcel_id`` and the contract's date columns and ``status``, as
    ``gis.io`` or the store gives them; absent columns are unknown). ``result``: the evaluation
    (``EvaluationResult``: its parcel table's overall ``status`` and ``st_*``, its firms' grades and occupants),
    for the 评估基准日 event (overall status and the firms' 亩产论英雄 grades) and to leave out the idle deadlines of
    land the idle rule does not judge. Columns: :data:`COLUMNS` — ``date`` (datetime64), ``phase``
    (past/today/upcoming), ``days`` (from the as-of date; negative = past), ``deadline`` (a 预警 item when
    upcoming), ``detail``. ``yearly``: results of statistics years (``{year: EvaluationResult}``), each giving a
    年度亩产论英雄评价 event at the end of its year with the grades of the parcel's firms in that year.
    """
    day = np.datetime64(pd.Timestamp(as_of).normalize(), "ns")
    ids = parcels["parcel_id"].astype(str).to_numpy(dtype=object)
    n = len(ids)
    empty = np.full(n, "", dtype=object)
    parts: list[tuple[str, np.ndarray, np.ndarray]] = []  # (event, dates, detail) over all parcels

    parts.append(("transfer", _dates(parcels, "transfer_date"), empty))
    agreed, actual, halted = (_dates(parcels, c) for c in ("agreed_start_date", "actual_start_date", "halted_since"))
    parts.append(("agreed_start", agreed, empty))
    parts.append(("actual_start", actual, empty))
    parts.append(("halted", halted, empty))

    result_parcels = result.parcels if result is not None else None
    idle = idle_params(ruleset)
    if idle is not None:
        rule_id, p = idle
        ref, _started, halted_case, not_started = idle_reference(_text(parcels, "status"), agreed, actual, halted)
        judged = not_started | halted_case
        if result_parcels is not None and status_column(rule_id) in result_parcels.columns:
            by_id = result_parcels["parcel_id"].astype(str).to_numpy()
            st = pd.Series(result_parcels[status_column(rule_id)].astype(object).to_numpy(), index=by_id)
            judged &= pd.Series(ids).map(st).isin(_IDLE_JUDGED).to_numpy()
        ref = np.where(judged, ref, np.datetime64("NaT"))
        warn_date, fee_date, recover_date = idle_deadlines(ref, p)
        basis = np.where(halted_case, "中止开发建设", "未动工开发").astype(object)
        # the early warning is for land not started (the idle rule's idle_risk)
        parts.append(("idle_warning", np.where(not_started, warn_date, np.datetime64("NaT")),
                      np.full(n, f"约定动工后 {p.warning_days} 天仍未动工", dtype=object)))
        parts.append(("idle_fee", fee_date, basis + f"满一年，构成闲置，征缴土地闲置费（{p.fee_rate:.0%}）"))
        parts.append(("idle_recover", recover_date, basis + "满两年，可无偿收回国有建设用地使用权"))
    parts.append(("production_due", _dates(parcels, "production_due_date"), np.full(n, "约定达产复核", dtype=object)))
    for year, year_result in sorted((yearly or {}).items()):
        grades = _grades(year_result, ids)
        graded = grades != ""
        end = np.where(graded, np.datetime64(f"{int(year)}-12-31", "ns"), np.datetime64("NaT"))
        parts.append(("grade", end, np.where(graded, f"{int(year)} 年度：" + grades, "").astype(object)))
    if result_parcels is not None:
        overall = pd.Series(result_parcels["status"].astype(object).to_numpy(),
                            index=result_parcels["parcel_id"].astype(str).to_numpy())
        words = pd.Series(ids).map(overall).map(STATUS_LABELS).fillna("").to_numpy(dtype=object)
        detail = np.where(words != "", "总体结论：" + words, "").astype(object)
        grades = _grades(result, ids)
        detail = np.where(grades != "", detail + "；亩产论英雄：" + grades, detail)
        parts.append(("evaluation", np.full(n, day), detail))

    frames = []
    for event, dates, detail in parts:
        keep = ~np.isnat(dates)
        frames.append(pd.DataFrame({"_i": np.flatnonzero(keep), "event": event, "date": dates[keep],
                                    "detail": np.asarray(detail, dtype=object)[keep]}))
    events = pd.concat(frames, ignore_index=True)
    events["_o"] = events["event"].map(_ORDER)
    events = events.sort_values(["_i", "date", "_o"], kind="stable").reset_index(drop=True)
    events.insert(0, "parcel_id", ids[events["_i"].to_numpy(dtype=np.intp)])
    days = (events["date"].to_numpy(dtype="datetime64[ns]") - day).astype("timedelta64[D]").astype(np.int64)
    events["days"] = days
    events["phase"] = np.select([days < 0, days == 0], ["past", "today"], "upcoming")
    events["label"] = events["event"].map(TIMELINE_EVENTS)
    # a deadline still to meet; the agreed start date stops being one once the works have started
    started = ~np.isnat(actual)[events["_i"].to_numpy(dtype=np.intp)]
    events["deadline"] = events["event"].isin(TIMELINE_DEADLINES).to_numpy() & ~(
        (events["event"] == "agreed_start").to_numpy() & started
    )
    return events[COLUMNS]


def warning_list(events: pd.DataFrame, within_days: int) -> pd.DataFrame:
    """The 预警清单: deadlines from the as-of date (today included) to ``within_days`` later, soonest first."""
    if within_days < 0:
        raise ValueError(f"预警天数不能为负数：{within_days} (within must be ≥ 0)")
    sel = events["deadline"].to_numpy(dtype=bool) & (events["days"] >= 0) & (events["days"] <= within_days)
    return events[sel].sort_values(["days", "parcel_id"], kind="stable").reset_index(drop=True)


def phase_text(phase: str) -> str:
    """已过 / 今日 / 将到."""
    return PHASE_LABELS.get(phase, phase)


def event_records(events: pd.DataFrame) -> list[dict[str, Any]]:
    """One parcel's events as JSON-safe dicts (ISO dates, Chinese labels)."""
    return [
        {"event": r.event, "label": r.label, "date": pd.Timestamp(r.date).date().isoformat(), "phase": r.phase,
         "phase_label": phase_text(r.phase), "days": int(r.days), "deadline": bool(r.deadline),
         "detail": r.detail or ""}
        for r in events.itertuples(index=False)
    ]
