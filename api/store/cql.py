"""CQL2 filters (OGC API – Features Part 3) as SQLAlchemy expressions, the same for SpatiaLite and PostGIS.

:func:`parse_filter` reads CQL2 text or JSON with pygeofilter; :func:`to_sql` walks the AST it gives and
builds the condition from a collection's queryables (``api.store.features.collection_queryables``). Every
value becomes a bound parameter and every property must be a queryable, so no text from a filter ever
reaches the SQL: an unknown property, a value of the wrong type or an operator we do not support is a
:class:`~api.store.errors.BadQuery` (400) naming it.

Known differences: ``LIKE`` follows the store (SpatiaLite ignores the case of ASCII letters, PostGIS does not;
``CASEI(…) LIKE CASEI(…)`` is the same on both); doubled quotes inside a text literal (``'it''s'``) are not
read by pygeofilter 0.4 and are refused as a syntax error.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import shapely
from pygeofilter import ast, values
from pyproj import CRS
from sqlalchemy import LargeBinary, and_, bindparam, func, not_, or_
from sqlalchemy.sql.elements import ColumnElement

from api.store import models as m
from api.store.errors import BadQuery
from api.store.frames import bbox_polygon_working, geometry_to_working

FILTER_LANGS = ("cql2-text", "cql2-json")
# GDAL 3.6's OAPIF driver pushes its -where as "cql-text" (the name of the Part 3 drafts): the same text.
LEGACY_FILTER_LANGS = {"cql-text": "cql2-text"}
MAX_FILTER_LENGTH = 20_000


def _bad(message: str, **detail: Any) -> BadQuery:
    return BadQuery(message, details=[{"parameter": "filter", **detail}], code="invalid_filter")


def filter_lang(lang: str | None) -> str:
    """``filter-lang`` checked (default ``cql2-text``; ``cql-text`` read as ``cql2-text``)."""
    lang = LEGACY_FILTER_LANGS.get(lang or "cql2-text", lang or "cql2-text")
    if lang not in FILTER_LANGS:
        raise BadQuery(f"不支持的 filter-lang：{lang}，可用 {', '.join(FILTER_LANGS)} (unsupported filter-lang)",
                       details=[{"parameter": "filter-lang", "value": lang[:50], "allowed": list(FILTER_LANGS)}],
                       code="invalid_parameter")
    return lang


def parse_filter(raw: str, lang: str | None) -> ast.Node:
    """The AST of ``raw`` in ``lang`` (default ``cql2-text``); BadQuery saying where the syntax is wrong."""
    lang = filter_lang(lang)
    if len(raw) > MAX_FILTER_LENGTH:
        raise _bad(f"filter 过长（超过 {MAX_FILTER_LENGTH} 个字符）(filter too long)")
    try:
        if lang == "cql2-json":
            from pygeofilter.parsers.cql2_json import parse

            return parse(json.loads(raw))
        from pygeofilter.parsers.cql2_text import parse

        return parse(raw)
    except Exception as exc:  # lark and json errors: name where the text stops making sense
        where = ""
        if getattr(exc, "column", None) is not None:
            where = f"第 {exc.line} 行第 {exc.column} 列附近 (near line {exc.line}, column {exc.column})："
        elif isinstance(exc, json.JSONDecodeError):
            where = f"第 {exc.pos + 1} 个字符附近 (near character {exc.pos + 1})："
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise _bad(f"filter 语法错误（{lang}）{where}{first} (filter syntax error)", lang=lang,
                   value=raw[:200]) from None


_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Equal: lambda a, b: a == b, ast.NotEqual: lambda a, b: a != b, ast.LessThan: lambda a, b: a < b,
    ast.LessEqual: lambda a, b: a <= b, ast.GreaterThan: lambda a, b: a > b,
    ast.GreaterEqual: lambda a, b: a >= b,
}
_ARITHMETIC: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mul: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}
_SPATIAL = {ast.GeometryIntersects: "ST_Intersects", ast.GeometryDisjoint: "ST_Disjoint",
            ast.GeometryWithin: "ST_Within", ast.GeometryContains: "ST_Contains",
            ast.GeometryTouches: "ST_Touches", ast.GeometryCrosses: "ST_Crosses",
            ast.GeometryOverlaps: "ST_Overlaps", ast.GeometryEquals: "ST_Equals"}
GEOMETRY_PROPERTIES = ("geometry", "geom")


class _Translator:
    """One filter over one collection's queryables (``name → Queryable``) and geometry column."""

    def __init__(self, queryables: dict[str, Any], geom: Any, filter_crs: CRS | None, sqlite: bool) -> None:
        self.queryables, self.geom, self.filter_crs, self.sqlite = queryables, geom, filter_crs, sqlite
        self.n = 0

    def property(self, node: ast.Attribute) -> Any:
        name = node.name
        found = self.queryables.get(name)
        if found is None:
            raise _bad(f"filter 中的属性 {name} 不存在或不可查询，可查询的属性见 /collections/…/queryables "
                       "(unknown property in filter)", property=str(name)[:100], allowed=sorted(self.queryables))
        return found

    def value(self, v: Any, typed_by: Any = None) -> Any:
        """A literal as a bound parameter, checked against the queryable it is compared with (``typed_by``)."""
        if isinstance(v, ast.Attribute):
            return self.property(v).column
        if isinstance(v, ast.Function | ast.Arithmetic):
            return self.expr(v)
        if isinstance(v, bool | int | float | str | dt.date | dt.datetime) or v is None:
            if typed_by is not None:
                v = self.coerce(v, typed_by)
            self.n += 1
            return bindparam(f"cql_{self.n}", v, type_=typed_by.column.type if typed_by is not None else None)
        raise _bad(f"filter 中不支持的取值：{type(v).__name__} (unsupported value)")

    @staticmethod
    def coerce(v: Any, q: Any) -> Any:
        kind = q.format or q.type
        if v is None:
            return None
        if kind == "date":
            if isinstance(v, dt.datetime):
                return v.date()
            if isinstance(v, dt.date):
                return v
            if isinstance(v, str):
                try:
                    return dt.date.fromisoformat(v[:10])
                except ValueError:
                    pass
        elif kind == "boolean" and isinstance(v, bool):
            return v
        elif kind in ("number", "integer") and isinstance(v, int | float) and not isinstance(v, bool):
            return v
        elif kind == "string" and isinstance(v, str):
            return v
        expected = {"date": "日期 DATE('YYYY-MM-DD')", "boolean": "布尔值 true/false", "number": "数",
                    "integer": "整数", "string": "文本 '…'"}[kind]
        raise _bad(f"filter 中属性 {q.name} 应与{expected}比较，而不是 {v!r} (wrong value type for {q.name})",
                   property=q.name, expected=q.format or q.type)

    def expr(self, node: Any) -> Any:
        """A scalar expression: a property, a literal, CASEI/LOWER, arithmetic."""
        if isinstance(node, ast.Attribute):
            return self.property(node).column
        if isinstance(node, ast.Function):
            if node.name.lower() in ("lower", "casei") and len(node.arguments) == 1:
                return func.lower(self.expr(node.arguments[0]))
            if node.name.lower() in ("upper",) and len(node.arguments) == 1:
                return func.upper(self.expr(node.arguments[0]))
            raise _bad(f"filter 中不支持的函数 {node.name} (unsupported function)", function=str(node.name)[:50])
        if isinstance(node, ast.Arithmetic):
            return _ARITHMETIC[type(node)](self.expr(node.lhs), self.expr(node.rhs))
        return self.value(node)

    def side(self, lhs: Any, rhs: Any) -> tuple[Any, Any]:
        """Both sides of a comparison, a literal typed by the queryable on the other side."""
        ql = self.queryables.get(lhs.name) if isinstance(lhs, ast.Attribute) else None
        qr = self.queryables.get(rhs.name) if isinstance(rhs, ast.Attribute) else None
        left = self.value(lhs, qr) if not isinstance(lhs, ast.Attribute) else self.property(lhs).column
        right = self.value(rhs, ql) if not isinstance(rhs, ast.Attribute) else self.property(rhs).column
        return left, right

    def geometry(self, v: Any) -> Any:
        if isinstance(v, ast.Attribute):
            if v.name in GEOMETRY_PROPERTIES:
                return self.geom
            raise _bad(f"空间谓词只能作用于 geometry，而不是 {v.name} (spatial predicates apply to geometry)",
                       property=str(v.name)[:100])
        if isinstance(v, ast.Function) and v.name.lower() == "bbox" and len(v.arguments) in (4, 6):
            nums = [float(a) for a in v.arguments]
            box = (nums[0], nums[1], nums[3], nums[4]) if len(nums) == 6 else tuple(nums)
            wkb = bbox_polygon_working(box, crs=self.filter_crs)[1]  # type: ignore[arg-type]
        elif isinstance(v, values.Geometry):
            wkb = geometry_to_working(shapely.geometry.shape(v.geometry), self.filter_crs)
        elif isinstance(v, values.Envelope):
            wkb = bbox_polygon_working((v.x1, v.y1, v.x2, v.y2), crs=self.filter_crs)[1]
        else:
            raise _bad(f"空间谓词的参数应为几何（WKT、GeoJSON 或 BBOX），而不是 {type(v).__name__} "
                       "(expected a geometry)")
        self.n += 1
        return func.ST_GeomFromWKB(bindparam(f"cql_{self.n}", wkb, type_=LargeBinary), m.SRID)

    def condition(self, node: Any) -> ColumnElement:
        if isinstance(node, ast.And):
            return and_(self.condition(node.lhs), self.condition(node.rhs))
        if isinstance(node, ast.Or):
            return or_(self.condition(node.lhs), self.condition(node.rhs))
        if isinstance(node, ast.Not):
            return not_(self.condition(node.sub_node))
        if type(node) in _COMPARE:
            left, right = self.side(node.lhs, node.rhs)
            return _COMPARE[type(node)](left, right)
        if isinstance(node, ast.Between):
            q = self.property(node.lhs) if isinstance(node.lhs, ast.Attribute) else None
            cond = self.expr(node.lhs).between(self.value(node.low, q), self.value(node.high, q))
            return not_(cond) if node.not_ else cond
        if isinstance(node, ast.In):
            q = self.property(node.lhs) if isinstance(node.lhs, ast.Attribute) else None
            cond = self.expr(node.lhs).in_([self.value(v, q) for v in node.sub_nodes])
            return not_(cond) if node.not_ else cond
        if isinstance(node, ast.Like):
            q = self.property(node.lhs) if isinstance(node.lhs, ast.Attribute) else None
            if q is not None and q.type != "string":
                raise _bad(f"LIKE 只能用于文本属性，{q.name} 不是文本 (LIKE needs a text property)", property=q.name)
            column = self.expr(node.lhs)
            pattern = node.pattern.replace(node.singlechar, "_") if node.singlechar != "_" else node.pattern
            self.n += 1
            cond = (func.lower(column).like(func.lower(bindparam(f"cql_{self.n}", pattern)), escape="\\")
                    if node.nocase else column.like(bindparam(f"cql_{self.n}", pattern), escape="\\"))
            return not_(cond) if node.not_ else cond
        if isinstance(node, ast.IsNull):
            cond = self.expr(node.lhs).is_(None)
            return not_(cond) if node.not_ else cond
        if type(node) in _SPATIAL:
            result = getattr(func, _SPATIAL[type(node)])(self.geometry(node.lhs), self.geometry(node.rhs))
            return result == 1 if self.sqlite else result
        if isinstance(node, ast.Include):
            return and_(True)
        if isinstance(node, bool):
            return and_(node)
        raise _bad(f"filter 中不支持的条件：{type(node).__name__} (unsupported operator)",
                   operator=type(node).__name__)


def to_sql(node: ast.Node, queryables: dict[str, Any], geom: Any, *, sqlite: bool,
           filter_crs: CRS | None = None) -> ColumnElement:
    """The SQL condition of a parsed filter over ``queryables`` (``name → Queryable``) and ``geom``."""
    return _Translator(queryables, geom, filter_crs, sqlite).condition(node)


__all__ = ["FILTER_LANGS", "LEGACY_FILTER_LANGS", "filter_lang", "parse_filter", "to_sql"]
