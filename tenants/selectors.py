from django.apps import apps
from django.db.models import Count, Sum

from tenants.models import Tenant


def tenant_usage(*, tenant: Tenant) -> dict[str, int]:
    """What the tenant holds now: media count and stored bytes of originals."""
    Media = apps.get_model("media", "Media")
    totals = Media.objects.for_tenant(tenant).aggregate(count=Count("id"), bytes=Sum("size_bytes"))
    return {"media_count": totals["count"], "storage_bytes": totals["bytes"] or 0}
