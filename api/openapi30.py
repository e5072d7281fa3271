"""Downgrade FastAPI's OpenAPI 3.1 document to OpenAPI 3.0 (the OGC API – Features "oas30" class), with the
validation errors documented as this app answers them (400 ``ErrorBody``, not FastAPI's 422)."""

from __future__ import annotations

from typing import Any


def _is_null(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "null"


def _convert(node: Any) -> Any:
    if isinstance(node, list):
        return [_convert(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _convert(v) for k, v in node.items()}
    for key in ("anyOf", "oneOf"):
        options = node.get(key)
        if isinstance(options, list) and any(_is_null(o) for o in options):
            rest = [o for o in options if not _is_null(o)]
            del node[key]
            if len(rest) == 1:
                merged = dict(rest[0])
                if "$ref" in merged:
                    node["allOf"] = [merged]
                else:
                    node.update(merged)
            elif rest:
                node[key] = rest
            node["nullable"] = True
    if isinstance(node.get("type"), list):
        types = [t for t in node["type"] if t != "null"]
        if len(types) < len(node["type"]):
            node["nullable"] = True
        node["type"] = types[0] if len(types) == 1 else "string"
    if "const" in node:
        node["enum"] = [node.pop("const")]
    if isinstance(node.get("examples"), list) and "type" in node:
        examples = node.pop("examples")
        if examples:
            node["example"] = examples[0]
    for bound, flag in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(node.get(bound), (int, float)) and not isinstance(node.get(bound), bool):
            node[flag] = node.pop(bound)
            node[bound] = True
    if node.get("contentMediaType") == "application/octet-stream" or node.get("format") == "binary":
        node.pop("contentMediaType", None)
        node["type"] = "string"
        node["format"] = "binary"
    return node


_FASTAPI_422 = "#/components/schemas/HTTPValidationError"


def _validation_errors_as_400(document: dict[str, Any]) -> dict[str, Any]:
    """FastAPI documents a 422 ``HTTPValidationError`` for every operation with inputs; ``api.errors`` answers a
    request that fails validation with 400 and the error shape ``{code, message, details}``: say so."""
    from api.errors import ERROR_DESCRIPTIONS, ErrorBody

    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    error_ref = {"$ref": "#/components/schemas/ErrorBody"}
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            default = responses.get("422", {}).get("content", {}).get("application/json", {}).get("schema", {})
            if default.get("$ref") != _FASTAPI_422:
                continue
            del responses["422"]
            responses.setdefault("400", {"description": ERROR_DESCRIPTIONS[400],
                                         "content": {"application/json": {"schema": error_ref}}})
            operation["responses"] = dict(sorted(responses.items()))
    schemas.setdefault("ErrorBody", ErrorBody.model_json_schema())
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def downgrade(document: dict[str, Any]) -> dict[str, Any]:
    """Return an OpenAPI 3.0.3 version of a FastAPI (3.1) document, validation errors documented as 400."""
    out = _convert(_validation_errors_as_400(document))
    out["openapi"] = "3.0.3"
    out.pop("jsonSchemaDialect", None)
    out.pop("webhooks", None)
    return out
