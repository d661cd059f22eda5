from django.core.management.base import BaseCommand, CommandError

from tenants.models import Tenant
from tenants.services import create_tenant


class Command(BaseCommand):
    help = "Create a tenant and print its first admin API key (shown only this once)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help="Display name of the tenant.")
        parser.add_argument("--slug", help="URL-safe identifier; derived from the name when omitted.")

    def handle(self, *args, name: str, slug: str | None, **options) -> None:
        if slug and Tenant.objects.filter(slug=slug).exists():
            raise CommandError(f"A tenant with slug {slug!r} already exists.")
        tenant, issued = create_tenant(name=name, slug=slug)
        self.stdout.write(f"Tenant {tenant.name!r} created: id {tenant.id}, slug {tenant.slug}")
        self.stdout.write(f"Admin API key (shown once): {issued.key}")
