"""Webhook delivery end to end: a Dramatiq worker, the real broker and a real receiver on loopback,
verified with the ``standardwebhooks`` package as any receiver would."""

import binascii
import json
import os
import time
from datetime import timedelta

import dramatiq
import pytest
from django.db import transaction
from django.utils import timezone
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from PIL import Image
from standardwebhooks import Webhook, WebhookVerificationError

from mediahub.events.outbox import EVENT_TYPES, emit
from mediahub.webhooks import delivery as delivery_module
from mediahub.webhooks import signing, transport
from mediahub.webhooks.actors import QUEUE, deliver_webhook
from mediahub.webhooks.models import Delivery, Endpoint, Event
from tasks.scheduler import periodic_jobs, run_job
from tests.services import free_port
from tests.waiting import wait_for
from tests.webhook_receiver import Receiver, Reply

pytestmark = pytest.mark.django_db(transaction=True)

VERIFY_ERRORS = (WebhookVerificationError, ValueError, binascii.Error)


@pytest.fixture(autouse=True)
def _fast_webhooks(settings):
    settings.OUTBOUND_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOKS_RETRY_SCHEDULE = [0.2, 0.2, 0.2]


@pytest.fixture
def broker(request, settings):
    """The broker of the delivery actor: the session's RabbitMQ, or a Redis broker under this
    session's key prefix when a test is parametrized with ``"redis"``."""
    session_broker = deliver_webhook.broker
    if getattr(request, "param", "rabbitmq") == "rabbitmq":
        yield session_broker
        return
    broker = RedisBroker(
        url=os.environ["REDIS_URL"],
        namespace=f"{settings.REDIS_KEY_PREFIX}-webhooks",
        middleware=list(session_broker.middleware),
    )
    broker.declare_actor(deliver_webhook)
    deliver_webhook.broker = broker
    try:
        yield broker
    finally:
        deliver_webhook.broker = session_broker
        broker.flush_all()
        broker.close()


@pytest.fixture
def worker(broker):
    worker = dramatiq.Worker(broker, queues={QUEUE}, worker_threads=4, worker_timeout=100)
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


def add_endpoint(api, url, events=("*",)):
    response = api.post("/api/v1/webhooks", {"url": url, "events": list(events)}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def emit_now(tenant, event_type, data):
    with transaction.atomic():
        return emit(tenant, event_type, data)


def deliveries_of(api, endpoint, **filters):
    response = api.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries", filters)
    assert response.status_code == 200
    return response.json()["deliveries"]


def settled(endpoint_id, count):
    def check():
        rows = Delivery.objects.filter(endpoint_id=endpoint_id)
        return rows.count() == count and not rows.filter(status=Delivery.Status.PENDING).exists()

    return check


def test_every_event_type_arrives_signed_and_verifies(api, tenant, receiver, worker):
    endpoint = add_endpoint(api, receiver.url)
    events = {
        event_type: emit_now(tenant, event_type, {"id": event_type, "n": 1}) for event_type in EVENT_TYPES
    }

    wait_for(lambda: len(receiver.requests) == len(EVENT_TYPES))
    verifier = Webhook(endpoint["secret"])
    seen = {}
    for request in receiver.requests:
        payload = verifier.verify(request.body, request.headers)
        seen[payload["type"]] = request
        assert payload["data"] == {"id": payload["type"], "n": 1}
        assert request.headers["webhook-id"] == str(events[payload["type"]].id)
        assert request.headers["content-type"] == "application/json"
        assert request.headers["user-agent"].startswith("mediahub-webhooks/")
        assert payload["timestamp"].endswith("Z")
        assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
        assert request.path == "/hook"
    assert set(seen) == set(EVENT_TYPES)
    wait_for(settled(endpoint["id"], len(EVENT_TYPES)))
    assert {d["status"] for d in deliveries_of(api, endpoint)} == {"succeeded"}
    assert api.get(f"/api/v1/webhooks/{endpoint['id']}").json()["last_success_at"] is not None

    # What the verifier refuses: a tampered body, a forged signature and an old (replayed) message.
    request = seen["media.ready"]
    tampered = request.body.replace(b'"n":1', b'"n":2')
    assert tampered != request.body
    with pytest.raises(WebhookVerificationError):
        verifier.verify(tampered, request.headers)
    with pytest.raises(VERIFY_ERRORS):
        verifier.verify(request.body, {**request.headers, "webhook-signature": "v1,bm90IGl0"})
    old = int(time.time()) - 600
    replayed = {
        **request.headers,
        "webhook-timestamp": str(old),
        "webhook-signature": signing.sign(
            endpoint["secret"], request.headers["webhook-id"], old, request.body
        ),
    }
    with pytest.raises(WebhookVerificationError, match="too old"):
        verifier.verify(request.body, replayed)


@pytest.mark.parametrize("broker", ["rabbitmq", "redis"], indirect=True)
def test_failures_are_retried_with_the_same_webhook_id_and_logged(api, tenant, receiver, worker):
    receiver.script = [Reply(500, b"x" * 5000), Reply(500, b"down")]
    endpoint = add_endpoint(api, receiver.url, ["media.ready"])
    event = emit_now(tenant, "media.ready", {"id": "m1"})

    wait_for(settled(endpoint["id"], 1))
    assert len(receiver.requests) == 3
    assert {r.headers["webhook-id"] for r in receiver.requests} == {str(event.id)}
    verifier = Webhook(endpoint["secret"])
    for request in receiver.requests:
        verifier.verify(request.body, request.headers)

    (logged,) = deliveries_of(api, endpoint)
    assert logged["status"] == "succeeded"
    assert logged["attempt"] == 3
    assert logged["event_id"] == str(event.id) and logged["event_type"] == "media.ready"
    assert logged["response_status"] == 200 and logged["next_attempt_at"] is None
    assert [a["response_status"] for a in logged["attempts"]] == [500, 500, 200]
    assert len(logged["attempts"][0]["response_body"]) == transport.RESPONSE_BODY_LIMIT
    assert all(a["duration_ms"] is not None for a in logged["attempts"])
    health = api.get(f"/api/v1/webhooks/{endpoint['id']}").json()
    assert health["consecutive_failures"] == 0


def test_exhausted_schedule_fails_and_redeliver_sends_the_same_event_again(
    api, tenant, receiver, worker, settings
):
    settings.WEBHOOKS_RETRY_SCHEDULE = [0.1]
    receiver.script = [Reply(503), Reply(503)]
    endpoint = add_endpoint(api, receiver.url)
    event = emit_now(tenant, "task.failed", {"id": "t1"})
    wait_for(settled(endpoint["id"], 1))
    (failed,) = deliveries_of(api, endpoint)
    assert failed["status"] == "failed" and failed["attempt"] == 2 and failed["response_status"] == 503
    assert api.get(f"/api/v1/webhooks/{endpoint['id']}").json()["consecutive_failures"] == 2
    assert deliveries_of(api, endpoint, status="failed")[0]["id"] == failed["id"]

    response = api.post(f"/api/v1/webhooks/{endpoint['id']}/deliveries/{failed['id']}/redeliver")
    assert response.status_code == 202
    assert response.json()["event_id"] == str(event.id) and response.json()["status"] == "pending"
    wait_for(settled(endpoint["id"], 2))
    assert deliveries_of(api, endpoint, status="succeeded")[0]["id"] == response.json()["id"]
    assert [r.headers["webhook-id"] for r in receiver.requests] == [str(event.id)] * 3


def test_hanging_receiver_times_out_as_a_failure(api, tenant, receiver, worker, settings):
    settings.WEBHOOKS_TIMEOUT_SECONDS = 0.5
    settings.WEBHOOKS_RETRY_SCHEDULE = []
    receiver.default = Reply(hang=True)
    endpoint = add_endpoint(api, receiver.url)
    emit_now(tenant, "media.created", {"id": "m1"})

    wait_for(settled(endpoint["id"], 1))
    (logged,) = deliveries_of(api, endpoint)
    assert logged["status"] == "failed"
    assert logged["response_status"] is None
    assert "Timed out" in logged["error"]
    assert 500 <= logged["duration_ms"] < 5000


def test_redirects_are_not_followed(api, tenant, receiver, worker, settings):
    settings.WEBHOOKS_RETRY_SCHEDULE = []
    receiver.script = [Reply(307, headers={"location": receiver.url + "/elsewhere"})]
    endpoint = add_endpoint(api, receiver.url)
    emit_now(tenant, "media.created", {"id": "m1"})
    wait_for(settled(endpoint["id"], 1))
    (logged,) = deliveries_of(api, endpoint)
    assert logged["status"] == "failed" and logged["response_status"] == 307
    assert [r.path for r in receiver.requests] == ["/hook"]


def test_rotation_signs_with_both_secrets_during_the_overlap(api, tenant, receiver, worker):
    endpoint = add_endpoint(api, receiver.url)
    old_secret = endpoint["secret"]
    new_secret = api.post(f"/api/v1/webhooks/{endpoint['id']}/rotate-secret").json()["secret"]

    response = api.post(f"/api/v1/webhooks/{endpoint['id']}/test")
    assert response.status_code == 202 and response.json()["event_type"] == "webhook.test"
    wait_for(lambda: len(receiver.requests) == 1)
    request = receiver.requests[0]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in (old_secret, new_secret):
        payload = Webhook(secret).verify(request.body, request.headers)
        assert payload["type"] == "webhook.test" and payload["data"]["id"] == endpoint["id"]

    # Once the overlap is over only the new secret signs.
    Endpoint.objects.filter(pk=endpoint["id"]).update(
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
    )
    api.post(f"/api/v1/webhooks/{endpoint['id']}/test")
    wait_for(lambda: len(receiver.requests) == 2)
    request = receiver.requests[1]
    Webhook(new_secret).verify(request.body, request.headers)
    with pytest.raises(VERIFY_ERRORS):
        Webhook(old_secret).verify(request.body, request.headers)


def test_test_event_goes_only_to_that_endpoint(api, tenant, receiver, worker):
    target = add_endpoint(api, receiver.url, ["media.ready"])
    bystander = add_endpoint(api, receiver.url, ["*"])
    api.post(f"/api/v1/webhooks/{target['id']}/test")
    wait_for(settled(target["id"], 1))
    assert len(receiver.requests) == 1
    assert not Delivery.objects.filter(endpoint_id=bystander["id"]).exists()


def test_names_resolving_to_private_addresses_are_refused_at_send_time(
    api, tenant, receiver, worker, settings
):
    """The check runs after DNS resolution, when sending: an endpoint saved while allowed (or a name
    whose DNS answer changed) gets nothing."""
    endpoint = add_endpoint(api, f"http://localhost:{receiver.port}/hook")
    metadata = add_endpoint(api, "http://169.254.169.254/latest/meta-data/")
    settings.OUTBOUND_ALLOW_PRIVATE_TARGETS = False
    settings.WEBHOOKS_RETRY_SCHEDULE = []
    emit_now(tenant, "media.ready", {"id": "m1"})

    wait_for(settled(endpoint["id"], 1))
    wait_for(settled(metadata["id"], 1))
    for refused in (endpoint, metadata):
        (logged,) = deliveries_of(api, refused)
        assert logged["status"] == "failed"
        assert logged["error"].startswith("Refused:")
        assert "non-public" in logged["error"] or "https" in logged["error"]
    assert receiver.requests == []


def test_one_slow_endpoint_does_not_starve_the_others(api, tenant, worker, settings):
    settings.WEBHOOKS_ENDPOINT_CONCURRENCY = 1
    slow, fast = Receiver(Reply(hang=True)).start(), Receiver().start()
    try:
        slow_endpoint = add_endpoint(api, slow.url, ["media.ready"])
        fast_endpoint = add_endpoint(api, fast.url, ["task.created"])
        for n in range(3):
            emit_now(tenant, "media.ready", {"id": n})
        for n in range(6):
            emit_now(tenant, "task.created", {"id": n})

        # Four worker threads, but the slow endpoint holds only one: the fast one gets everything.
        wait_for(settled(fast_endpoint["id"], 6))
        assert len(slow.requests) == 1 and slow.max_in_flight == 1
        slow.release()
        wait_for(settled(slow_endpoint["id"], 3))
        assert slow.max_in_flight == 1
        assert Delivery.objects.filter(status=Delivery.Status.SUCCEEDED).count() == 9
    finally:
        slow.stop()
        fast.stop()


def test_endpoint_failing_for_days_is_disabled(api, tenant, receiver, worker, settings):
    settings.WEBHOOKS_RETRY_SCHEDULE = []
    receiver.default = Reply(500)
    endpoint = add_endpoint(api, receiver.url)
    Endpoint.objects.filter(pk=endpoint["id"]).update(
        failing_since=timezone.now() - timedelta(days=5, minutes=1), consecutive_failures=50
    )
    emit_now(tenant, "media.ready", {"id": "m1"})
    wait_for(settled(endpoint["id"], 1))

    shown = api.get(f"/api/v1/webhooks/{endpoint['id']}").json()
    assert shown["active"] is False
    assert "5 days" in shown["disabled_reason"]
    assert shown["consecutive_failures"] == 51
    emit_now(tenant, "media.ready", {"id": "m2"})
    assert Delivery.objects.filter(endpoint_id=endpoint["id"]).count() == 1


def test_pending_deliveries_of_a_disabled_endpoint_are_not_sent(api, tenant, receiver, worker):
    endpoint = add_endpoint(api, receiver.url)
    with transaction.atomic():
        emit(tenant, "media.ready", {"id": "m1"})
        # Disabled in the same transaction: the doorbell rings for an endpoint that is now off.
        Endpoint.objects.filter(pk=endpoint["id"]).update(active=False)
    wait_for(settled(endpoint["id"], 1))
    (logged,) = deliveries_of(api, endpoint)
    assert logged["status"] == "failed" and "disabled" in logged["error"]
    assert receiver.requests == []


@pytest.mark.parametrize("broker", ["rabbitmq", "redis"], indirect=True)
def test_broker_outage_during_a_burst_loses_no_event(api, tenant, receiver, broker, worker, monkeypatch):
    endpoint = add_endpoint(api, receiver.url)
    if isinstance(broker, RedisBroker):
        dead_broker = RedisBroker(url=f"redis://127.0.0.1:{free_port()}/0")
    else:
        dead_broker = RabbitmqBroker(url=f"amqp://guest:guest@127.0.0.1:{free_port()}/")
    live_broker = deliver_webhook.broker
    monkeypatch.setattr(deliver_webhook, "broker", dead_broker)
    burst = [emit_now(tenant, "media.created", {"id": n}) for n in range(30)]
    monkeypatch.setattr(deliver_webhook, "broker", live_broker)

    # Nothing went out, nothing was lost: every delivery waits in PostgreSQL for the sweep.
    assert receiver.requests == []
    pending = Delivery.objects.filter(endpoint_id=endpoint["id"], status=Delivery.Status.PENDING)
    assert pending.count() == 30 and not pending.exclude(queued_for=None).exists()

    # The scheduler's periodic job (as ``manage.py run_scheduler`` runs it) sends them.
    (sweep,) = [job for job in periodic_jobs() if job.name == "webhooks.sweep"]
    assert run_job(sweep)
    wait_for(settled(endpoint["id"], 30), timeout=30)
    received = {r.headers["webhook-id"] for r in receiver.requests}
    assert received == {str(event.id) for event in burst}
    assert len(receiver.requests) == 30
    assert delivery_module.sweep_deliveries() == 0


def test_sweep_rerings_deliveries_whose_worker_died(api, tenant, receiver, worker):
    endpoint = add_endpoint(api, receiver.url)
    # A claimed attempt whose worker died: its lease ran out an hour ago and no message is on its way.
    lost_event = Event.objects.create(tenant=tenant, type="media.ready", data={"id": "lost"})
    long_ago = timezone.now() - timedelta(hours=1)
    lost = Delivery.objects.create(
        tenant=tenant,
        endpoint_id=endpoint["id"],
        event=lost_event,
        attempt=1,
        next_attempt_at=long_ago,
        queued_for=long_ago,
    )
    emit_now(tenant, "media.ready", {"id": "fresh"})  # rung on commit: the sweep leaves it alone

    assert delivery_module.sweep_deliveries() == 1
    wait_for(settled(endpoint["id"], 2))
    assert sorted(json.loads(r.body)["data"]["id"] for r in receiver.requests) == ["fresh", "lost"]
    lost.refresh_from_db()
    assert lost.status == Delivery.Status.SUCCEEDED and lost.attempt == 2


def test_a_real_producer_event_arrives_as_the_api_shows_the_object(api, tenant, receiver, worker, tmp_path):
    """One cross-check with a real producer (media upload): ``data`` is the object as the API returns it."""
    endpoint = add_endpoint(api, receiver.url, ["media.created"])
    Image.new("RGB", (16, 16), "blue").save(tmp_path / "blue.png")
    with open(tmp_path / "blue.png", "rb") as file:
        media = api.post("/api/v1/media", {"file": file}, format="multipart").json()

    wait_for(lambda: len(receiver.requests) == 1)
    payload = Webhook(endpoint["secret"]).verify(receiver.requests[0].body, receiver.requests[0].headers)
    assert payload["type"] == "media.created"
    assert payload["data"]["id"] == media["id"]
    assert payload["data"]["filename"] == "blue.png" and payload["data"]["type"] == "image"


def test_an_attempt_that_cannot_be_sent_still_counts(api, tenant, receiver, worker, settings):
    settings.WEBHOOKS_RETRY_SCHEDULE = [0.1]
    endpoint = add_endpoint(api, receiver.url)
    # As if ENCRYPTION_KEY had changed: the stored secret no longer decrypts.
    Endpoint.objects.filter(pk=endpoint["id"]).update(secret_encrypted="not-a-fernet-token")
    emit_now(tenant, "media.ready", {"id": "m1"})
    wait_for(settled(endpoint["id"], 1))
    (logged,) = deliveries_of(api, endpoint)
    assert logged["status"] == "failed" and logged["attempt"] == 2
    assert logged["error"] == "Not sent: internal error (InvalidToken)."
    assert receiver.requests == []


def test_a_delivery_whose_last_worker_died_is_given_up(api, tenant, receiver, worker, settings):
    settings.WEBHOOKS_RETRY_SCHEDULE = [0.1]
    endpoint = add_endpoint(api, receiver.url)
    event = Event.objects.create(tenant=tenant, type="media.ready", data={"id": "m1"})
    long_ago = timezone.now() - timedelta(hours=1)
    # Both attempts were claimed, and the second one's worker was killed before recording it.
    dead = Delivery.objects.create(
        tenant=tenant, endpoint_id=endpoint["id"], event=event, attempt=2, next_attempt_at=long_ago
    )
    assert delivery_module.sweep_deliveries() == 1
    wait_for(settled(endpoint["id"], 1))
    dead.refresh_from_db()
    assert dead.status == Delivery.Status.FAILED and dead.error.startswith("Given up")
    assert receiver.requests == []


def test_one_doorbell_drains_the_endpoints_due_backlog(api, tenant, receiver, worker):
    endpoint = add_endpoint(api, receiver.url)
    # Five due deliveries with no broker message at all (as after an outage), one rung.
    backlog = [
        Delivery.objects.create(
            tenant=tenant,
            endpoint_id=endpoint["id"],
            event=Event.objects.create(tenant=tenant, type="media.ready", data={"n": n}),
        )
        for n in range(5)
    ]
    delivery_module.ring([backlog[0].id])
    wait_for(settled(endpoint["id"], 5))
    assert sorted(json.loads(r.body)["data"]["n"] for r in receiver.requests) == [0, 1, 2, 3, 4]
