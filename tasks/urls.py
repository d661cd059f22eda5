from rest_framework.routers import SimpleRouter

from tasks.views import BatchViewSet, TaskViewSet

router = SimpleRouter(trailing_slash=False)
router.register("tasks", TaskViewSet, basename="task")
router.register("batches", BatchViewSet, basename="batch")

urlpatterns = router.urls
