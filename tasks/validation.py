"""JSON-schema checks reported per field, the way a 400 names them."""

from __future__ import annotations

from typing import Any

import jsonschema


def schema_errors(schema: dict[str, Any], instance: Any) -> dict[str, list[str]]:
    """``{"dotted.field": [messages]}`` for every way ``instance`` breaks ``schema`` (empty if none);
    a missing required field is named itself, not its parent."""
    errors: dict[str, list[str]] = {}
    for error in jsonschema.Draft202012Validator(schema).iter_errors(instance):
        if error.validator == "required":
            missing = [p for p in error.validator_value if p not in error.instance]
            for field in missing:
                errors.setdefault(".".join([*map(str, error.path), field]), []).append(
                    "This field is required."
                )
        else:
            field = ".".join(map(str, error.path)) or "non_field_errors"
            errors.setdefault(field, []).append(error.message)
    return errors
