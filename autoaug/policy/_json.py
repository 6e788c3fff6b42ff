"""Policy files as readable JSON: each op entry on one line, larger objects a line per key."""

from __future__ import annotations

import json
from typing import Any

_ONE_LINE_KEYS = 6  # op entries and stock-transform kwargs stay on one line, metadata does not


def dumps(value: Any, indent: int = 0) -> str:
    """Indented JSON that keeps each value holding no object, such as an op entry, on one line.

    Objects of more than :data:`_ONE_LINE_KEYS` keys (the metadata) get a line per key instead.

    Example:
        >>> print(dumps({"ops": [{"op": "rotate"}]}))
        {
          "ops": [
            {"op": "rotate"}
          ]
        }
    """
    if indent and not _holds_object(value) and not (isinstance(value, dict) and len(value) > _ONE_LINE_KEYS):
        return json.dumps(value)
    pad = " " * (indent + 2)
    if isinstance(value, dict):
        items = [f"{pad}{json.dumps(key)}: {dumps(item, indent + 2)}" for key, item in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    items = [pad + dumps(item, indent + 2) for item in value]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


def _holds_object(value: Any) -> bool:
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return any(isinstance(child, dict) or _holds_object(child) for child in children)
