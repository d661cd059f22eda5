"""The webhooks HTTP API: endpoints CRUD, secrets, validation, scopes and tenant isolation."""

import base64
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from mediahub.events.outbox import emit
from mediahub.webhooks import signing
from mediahub.webhooks.delivery import purge_old_events
from mediahub.webhooks.models import Delivery, Endpoint, Event
from mediahub.webhooks.services import update_endpoint
from tests.conftest import client_for


@pytest.fixture(autouse=True)
def _allow_loopback(settings):
    settings.OUTBOUND_ALLOW_PRIVATE_TARGETS = True


def create(api, **overrides):
    body = {"url": "https://hooks.example.com/in", "events": ["media.ready"], **overrides}
    return api.post("/api/v1/webhooks", body, format="json")


def test_create_shows_secret_once_and_stores_it_encrypted(api):
    response = create(api, description="crm")
    assert response.status_code == 201
    body = response.json()
    secret = body["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24
    assert body["active"] is True and body["disabled_reason"] == "" and body["description"] == "crm"

    endpoint = Endpoint.objects.get(pk=body["id"])
    assert secret not in endpoint.secret_encrypted
    assert signing.decrypt_secret(endpoint.secret_encrypted) == secret

    shown = api.get(f"/api/v1/webhooks/{body['id']}").json()
    assert "secret" not in shown and secret not in str(shown)
    listed = api.get("/api/v1/webhooks").json()
    assert listed["total"] == 1 and listed["webhooks"][0]["id"] == body["id"]
    assert "secret" not in listed["webhooks"][0]


def test_rotate_returns_a_new_secret_and_keeps_the_old_one_for_the_overlap(api):
    created = create(api).json()
    rotated = api.post(f"/api/v1/webhooks/{created['id']}/rotate-secret")
    assert rotated.status_code == 200
    assert rotated.json()["secret"].startswith("whsec_")
    assert rotated.json()["secret"] != created["secret"]
    endpoint = Endpoint.objects.get(pk=created["id"])
    assert signing.decrypt_secret(endpoint.previous_secret_encrypted) == created["secret"]
    assert endpoint.previous_secret_expires_at is not None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.com/x"}, "url"),
        ({"url": "https://user:pw@example.com/x"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"events": ["media.exploded"]}, "events"),
        ({"events": ["*", "media.ready"]}, "events"),
        ({"events": []}, "events"),
        ({"events": "media.ready"}, "events"),
        ({"secret": "whsec_mine"}, "secret"),
    ],
)
def test_bad_input_is_400_naming_the_field(api, body, field):
    response = create(api, **body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert field in error["details"]


def test_missing_fields_are_400(api):
    response = api.post("/api/v1/webhooks", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"url", "events"}


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "https://169.254.169.254/",
        "https://10.0.0.1/",
        "https://127.0.0.1/",
        "https://[::1]/",
        "https://[::ffff:10.0.0.1]/",
        # IPv6 forms that carry a private or metadata IPv4 address (mediahub.outbound)
        "https://[64:ff9b::a9fe:a9fe]/",  # NAT64 well-known prefix
        "https://[64:ff9b:1::a00:1]/",  # NAT64 local-use prefix
        "https://[2002:a9fe:a9fe::1]/",  # 6to4
        "https://[::169.254.169.254]/",  # IPv4-compatible
        "https://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/",  # Teredo, client 10.0.0.1
    ],
)
def test_private_and_metadata_targets_are_refused_when_not_allowed(api, settings, url):
    settings.OUTBOUND_ALLOW_PRIVATE_TARGETS = False
    response = create(api, url=url)
    assert response.status_code == 400
    assert "url" in response.json()["error"]["details"]


def test_plain_http_needs_the_development_setting(api, settings):
    settings.OUTBOUND_ALLOW_PRIVATE_TARGETS = False
    assert create(api, url="http://hooks.example.com/in").status_code == 400
    settings.OUTBOUND_ALLOW_PRIVATE_TARGETS = True
    assert create(api, url="http://hooks.example.com/in").status_code == 201


def test_events_are_normalised_and_star_is_accepted(api):
    assert create(api, events=["task.failed", "media.ready", "task.failed"]).json()["events"] == [
        "media.ready",
        "task.failed",
    ]
    assert create(api, events=["*"]).json()["events"] == ["*"]


def test_patch_changes_fields_and_reenabling_clears_the_reason(api):
    created = create(api).json()
    Endpoint.objects.filter(pk=created["id"]).update(
        active=False, disabled_reason="failing", consecutive_failures=40
    )
    response = api.patch(
        f"/api/v1/webhooks/{created['id']}", {"active": True, "events": ["*"]}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["active"] is True and body["disabled_reason"] == "" and body["events"] == ["*"]
    assert body["consecutive_failures"] == 0
    assert body["url"] == created["url"]
    bad = api.patch(f"/api/v1/webhooks/{created['id']}", {"url": "gopher://x"}, format="json")
    assert bad.status_code == 400


def test_put_is_not_offered(api):
    created = create(api).json()
    response = api.put(f"/api/v1/webhooks/{created['id']}", {"url": "https://a.example"}, format="json")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_delete(api):
    created = create(api).json()
    assert api.delete(f"/api/v1/webhooks/{created['id']}").status_code == 204
    assert api.get(f"/api/v1/webhooks/{created['id']}").status_code == 404


def test_webhooks_need_the_admin_scope(api, tenant):
    created = create(api).json()
    for scopes in (["read"], ["write"]):
        client = client_for(tenant, scopes)
        assert client.get("/api/v1/webhooks").status_code == 403
        assert client.get(f"/api/v1/webhooks/{created['id']}/deliveries").status_code == 403
        assert create(client).status_code == 403


def test_unknown_and_malformed_ids_are_404(api):
    assert api.get("/api/v1/webhooks/not-a-uuid").status_code == 404
    assert api.get("/api/v1/webhooks/not-a-uuid/deliveries").status_code == 404
    assert api.get("/api/v1/webhooks/00000000-0000-0000-0000-000000000000/deliveries").status_code == 404


def test_other_tenant_cannot_see_or_touch_endpoints_or_deliveries(api, other_api, tenant):
    created = create(api, events=["*"]).json()
    with transaction.atomic():
        emit(tenant, "media.created", {"id": "m1"})
    delivery = Delivery.objects.get(endpoint_id=created["id"])
    own = create(other_api).json()

    base = f"/api/v1/webhooks/{created['id']}"
    assert other_api.get("/api/v1/webhooks").json()["total"] == 1
    assert other_api.get(base).status_code == 404
    assert other_api.patch(base, {"active": False}, format="json").status_code == 404
    assert other_api.post(f"{base}/rotate-secret").status_code == 404
    assert other_api.post(f"{base}/test").status_code == 404
    assert other_api.get(f"{base}/deliveries").status_code == 404
    assert other_api.get(f"{base}/deliveries/{delivery.id}").status_code == 404
    assert other_api.post(f"{base}/deliveries/{delivery.id}/redeliver").status_code == 404
    # Not through the tenant's own endpoint either.
    own_base = f"/api/v1/webhooks/{own['id']}"
    assert other_api.get(f"{own_base}/deliveries/{delivery.id}").status_code == 404
    assert other_api.post(f"{own_base}/deliveries/{delivery.id}/redeliver").status_code == 404
    assert other_api.delete(base).status_code == 404
    assert Delivery.objects.filter(event=delivery.event).count() == 1

    # The owner sees it.
    listed = api.get(f"{base}/deliveries").json()
    assert [d["id"] for d in listed["deliveries"]] == [str(delivery.id)]


def test_fan_out_follows_subscriptions_and_activity(api, tenant):
    ready = create(api, events=["media.ready"]).json()
    every = create(api, events=["*"]).json()
    off = create(api, events=["*"]).json()
    api.patch(f"/api/v1/webhooks/{off['id']}", {"active": False}, format="json")
    with transaction.atomic():
        emit(tenant, "media.ready", {"id": "m1"})
        emit(tenant, "task.created", {"id": "t1"})
    assert Delivery.objects.filter(endpoint_id=ready["id"]).count() == 1
    assert Delivery.objects.filter(endpoint_id=every["id"]).count() == 2
    assert Delivery.objects.filter(endpoint_id=off["id"]).count() == 0


def test_deliveries_list_filters_and_rejects_bad_filters(api, tenant):
    created = create(api, events=["*"]).json()
    with transaction.atomic():
        emit(tenant, "media.ready", {"id": "m1"})
        emit(tenant, "task.created", {"id": "t1"})
    base = f"/api/v1/webhooks/{created['id']}/deliveries"
    body = api.get(base).json()
    assert body["total"] == 2 and body["limit"] == 50 and body["offset"] == 0
    delivery = body["deliveries"][0]
    assert set(delivery) >= {
        "id",
        "event_id",
        "event_type",
        "attempt",
        "status",
        "response_status",
        "duration_ms",
        "error",
        "created_at",
        "next_attempt_at",
    }
    assert delivery["status"] == "pending" and delivery["attempt"] == 0
    only = api.get(base, {"event_type": "task.created"}).json()
    assert [d["event_type"] for d in only["deliveries"]] == ["task.created"]
    assert api.get(base, {"status": "succeeded"}).json()["total"] == 0
    assert api.get(base, {"status": "pending"}).json()["total"] == 2
    for bad in ({"status": "exploded"}, {"event_type": "nope"}, {"event_id": "x"}):
        response = api.get(base, bad)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_input"


def test_disabled_endpoint_refuses_test_and_redeliver_with_409(api, tenant):
    created = create(api, events=["*"]).json()
    with transaction.atomic():
        emit(tenant, "media.ready", {"id": "m1"})
    delivery = Delivery.objects.get(endpoint_id=created["id"])
    api.patch(f"/api/v1/webhooks/{created['id']}", {"active": False}, format="json")
    response = api.post(f"/api/v1/webhooks/{created['id']}/test")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "endpoint_disabled"
    response = api.post(f"/api/v1/webhooks/{created['id']}/deliveries/{delivery.id}/redeliver")
    assert response.status_code == 409


def test_emit_rejects_unknown_types(tenant):
    with pytest.raises(ValueError), transaction.atomic():
        emit(tenant, "media.exploded", {})


def test_create_honours_idempotency_key(api):
    headers = {"HTTP_IDEMPOTENCY_KEY": "create-hook-1"}
    first = api.post(
        "/api/v1/webhooks", {"url": "https://a.example/x", "events": ["*"]}, format="json", **headers
    )
    again = api.post(
        "/api/v1/webhooks", {"url": "https://a.example/x", "events": ["*"]}, format="json", **headers
    )
    assert first.status_code == again.status_code == 201
    assert again.json() == {"id": first.json()["id"], "secret_omitted": True}  # the secret is shown once
    assert Endpoint.objects.count() == 1

    rotate = f"/api/v1/webhooks/{first.json()['id']}/rotate-secret"
    rotated = api.post(rotate, HTTP_IDEMPOTENCY_KEY="rotate-1")
    assert rotated.status_code == 200 and rotated.json()["secret"].startswith("whsec_")
    replayed = api.post(rotate, HTTP_IDEMPOTENCY_KEY="rotate-1")
    assert replayed.status_code == 200 and replayed["Idempotent-Replayed"] == "true"
    assert replayed.json() == {"id": first.json()["id"], "secret_omitted": True}


def test_admin_lists_endpoints_with_health_and_deliveries(admin_client, api, tenant):
    created = create(api, events=["*"]).json()
    with transaction.atomic():
        emit(tenant, "media.ready", {"id": "m1"})
    delivery = Delivery.objects.get(endpoint_id=created["id"])
    page = admin_client.get("/admin/webhooks/endpoint/")
    assert page.status_code == 200
    assert b"hooks.example.com" in page.content and b"Consecutive failures" in page.content
    assert admin_client.get(f"/admin/webhooks/endpoint/{created['id']}/change/").status_code == 200
    assert admin_client.get("/admin/webhooks/delivery/").status_code == 200
    detail = admin_client.get(f"/admin/webhooks/delivery/{delivery.id}/change/")
    assert detail.status_code == 200
    assert created["secret"].encode() not in detail.content


def test_purge_keeps_recent_events_and_those_still_being_sent(api, tenant):
    create(api, events=["media.ready"])
    with transaction.atomic():
        sent = emit(tenant, "media.ready", {"id": "sent"})
        sending = emit(tenant, "media.ready", {"id": "sending"})
        unsubscribed = emit(tenant, "task.created", {"id": "nobody listens"})
        recent = emit(tenant, "media.ready", {"id": "recent"})
    Delivery.objects.filter(event=sent).update(status=Delivery.Status.SUCCEEDED)
    Event.objects.exclude(pk=recent.pk).update(created_at=timezone.now() - timedelta(days=31))

    assert purge_old_events() == 2
    assert set(Event.objects.values_list("id", flat=True)) == {sending.id, recent.id}
    assert not Event.objects.filter(pk__in=[sent.pk, unsubscribed.pk]).exists()


def test_an_update_keeps_health_recorded_meanwhile_by_workers(api):
    stale = Endpoint.objects.get(pk=create(api).json()["id"])
    Endpoint.objects.filter(pk=stale.pk).update(consecutive_failures=3, failing_since=timezone.now())
    update_endpoint(endpoint=stale, description="renamed")
    fresh = Endpoint.objects.get(pk=stale.pk)
    assert fresh.description == "renamed"
    assert fresh.consecutive_failures == 3 and fresh.failing_since is not None
