"""Checks of a preset's content that belong to the domain that uses it: ``mediahub.commands``
registers the sandbox check of a command, ``mediahub.images`` the parser of ops. Presets thus
depend on none of them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tenants.models import Tenant

# check(tenant, preset fields) raises mediahub.errors.Invalid({field: [message]}).
ContentCheck = Callable[[Tenant, dict[str, Any]], None]

_checks: dict[str, ContentCheck] = {}


def register_check(kind: str, check: ContentCheck) -> None:
    _checks[kind] = check


def check_content(tenant: Tenant, kind: str, fields: dict[str, Any]) -> None:
    check = _checks.get(kind)
    if check is not None:
        check(tenant, fields)
