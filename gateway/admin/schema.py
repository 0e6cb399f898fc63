"""The subset of JSON Schema that route declarations use, checked at request time.

Route schemas go into the OpenAPI document as they are, and the same schema is what
the framework enforces on a request body: a route cannot document one shape and accept
another. Keywords outside :data:`KEYWORDS` are refused when a route is declared, so a
schema never says more than is checked.
"""

from __future__ import annotations

import re
from typing import Any, Final

from engine.model import GridError, decimal_to_units
from gateway.admin.problems import Problem

__all__ = ["DECIMAL", "ID", "KEYWORDS", "check_schema", "errors", "obj"]

KEYWORDS: Final = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "items", "enum",
        "minLength", "maxLength", "pattern", "minimum", "maximum", "description",
        "title", "examples", "maxItems",
    }
)  # fmt: skip
_TYPES: Final = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "boolean": bool,
    "null": type(None),
}


#: an identifier: 1..64 printable ASCII characters, no spaces
ID: Final[dict[str, Any]] = {
    "type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[\\x21-\\x7e]+$",
}  # fmt: skip
#: a non-negative decimal in the grammar of every edge (gateway/decimals.py)
DECIMAL: Final[dict[str, Any]] = {
    "type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?$", "maxLength": 40,
}  # fmt: skip


#: free text: a reason, a label, a name
TEXT: Final[dict[str, Any]] = {"type": "string", "maxLength": 256}


def units(name: str, text: str) -> int:
    """A DECIMAL field's asset amount in integer units; a Problem (400) off the grid."""
    try:
        return decimal_to_units(text)
    except (GridError, ValueError) as exc:
        raise Problem("invalid-request", f"{name}: {exc}") from None


def obj(required: list[str], **properties: Any) -> dict[str, Any]:
    """A closed object schema: these properties, these required, nothing else."""
    return {
        "type": "object",
        "required": required,
        "properties": properties,
        "additionalProperties": False,
    }


def check_schema(schema: dict[str, Any], where: str) -> None:
    """Raise ValueError if schema uses a keyword or type this module does not check."""
    unknown = set(schema) - KEYWORDS
    if unknown:
        raise ValueError(f"{where}: unsupported schema keyword(s) {sorted(unknown)}")
    kinds = schema.get("type")
    for kind in kinds if isinstance(kinds, list) else [kinds]:
        if kind is not None and kind not in _TYPES:
            raise ValueError(f"{where}: unsupported type {kind!r}")
    for name, sub in schema.get("properties", {}).items():
        check_schema(sub, f"{where}.{name}")
    if isinstance(schema.get("items"), dict):
        check_schema(schema["items"], f"{where}[]")


def _is(value: Any, kind: str) -> bool:
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    return isinstance(value, _TYPES[kind])


def errors(schema: dict[str, Any], value: Any, where: str = "body") -> list[str]:
    """What is wrong with value (empty when it matches)."""
    kinds = schema.get("type")
    if kinds is not None:
        options = kinds if isinstance(kinds, list) else [kinds]
        if not any(_is(value, k) for k in options):
            return [f"{where}: expected {' or '.join(options)}"]
    found: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{where}: expected one of {', '.join(map(str, schema['enum']))}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            found.append(f"{where}: shorter than {schema['minLength']}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            found.append(f"{where}: longer than {schema['maxLength']}")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            found.append(f"{where}: does not match {schema['pattern']}")
    if isinstance(value, int) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            found.append(f"{where}: below {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            found.append(f"{where}: above {schema['maximum']}")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                found.append(f"{where}.{name}: required")
        for name, item in value.items():
            if name in properties:
                found.extend(errors(properties[name], item, f"{where}.{name}"))
            elif schema.get("additionalProperties", True) is False:
                found.append(f"{where}.{name}: unknown field")
    if isinstance(value, list):
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            found.append(f"{where}: more than {schema['maxItems']} items")
        if isinstance(schema.get("items"), dict):
            for k, item in enumerate(value):
                found.extend(errors(schema["items"], item, f"{where}[{k}]"))
    return found
