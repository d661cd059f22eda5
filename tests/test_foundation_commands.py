"""Operator commands: ``create_tenant`` and the demo key that ``manage.py up`` prints."""

import io
import re

import pytest
from django.core.management import CommandError, call_command

from tenants.models import Tenant
from tenants.services import authenticate_key, issue_demo_key


def test_create_tenant_prints_a_working_admin_key(db):
    out = io.StringIO()
    call_command("create_tenant", "Umbrella Corp", stdout=out)
    key = re.search(r"mh_live_\S+", out.getvalue())[0]
    api_key = authenticate_key(key=key)
    assert api_key.tenant.name == "Umbrella Corp" and api_key.tenant.slug == "umbrella-corp"
    assert api_key.scopes == ["admin"]


def test_create_tenant_refuses_a_taken_slug(db):
    call_command("create_tenant", "A", slug="same", stdout=io.StringIO())
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_tenant", "B", slug="same", stdout=io.StringIO())
    call_command("create_tenant", "A", stdout=io.StringIO())  # derived slugs never clash
    assert Tenant.objects.filter(name="A").count() == 2


def test_each_demo_key_revokes_the_previous_one(db):
    first = issue_demo_key()
    second = issue_demo_key()
    assert authenticate_key(key=first.key) is None
    assert authenticate_key(key=second.key).tenant == first.api_key.tenant
    assert Tenant.objects.filter(slug="demo").count() == 1
