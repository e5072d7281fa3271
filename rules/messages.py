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
    """Each element as text (— where unknown); the reference for :func:`_field_codes`."""
    codes, labels = _field_codes(values, spec)
    return labels[codes]


def _field_codes(values: np.ndarray, spec: str) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, labels)`` with ``labels[codes[i]]`` the text of element ``i``; each distinct value formatted once.

    Numbers: with a precision spec and more than 1000 known values, each distinct *rounded* value is
    formatted (a million FARs have a few thousand 2-decimal values); otherwise each distinct value (by its
    bits, so -0.0 keeps its sign). Text passes through, the unknown as —.
    """
    n = len(values)
    if values.dtype.kind in "fi":
        values = values.astype(float, copy=False)
        nan = np.isnan(values)
        fmt = ("{:" + spec + "}").format
        finite = values[~nan]
        m = _PRECISION.search(spec)
        if m and len(finite) > 1000:
            scale = 100.0 if m.group(2) == "%" else 1.0
            rounded = np.round(finite * scale, int(m.group(1))) / scale
            zero = rounded == 0
            if zero.any() and np.signbit(rounded[zero]).any() and not np.signbit(rounded[zero]).all():
                # -0.0 and 0.0 are one value here: keep the representative np.unique has always picked
                uniq, inverse = np.unique(rounded, return_inverse=True)
            else:
                inverse, uniq = pd.factorize(rounded)  # hashing; the same groups without sorting
            texts = list(map(fmt, np.asarray(uniq).tolist()))
        else:
            inverse, bits = pd.factorize(finite.view(np.int64))  # by bits: -0.0 keeps its sign
            texts = list(map(fmt, np.asarray(bits).view(np.float64).tolist()))
        codes = np.full(n, len(texts), dtype=np.intp)
        codes[~nan] = inverse.reshape(-1)
        return codes, np.asarray(texts + [MISSING_TEXT], dtype=object)
    if not spec:
        # Text fields (names, dates already as text): pass through, marking the unknown.
        codes, uniq = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
        labels = np.empty(len(uniq) + 1, dtype=object)
        labels[: len(uniq)] = np.asarray(uniq, dtype=object)
        labels[-1] = MISSING_TEXT
        return np.where(codes < 0, len(uniq), codes), labels
    texts = np.empty(n, dtype=object)
    texts[:] = [_format_one(v, spec) for v in values.tolist()]
    codes, uniq = pd.factorize(texts)
    return codes, np.asarray(uniq, dtype=object)


def render(template: str, n: int, variables: dict[str, Any]) -> np.ndarray | str:
    """Render ``template`` for ``n`` subjects; array variables must have length ``n``.

    Returns a plain string when every field is a scalar (the same message for all), else an object array.
    Each distinct combination of field values is rendered once and the message shared by every subject
    that has it (a million verdicts hold a few thousand distinct messages, not a million strings).

    Examples
    --------
    >>> import numpy as np
    >>> render("容积率 {far:.2f}，下限 {min:.1f}", 2, {"far": np.array([1.0, 2.5]), "min": 2.0}).tolist()
    ['容积率 1.00，下限 2.0', '容积率 2.50，下限 2.0']
    """
    pieces: list[Any] = []
    fields: list[tuple[np.ndarray, np.ndarray]] = []
    for literal, field, spec, _conv in _formatter.parse(template):
        if literal:
            pieces.append(literal)
        if field is None:
            continue
        value = variables[field]
        if isinstance(value, np.ndarray):
            pieces.append(len(fields))
            fields.append(_field_codes(value, spec or ""))
        else:
            pieces.append(_format_one(value, spec or ""))
    if not fields:
        return "".join(pieces)
    # One key per distinct combination of field texts, kept small by renumbering after each field.
    combo = fields[0][0]
    for codes, labels in fields[1:]:
        combo = pd.factorize(combo.astype(np.int64) * len(labels) + codes)[0]
    inverse, uniq = pd.factorize(combo)
    first = np.empty(len(uniq), dtype=np.intp)
    first[inverse] = np.arange(len(inverse))  # a row of each combination (any: they read the same)
    out = np.full(len(first), "", dtype=object)
    buffer = ""
    for piece in pieces:
        if isinstance(piece, str):
            buffer += piece
            continue
        if buffer:
            out = out + buffer
            buffer = ""
        codes, labels = fields[piece]
        out = out + labels[codes[first]]
    if buffer:
        out = out + buffer
    return out[inverse]
