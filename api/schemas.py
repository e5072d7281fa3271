"""The JSON API's bodies as pydantic models, so that the OpenAPI document (``GET /api``) is true.

Response models describe what the routes return; they do not reshape it: every model keeps keys it does not
name (``extra="allow"``) and names its fields in the order the routes write them, so a body validated and
serialised through its model is the body the route built. ``tests/test_openapi.py`` runs schemathesis over the
whole document against the real app and checks every answer against these models.

Request models are strict (``true`` is not a number, ``"5"`` not an integer, a date is an ISO string): a
request the document calls invalid is refused with 400, and one it calls valid is not refused as malformed.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, Strict, WithJsonSchema

from rules.vocabulary import STATUSES, TIMELINE_EVENTS

Status = Literal[STATUSES]  # type: ignore[valid-type]
EventKind = Literal[tuple(TIMELINE_EVENTS)]  # type: ignore[valid-type]
RunState = Literal["queued", "running", "done", "failed"]
TokenState = Literal["active", "revoked", "expired"]


class Out(BaseModel):
    """A response body: the named fields, in the order the route writes them, and any other keys kept."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class In(BaseModel):
    """A request body: strict JSON types (no ``"5"`` for 5, no ``0`` for false); unknown keys are ignored."""

    model_config = ConfigDict(strict=True)


def _iso_date_text(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("日期须为 YYYY-MM-DD 格式的字符串 (date must be an ISO 8601 string)")
    return value


# A date given as "YYYY-MM-DD" only: lax pydantic would also take a number of seconds since 1970.
IsoDate = Annotated[dt.date, Strict(False), BeforeValidator(_iso_date_text)]


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


# A time in the store: UTC, written with its offset ("…Z") as RFC 3339 wants (SQLite gives naive UTC back).
UtcTime = Annotated[dt.datetime, AfterValidator(_utc)]


def dump(model: type[BaseModel], body: dict[str, Any]) -> dict[str, Any]:
    """``body`` validated against ``model`` and serialised as FastAPI serialises a ``response_model``.

    For the routes that build their own ``JSONResponse`` (a status or header that depends on the outcome).
    """
    return model.model_validate(body).model_dump(mode="json", by_alias=True)


# --- OGC API – Features ---------------------------------------------------------------------------------

class Link(Out):
    """A link of the OGC API."""

    href: str
    rel: str
    type: str
    title: str


class LandingPage(Out):
    """The OGC API landing page."""

    title: str
    description: str
    links: list[Link]


class Conformance(Out):
    """The conformance classes the server implements."""

    conformsTo: list[str]  # noqa: N815 (the OGC API's name)


class SpatialExtent(Out):
    """A collection's bounding box in CRS84."""

    bbox: list[list[float]] = Field(description="[[最小经度, 最小纬度, 最大经度, 最大纬度]]")
    crs: str


class Extent(Out):
    """A collection's extent."""

    spatial: SpatialExtent


class CollectionInfo(Out):
    """One collection: the OGC API's description plus the mujun dataset, feature count and filters."""

    id: str = Field(description="parcels, enterprises 或 zone_<图层>")
    title: str
    description: str
    itemType: Literal["feature"]  # noqa: N815
    crs: list[str]
    storageCrs: str  # noqa: N815
    extent: Extent
    links: list[Link]
    dataset: int = Field(alias="mujun:dataset", description="数据集编号 (dataset id)")
    count: int = Field(alias="mujun:count", description="要素数 (features)")
    filters: list[str] = Field(alias="mujun:filters", description="items 接受的属性过滤参数 (filter parameters)")


class Collections(Out):
    """Every collection of a dataset."""

    links: list[Link]
    collections: list[CollectionInfo]


class Geometry(Out):
    """A GeoJSON geometry in CRS84 (parcels, firms' land and zones are MultiPolygons)."""

    type: str
    coordinates: list[Any]


class Feature(Out):
    """A GeoJSON feature: id, geometry in CRS84, the stored attributes and, for parcels, the run's statuses."""

    type: Literal["Feature"]
    id: str
    geometry: Geometry | None
    properties: dict[str, Any]
    links: list[Link] = Field(default=None, description="单个要素才有 (only on a single feature)")


class FeatureCollection(Out):
    """A page of features with the OGC API's paging members."""

    type: Literal["FeatureCollection"]
    features: list[Feature]
    numberMatched: int  # noqa: N815
    numberReturned: int  # noqa: N815
    timeStamp: str  # noqa: N815
    links: list[Link]
    run: int = Field(default=None, alias="mujun:run",
                     description="属性中合规状态所属的评估 (the run the statuses come from), 有评估时才有")


# --- datasets --------------------------------------------------------------------------------------------

class SourceFile(Out):
    """One uploaded file of a dataset."""

    name: str
    sha256: str
    size: int


class ImportNote(Out):
    """A warning the loader gave when the dataset was imported."""

    severity: str
    file: str | None
    message: str
    ids: list[Any]


class Dataset(Out):
    """One import: source files and hashes, counts, extents, warnings, who imported it and when."""

    id: int
    name: str
    content_sha256: str
    sources: dict[str, SourceFile] = Field(description="文件类别 → 文件 (parcels, enterprises, …)")
    counts: dict[str, int] = Field(description="行数或要素数 (rows or features per kind / zone layer)")
    extents: dict[str, list[float]] = Field(description="要素集 → CRS84 范围 (collection → bbox)")
    warnings: list[ImportNote]
    missing_columns: list[Any]
    created_by: str | None
    created_at: UtcTime


class DatasetList(Out):
    """Every dataset, newest first."""

    datasets: list[Dataset]


class DatasetImported(Dataset):
    """The dataset an upload gave: ``created`` false when the same files were imported before."""

    created: bool


# --- evaluations -----------------------------------------------------------------------------------------

class Run(Out):
    """An evaluation run: status, progress and, once done, its summary (counts by status and by rule)."""

    id: int
    dataset_id: int
    ruleset_pk: int
    ruleset_sha256: str
    as_of: dt.date
    status: RunState
    progress: float = Field(description="0–1")
    summary: dict[str, Any] | None = Field(description="完成后：按状态、规则计数，企业等级，全市指标")
    error: dict[str, Any] | None = Field(description="失败原因 (why a run failed)")
    created_by: str | None
    created_at: UtcTime
    started_at: UtcTime | None
    finished_at: UtcTime | None


class RuleSetRef(Out):
    """The rule set version a run used."""

    id: str
    version: str
    sha256: str


class RunLinks(Out):
    """Where a run's parts are: verdicts, map, parcels, one export per format."""

    self: str
    verdicts: str
    map: str
    parcels: str


class RunDetail(Run):
    """A run with its rule set and links."""

    ruleset: RuleSetRef
    links: RunLinks


class RunList(Out):
    """Runs, newest first."""

    evaluations: list[Run]


class DatasetDetail(Dataset):
    """One dataset with its evaluation runs, newest first."""

    runs: list[Run]


class Verdict(Out):
    """One rule's verdict on one parcel or firm."""

    level: Literal["parcel", "enterprise"]
    subject_id: str
    rule: str
    status: Status
    value: Any = Field(description="规则所算的值，如容积率 (the value the rule computed)")
    code: str | None
    threshold: Any = Field(description="适用的阈值 (the threshold applied)")
    message: str | None
    citation: str | None


class VerdictPage(Out):
    """A page of a run's verdicts."""

    run: int
    numberMatched: int  # noqa: N815
    numberReturned: int  # noqa: N815
    offset: int
    verdicts: list[Verdict]


class TimelineEvent(Out):
    """One dated event of a parcel (``rules.timeline``), relative to the run's as-of date."""

    event: EventKind
    label: str = Field(description="事项（中文）")
    date: dt.date
    phase: Literal["past", "today", "upcoming"]
    phase_label: str = Field(description="已过 / 今日 / 将到")
    days: int = Field(description="距评估基准日的天数，负数为已过 (days from the as-of date)")
    deadline: bool = Field(description="是否为到期节点（将到时列入预警清单）")
    detail: str


class ParcelTimeline(Out):
    """A parcel's timeline in one run: 供地, 动工, Order 53's deadlines, 达产, the as-of date."""

    run: int
    parcel_id: str
    as_of: dt.date
    events: list[TimelineEvent]


class WarningItem(Out):
    """One deadline of the 预警清单, with the parcel's words."""

    parcel_id: str
    event: str
    label: str
    date: dt.date
    days: int = Field(description="距评估基准日的天数 (days from the as-of date)")
    detail: str
    district: str | None
    park: str = Field(description="园区名称")
    area_mu: float | None
    overall: Status | None = Field(description="宗地总体结论")
    enterprises: list[str] = Field(description="入驻企业名称")


class WarningList(Out):
    """The 预警清单 of a run: deadlines from its as-of date to ``within`` days later, soonest first."""

    run: int
    as_of: dt.date
    within: int
    numberMatched: int  # noqa: N815
    warnings: list[WarningItem]


# --- rule sets -------------------------------------------------------------------------------------------

class RuleSetVersion(Out):
    """A stored rule set version, or a built-in one not stored yet (then ``id``, ``version``, ``sha256`` are
    null); ``used``: a run refers to it, so it can never change."""

    id: int | None
    ruleset_id: str
    version: str | None
    sha256: str | None
    builtin: bool
    created_by: str | None
    created_at: UtcTime | None
    used: bool


class RuleSetList(Out):
    """Stored versions and built-in rule sets."""

    rulesets: list[RuleSetVersion]


class RuleSetDetail(Out):
    """One rule set version with its YAML and rule ids."""

    id: int
    ruleset_id: str
    version: str
    sha256: str
    builtin: bool
    created_by: str | None
    created_at: UtcTime
    yaml_text: str
    rules: list[str]
    used: bool


class RuleSetStored(RuleSetDetail):
    """An uploaded version: ``created`` false when the same text was stored before."""

    created: bool


# --- one parcel checked ----------------------------------------------------------------------------------

class CheckVerdict(Out):
    """One rule's verdict on the proposed parcel."""

    rule: str
    status: Status
    value: Any
    code: str | None
    threshold: Any
    message: str | None
    citation: str | None


class CheckedParcel(Out):
    """The proposed parcel as the engine saw it, with its verdicts."""

    parcel_id: str
    area_m2: float | None
    area_mu: float | None
    district: str | None
    park_id: str | None
    zone: str | None
    inside_ring: bool | None
    far: float | None
    status: Status
    verdicts: list[CheckVerdict]


class FirmGrade(Out):
    """亩产论英雄: a firm graded against the dataset's firms."""

    enterprise_id: str
    rule: str
    dataset: int
    run: int | None
    firms: int
    score: float | None
    percentile: float | None
    rank: int | None
    grade: str | None
    grade_label: str
    status: Status
    benchmarks: dict[str, Any]
    indicators: list[dict[str, Any]]
    missing: list[str]


class CheckResult(Out):
    """The verdicts on one proposed parcel, its overall status and, with a firm, its grade."""

    parcel: CheckedParcel
    status: Status
    status_label: str
    acceptable: bool = Field(description="没有不合规项 (no rule fails)")
    conclusion: str
    failing_rules: list[str]
    notes: list[CheckVerdict] = Field(description="数据提示 (data.* notes that did not pass)")
    grading: list[FirmGrade]
    ruleset: dict[str, Any]
    as_of: dt.date
    zones_dataset: int | None = Field(description="取分区与企业的数据集 (the dataset whose zones were used)")
    warnings: list[dict[str, Any]]


_POSITION = {"type": "array", "minItems": 2, "items": {"type": "number"},
             "description": "[经度, 纬度]（或 crs 所指坐标系的 [x, y]）"}
_RING = {"type": "array", "minItems": 4, "items": _POSITION, "description": "闭合环：首尾同点，至少 4 个点"}
_POLYGON_RINGS = {"type": "array", "minItems": 1, "items": _RING}
PROPOSED_FEATURE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "geometry"],
    "description": "GeoJSON Feature：geometry 为 Polygon/MultiPolygon，properties 为宗地属性 "
                   "(parcel_id, land_use, floor_area_m2, status, …，见数据约定)",
    "properties": {
        "type": {"type": "string", "enum": ["Feature"]},
        "id": {"anyOf": [{"type": "string"}, {"type": "number"}], "nullable": True,
               "description": "properties 没有 parcel_id 时用作宗地编号"},
        "geometry": {"anyOf": [
            {"type": "object", "required": ["type", "coordinates"],
             "properties": {"type": {"type": "string", "enum": ["Polygon"]}, "coordinates": _POLYGON_RINGS}},
            {"type": "object", "required": ["type", "coordinates"],
             "properties": {"type": {"type": "string", "enum": ["MultiPolygon"]},
                            "coordinates": {"type": "array", "minItems": 1, "items": _POLYGON_RINGS}}},
        ]},
        "properties": {"type": "object", "nullable": True, "additionalProperties": True},
    },
}
ProposedFeature = Annotated[dict[str, Any], WithJsonSchema(PROPOSED_FEATURE_SCHEMA)]


class ComparedSide(Out):
    """One side of a comparison: the rule set it was judged with and its as-of date."""

    id: str | None = None
    version: str | None = None
    sha256: str | None = None
    as_of: str


class ChangeCount(Out):
    """Changes counted for one rule (``rule``, ``title``), district (``district``) or park (``park_id``)."""

    rule: str | None = None
    title: str | None = None
    district: str | None = None
    park_id: str | None = None
    changed: int = Field(description="结论变化数")
    to_fail: int = Field(description="新增不合规")
    from_fail: int = Field(description="不再不合规")
    worse: int = Field(description="趋严")
    better: int = Field(description="趋宽")


class ChangedParcel(Out):
    """A parcel whose overall status differs between A and B."""

    parcel_id: str
    district: str | None = None
    park_id: str | None = None
    area_mu: float | None = None
    status_a: str
    status_b: str
    direction: str = Field(description="worse 趋严 / better 趋宽 / same")


class ChangedVerdict(Out):
    """One rule verdict whose status differs (``absent``: the rule set of that side has no such rule)."""

    level: str
    subject_id: str
    rule: str
    status_a: str
    status_b: str
    direction: str
    value_a: float | None = None
    value_b: float | None = None
    threshold_a: Any = None
    threshold_b: Any = None
    message_b: str | None = None


class GradeMove(Out):
    """A firm whose 亩产论英雄 grade differs."""

    enterprise_id: str
    name: str | None = None
    grade_a: str
    grade_b: str
    move: str = Field(description="up 升级 / down 降级 / other")


class Comparison(Out):
    """What changes from run A to run B of the same dataset (the policy sandbox)."""

    a: ComparedSide
    b: ComparedSide
    compared: int = Field(description="两次评估共有的宗地数")
    changed_parcels: int
    changed_firms: int
    only_a: list[str]
    only_b: list[str]
    by_rule: list[ChangeCount]
    by_district: list[ChangeCount]
    by_park: list[ChangeCount]
    parcels: list[ChangedParcel]
    changes: list[ChangedVerdict]
    firms: list[GradeMove]
    links: dict[str, str]



class TrendOut(Out):
    """Several statistics years side by side (rows as in ``rules.trend.Trend``)."""

    years: list[int]
    rulesets: list[dict[str, Any]] = Field(description="各年度结果所用的规则集")
    warning: str = Field(description="各年度规则集不同时的提示，否则为空")
    firms: list[dict[str, Any]] = Field(description="企业逐年：亩均营收、亩均税收、等级、名单与较上年变化")
    grade_moves: list[dict[str, Any]] = Field(description="等级变动的企业")
    parks: list[dict[str, Any]] = Field(description="园区逐年亩均营收/税收、目标与达标情况")
    park_moves: list[dict[str, Any]] = Field(description="达标（reached）或掉出（left）目标的园区")
    districts: list[dict[str, Any]] = Field(description="区（市）县逐年亩均营收/税收")
    lists: list[dict[str, Any]] = Field(description="各年度各名单的企业数")
    links: dict[str, str]
