import contextlib
import uuid

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from mediahub.search.services import queue_missing
from tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Queue an EmbeddingGeneration task for every media without a current vector of the configured "
        "model (workers embed them in batches)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--tenant", help="Only this tenant (slug or id).")

    def handle(self, *args, tenant: str | None, **options) -> None:
        chosen = None
        if tenant:
            match = Q(slug=tenant)
            with contextlib.suppress(ValueError):
                match |= Q(pk=uuid.UUID(tenant))
            chosen = Tenant.objects.filter(match).first()
            if chosen is None:
                raise CommandError(f"No tenant with slug or id {tenant!r}.")
        queued = queue_missing(tenant=chosen)
        self.stdout.write(f"Queued {queued} media for embedding.")
