from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from mediahub.errors import Invalid
from tenants.models import Tenant
from tenants.services import set_quotas


class Command(BaseCommand):
    help = (
        "Show or change a tenant's quotas, the ceilings of its limits: "
        "set_quota acme max_upload_bytes.video=21474836480 max_video_dimension=7680. "
        "A value 'default' removes the override."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("tenant", help="Slug or id of the tenant.")
        parser.add_argument("changes", nargs="*", help="name=value (nested names joined by dots).")

    def handle(self, *args, tenant: str, changes: list[str], **options) -> None:
        found = Tenant.objects.filter(slug=tenant).first() or _by_id(tenant)
        if found is None:
            raise CommandError(f"No tenant {tenant!r}.")
        parsed: dict[str, int | None] = {}
        for change in changes:
            name, sep, value = change.partition("=")
            if not sep or not (value.isdigit() or value == "default"):
                raise CommandError(f"{change!r}: expected name=<whole number> or name=default.")
            parsed[name] = None if value == "default" else int(value)
        try:
            found = set_quotas(tenant=found, changes=parsed) if parsed else found
        except Invalid as exc:
            raise CommandError(f"Invalid quota: {exc.details}") from exc
        self.stdout.write(f"Quotas of {found.slug}: {found.quota}")


def _by_id(value: str) -> Tenant | None:
    try:
        return Tenant.objects.filter(id=value).first()
    except ValidationError:  # not a UUID
        return None
