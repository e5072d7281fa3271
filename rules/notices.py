"""Written notices (Word .docx) for the flagged parcels of an evaluation, from editable templates.

One notice per flagged parcel and kind (:data:`NOTICE_KINDS`):

- ``idle``: 闲置土地调查通知书 for parcels the Order 53 rule (kind ``idle_order53``) judged 预警 or 不合规;
- ``low_efficiency``: 低效用地整改告知书 for parcels the ``low_efficiency`` rule judged 不合规;
- ``standard_land``: 标准地达产复核意见 for 标准地 whose ``standard_land_performance`` verdict is 不合规.

Templates are ordinary .docx files with docxtpl placeholders (``rules/templates/notices/<kind>.docx``, built by
``scripts/build_notice_templates.py``; an office may pass a folder of its own edited copies), the clauses cited in
full come from ``clauses.yaml`` beside them. Each notice carries the parcel id, the firms' names, the area in 亩,
the measured values against the thresholds (the verdicts' own), the parcel's dates (``rules.timeline``), the
clause and blanks for 文号 and signature. The CLI (``mujun notices``) and the web results page (a zip through
``api.services.runs``) both call :func:`write_notices`.
"""

from __future__ import annotations

import functools
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from gis.errors import InputFileError
from rules.export import parcel_words
from rules.result import EvaluationResult
from rules.ruleset import RuleSet
from rules.timeline import phase_text
from rules.vocabulary import threshold_text, value_text

TEMPLATES = Path(__file__).parent / "templates" / "notices"


@dataclass(frozen=True)
class NoticeKind:
    """A kind of notice: its title, the rule kind that flags it, the statuses that do, and what it cites."""

    title: str
    rule_kind: str
    statuses: tuple[str, ...]
    # rule kinds whose verdicts are listed as measured values, after the flagging rule's own
    measures: tuple[str, ...]
    clause: str  # key of clauses.yaml (the rule set's citation keys)


NOTICE_KINDS: dict[str, NoticeKind] = {
    "idle": NoticeKind("闲置土地调查通知书", "idle_order53", ("warn", "fail"), ("far_bounds",), "order53"),
    "low_efficiency": NoticeKind("低效用地整改告知书", "low_efficiency", ("fail",), ("far_bounds",), "plan6_4_8"),
    "standard_land": NoticeKind(
        "标准地达产复核意见", "standard_land_performance", ("fail",), ("per_mu", "far_bounds"), "plan6_4_7"
    ),
}
KIND_CHOICES = (*NOTICE_KINDS, "all")
_UNSAFE = re.compile(r'[\\/:*?"<>|\s]+')


def _kinds(kind: str) -> list[str]:
    if kind == "all":
        return list(NOTICE_KINDS)
    if kind not in NOTICE_KINDS:
        raise ValueError(f"未知的告知书类型 {kind!r} (unknown notice kind); 可选 {', '.join(KIND_CHOICES)}")
    return [kind]


def _rule_ids(ruleset: RuleSet, rule_kind: str) -> list[str]:
    return [r.id for r in ruleset.rules if r.kind == rule_kind and r.enabled]


def flagged(result: EvaluationResult, ruleset: RuleSet, kind: str = "all") -> pd.DataFrame:
    """``(kind, rule, parcel_id)`` of every notice to write, in kind order then the result's parcel order."""
    v = result.verdicts_for("parcel")
    order = pd.Series(np.arange(len(result.parcels)), index=result.parcels["parcel_id"].astype(str).to_numpy())
    frames = []
    for k in _kinds(kind):
        spec = NOTICE_KINDS[k]
        rules = _rule_ids(ruleset, spec.rule_kind)
        sel = v["rule"].astype(object).isin(rules) & v["status"].astype(object).isin(spec.statuses)
        rows = v.loc[sel, ["rule", "subject_id"]].astype(str).drop_duplicates("subject_id")
        rows = rows.assign(kind=k, _o=rows["subject_id"].map(order)).sort_values("_o", kind="stable")
        frames.append(rows.rename(columns={"subject_id": "parcel_id"})[["kind", "rule", "parcel_id"]])
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["kind", "rule", "parcel_id"])


def _cn_date(day: Any) -> str:
    d = pd.Timestamp(day)
    return f"{d.year}年{d.month}月{d.day}日"


def _clauses(folder: Path) -> dict[str, Any]:
    path = folder / "clauses.yaml"
    if not path.is_file():
        path = TEMPLATES / "clauses.yaml"
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise InputFileError(f"条文文件不是有效的 YAML (invalid YAML): {exc}", path=str(path)) from exc


def _template_path(folder: Path, kind: str) -> Path:
    path = folder / f"{kind}.docx"
    if not path.is_file():
        raise InputFileError(
            f"缺少告知书模板 {path.name} (notice template not found)",
            path=str(folder),
            hint=f"模板文件夹应含 {', '.join(k + '.docx' for k in NOTICE_KINDS)}；可从 {TEMPLATES} 复制后修改",
        )
    return path


def safe_name(text: str) -> str:
    """A file-name-safe form of a parcel id (path separators and reserved characters replaced by ``_``)."""
    return _UNSAFE.sub("_", str(text)).strip("._") or "parcel"


def notice_contexts(
    result: EvaluationResult, events: pd.DataFrame, ruleset: RuleSet, kind: str = "all",
    clauses: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The template variables of every notice (see ``scripts/build_notice_templates.py`` for their places)."""
    todo = flagged(result, ruleset, kind)
    clauses = clauses if clauses is not None else _clauses(TEMPLATES)
    v = result.verdicts_for("parcel")
    v = v[v["subject_id"].astype(str).isin(todo["parcel_id"])]
    by_key = {(str(r.rule), str(r.subject_id)): r for r in v.itertuples(index=False)}
    parcels = pd.DataFrame(result.parcels.drop(columns=result.parcels.geometry.name))
    parcels.index = parcels["parcel_id"].astype(str)
    words = parcel_words(result, pd.Series(todo["parcel_id"].unique())).set_axis(todo["parcel_id"].unique())
    ev = events[events["parcel_id"].isin(todo["parcel_id"])]
    ev_by_parcel = {pid: grp for pid, grp in ev.groupby("parcel_id", sort=False)}
    units = result.rule_units or ruleset.units()
    titles = result.rule_titles or {r.id: r.title for r in ruleset.rules}
    header = f"{result.ruleset.get('id', '')} {result.ruleset.get('version', '')}".strip()
    out = []
    for row in todo.itertuples(index=False):
        spec = NOTICE_KINDS[row.kind]
        p = parcels.loc[row.parcel_id]
        main = by_key[(row.rule, row.parcel_id)]
        measures = []
        for rule in [row.rule, *(r for k in spec.measures for r in _rule_ids(ruleset, k))]:
            vd = by_key.get((rule, row.parcel_id))
            if vd is None or vd.value is None or vd.value != vd.value:
                continue
            measures.append({"name": titles.get(rule, rule), "value": value_text(vd.value, units.get(rule, "")),
                             "threshold": threshold_text(vd.threshold, units.get(rule, "")) or "—"})
        grp = ev_by_parcel.get(row.parcel_id)
        dated = [] if grp is None else [
            {"label": e.label, "date": _cn_date(e.date), "phase": phase_text(e.phase)} for e in grp.itertuples()
        ]
        clause = clauses.get(spec.clause) or {}
        w = words.loc[row.parcel_id]
        place = w["park"] or (str(w["district"]) if pd.notna(w["district"]) else "") or "本市"
        out.append({
            "kind": row.kind,
            "title": spec.title,
            "parcel_id": row.parcel_id,
            "enterprise": w["enterprises"].replace("\n", "、") or "＿＿＿＿＿＿＿＿（土地使用权人）",
            "place": place,
            "area_mu": f"{float(p['area_mu']):,.2f}",
            "area_m2": f"{float(p['area_m2']):,.2f}",
            "far": "" if pd.isna(p.get("far")) else f"{float(p['far']):.2f}",
            "finding": str(main.message or ""),
            "rule_title": titles.get(row.rule, row.rule),
            "measures": measures,
            "events": dated,
            "citation": str(main.citation or ""),
            "clause_title": clause.get("title") or str(main.citation or ""),
            "clauses": list(clause.get("text") or []),
            "as_of": _cn_date(result.as_of),
            "ruleset": header,
        })
    return out


@functools.cache
def _jinja_env() -> Any:
    """One Jinja environment for every notice, compiling each distinct template text once: a template's parts
    are the same text for every parcel, so hundreds of notices compile them once, not once each."""
    import jinja2

    class Env(jinja2.Environment):
        compiled: dict[str, Any] = {}

        def from_string(self, source: Any, globals: Any = None, template_class: Any = None) -> Any:  # noqa: A002
            if globals is not None or template_class is not None or not isinstance(source, str):
                return super().from_string(source, globals, template_class)
            if source not in self.compiled:
                if len(self.compiled) >= 64:  # an office's many edited templates: keep the newest
                    self.compiled.pop(next(iter(self.compiled)))
                self.compiled[source] = super().from_string(source)
            return self.compiled[source]

    return Env(autoescape=True)


def render_notice(template: Path, context: dict[str, Any]) -> bytes:
    """One filled notice as .docx bytes (text placeholders escaped, so a firm's name never breaks the XML)."""
    from docxtpl import DocxTemplate

    doc = DocxTemplate(str(template))
    doc.render(context, _jinja_env(), autoescape=True)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def file_name(context: dict[str, Any]) -> str:
    """``<title>_<parcel id>.docx``."""
    return f"{context['title']}_{safe_name(context['parcel_id'])}.docx"


def documents(
    result: EvaluationResult, events: pd.DataFrame, ruleset: RuleSet, *, kind: str = "all",
    templates: str | Path | None = None,
) -> Iterator[tuple[str, bytes]]:
    """``(file name, .docx bytes)`` of every notice. Every template is checked before the first is filled
    (a missing one is an ``InputFileError`` naming the folder and the file)."""
    folder = Path(templates) if templates is not None else TEMPLATES
    paths = {k: _template_path(folder, k) for k in _kinds(kind)}
    for ctx in notice_contexts(result, events, ruleset, kind, _clauses(folder)):
        yield file_name(ctx), render_notice(paths[ctx["kind"]], ctx)


def write_notices(
    result: EvaluationResult, events: pd.DataFrame, ruleset: RuleSet, out_dir: str | Path, *,
    kind: str = "all", templates: str | Path | None = None,
) -> list[Path]:
    """Write one .docx per flagged parcel and kind into ``out_dir``; returns the files written, in order."""
    docs = documents(result, events, ruleset, kind=kind, templates=templates)
    first = next(docs, None)  # templates checked before the folder is made
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in ([first] if first else []) + list(docs):
        (out / name).write_bytes(data)
        written.append(out / name)
    return written


def notices_zip(
    result: EvaluationResult, events: pd.DataFrame, ruleset: RuleSet, target: str | Path, *, kind: str = "all",
    templates: str | Path | None = None,
) -> int:
    """The notices as one zip file (for the web page); returns how many it holds."""
    n = 0
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in documents(result, events, ruleset, kind=kind, templates=templates):
            zf.writestr(name, data)
            n += 1
    return n
