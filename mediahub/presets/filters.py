import django_filters

from mediahub.presets.models import Preset


class PresetFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Preset.Kind.choices)

    class Meta:
        model = Preset
        fields = ["kind"]
