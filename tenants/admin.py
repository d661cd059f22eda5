from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils import timezone

from tenants import services
from tenants.models import SCOPES, ApiKey, Tenant
from tenants.serializers import QuotasSerializer, TenantSettingsSerializer


def _show_key_once(request: HttpRequest, issued: services.IssuedKey) -> None:
    messages.warning(
        request,
        f"API key for {issued.api_key.tenant}: {issued.key} — copy it now, it is stored only as a hash "
        "and will not be shown again.",
    )


class TenantForm(forms.ModelForm):
    class Meta:
        model = Tenant
        fields = ["name", "slug", "settings", "quotas"]
        help_texts = {
            "settings": 'Only the settings that differ from the defaults, e.g. {"auto_transcode": false}.',
            "quotas": "Ceilings of the tenant's limits that differ from the defaults, e.g. "
            '{"max_upload_bytes": {"video": 21474836480}}. The tenant may lower its limits, never raise '
            "them above these.",
        }

    def clean_settings(self) -> dict:
        serializer = TenantSettingsSerializer(data=self.cleaned_data["settings"] or {})
        if not serializer.is_valid():
            raise forms.ValidationError(str(serializer.errors))
        return self.cleaned_data["settings"] or {}

    def clean_quotas(self) -> dict:
        serializer = QuotasSerializer(data=self.cleaned_data["quotas"] or {})
        if not serializer.is_valid():
            raise forms.ValidationError(str(serializer.errors))
        return self.cleaned_data["quotas"] or {}


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    fields = ["name", "prefix", "scopes", "created_at", "last_used_at", "expires_at", "revoked_at"]
    readonly_fields = fields  # type: ignore[assignment]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    form = TenantForm
    list_display = ["name", "slug", "id", "created_at"]
    search_fields = ["name", "slug", "id"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [ApiKeyInline]

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if not change:  # a new tenant gets its first admin key, as with ``manage.py create_tenant``
            _show_key_once(
                request, services.issue_api_key(tenant=obj, name="initial admin key", scopes=["admin"])
            )


class ApiKeyCreationForm(forms.ModelForm):
    """Issues the key through the service: the secret is drawn and hashed there, never stored."""

    scopes = forms.MultipleChoiceField(choices=[(s, s) for s in SCOPES], widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiKey
        fields = ["tenant", "name", "scopes", "expires_at"]

    def clean_expires_at(self):
        expires_at = self.cleaned_data["expires_at"]
        if expires_at is not None and expires_at <= timezone.now():
            raise forms.ValidationError("Must be in the future.")
        return expires_at

    def save(self, commit: bool = True) -> ApiKey:
        data = self.cleaned_data
        self.issued = services.issue_api_key(
            tenant=data["tenant"], name=data["name"], scopes=data["scopes"], expires_at=data["expires_at"]
        )
        return self.issued.api_key


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "tenant",
        "prefix",
        "scopes",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "tenant__name", "tenant__slug"]
    list_select_related = ["tenant"]
    fields = ["tenant", "name", "prefix", "scopes", "created_at", "last_used_at", "expires_at", "revoked_at"]
    readonly_fields = ["tenant", "prefix", "scopes", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyCreationForm
            kwargs["fields"] = ApiKeyCreationForm.Meta.fields
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return ApiKeyCreationForm.Meta.fields if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change) -> None:
        if change:
            super().save_model(request, obj, form, change)
        else:  # the creation form already issued and saved it
            _show_key_once(request, form.issued)

    def save_related(self, request, form, formsets, change) -> None:
        if change:
            super().save_related(request, form, formsets, change)

    @admin.action(description="Revoke selected API keys")
    def revoke(self, request: HttpRequest, queryset) -> None:
        for api_key in queryset:
            services.revoke_api_key(api_key=api_key)
        self.message_user(request, f"{queryset.count()} API key(s) revoked.", messages.SUCCESS)
