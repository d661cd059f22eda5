"""The Django admin for operators: tenants, API keys shown once, revocation."""

import re

from tenants.models import ApiKey, Tenant
from tenants.services import authenticate_key, issue_api_key

KEY = re.compile(r"mh_live_[A-Za-z0-9_-]{43}")


def inline_management_form(admin_client, url: str) -> dict[str, str]:
    """The inline formset's management fields, sent with no inline rows (the inline is read-only)."""
    page = admin_client.get(url).content.decode()
    return dict.fromkeys(re.findall(r'name="([^"]*-(?:TOTAL|INITIAL)_FORMS)"', page), "0")


def shown_keys(response) -> list[str]:
    return KEY.findall(" ".join(str(m) for m in response.context["messages"]))


def test_creating_a_key_shows_the_secret_once(admin_client, tenant):
    response = admin_client.post(
        "/admin/tenants/apikey/add/",
        {
            "tenant": tenant.pk,
            "name": "from admin",
            "scopes": ["write"],
            "expires_at_0": "",
            "expires_at_1": "",
        },
        follow=True,
    )
    assert response.status_code == 200
    [key] = shown_keys(response)
    api_key = authenticate_key(key=key)
    assert api_key is not None and api_key.tenant == tenant and api_key.scopes == ["write"]
    assert key not in str(ApiKey.objects.filter(pk=api_key.pk).values().get())  # only the hash is stored
    page = admin_client.get(f"/admin/tenants/apikey/{api_key.pk}/change/").content.decode()
    assert key not in page and api_key.prefix in page


def test_revoke_action(admin_client, tenant):
    issued = issue_api_key(tenant=tenant, name="to revoke", scopes=["read"])
    response = admin_client.post(
        "/admin/tenants/apikey/", {"action": "revoke", "_selected_action": [issued.api_key.pk]}, follow=True
    )
    assert response.status_code == 200
    assert authenticate_key(key=issued.key) is None


def test_adding_a_tenant_issues_its_first_admin_key(admin_client, db):
    response = admin_client.post(
        "/admin/tenants/tenant/add/",
        {
            "name": "Hooli",
            "slug": "hooli",
            "settings": '{"auto_transcode": false}',
            **inline_management_form(admin_client, "/admin/tenants/tenant/add/"),
        },
        follow=True,
    )
    assert response.status_code == 200, response.content
    tenant = Tenant.objects.get(slug="hooli")
    assert tenant.effective_settings["auto_transcode"] is False
    [key] = shown_keys(response)
    assert authenticate_key(key=key).tenant == tenant


def test_tenant_settings_are_validated(admin_client, tenant):
    response = admin_client.post(
        f"/admin/tenants/tenant/{tenant.pk}/change/",
        {
            "name": tenant.name,
            "slug": tenant.slug,
            "settings": '{"auto_transcode": "sometimes"}',
            **inline_management_form(admin_client, f"/admin/tenants/tenant/{tenant.pk}/change/"),
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert "auto_transcode" in response.content.decode()
    tenant.refresh_from_db()
    assert tenant.settings == {}


def test_admin_pages_render(admin_client, tenant):
    for url in [
        "/admin/",
        "/admin/tenants/tenant/",
        f"/admin/tenants/tenant/{tenant.pk}/change/",
        "/admin/tenants/apikey/",
        "/admin/tenants/apikey/add/",
    ]:
        assert admin_client.get(url).status_code == 200, url
