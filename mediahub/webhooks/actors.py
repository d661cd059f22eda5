import dramatiq
from django.conf import settings

from mediahub.webhooks.delivery import LEASE_MARGIN, run_delivery

QUEUE = "webhooks"


# Our retry schedule (in PostgreSQL) is the one that counts, so Dramatiq must not retry; the time
# limit only backs up the request timeout, within the lease of the claimed attempt.
@dramatiq.actor(
    queue_name=QUEUE,
    max_retries=0,
    time_limit=int((settings.WEBHOOKS_TIMEOUT_SECONDS + LEASE_MARGIN.total_seconds() / 2) * 1000),
)
def deliver_webhook(delivery_id: str) -> None:
    run_delivery(delivery_id)
