from rest_framework.routers import SimpleRouter

from mediahub.presets.views import PresetViewSet

router = SimpleRouter(trailing_slash=False)
router.register("presets", PresetViewSet, basename="preset")

urlpatterns = router.urls
