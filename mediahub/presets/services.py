"""Creating, changing and deleting a tenant's presets; system presets are read-only."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from mediahub.errors import Invalid
from mediahub.presets.checks import check_content
from mediahub.presets.models import Preset
from tenants.models import Tenant

CONTENT_FIELDS = ("command", "params", "ladder", "ops")


def writable_fields(preset: Preset) -> dict[str, Any]:
    """The stored preset as the write serializer takes it (PATCH merges its changes into this)."""
    return {
        "name": preset.name,
        "description": preset.description,
        "kind": preset.kind,
        "command": preset.command,
        "params": preset.params,
        "ladder": preset.ladder,
        "ops": preset.ops,
        "output_extension": preset.output_extension,
    }


def create_preset(*, tenant: Tenant, fields: dict[str, Any]) -> Preset:
    preset = Preset(tenant=tenant)
    return _save(preset, fields)


def update_preset(*, preset: Preset, fields: dict[str, Any]) -> Preset:
    ensure_writable(preset)
    if fields["kind"] != preset.kind:
        raise Invalid({"kind": ["The kind of a preset cannot change."]})
    return _save(preset, fields)


def delete_preset(*, preset: Preset) -> None:
    ensure_writable(preset)
    preset.delete()


def ensure_writable(preset: Preset) -> None:
    if preset.system:
        raise PermissionDenied("System presets are read-only; create your own preset instead.")


def _save(preset: Preset, fields: dict[str, Any]) -> Preset:
    name_taken = Preset.objects.visible_to(preset.tenant).filter(name=fields["name"]).exclude(pk=preset.pk)
    if name_taken.exists():
        raise Invalid({"name": ["A preset of this name exists (your own or a system preset)."]})
    check_content(preset.tenant, fields["kind"], fields)
    for field, value in fields.items():
        setattr(preset, field, value)
    try:
        with transaction.atomic():
            preset.save()
    except IntegrityError as exc:  # a concurrent create took the name
        raise Invalid({"name": ["A preset of this name exists."]}) from exc
    return preset
