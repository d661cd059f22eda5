from django.contrib import admin

from mediahub.presets.models import Preset


@admin.register(Preset)
class PresetAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "tenant", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name", "description"]
