"""Replaces personal data in event data with keyed HMACs (UU 27/2022 on personal data protection).

The same value always gives the same pseudonym under one key, so auditors can still follow one
citizen across events without learning who it is.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from pydantic import BaseModel

PREFIX = "hmac-sha256:"


def pseudonym(value: object, key: bytes) -> str:
    return PREFIX + hmac.new(key, str(value).encode(), hashlib.sha256).hexdigest()


def pseudonymise(model: type[BaseModel], data: dict[str, Any], key: bytes) -> dict[str, Any]:
    """A copy of `data` (as `model` dumps it) with every field marked `personal_data` replaced."""
    result = dict(data)
    for name, info in model.model_fields.items():
        if name not in result or result[name] is None:
            continue
        extra = info.json_schema_extra
        if isinstance(extra, dict) and extra.get("personal_data"):
            result[name] = _masked(result[name], key)
        elif isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            result[name] = pseudonymise(info.annotation, result[name], key)
    return result


def _masked(value: object, key: bytes) -> object:
    """A pseudonym; for a personal mapping (a service's form), one per value under the same
    names, so that a family card number can be matched across requests."""
    if isinstance(value, dict):
        return {name: pseudonym(item, key) for name, item in value.items()}
    return pseudonym(value, key)
