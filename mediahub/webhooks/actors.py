from datetime import timedelta

import dramatiq
from django.conf import settings

from mediahub.webhooks.delivery import ACTOR_NAME, DRAIN_WINDOW, LEASE_MARGIN, run_delivery

QUEUE = "webhooks"
# Only backs up the drain window and the request timeout, ending within the last attempt's lease.
TIME_LIMIT = DRAIN_WINDOW + timedelta(seconds=settings.WEBHOOKS_TIMEOUT_SECONDS) + LEASE_MARGIN / 2


# Our retry schedule (in PostgreSQL) is the one that counts, so Dramatiq must not retry.
@dramatiq.actor(
    actor_name=ACTOR_NAME, queue_name=QUEUE, max_retries=0, time_limit=int(TIME_LIMIT.total_seconds() * 1000)
)
def deliver_webhook(delivery_id: str) -> None:
    run_delivery(delivery_id)
