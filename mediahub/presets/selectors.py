"""Finding presets: the one lookup every domain (commands, transcoding, images) uses."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from mediahub.presets.models import Preset
from tenants.models import Tenant


class PresetNotFound(LookupError):
    """No preset of that name or id (and kind) is visible to the tenant."""


def visible_presets(*, tenant: Tenant, kind: str | None = None) -> QuerySet[Preset]:
    presets = Preset.objects.visible_to(tenant)
    return presets.filter(kind=kind) if kind else presets


def find_preset(*, tenant: Tenant, name_or_id: str, kind: str | None = None) -> Preset:
    """The tenant's or the system preset named ``name_or_id`` (or with that id), of ``kind`` if
    given; ``PresetNotFound`` otherwise. Another tenant's preset is never found."""
    presets = visible_presets(tenant=tenant, kind=kind)
    try:
        lookup = {"id": uuid.UUID(str(name_or_id))}
    except ValueError:
        lookup = {"name": str(name_or_id)}
    preset = presets.filter(**lookup).first()
    if preset is None:
        kind_text = f"{kind} " if kind else ""
        raise PresetNotFound(f"No {kind_text}preset '{name_or_id}'.")
    return preset


def ladder_for(*, tenant: Tenant) -> list[dict]:
    """The tenant's HLS ladder: its ``settings.hls_ladder`` rungs, or those of the ladder preset it
    names."""
    ladder = tenant.effective_settings["hls_ladder"]
    if isinstance(ladder, str):
        return find_preset(tenant=tenant, name_or_id=ladder, kind=Preset.Kind.LADDER).ladder
    return ladder


def check_ladder_name(tenant: Tenant, name: str) -> None:
    """For ``PATCH /tenant``: ``ValueError`` unless ``name`` is a ladder preset of the tenant."""
    try:
        find_preset(tenant=tenant, name_or_id=name, kind=Preset.Kind.LADDER)
    except PresetNotFound as exc:
        raise ValueError(str(exc)) from exc
