"""Vectorised rendering of the rule set's Chinese message templates.

A template is a ``str.format`` string (``容积率 {far:.2f}，低于{ring}下限 {min:.1f}``). Fields are filled from
scalars (formatted once) or arrays (formatted element-wise); pieces are joined with numpy object
concatenation, so a message for a million parcels costs a few array passes, not a million ``format`` calls
on whole templates.
"""

from __future__ import annotations

import math
import re
from string import Formatter
from typing import Any

import numpy as np
import pandas as pd

MISSING_TEXT = "—"
_formatter = Formatter()


def template_fields(template: str) -> list[str]:
    """Names of the fields a template uses (raises ``ValueError`` on a malformed template)."""
    return [field for _, field, _, _ in _formatter.parse(template) if field]


def _format_one(value: Any, spec: str) -> str:
    if value is None:
        return MISSING_TEXT
    if isinstance(value, float) and math.isnan(value):
        return MISSING_TEXT
    try:
        return format(value, spec)
    except (TypeError, ValueError):
        return str(value)


_PRECISION = re.compile(r"\.(\d+)([f%])$")


def _format_array(values: np.ndarray, spec: str) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    if values.dtype.kind in "fi":
        values = values.astype(float, copy=False)
        nan = np.isnan(values)
        fmt = ("{:" + spec + "}").format
        finite = values[~nan]
        m = _PRECISION.search(spec)
        if m and len(finite) > 1000:
            # Format each distinct rounded value once: a million FARs have a few thousand 2-decimal values.
            scale = 100.0 if m.group(2) == "%" else 1.0
            rounded = np.round(finite * scale, int(m.group(1))) / scale
            uniq, inverse = np.unique(rounded, return_inverse=True)
            out[~nan] = np.asarray(list(map(fmt, uniq.tolist())), dtype=object)[inverse]
        else:
            out[~nan] = list(map(fmt, finite.tolist()))
        out[nan] = MISSING_TEXT
        return out
    if not spec:
        # Text fields (names, dates already as text): pass through, marking the unknown.
        out[:] = values
        out[pd.isna(values)] = MISSING_TEXT
        return out
    out[:] = [_format_one(v, spec) for v in values.tolist()]
    return out


def render(template: str, n: int, variables: dict[str, Any]) -> np.ndarray | str:
    """Render ``template`` for ``n`` subjects; array variables must have length ``n``.

        Returns a plain string when every field is a scalar (the same message for all), else an object array.

        Examples
        --------
        >>> import numpy as np
    import pandas as pd
        >>> render("容积率 {far:.2f}，下限 {min:.1f}", 2, {"far": np.array([1.0, 2.5]), "min": 2.0}).tolist()
        ['容积率 1.00，下限 2.0', '容积率 2.50，下限 2.0']
    """
    pieces: list[Any] = []
    vector = False
    for literal, field, spec, _conv in _formatter.parse(template):
        if literal:
            pieces.append(literal)
        if field is None:
            continue
        value = variables[field]
        if isinstance(value, np.ndarray):
            pieces.append(_format_array(value, spec or ""))
            vector = True
        else:
            pieces.append(_format_one(value, spec or ""))
    if not vector:
        return "".join(pieces)
    out = np.full(n, "", dtype=object)
    buffer = ""
    for piece in pieces:
        if isinstance(piece, str):
            buffer += piece
            continue
        if buffer:
            out = out + buffer
            buffer = ""
        out = out + piece
    if buffer:
        out = out + buffer
    return out
